import EventModel
import EventStore

/// Writes events as Elastic Common Schema (ECS 8.17) documents, nested JSON objects, one per event.
///
/// Fields with an ECS home go there; every KubeArmor field without one (and every extra field of an
/// imported record) goes under `kubearmor.*` with its KubeArmor name, so nothing is lost.
public struct ECSEncoder: RecordEncoder {
    /// The ECS version the documents follow (`ecs.version`).
    public static let ecsVersion = "8.17.0"

    /// The field mapping, row by row.
    public static let mapping: [FieldMapping] = [
        FieldMapping("@timestamp", "TimeNs", "RFC 3339, nanoseconds, UTC; the import's time for a record without one"),
        FieldMapping("event.ingested", "the import's time", "only for a record without a time of its own"),
        FieldMapping("ecs.version", "constant", ecsVersion),
        FieldMapping("event.kind", "Type", "alert for Matched* (policy alerts), event otherwise"),
        FieldMapping("event.module", "constant", "kubearmor"),
        FieldMapping("event.dataset", "Type", "kubearmor.alert or kubearmor.log"),
        FieldMapping("event.category", "Operation, Data", "Process: process; File and file syscalls (unlink, rmdir, …): file; "
            + "Network, NetworkFirewall: network; others: host"),
        FieldMapping("event.type", "Operation, Data", "exec/clone: start, exit: end, set*id: change; open: access (read), "
            + "change (write), creation (O_CREAT); unlink/rmdir: deletion; connect/accept: connection+start; "
            + "Block on network: +denied; otherwise info"),
        FieldMapping("event.action", "Data", "the syscall/kprobe/lsm/kfunc value, lowercase, without SYS_ (execve, openat, tcp_connect)"),
        FieldMapping("event.outcome", "Result", "Passed: success; empty or 'Operation now in progress': unknown; else failure"),
        FieldMapping("event.severity", "Severity", "when a number"),
        FieldMapping("event.sequence", "Seq", "store-wide sequence, when set"),
        FieldMapping("host.name, host.hostname", "HostName", "else the default host name (--host-name)"),
        FieldMapping("process.pid", "HostPID"),
        FieldMapping("process.entity_id", "HostName, HostPID, start",
                     "16 hex digits of a hash of the three; start = the instance's start in the store's process table (export, forward without --follow), else TimeNs of the latest exec/clone of that PID earlier in the stream, else 0"),
        FieldMapping("process.executable", "ProcessName"),
        FieldMapping("process.name", "ProcessName", "the last path component"),
        FieldMapping("process.command_line", "Resource (Process), Source (other operations)"),
        FieldMapping("process.args, process.args_count", "the command line", "its words split at spaces (KubeArmor joins argv with spaces)"),
        FieldMapping("process.working_directory", "Cwd"),
        FieldMapping("process.user.id", "UID", "as a string"),
        FieldMapping("process.parent.pid", "HostPPID"),
        FieldMapping("process.parent.entity_id", "HostName, HostPPID, start", "as process.entity_id"),
        FieldMapping("process.parent.executable", "ParentProcessName"),
        FieldMapping("process.parent.name", "ParentProcessName", "the last path component"),
        FieldMapping("file.path", "Resource", "File operations and file syscalls (unlink, rmdir, …)"),
        FieldMapping("file.name", "Resource", "the last path component"),
        FieldMapping("source.ip, source.port", "Resource/Data", "remoteip= of tcp_accept; SourceIP=, SourcePort= of NetworkFirewall"),
        FieldMapping("destination.ip", "Resource/Data", "remoteip=, sin_addr=, sin6_addr=, daddr=, DestinationIP="),
        FieldMapping("destination.port", "Resource/Data", "port=, sin_port=, sin6_port=, DestinationPort="),
        FieldMapping("network.transport", "Resource/Data", "protocol= lowercase (tcp); udp for kfunc=UDP_*"),
        FieldMapping("network.direction", "Data", "ingress for accept, egress for connect"),
        FieldMapping("container.id", "ContainerID"),
        FieldMapping("container.name", "ContainerName"),
        FieldMapping("container.image.name", "ContainerImage"),
        FieldMapping("orchestrator.type", "NamespaceName/PodName", "kubernetes when either is set"),
        FieldMapping("orchestrator.cluster.name", "ClusterName"),
        FieldMapping("orchestrator.namespace", "NamespaceName"),
        FieldMapping("orchestrator.resource.type", "PodName", "pod when set"),
        FieldMapping("orchestrator.resource.name", "PodName"),
        FieldMapping("rule.name", "PolicyName"),
        FieldMapping("labels", "Labels", "an object: k=v items split at commas, dots in keys made _ (kubearmor.Labels keeps the text)"),
        FieldMapping("tags", "Tags", "split at commas"),
        FieldMapping("message", "Message"),
        FieldMapping("kubearmor.Timestamp", "Timestamp", "when set"),
        FieldMapping("kubearmor.UpdatedTime", "UpdatedTime", "only when it differs from TimeNs in microseconds"),
        FieldMapping("kubearmor.Type, .Operation, .Resource, .Data, .Source", "same", "as they are"),
        FieldMapping("kubearmor.Action, .Enforcer, .Result, .Labels", "same", "when set"),
        FieldMapping("kubearmor.PID, .PPID, .TTY", "same", "PID and PPID in the container's namespace"),
        FieldMapping("kubearmor.Severity", "Severity", "when set and not a number"),
        FieldMapping("kubearmor.<key>", "extra fields", "Owner, ATags, EventData, …: the JSON value as imported"),
    ]

