import EventModel
import EventStore

/// Writes events as ArcSight Common Event Format (CEF 0) lines:
/// `CEF:0|rearview|rearview|<version>|<signature id>|<name>|<severity>|<extension>`.
///
/// Header fields escape `\` and `|` (line breaks become spaces: CEF allows them only in extension
/// values); extension values escape `\` and `=`, and write line breaks as `\n` and `\r`. CEF has no
/// place for every KubeArmor field: use `kubearmor`, `ecs` or `ocsf` for a lossless record.
public struct CEFEncoder: RecordEncoder {
    /// The field mapping, row by row.
    public static let mapping: [FieldMapping] = [
        FieldMapping("Signature ID", "PolicyName (alerts); Operation:call (logs)", "call as ECS event.action, e.g. File:openat"),
        FieldMapping("Name", "Message", "else [Action ]Operation call, e.g. Block Process execve"),
        FieldMapping("Severity", "Severity", "alerts: Severity clamped to 0–10, 5 when absent; logs: 1"),
        FieldMapping("rt", "TimeNs", "milliseconds since the epoch; the import's time for a record without one"),
        FieldMapping("dvchost", "HostName"),
        FieldMapping("externalId", "Seq", "when set"),
        FieldMapping("cat", "Operation"),
        FieldMapping("act", "Action"),
        FieldMapping("outcome", "Result", "success, failure (as ECS event.outcome); omitted when unknown"),
        FieldMapping("reason", "Result"),
        FieldMapping("dpid", "HostPID"),
        FieldMapping("dproc", "ProcessName"),
        FieldMapping("duid", "UID"),
        FieldMapping("spid", "HostPPID", "the parent process"),
        FieldMapping("sproc", "ParentProcessName"),
        FieldMapping("filePath", "Resource", "file events"),
        FieldMapping("fname", "Resource", "the last path component, file events"),
        FieldMapping("src, spt", "Resource/Data", "as ECS source.ip/port (IPv4; IPv6 in c6a2)"),
        FieldMapping("dst, dpt", "Resource/Data", "as ECS destination.ip/port (IPv4; IPv6 in c6a3)"),
        FieldMapping("proto", "Resource/Data", "transport, uppercase (TCP, UDP)"),
        FieldMapping("msg", "Message"),
        FieldMapping("cs1 (PolicyName)", "PolicyName"),
        FieldMapping("cs2 (Tags)", "Tags"),
        FieldMapping("cs3 (Resource)", "Resource"),
        FieldMapping("cs4 (Data)", "Data"),
        FieldMapping("cs5 (Source)", "Source"),
        FieldMapping("cs6 (ContainerName)", "ContainerName"),
        FieldMapping("flexString1 (NamespaceName)", "NamespaceName"),
        FieldMapping("flexString2 (PodName)", "PodName"),
    ]

    private let prefix: [UInt8]
    private var block = BlockCacheSlot()

    public init(_ options: ExportOptions = ExportOptions()) {
        var prefix: [UInt8] = []
        prefix.append(literal: "CEF:0|rearview|rearview|")
        Self.appendHeaderValue(options.productVersion, to: &prefix)
        prefix.append(0x7C)
        self.prefix = prefix
    }

    /// The CEF severity (0–10) of an event.
    public static func severity(of event: Event) -> Int { severity(alert: event.isAlert, event.facts) }

    private static func severity(alert: Bool, _ facts: EventFacts) -> Int {
        guard alert else { return 1 }
        guard let level = facts.severity else { return 5 }
        return min(max(level, 0), 10)
    }

    public mutating func append(_ event: Event, to out: inout [UInt8]) { encode(event, to: &out) }

    public mutating func append(_ batch: ColumnBatch, row: Int, to out: inout [UInt8]) {
        encode(block.record(batch, row: row), to: &out)
    }

