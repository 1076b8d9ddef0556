import EventModel

/// Writes events as KubeArmor JSON records, lossless (``KubeArmorJSONWriter`` as a ``RecordEncoder``).
public struct KubeArmorRecordEncoder: RecordEncoder {
    private var writer = KubeArmorJSONWriter()

    public init() {}

    public mutating func append(_ event: Event, to output: inout [UInt8]) {
        writer.append(event, to: &output)
    }
}
