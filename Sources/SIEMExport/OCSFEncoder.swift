import EventModel
import EventStore

/// Writes events as OCSF 1.3.0 events: Process Activity (1007), File System Activity (1001) and
/// Network Activity (4001) for logs, Detection Finding (2004) for policy alerts.
///
/// Every event carries the required attributes of its class (class_uid, category_uid, activity_id,
/// type_uid = class_uid × 100 + activity_id, severity_id, time in milliseconds, metadata with product
/// and version, and the class's own objects); KubeArmor fields without an OCSF home go to `unmapped`
/// with their KubeArmor names, so nothing is lost.
public struct OCSFEncoder: RecordEncoder {
    /// The OCSF schema version the events follow (`metadata.version`).
    public static let schemaVersion = "1.3.0"

    /// The field mapping, row by row.
    public static let mapping: [FieldMapping] = [
        FieldMapping("class_uid", "Type, Operation", "alerts: 2004 Detection Finding; Process (and Capabilities, other syscalls): "
            + "1007 Process Activity; File and file syscalls: 1001 File System Activity; Network, NetworkFirewall: 4001 Network Activity"),
        FieldMapping("category_uid", "class", "1 System Activity, 2 Findings, 4 Network Activity"),
        FieldMapping("activity_id", "Data", "1007: 1 Launch (exec, clone), 2 Terminate (exit), 5 Set User ID, 99 Other; "
            + "1001: 14 Open, 1 Create (O_CREAT, mkdir, …), 4 Delete, 5 Rename, 6 Set Attributes, 99 Other; "
            + "4001: 1 Open (connect, accept), 6 Traffic (firewall), 99 Other; 2004: 1 Create"),
        FieldMapping("type_uid", "class, activity", "class_uid × 100 + activity_id"),
        FieldMapping("class_name, category_name, activity_name, type_name", "class, activity", "captions"),
        FieldMapping("time", "TimeNs", "milliseconds; the import's time for a record without one"),
        FieldMapping("metadata.logged_time", "the import's time", "only for a record without a time of its own, instead of original_time"),
        FieldMapping("severity_id, severity", "Type, Severity", "logs: 1 Informational; alerts: 1–3 Low, 4–6 Medium, "
            + "7–8 High, 9–10 Critical, else Unknown"),
        FieldMapping("status_id, status", "Result", "activities: Passed 1 Success, other 2 Failure, empty 0 Unknown; findings: 1 New"),
        FieldMapping("status_detail", "Result", "when not Passed"),
        FieldMapping("action_id, action, disposition_id, disposition", "Action", "findings: Block 2 Denied/2 Blocked, "
            + "Audit 1 Allowed/15 Detected, else 0 Unknown"),
        FieldMapping("message", "Message"),
        FieldMapping("metadata.version, .product.name, .product.vendor_name, .product.version", "constant",
                     "1.3.0; rearview, rearview, its version"),
        FieldMapping("metadata.log_name", "constant", "kubearmor"),
        FieldMapping("metadata.sequence", "Seq", "when set"),
        FieldMapping("metadata.original_time", "UpdatedTime"),
        FieldMapping("metadata.profiles", "ContainerID/Name", "host, plus container when the event has one; security_control for findings"),
        FieldMapping("device.hostname, device.name", "HostName", "else the default host name, else name unknown; type_id 0 Unknown"),
        FieldMapping("actor.process", "HostPPID, ParentProcessName (1007); the process (1001, 4001)"),
        FieldMapping("process (1007), actor.process (1001, 4001), evidences[0].process (2004)", "the process", "as below"),
        FieldMapping("….pid", "HostPID"),
        FieldMapping("….uid", "HostName, HostPID, start", "as ECS process.entity_id"),
        FieldMapping("….name, ….file.path, ….file.name", "ProcessName", "file.type_id 1 Regular File"),
        FieldMapping("….cmd_line", "Resource (Process), Source (other operations)"),
        FieldMapping("….created_time", "TimeNs", "exec and clone events"),
        FieldMapping("….user.uid", "UID", "as a string"),
        FieldMapping("….namespace_pid", "PID", "container profile"),
        FieldMapping("….container.uid, .name, .image.name, .image.uid", "ContainerID, ContainerName, ContainerImage",
                     "image.uid: the digest after @, else the image"),
        FieldMapping("….parent_process.pid, .uid, .name, .file", "HostPPID, ParentProcessName"),
        FieldMapping("exit_code", "Data code=", "exit events"),
        FieldMapping("file.path, file.name, file.type_id", "Resource", "type_id 2 Folder for mkdir/rmdir, else 0 Unknown"),
        FieldMapping("src_endpoint.ip, .port", "Resource/Data", "as ECS source.ip/port"),
        FieldMapping("dst_endpoint.ip, .port", "Resource/Data", "as ECS destination.ip/port; without a peer (socket()): name = Resource"),
        FieldMapping("connection_info.direction_id, .protocol_name", "Data, Resource", "1 Inbound (accept), 2 Outbound (connect), 0 Unknown; tcp, udp"),
        FieldMapping("finding_info.uid", "HostName, TimeNs, HostPID, Seq", "16 hex digits of a hash"),
        FieldMapping("finding_info.title", "Message", "else PolicyName: Action Operation Resource"),
        FieldMapping("finding_info.analytic", "PolicyName", "type_id 1 Rule"),
        FieldMapping("finding_info.types", "Tags", "split at commas"),
        FieldMapping("evidences[0]", "the triggering activity", "process, and file or src_endpoint/dst_endpoint"),
        FieldMapping("unmapped.<Key>", "Timestamp, Type, Operation, Resource, Data, Source, Action, Enforcer, Result, "
            + "Severity, Tags, Labels, ClusterName, NamespaceName, PodName, PID, PPID, Cwd, TTY, extra fields",
                     "with KubeArmor's names, when set"),
    ]