    private func encode(_ event: some ExportRecord, to out: inout [UInt8]) {
        let facts = event.facts
        let isAlert = event.isAlert
        out.append(contentsOf: prefix)
        if isAlert && !event.isEmpty(.policyName) {
            event.append(.policyName, as: .cefHeader, to: &out)
        } else {
            event.append(.operation, as: .cefHeader, to: &out)
            out.append(0x3A)
            Self.appendHeaderValue(facts.call, to: &out)
        }
        out.append(0x7C)
        if !event.isEmpty(.message) {
            event.append(.message, as: .cefHeader, to: &out)
        } else {
            if isAlert && !event.isEmpty(.action) {
                event.append(.action, as: .cefHeader, to: &out)
                out.append(0x20)
            }
            event.append(.operation, as: .cefHeader, to: &out)
            out.append(0x20)
            Self.appendHeaderValue(facts.call, to: &out)
        }
        out.append(0x7C)
        out.append(decimal: Self.severity(alert: isAlert, facts))
        out.append(0x7C)

        var extensions = ExtensionWriter()
        extensions.number("rt", TimeText.milliseconds(event.timeOrImportedNs), &out)
        extensions.string("dvchost", event, .hostName, &out)
        if event.seq != 0 { extensions.number("externalId", event.seq, &out) }
        extensions.string("cat", event, .operation, &out)
        extensions.string("act", event, .action, &out)
        switch facts.outcome {
        case .success: extensions.string("outcome", "success", &out)
        case .failure: extensions.string("outcome", "failure", &out)
        case .unknown: break
        }
        extensions.string("reason", event, .result, &out)
        extensions.number("dpid", event.hostPID, &out)
        extensions.string("dproc", event, .processName, &out)
        extensions.number("duid", event.uid, &out)
        extensions.number("spid", event.hostPPID, &out)
        extensions.string("sproc", event, .parentProcessName, &out)
        if facts.activity.isFile && !event.isEmpty(.resource) {
            extensions.string("filePath", event, .resource, &out)
            event.withUTF8(.resource) { extensions.string("fname", PathText.lastComponent($0), &out) }
        }
        let network = facts.network
        if let ip = network.sourceIP { extensions.string(ByteText.contains(ip, ":") ? "c6a2" : "src", ip, &out) }
        if let port = network.sourcePort { extensions.number("spt", port, &out) }
        if let ip = network.destinationIP { extensions.string(ByteText.contains(ip, ":") ? "c6a3" : "dst", ip, &out) }
        if let port = network.destinationPort { extensions.number("dpt", port, &out) }
        if let transport = network.transport { extensions.string("proto", transport.uppercased(), &out) }
        extensions.string("msg", event, .message, &out)
        extensions.labelled("cs1", "PolicyName", event, .policyName, &out)
        extensions.labelled("cs2", "Tags", event, .tags, &out)
        extensions.labelled("cs3", "Resource", event, .resource, &out)
        extensions.labelled("cs4", "Data", event, .data, &out)
        extensions.labelled("cs5", "Source", event, .source, &out)
        extensions.labelled("cs6", "ContainerName", event, .containerName, &out)
        extensions.labelled("flexString1", "NamespaceName", event, .namespaceName, &out)
        extensions.labelled("flexString2", "PodName", event, .podName, &out)
    }

    /// A header field: `\` and `|` escaped with `\`; CR and LF become spaces.
    static func appendHeaderValue(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendHeaderValue($0, to: &out) }
    }

    /// A header field from UTF-8 bytes.
    static func appendHeaderValue(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(text, escaping: { $0 == 0x5C || $0 == 0x7C || $0 == 0x0A || $0 == 0x0D }) { byte, out in
            if byte == 0x0A || byte == 0x0D {
                out.append(0x20)
            } else {
                out.append(0x5C)
                out.append(byte)
            }
        }
    }

    /// An extension value: `\` and `=` escaped with `\`, LF and CR written as `\n` and `\r`.
    static func appendExtensionValue(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(text, escaping: { $0 == 0x5C || $0 == 0x3D || $0 == 0x0A || $0 == 0x0D }) { byte, out in
            out.append(0x5C)
            out.append(byte == 0x0A ? 0x6E : byte == 0x0D ? 0x72 : byte)
        }
    }

    /// Writes `key=value` pairs separated by spaces, leaving out empty values.
    private struct ExtensionWriter {
        private var first = true

        private mutating func key(_ key: StaticString, _ out: inout [UInt8]) {
            let count = key.utf8CodeUnitCount, space = first ? 0 : 1
            first = false
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 2) { text in
                text[0] = 0x20
                UnsafeMutableRawPointer(text.baseAddress! + space).copyMemory(from: key.utf8Start, byteCount: count)
                text[space + count] = 0x3D
                out.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<(space + count + 1)]))
            }
        }

        /// A value the encoder made (a literal, an address, a transport name).
        mutating func string(_ key: StaticString, _ value: some StringProtocol, _ out: inout [UInt8]) {
            guard !value.isEmpty else { return }
            self.key(key, &out)
            var text = String(value)
            text.withUTF8 { CEFEncoder.appendExtensionValue($0, to: &out) }
        }

        /// A value given as UTF-8 bytes.
        mutating func string(_ key: StaticString, _ value: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8]) {
            guard !value.isEmpty else { return }
            self.key(key, &out)
            CEFEncoder.appendExtensionValue(value, to: &out)
        }

        /// `record`'s `field`.
        mutating func string(_ key: StaticString, _ record: some ExportRecord, _ field: EventField, _ out: inout [UInt8]) {
            guard !record.isEmpty(field) else { return }
            self.key(key, &out)
            record.append(field, as: .cefExtension, to: &out)
        }

        mutating func number(_ key: StaticString, _ value: some BinaryInteger, _ out: inout [UInt8]) {
            self.key(key, &out)
            out.append(decimal: value)
        }

        /// A custom string field and its label (`cs1=… cs1Label=PolicyName`).
        mutating func labelled(_ key: StaticString, _ label: StaticString, _ record: some ExportRecord, _ field: EventField,
                               _ out: inout [UInt8]) {
            guard !record.isEmpty(field) else { return }
            self.key(key, &out)
            record.append(field, as: .cefExtension, to: &out)
            out.append(0x20)
            out.append(literal: key)
            out.append(literal: "Label=")
            out.append(literal: label)
        }
    }
}