    private let defaultHostName: String
    private var time = TimeText()
    private var entities: ProcessEntityIDs
    private var block = BlockCacheSlot()

    /// `processStarts` (the store's process table) makes process ids independent of the selection.
    public init(_ options: ExportOptions = ExportOptions(), processStarts: (any ProcessStartLookup)? = nil) {
        entities = ProcessEntityIDs(lookup: processStarts)
        defaultHostName = options.defaultHostName
    }

    public mutating func append(_ event: Event, to out: inout [UInt8]) { encode(event, to: &out) }

    public mutating func append(_ batch: ColumnBatch, row: Int, to out: inout [UInt8]) {
        encode(block.record(batch, row: row), to: &out)
    }

    private mutating func encode(_ record: some ExportRecord, to out: inout [UInt8]) {
        let facts = record.facts
        var doc = JSONObjectWriter(opening: &out)
        doc.key("@timestamp", &out)
        out.append(0x22)
        time.appendRFC3339(record.timeOrImportedNs, fractionDigits: 9, to: &out)
        out.append(0x22)
        doc.raw("ecs", #"{"version":"8.17.0"}"#, &out)

        doc.key("event", &out)
        appendEventObject(record, facts, to: &out)

        // The host and the process's own facts are written once per process context of a block.
        record.appendMemo(.context(0), to: &out) { out in
            var doc = JSONObjectWriter.continuing
            if !record.isEmpty(.hostName) {
                doc.key("host", &out)
                out.append(literal: #"{"name":"#)
                record.append(.hostName, as: .json, to: &out)
                out.append(literal: #","hostname":"#)
                record.append(.hostName, as: .json, to: &out)
                out.append(0x7D)
            } else if !defaultHostName.isEmpty {
                doc.key("host", &out)
                var host = JSONObjectWriter(opening: &out)
                host.string("name", defaultHostName, &out)
                host.string("hostname", defaultHostName, &out)
                host.close(&out)
            }
            doc.key("process", &out)
            var process = JSONObjectWriter(opening: &out)
            process.number("pid", record.hostPID, &out)
            process.key("entity_id", &out)
        }
        appendProcessObject(record, facts, to: &out)

        if facts.activity.isFile && !record.isEmpty(.resource) {
            doc.key("file", &out)
            var file = JSONObjectWriter(opening: &out)
            file.string("path", record, .resource, &out)
            file.lastComponent("name", record, .resource, &out)
            file.close(&out)
        }
        appendNetwork(facts.network, to: &out, &doc)

        record.appendMemo(.context(5), to: &out) { out in
            var doc = JSONObjectWriter.continuing
            if !record.isEmpty(.containerID) || !record.isEmpty(.containerName) || !record.isEmpty(.containerImage) {
                doc.key("container", &out)
                var container = JSONObjectWriter(opening: &out)
                container.string("id", record, .containerID, &out)
                container.string("name", record, .containerName, &out)
                if !record.isEmpty(.containerImage) {
                    container.key("image", &out)
                    var image = JSONObjectWriter(opening: &out)
                    image.string("name", record, .containerImage, &out)
                    image.close(&out)
                }
                container.close(&out)
            }
            appendOrchestrator(record, to: &out, &doc)
            if !record.isEmpty(.labels) {
                doc.key("labels", &out)
                record.append(.labels, as: .jsonLabels, to: &out)
            }
        }
        record.appendMemo(.verdict(6), to: &out) { out in
            var doc = JSONObjectWriter.continuing
            if !record.isEmpty(.policyName) {
                doc.key("rule", &out)
                var rule = JSONObjectWriter(opening: &out)
                rule.string("name", record, .policyName, &out)
                rule.close(&out)
            }
            if !record.isEmpty(.tags) {
                doc.key("tags", &out)
                record.append(.tags, as: .jsonList, to: &out)
            }
            doc.string("message", record, .message, &out)
            doc.key("kubearmor", &out)
        }
        appendKubeArmorObject(record, facts, to: &out)
        doc.close(&out)
    }

    private mutating func appendEventObject(_ record: some ExportRecord, _ facts: EventFacts, to out: inout [UInt8]) {
        // Everything but the sequence: once per distinct facts of a block.
        record.appendMemo(.facts(12), to: &out) { out in
            var object = JSONObjectWriter(opening: &out)
            if record.isAlert {
                object.raw("kind", #""alert""#, &out)
                object.raw("module", #""kubearmor""#, &out)
                object.raw("dataset", #""kubearmor.alert""#, &out)
            } else {
                object.raw("kind", #""event""#, &out)
                object.raw("module", #""kubearmor""#, &out)
                object.raw("dataset", #""kubearmor.log""#, &out)
            }
            let activity = facts.activity
            object.key("category", &out)
            out.append(literal: activity.isProcess ? #"["process"]"# : activity.isFile ? #"["file"]"#
                       : activity.isNetwork ? #"["network"]"# : #"["host"]"#)
            object.key("type", &out)
            switch activity {
            case .processExec, .processFork: out.append(literal: #"["start"]"#)
            case .processExit: out.append(literal: #"["end"]"#)
            case .processSetID, .fileWrite, .fileRename, .fileAttributes: out.append(literal: #"["change"]"#)
            case .fileRead: out.append(literal: #"["access"]"#)
            case .fileCreate: out.append(literal: #"["creation"]"#)
            case .fileDelete: out.append(literal: #"["deletion"]"#)
            case .networkConnect, .networkAccept, .networkTraffic:
                out.append(literal: facts.isBlocked ? #"["connection","start","denied"]"# : #"["connection","start"]"#)
            case .networkSocket, .networkSend, .networkOther:
                out.append(literal: facts.isBlocked ? #"["info","denied"]"# : #"["info"]"#)
            case .processOther, .fileOther, .capability, .other: out.append(literal: #"["info"]"#)
            }
            object.string("action", facts.call, &out)
            switch facts.outcome {
            case .success: object.raw("outcome", #""success""#, &out)
            case .failure: object.raw("outcome", #""failure""#, &out)
            case .unknown: object.raw("outcome", #""unknown""#, &out)
            }
            if let severity = facts.severity { object.number("severity", severity, &out) }
        }
        var object = JSONObjectWriter.continuing
        if record.seq != 0 { object.number("sequence", record.seq, &out) }
        if !record.hasTime, let importedNs = record.importedNs {
            // The record has no time: `@timestamp` is when it was imported, and this says so.
            object.key("ingested", &out)
            out.append(0x22)
            time.appendRFC3339(importedNs, fractionDigits: 9, to: &out)
            out.append(0x22)
        }
        object.close(&out)
    }

    /// The process object after its `pid` and `"entity_id":` (written with the host).
    private mutating func appendProcessObject(_ record: some ExportRecord, _ facts: EventFacts, to out: inout [UInt8]) {
        let starts = facts.activity == .processExec || facts.activity == .processFork
        entities.appendQuotedID(pid: record.hostPID, of: record, startsProcess: starts, to: &out)
        record.appendMemo(.context(1), to: &out) { out in
            var process = JSONObjectWriter.continuing
            process.string("executable", record, .processName, &out)
            process.lastComponent("name", record, .processName, &out)
        }
        if facts.isProcessOperation {
            Self.appendCommandLine(record, .resource, to: &out)
        } else {
            record.appendMemo(.context(2), to: &out) { out in Self.appendCommandLine(record, .source, to: &out) }
        }
        record.appendMemo(.context(3), to: &out) { out in
            var process = JSONObjectWriter.continuing
            process.string("working_directory", record, .cwd, &out)
            process.key("user", &out)
            out.append(literal: #"{"id":""#)
            out.append(decimal: record.uid)
            out.append(literal: #""}"#)
            process.key("parent", &out)
            var parent = JSONObjectWriter(opening: &out)
            parent.number("pid", record.hostPPID, &out)
            parent.key("entity_id", &out)
        }
        entities.appendQuotedID(pid: record.hostPPID, of: record, startsProcess: false, to: &out)
        record.appendMemo(.context(4), to: &out) { out in
            var parent = JSONObjectWriter.continuing
            parent.string("executable", record, .parentProcessName, &out)
            parent.lastComponent("name", record, .parentProcessName, &out)
            parent.close(&out)
            out.append(0x7D)
        }
    }

    /// `command_line`, `args` and `args_count` of the process object, from `field`.
    private static func appendCommandLine(_ record: some ExportRecord, _ field: EventField, to out: inout [UInt8]) {
        guard !record.isEmpty(field) else { return }
        var process = JSONObjectWriter.continuing
        process.string("command_line", record, field, &out)
        process.key("args", &out)
        record.append(field, as: .jsonWords, to: &out)
        process.key("args_count", &out)
        record.append(field, as: .wordCount, to: &out)
    }

    private func appendNetwork(_ network: NetworkFacts, to out: inout [UInt8], _ doc: inout JSONObjectWriter) {
        func endpoint(_ key: StaticString, _ ip: Substring?, _ port: Int?, _ out: inout [UInt8]) {
            guard ip != nil || port != nil else { return }
            doc.key(key, &out)
            var endpoint = JSONObjectWriter(opening: &out)
            if let ip { endpoint.string("ip", ip, &out) }
            if let port { endpoint.number("port", port, &out) }
            endpoint.close(&out)
        }
        endpoint("source", network.sourceIP, network.sourcePort, &out)
        endpoint("destination", network.destinationIP, network.destinationPort, &out)
        guard network.transport != nil || network.direction != nil else { return }
        doc.key("network", &out)
        var object = JSONObjectWriter(opening: &out)
        if let transport = network.transport { object.string("transport", transport, &out) }
        if let direction = network.direction {
            object.key("direction", &out)
            out.append(0x22)
            out.append(literal: direction)
            out.append(0x22)
        }
        object.close(&out)
    }

    private func appendOrchestrator(_ record: some ExportRecord, to out: inout [UInt8], _ doc: inout JSONObjectWriter) {
        let hasNamespace = !record.isEmpty(.namespaceName), hasPod = !record.isEmpty(.podName)
        guard hasNamespace || hasPod || !record.isEmpty(.clusterName) else { return }
        doc.key("orchestrator", &out)
        var object = JSONObjectWriter(opening: &out)
        if hasNamespace || hasPod { object.raw("type", #""kubernetes""#, &out) }
        if !record.isEmpty(.clusterName) {
            object.key("cluster", &out)
            var cluster = JSONObjectWriter(opening: &out)
            cluster.string("name", record, .clusterName, &out)
            cluster.close(&out)
        }
        object.string("namespace", record, .namespaceName, &out)
        if hasPod {
            object.key("resource", &out)
            var resource = JSONObjectWriter(opening: &out)
            resource.raw("type", #""pod""#, &out)
            resource.string("name", record, .podName, &out)
            resource.close(&out)
        }
        object.close(&out)
    }

    /// The `kubearmor` object (its key is written with the rule, tags and message).
    private func appendKubeArmorObject(_ record: some ExportRecord, _ facts: EventFacts, to out: inout [UInt8]) {
        var object = JSONObjectWriter(opening: &out)
        if record.timestamp != 0 { object.number("Timestamp", record.timestamp, &out) }
        if record.hasGivenUpdatedTime && !record.hasEmptyGivenUpdatedTime {
            object.key("UpdatedTime", &out)
            _ = record.appendGivenUpdatedTime(to: &out)
        }
        object.members(&out) { out in
            record.appendMemo(.verdict(7), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Type", record, .type, &out)
                object.string("Operation", record, .operation, &out)
            }
        }
        object.string("Resource", record, .resource, &out)
        object.string("Data", record, .data, &out)
        object.members(&out) { out in
            record.appendMemo(.context(8), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Source", record, .source, &out)
            }
        }
        object.members(&out) { out in
            record.appendMemo(.verdict(9), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Action", record, .action, &out)
                object.string("Enforcer", record, .enforcer, &out)
                object.string("Result", record, .result, &out)
            }
        }
        object.members(&out) { out in
            record.appendMemo(.context(10), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Labels", record, .labels, &out)
                object.number("PID", record.pid, &out)
                object.number("PPID", record.ppid, &out)
                object.string("TTY", record, .tty, &out)
            }
        }
        // Facts' severity is the verdict's `Severity` read as a number.
        record.appendMemo(.verdict(11), to: &out) { out in
            var object = JSONObjectWriter.continuing
            if facts.severity == nil { object.string("Severity", record, .severity, &out) }
        }
        for i in 0..<record.extraCount {
            object.key(dynamic: record, extra: i, &out)
            record.appendExtraJSON(i, to: &out)
        }
        object.close(&out)
    }
}

/// Path text helpers.
enum PathText {
    /// The bytes after the last `/` of UTF-8 text (all of it when it has none; empty for a trailing `/`).
    static func lastComponent(_ path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let slash = path.lastIndex(of: 0x2F) else { return path }
        return UnsafeBufferPointer(rebasing: path[(slash + 1)...])
    }
}