    private let product: [UInt8]
    private let defaultHostName: String
    private var time = TimeText()
    private var entities: ProcessEntityIDs
    private var block = BlockCacheSlot()

    /// `processStarts` (the store's process table) makes process ids independent of the selection.
    public init(_ options: ExportOptions = ExportOptions(), processStarts: (any ProcessStartLookup)? = nil) {
        entities = ProcessEntityIDs(lookup: processStarts)
        var product: [UInt8] = []
        product.append(literal: #"{"name":"rearview","vendor_name":"rearview","version":"#)
        product.append(jsonString: options.productVersion)
        product.append(0x7D)
        self.product = product
        defaultHostName = options.defaultHostName
    }

    /// The OCSF class of an event.
    enum EventClass {
        case processActivity, fileActivity, networkActivity, detectionFinding
    }

    static func eventClass(of record: some ExportRecord, _ facts: EventFacts) -> EventClass {
        if record.isAlert { return .detectionFinding }
        if facts.activity.isFile { return .fileActivity }
        if facts.activity.isNetwork { return .networkActivity }
        return .processActivity
    }

    public mutating func append(_ event: Event, to out: inout [UInt8]) { encode(event, to: &out) }

    public mutating func append(_ batch: ColumnBatch, row: Int, to out: inout [UInt8]) {
        encode(block.record(batch, row: row), to: &out)
    }

    private mutating func encode(_ event: some ExportRecord, to out: inout [UInt8]) {
        let facts = event.facts
        let eventClass = Self.eventClass(of: event, facts)
        // The class and activity: once per distinct facts of a block.
        event.appendMemo(.facts(12), to: &out) { out in
            var doc = JSONObjectWriter(opening: &out)
            let activityID: Int
            switch eventClass {
            case .processActivity:
                doc.raw("class_uid", "1007", &out)
                doc.raw("class_name", #""Process Activity""#, &out)
                doc.raw("category_uid", "1", &out)
                doc.raw("category_name", #""System Activity""#, &out)
                activityID = switch facts.activity {
                case .processExec, .processFork: 1
                case .processExit: 2
                case .processSetID: 5
                default: 99
                }
                Self.appendActivity(activityID, ["", "Launch", "Terminate", "Open", "Inject", "Set User ID"],
                                    className: "Process Activity", classUID: 1007, &doc, &out)
            case .fileActivity:
                doc.raw("class_uid", "1001", &out)
                doc.raw("class_name", #""File System Activity""#, &out)
                doc.raw("category_uid", "1", &out)
                doc.raw("category_name", #""System Activity""#, &out)
                activityID = switch facts.activity {
                case .fileRead, .fileWrite: 14
                case .fileCreate: 1
                case .fileDelete: 4
                case .fileRename: 5
                case .fileAttributes: 6
                default: 99
                }
                Self.appendActivity(activityID, ["", "Create", "Read", "Update", "Delete", "Rename", "Set Attributes", "Set Security",
                                                 "Get Attributes", "Get Security", "Encrypt", "Decrypt", "Mount", "Unmount", "Open"],
                                    className: "File System Activity", classUID: 1001, &doc, &out)
            case .networkActivity:
                doc.raw("class_uid", "4001", &out)
                doc.raw("class_name", #""Network Activity""#, &out)
                doc.raw("category_uid", "4", &out)
                doc.raw("category_name", #""Network Activity""#, &out)
                activityID = switch facts.activity {
                case .networkConnect, .networkAccept: 1
                case .networkTraffic: 6
                default: 99
                }
                Self.appendActivity(activityID, ["", "Open", "Close", "Reset", "Fail", "Refuse", "Traffic", "Listen"],
                                    className: "Network Activity", classUID: 4001, &doc, &out)
            case .detectionFinding:
                doc.raw("class_uid", "2004", &out)
                doc.raw("class_name", #""Detection Finding""#, &out)
                doc.raw("category_uid", "2", &out)
                doc.raw("category_name", #""Findings""#, &out)
                activityID = 1
                Self.appendActivity(1, ["", "Create"], className: "Detection Finding", classUID: 2004, &doc, &out)
            }
        }
        var doc = JSONObjectWriter.continuing
        doc.number("time", TimeText.milliseconds(event.timeOrImportedNs), &out)
        // Severity, status, message and the metadata's constant head: once per distinct facts of a block.
        event.appendMemo(.facts(13), to: &out) { out in
            var doc = JSONObjectWriter.continuing
            appendSeverity(event, facts, &doc, &out)
            if eventClass == .detectionFinding {
                doc.raw("status_id", "1", &out)
                doc.raw("status", #""New""#, &out)
                switch event.string(.action) {
                case "Block":
                    doc.raw("action_id", "2", &out)
                    doc.raw("action", #""Denied""#, &out)
                    doc.raw("disposition_id", "2", &out)
                    doc.raw("disposition", #""Blocked""#, &out)
                case "Audit":
                    doc.raw("action_id", "1", &out)
                    doc.raw("action", #""Allowed""#, &out)
                    doc.raw("disposition_id", "15", &out)
                    doc.raw("disposition", #""Detected""#, &out)
                default:
                    doc.raw("action_id", "0", &out)
                    doc.raw("action", #""Unknown""#, &out)
                }
            } else {
                switch facts.outcome {
                case .success:
                    doc.raw("status_id", "1", &out)
                    doc.raw("status", #""Success""#, &out)
                case .failure:
                    doc.raw("status_id", "2", &out)
                    doc.raw("status", #""Failure""#, &out)
                case .unknown:
                    doc.raw("status_id", "0", &out)
                    doc.raw("status", #""Unknown""#, &out)
                }
                if facts.outcome != .success { doc.string("status_detail", event, .result, &out) }
            }
            doc.string("message", event, .message, &out)
            doc.key("metadata", &out)
            var metadata = JSONObjectWriter(opening: &out)
            metadata.raw("version", #""1.3.0""#, &out)
            metadata.key("product", &out)
            out.append(contentsOf: product)
            metadata.raw("log_name", #""kubearmor""#, &out)
        }
        appendMetadata(event, findings: eventClass == .detectionFinding, &doc, &out)
        let starts = facts.activity == .processExec || facts.activity == .processFork
        switch eventClass {
        case .processActivity:
            doc.key("actor", &out)
            out.append(literal: #"{"process":"#)
            appendParent(event, &out)
            out.append(0x7D)
            doc.key("process", &out)
            appendProcess(event, facts, startsProcess: starts, &out)
            if facts.activity == .processExit, let code = KeyValueText.value(of: "code", in: event.string(.data)).flatMap({ Int32($0) }) {
                doc.number("exit_code", code, &out)
            }
        case .fileActivity:
            doc.key("actor", &out)
            out.append(literal: #"{"process":"#)
            appendProcess(event, facts, startsProcess: starts, &out)
            out.append(0x7D)
            doc.key("file", &out)
            appendFile(event, facts, &out)
        case .networkActivity:
            doc.key("actor", &out)
            out.append(literal: #"{"process":"#)
            appendProcess(event, facts, startsProcess: starts, &out)
            out.append(0x7D)
            appendEndpoints(event, facts, &doc, &out)
            doc.key("connection_info", &out)
            var connection = JSONObjectWriter(opening: &out)
            switch facts.activity {
            case .networkAccept: connection.raw("direction_id", "1", &out); connection.raw("direction", #""Inbound""#, &out)
            case .networkConnect: connection.raw("direction_id", "2", &out); connection.raw("direction", #""Outbound""#, &out)
            default: connection.raw("direction_id", "0", &out); connection.raw("direction", #""Unknown""#, &out)
            }
            if let transport = facts.network.transport { connection.string("protocol_name", transport, &out) }
            connection.close(&out)
        case .detectionFinding:
            doc.key("finding_info", &out)
            appendFindingInfo(event, &out)
            doc.key("evidences", &out)
            out.append(0x5B)
            var evidence = JSONObjectWriter(opening: &out)
            evidence.key("process", &out)
            appendProcess(event, facts, startsProcess: starts, &out)
            if facts.activity.isFile && !event.isEmpty(.resource) {
                evidence.key("file", &out)
                appendFile(event, facts, &out)
            } else if facts.activity.isNetwork {
                appendEndpoints(event, facts, &evidence, &out)
            }
            evidence.close(&out)
            out.append(0x5D)
        }
        doc.key("unmapped", &out)
        appendUnmapped(event, &out)
        doc.close(&out)
    }

    private static func appendActivity(_ id: Int, _ names: [StaticString], className: StaticString, classUID: Int,
                                       _ doc: inout JSONObjectWriter, _ out: inout [UInt8]) {
        doc.number("activity_id", id, &out)
        let name: StaticString = id < names.count ? names[id] : "Other"
        doc.key("activity_name", &out)
        out.append(0x22)
        out.append(literal: name)
        out.append(0x22)
        doc.number("type_uid", classUID * 100 + id, &out)
        doc.key("type_name", &out)
        out.append(0x22)
        out.append(literal: className)
        out.append(literal: ": ")
        out.append(literal: name)
        out.append(0x22)
    }

    private func appendSeverity(_ event: some ExportRecord, _ facts: EventFacts, _ doc: inout JSONObjectWriter, _ out: inout [UInt8]) {
        guard event.isAlert else {
            doc.raw("severity_id", "1", &out)
            doc.raw("severity", #""Informational""#, &out)
            return
        }
        switch facts.severity ?? 0 {
        case 1...3: doc.raw("severity_id", "2", &out); doc.raw("severity", #""Low""#, &out)
        case 4...6: doc.raw("severity_id", "3", &out); doc.raw("severity", #""Medium""#, &out)
        case 7...8: doc.raw("severity_id", "4", &out); doc.raw("severity", #""High""#, &out)
        case 9...10: doc.raw("severity_id", "5", &out); doc.raw("severity", #""Critical""#, &out)
        default: doc.raw("severity_id", "0", &out); doc.raw("severity", #""Unknown""#, &out)
        }
    }

    /// `metadata` after its constant head (written with the status), then `device`.
    private mutating func appendMetadata(_ event: some ExportRecord, findings: Bool, _ doc: inout JSONObjectWriter, _ out: inout [UInt8]) {
        var metadata = JSONObjectWriter.continuing
        if event.seq != 0 { metadata.number("sequence", event.seq, &out) }
        if !event.hasTime, let importedNs = event.importedNs {
            // The record has no time: `time` is when it was imported, and this says so.
            metadata.number("logged_time", TimeText.milliseconds(importedNs), &out)
        } else {
            metadata.key("original_time", &out)
            if !event.appendGivenUpdatedTime(to: &out) {
                out.append(0x22)
                time.appendRFC3339(event.timeNs, fractionDigits: 6, to: &out)
                out.append(0x22)
            }
        }
        // The profiles and the device, once per process context of a block (findings and activities apart).
        event.appendMemo(.context(findings ? 1 : 0), to: &out) { out in
            metadata.key("profiles", &out)
            switch (Self.hasContainer(event), findings) {
            case (false, false): out.append(literal: #"["host"]"#)
            case (true, false): out.append(literal: #"["host","container"]"#)
            case (false, true): out.append(literal: #"["host","security_control"]"#)
            case (true, true): out.append(literal: #"["host","container","security_control"]"#)
            }
            metadata.close(&out)
            // Required by the system classes; a device needs a name, so an event without any host gets "unknown".
            var doc = JSONObjectWriter.continuing
            doc.key("device", &out)
            var device = JSONObjectWriter(opening: &out)
            if !event.isEmpty(.hostName) {
                device.string("hostname", event, .hostName, &out)
                device.string("name", event, .hostName, &out)
            } else if !defaultHostName.isEmpty {
                device.string("hostname", defaultHostName, &out)
                device.string("name", defaultHostName, &out)
            } else {
                device.raw("name", #""unknown""#, &out)
            }
            device.raw("type_id", "0", &out)
            device.raw("type", #""Unknown""#, &out)
            device.close(&out)
        }
    }

    private static func hasContainer(_ event: some ExportRecord) -> Bool { !event.isEmpty(.containerID) || !event.isEmpty(.containerName) }

    /// The event's process, with its parent, user and container.
    private mutating func appendProcess(_ event: some ExportRecord, _ facts: EventFacts, startsProcess: Bool, _ out: inout [UInt8]) {
        event.appendMemo(.context(2), to: &out) { out in
            var process = JSONObjectWriter(opening: &out)
            process.number("pid", event.hostPID, &out)
            process.key("uid", &out)
        }
        entities.appendQuotedID(pid: event.hostPID, of: event, startsProcess: startsProcess, to: &out)
        event.appendMemo(.context(3), to: &out) { out in
            var process = JSONObjectWriter.continuing
            Self.appendExecutable(event, .processName, &process, &out)
        }
        var process = JSONObjectWriter.continuing
        if facts.isProcessOperation {
            process.string("cmd_line", event, .resource, &out)
        } else {
            event.appendMemo(.context(4), to: &out) { out in
                var process = JSONObjectWriter.continuing
                process.string("cmd_line", event, .source, &out)
            }
        }
        if startsProcess { process.number("created_time", TimeText.milliseconds(event.timeNs), &out) }
        event.appendMemo(.context(5), to: &out) { out in
            var process = JSONObjectWriter.continuing
            process.key("user", &out)
            out.append(literal: #"{"uid":""#)
            out.append(decimal: event.uid)
            out.append(literal: #""}"#)
            if Self.hasContainer(event) {
                process.number("namespace_pid", event.pid, &out)
                process.key("container", &out)
                var container = JSONObjectWriter(opening: &out)
                container.string("uid", event, .containerID, &out)
                container.string("name", event, .containerName, &out)
                if !event.isEmpty(.containerImage) {
                    container.key("image", &out)
                    var image = JSONObjectWriter(opening: &out)
                    image.string("name", event, .containerImage, &out)
                    let image_ = event.string(.containerImage)
                    if let at = image_.utf8.firstIndex(of: 0x40) {
                        image.string("uid", Substring(image_.utf8[image_.utf8.index(after: at)...]), &out)
                    } else {
                        image.string("uid", image_, &out)
                    }
                    image.close(&out)
                }
                container.close(&out)
            }
            process.key("parent_process", &out)
        }
        appendParent(event, &out)
        out.append(0x7D)
    }

    /// The parent process: HostPPID and ParentProcessName.
    private mutating func appendParent(_ event: some ExportRecord, _ out: inout [UInt8]) {
        event.appendMemo(.context(6), to: &out) { out in
            var parent = JSONObjectWriter(opening: &out)
            parent.number("pid", event.hostPPID, &out)
            parent.key("uid", &out)
        }
        entities.appendQuotedID(pid: event.hostPPID, of: event, startsProcess: false, to: &out)
        event.appendMemo(.context(7), to: &out) { out in
            var parent = JSONObjectWriter.continuing
            Self.appendExecutable(event, .parentProcessName, &parent, &out)
            parent.close(&out)
        }
    }

    /// `name` and `file` of a process from its executable's path.
    private static func appendExecutable(_ event: some ExportRecord, _ path: EventField, _ process: inout JSONObjectWriter,
                                         _ out: inout [UInt8]) {
        guard !event.isEmpty(path) else { return }
        process.lastComponent("name", event, path, &out)
        process.key("file", &out)
        var file = JSONObjectWriter(opening: &out)
        file.key("name", &out)
        event.append(path, as: .jsonLastComponent, to: &out)
        file.string("path", event, path, &out)
        file.raw("type_id", "1", &out)
        file.raw("type", #""Regular File""#, &out)
        file.close(&out)
    }

    private func appendFile(_ event: some ExportRecord, _ facts: EventFacts, _ out: inout [UInt8]) {
        var file = JSONObjectWriter(opening: &out)
        file.key("name", &out)
        event.append(.resource, as: .jsonLastComponent, to: &out)
        file.string("path", event, .resource, &out)
        switch facts.call {
        case "mkdir", "mkdirat", "rmdir": file.raw("type_id", "2", &out); file.raw("type", #""Folder""#, &out)
        default: file.raw("type_id", "0", &out); file.raw("type", #""Unknown""#, &out)
        }
        file.close(&out)
    }

    private func appendEndpoints(_ event: some ExportRecord, _ facts: EventFacts, _ doc: inout JSONObjectWriter, _ out: inout [UInt8]) {
        let network = facts.network
        if network.sourceIP != nil {
            doc.key("src_endpoint", &out)
            var source = JSONObjectWriter(opening: &out)
            if let ip = network.sourceIP { source.string("ip", ip, &out) }
            if let port = network.sourcePort { source.number("port", port, &out) }
            source.close(&out)
        }
        doc.key("dst_endpoint", &out)
        var destination = JSONObjectWriter(opening: &out)
        if let ip = network.destinationIP { destination.string("ip", ip, &out) }
        if let port = network.destinationPort { destination.number("port", port, &out) }
        if network.destinationIP == nil {
            destination.key("name", &out)
            event.append(event.isEmpty(.resource) ? .operation : .resource, as: .json, to: &out)
        }
        destination.close(&out)
    }

    private func appendFindingInfo(_ event: some ExportRecord, _ out: inout [UInt8]) {
        var info = JSONObjectWriter(opening: &out)
        info.key("uid", &out)
        var id = FastHash.mix(event.hostNameHash ^ UInt64(bitPattern: event.timeNs), 0x9E37_79B9_7F4A_7C15)
        id = FastHash.mix(id ^ UInt64(UInt32(bitPattern: event.hostPID)) ^ event.seq << 32, 0xC2B2_AE3D_27D4_EB4F)
        out.append(0x22)
        for shift in stride(from: 60, through: 0, by: -4) { out.append(Self.hexDigits[Int(id >> UInt64(shift) & 15)]) }
        out.append(0x22)
        info.key("title", &out)
        if !event.isEmpty(.message) {
            event.append(.message, as: .json, to: &out)
        } else {
            let policyName = event.string(.policyName), action = event.string(.action), resource = event.string(.resource)
            var title = policyName.isEmpty ? "" : policyName + ": "
            if !action.isEmpty { title += action + " " }
            title += event.string(.operation)
            if !resource.isEmpty { title += " " + resource }
            out.append(jsonString: title)
        }
        if !event.isEmpty(.policyName) {
            info.key("analytic", &out)
            var analytic = JSONObjectWriter(opening: &out)
            analytic.string("name", event, .policyName, &out)
            analytic.raw("type_id", "1", &out)
            analytic.raw("type", #""Rule""#, &out)
            analytic.close(&out)
        }
        if !event.isEmpty(.tags) {
            info.key("types", &out)
            event.append(.tags, as: .jsonList, to: &out)
        }
        info.close(&out)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private func appendUnmapped(_ event: some ExportRecord, _ out: inout [UInt8]) {
        var object = JSONObjectWriter(opening: &out)
        if event.timestamp != 0 { object.number("Timestamp", event.timestamp, &out) }
        object.members(&out) { out in
            event.appendMemo(.verdict(8), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Type", event, .type, &out)
                object.string("Operation", event, .operation, &out)
            }
        }
        object.string("Resource", event, .resource, &out)
        object.string("Data", event, .data, &out)
        object.members(&out) { out in
            event.appendMemo(.context(9), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Source", event, .source, &out)
            }
        }
        object.members(&out) { out in
            event.appendMemo(.verdict(10), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Action", event, .action, &out)
                object.string("Enforcer", event, .enforcer, &out)
                object.string("Result", event, .result, &out)
                object.string("Severity", event, .severity, &out)
                object.string("Tags", event, .tags, &out)
            }
        }
        object.members(&out) { out in
            event.appendMemo(.context(11), to: &out) { out in
                var object = JSONObjectWriter.continuing
                object.string("Labels", event, .labels, &out)
                object.string("ClusterName", event, .clusterName, &out)
                object.string("NamespaceName", event, .namespaceName, &out)
                object.string("PodName", event, .podName, &out)
                object.number("PID", event.pid, &out)
                object.number("PPID", event.ppid, &out)
                object.string("Cwd", event, .cwd, &out)
                object.string("TTY", event, .tty, &out)
            }
        }
        for i in 0..<event.extraCount {
            object.key(dynamic: event, extra: i, &out)
            event.appendExtraJSON(i, to: &out)
        }
        object.close(&out)
    }
}
