import EventModel
import EventStore

/// Writes events as KubeArmor JSON records, lossless (``KubeArmorJSONWriter`` as a ``RecordEncoder``;
/// batch rows through ``KubeArmorBatchWriter``, byte for byte the same).
public struct KubeArmorRecordEncoder: RecordEncoder {
    private var writers = KubeArmorRecordWriters()

    public init() {}

    public mutating func append(_ event: Event, to output: inout [UInt8]) {
        writers.events.append(event, to: &output)
    }

    public mutating func append(_ batch: ColumnBatch, row: Int, to output: inout [UInt8]) {
        writers.rows.append(batch, row: row, to: &output)
    }
}
