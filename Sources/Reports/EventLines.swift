import EventModel
import EventStore

/// Writes events one JSON object per line: the KubeArmor record as it came (`kubearmor`), or with
/// rearview's `TimeNs` and `Seq` in front (`ndjson`); from records or straight from batch rows.
public struct EventLineWriter {
    /// Whether `TimeNs` and `Seq` lead each object.
    public let withStoreFields: Bool
    private var records = KubeArmorJSONWriter()
    private var rows = KubeArmorBatchWriter()
    private var record: [UInt8] = []

    public init(withStoreFields: Bool) { self.withStoreFields = withStoreFields }

    /// Appends `event` and a newline.
    public mutating func append(_ event: Event, to out: inout [UInt8]) {
        guard withStoreFields else {
            records.append(event, to: &out)
            return out.append(10)
        }
        record.removeAll(keepingCapacity: true)
        records.append(event, to: &record)
        Self.appendJoined(timeNs: event.timeNs, seq: event.seq, record, to: &out)
    }

    /// Appends each of `rows` of `batch` and a newline after each.
    public mutating func append(_ batch: ColumnBatch, rows selected: some Sequence<Int32>, to out: inout [UInt8]) {
        guard withStoreFields else { return rows.appendLines(batch, rows: selected, to: &out) }
        for row in selected {
            record.removeAll(keepingCapacity: true)
            rows.append(batch, row: Int(row), to: &record)
            Self.appendJoined(timeNs: batch.timeNs[Int(row)], seq: batch.firstSeq &+ UInt64(row), record, to: &out)
        }
    }

    /// `{"TimeNs":…,"Seq":…` and the record's members, then a newline.
    private static func appendJoined(timeNs: Int64, seq: UInt64, _ record: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: #"{"TimeNs":"#.utf8)
        KubeArmorJSONWriter.appendInteger(timeNs, to: &out)
        out.append(contentsOf: #","Seq":"#.utf8)
        KubeArmorJSONWriter.appendInteger(Int64(bitPattern: seq), to: &out)
        if record.count > 2 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: record.dropFirst())
        out.append(10)
    }
}
