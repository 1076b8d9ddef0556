import EventModel
import EventStore

/// Writes events as RFC 5424 syslog messages: header, one structured-data element, and the KubeArmor
/// JSON record as MSG.
///
/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [kubearmor@32473 seq="…" …] {KubeArmor JSON}`.
/// The SD-ID uses 32473, the private enterprise number IANA reserves for documentation (RFC 5612): a
/// site with its own number can rename it in the receiver. Header fields keep RFC 5424's limits
/// (printable US-ASCII, HOSTNAME ≤ 255, APP-NAME ≤ 48, PROCID ≤ 128, MSGID ≤ 32 octets, `-` when empty);
/// SD values escape `"`, `\` and `]`. MSG is the KubeArmor record as `export --format kubearmor` writes
/// it, UTF-8 without a BOM (MSG-ANY), one line, so a receiver gets every field exactly; no message
/// holds a line break (JSON escapes it; SD values turn control characters into U+FFFD).
public struct SyslogEncoder: RecordEncoder {
    /// The structured-data element's id.
    public static let sdID = "kubearmor@32473"

    /// The field mapping, row by row.
    public static let mapping: [FieldMapping] = [
        FieldMapping("PRI", "Type, Severity", "facility (option, default 13 log audit) × 8 + severity: logs 6 informational; "
            + "alerts 2 critical (Severity ≥ 8), 3 error (5–7), 4 warning (1–4 or none)"),
        FieldMapping("VERSION", "constant", "1"),
        FieldMapping("TIMESTAMP", "TimeNs", "RFC 3339, microseconds, UTC; - (NILVALUE) for a record without a time"),
        FieldMapping("HOSTNAME", "HostName", "else the default host name, else -; bytes outside 33–126 become _, ≤ 255"),
        FieldMapping("APP-NAME", "option", "default rearview, ≤ 48"),
        FieldMapping("PROCID", "HostPID", "- when 0"),
        FieldMapping("MSGID", "Type", "ContainerLog, HostLog, MatchedPolicy, …; ≤ 32"),
        FieldMapping("SD kubearmor@32473 seq", "Seq", "store-wide sequence: a receiver deduplicates on HOSTNAME + seq"),
        FieldMapping("SD op", "Operation"),
        FieldMapping("SD policy", "PolicyName"),
        FieldMapping("SD severity", "Severity"),
        FieldMapping("SD action", "Action"),
        FieldMapping("SD result", "Result"),
        FieldMapping("SD namespace", "NamespaceName"),
        FieldMapping("SD pod", "PodName"),
        FieldMapping("SD container", "ContainerName"),
        FieldMapping("SD process", "ProcessName"),
        FieldMapping("SD resource", "Resource"),
        FieldMapping("MSG", "all fields", "the KubeArmor JSON record (as --format kubearmor), lossless"),
    ]

    private let facility: Int
    private let appName: [UInt8]
    private let defaultHost: [UInt8]
    private var time = TimeText()
    private var records = KubeArmorRecordWriters()
    private var block = BlockCacheSlot()

    public init(_ options: ExportOptions = ExportOptions()) {
        facility = options.syslogFacility
        appName = Self.headerField(options.syslogAppName, limit: 48)
        defaultHost = Self.headerField(options.defaultHostName, limit: 255)
    }

    /// The syslog severity (0–7) of an event.
    public static func severity(of event: Event) -> Int { severity(alert: event.isAlert, event.facts) }

    private static func severity(alert: Bool, _ facts: EventFacts) -> Int {
        guard alert else { return 6 }
        let level = facts.severity ?? 0
        return level >= 8 ? 2 : level >= 5 ? 3 : 4
    }

    public mutating func append(_ event: Event, to out: inout [UInt8]) { encode(event, to: &out) }

    public mutating func append(_ batch: ColumnBatch, row: Int, to out: inout [UInt8]) {
        encode(block.record(batch, row: row), to: &out)
    }

    private mutating func encode(_ event: some ExportRecord, to out: inout [UInt8]) {
        out.append(0x3C)
        out.append(decimal: facility * 8 + Self.severity(alert: event.isAlert, event.facts))
        out.append(literal: ">1 ")
        if event.hasTime {
            time.appendRFC3339(event.timeNs, fractionDigits: 6, to: &out)
        } else {
            out.append(0x2D)  // RFC 5424's NILVALUE: the record has no time (the receiver stamps it)
        }
        out.append(0x20)
        if event.isEmpty(.hostName) {
            out.append(contentsOf: defaultHost)
        } else {
            event.append(.hostName, as: .syslogHostName, to: &out)
        }
        out.append(0x20)
        out.append(contentsOf: appName)
        out.append(0x20)
        if event.hostPID == 0 { out.append(0x2D) } else { out.append(decimal: event.hostPID) }
        out.append(0x20)
        event.append(.type, as: .syslogMessageID, to: &out)
        out.append(literal: " [kubearmor@32473")
        if event.seq != 0 {
            out.append(literal: " seq=\"")
            out.append(decimal: event.seq)
            out.append(0x22)
        }
        Self.appendParameter(" op=\"", event, .operation, to: &out)
        Self.appendParameter(" policy=\"", event, .policyName, to: &out)
        Self.appendParameter(" severity=\"", event, .severity, to: &out)
        Self.appendParameter(" action=\"", event, .action, to: &out)
        Self.appendParameter(" result=\"", event, .result, to: &out)
        Self.appendParameter(" namespace=\"", event, .namespaceName, to: &out)
        Self.appendParameter(" pod=\"", event, .podName, to: &out)
        Self.appendParameter(" container=\"", event, .containerName, to: &out)
        Self.appendParameter(" process=\"", event, .processName, to: &out)
        Self.appendParameter(" resource=\"", event, .resource, to: &out)
        out.append(literal: "] ")
        event.appendKubeArmorJSON(with: &records, to: &out)
    }

    /// A header field: printable US-ASCII (other bytes become `_`), cut to `limit` octets, `-` when empty.
    static func headerField(_ text: String, limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        var text = text
        text.withUTF8 { appendHeaderField($0, limit: limit, to: &out) }
        return out
    }

    static func appendHeaderField(_ text: UnsafeBufferPointer<UInt8>, limit: Int, to out: inout [UInt8]) {
        if text.isEmpty { return out.append(0x2D) }
        let start = out.count
        out.append(text, escaping: { $0 < 33 || $0 > 126 }) { _, out in out.append(0x5F) }
        if out.count - start > limit { out.removeLast(out.count - start - limit) }
    }

    /// ` name="value"` unless the value is empty.
    private static func appendParameter(_ opening: StaticString, _ event: some ExportRecord, _ field: EventField,
                                        to out: inout [UInt8]) {
        guard !event.isEmpty(field) else { return }
        out.append(literal: opening)
        event.append(field, as: .syslogParameter, to: &out)
        out.append(0x22)
    }

    /// An SD-PARAM value: `"`, `\` and `]` escaped with `\`, control characters written as U+FFFD.
    static func appendParameterValue(_ value: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(value, escaping: { $0 == 0x22 || $0 == 0x5C || $0 == 0x5D || $0 < 0x20 || $0 == 0x7F }) { byte, out in
            if byte < 0x20 || byte == 0x7F {
                out.append(literal: "\u{FFFD}")
            } else {
                out.append(0x5C)
                out.append(byte)
            }
        }
    }
}
