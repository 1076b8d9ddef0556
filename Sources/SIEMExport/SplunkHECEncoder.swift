import EventModel
import EventStore

/// Writes events as Splunk HTTP Event Collector event objects (`/services/collector/event`), the
/// KubeArmor record as `event` and the fields people search on as indexed `fields`.
public struct SplunkHECEncoder: RecordEncoder {
    /// The field mapping, row by row.
    public static let mapping: [FieldMapping] = [
        FieldMapping("time", "TimeNs", "unix seconds with six decimals (microseconds); the import's time for a record without one"),
        FieldMapping("host", "HostName", "else the default host name; omitted when both are empty"),
        FieldMapping("source", "option", "default rearview"),
        FieldMapping("sourcetype", "option", "default kubearmor"),
        FieldMapping("index", "option", "only when given"),
        FieldMapping("event", "all fields", "the KubeArmor JSON object (as --format kubearmor), lossless"),
        FieldMapping("fields.Type, .Operation, .PolicyName, .Severity, .Action, .Result", "same", "when set"),
        FieldMapping("fields.ClusterName, .NamespaceName, .PodName, .ContainerName", "same", "when set"),
        FieldMapping("fields.HostPID", "HostPID", "as a string"),
        FieldMapping("fields.Seq", "Seq", "as a string, when set: with host, an id to deduplicate on"),
    ]

    private let head: [UInt8]
    private let defaultHost: String
    private var records = KubeArmorRecordWriters()
    private var block = BlockCacheSlot()

    public init(_ options: ExportOptions = ExportOptions()) {
        var head: [UInt8] = []
        head.append(literal: #","source":"#)
        head.append(jsonString: options.hecSource)
        head.append(literal: #","sourcetype":"#)
        head.append(jsonString: options.hecSourcetype)
        if let index = options.hecIndex {
            head.append(literal: #","index":"#)
            head.append(jsonString: index)
        }
        head.append(literal: #","event":"#)
        self.head = head
        defaultHost = options.defaultHostName
    }

    public mutating func append(_ event: Event, to out: inout [UInt8]) { encode(event, to: &out) }

    public mutating func append(_ batch: ColumnBatch, row: Int, to out: inout [UInt8]) {
        encode(block.record(batch, row: row), to: &out)
    }

    private mutating func encode(_ event: some ExportRecord, to out: inout [UInt8]) {
        out.append(literal: #"{"time":"#)
        // Sign and magnitude, so that times before 1970 read right too.
        let timeNs = event.timeOrImportedNs
        if timeNs < 0 { out.append(0x2D) }
        let (seconds, nanos) = timeNs.magnitude.quotientAndRemainder(dividingBy: 1_000_000_000)
        out.append(decimal: seconds)
        out.append(0x2E)
        out.append(padded: Int64(nanos / 1000), digits: 6)
        if !event.isEmpty(.hostName) {
            out.append(literal: #","host":"#)
            event.append(.hostName, as: .json, to: &out)
        } else if !defaultHost.isEmpty {
            out.append(literal: #","host":"#)
            out.append(jsonString: defaultHost)
        }
        out.append(contentsOf: head)
        event.appendKubeArmorJSON(with: &records, to: &out)
        out.append(literal: #","fields":"#)
        var fields = JSONObjectWriter(opening: &out)
        fields.string("Type", event, .type, &out)
        fields.string("Operation", event, .operation, &out)
        fields.string("PolicyName", event, .policyName, &out)
        fields.string("Severity", event, .severity, &out)
        fields.string("Action", event, .action, &out)
        fields.string("Result", event, .result, &out)
        fields.string("ClusterName", event, .clusterName, &out)
        fields.string("NamespaceName", event, .namespaceName, &out)
        fields.string("PodName", event, .podName, &out)
        fields.string("ContainerName", event, .containerName, &out)
        fields.key("HostPID", &out)
        out.append(0x22)
        out.append(decimal: event.hostPID)
        out.append(0x22)
        if event.seq != 0 {
            fields.key("Seq", &out)
            out.append(0x22)
            out.append(decimal: event.seq)
            out.append(0x22)
        }
        fields.close(&out)
        out.append(0x7D)
    }
}
