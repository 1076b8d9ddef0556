/// One thing that happened on a host: a KubeArmor alert or log record, or an event rearview recorded.
///
/// `Event` is a superset of KubeArmor's record (field names as `karmor logs --json` prints them), so
/// imported and recorded events look the same to every reader. Strings that KubeArmor omits when
/// empty are empty here; ``layout`` remembers which keys an imported record really had, and in
/// which order, so that export gives back the input.
public struct Event: Sendable, Equatable {
    // time
    /// Unix nanoseconds: exact order. Recorded events have the kernel's time; imported ones the
    /// microseconds of `UpdatedTime`, else `Timestamp` seconds.
    public var timeNs: Int64 = 0
    /// Store-wide sequence number, assigned when the event is appended to a store (0 before).
    public var seq: UInt64 = 0
    /// KubeArmor's `Timestamp`: unix seconds.
    public var timestamp: Int64 = 0
    /// KubeArmor's `UpdatedTime` exactly as given, when it is not simply ``timeNs`` written as
    /// ``UnixTime/rfc3339Micro(_:)`` does (it almost always is, so it is usually nil and costs nothing).
    public var updatedTimeAsGiven: String?
    /// KubeArmor's `UpdatedTime`: RFC 3339 with microseconds.
    public var updatedTime: String { updatedTimeAsGiven ?? UnixTime.rfc3339Micro(timeNs) }

    // where
    public var clusterName = ""
    public var hostName = ""
    public var namespaceName = ""
    public var podName = ""
    public var labels = ""
    public var containerID = ""
    public var containerName = ""
    public var containerImage = ""

    // who
    public var hostPPID: Int32 = 0
    public var hostPID: Int32 = 0
    public var ppid: Int32 = 0
    public var pid: Int32 = 0
    public var uid: Int32 = 0
    public var parentProcessName = ""
    public var processName = ""
    public var source = ""
    public var cwd = ""
    public var tty = ""

    // what
    public var operation = ""
    public var resource = ""
    public var data = ""
    public var result = ""

    // policy
    public var type = ""
    public var policyName = ""
    public var severity = ""
    public var tags = ""
    public var message = ""
    public var action = ""
    public var enforcer = ""

    /// Every other field of an imported record (`Owner`, `ATags`, `EventData`, `ExecEvent`,
    /// exporters' `cluster_id`, …), in input order, each value kept as compact JSON text.
    public var extras: [ExtraField] = []
    /// The keys of the input record in their order and spelling; nil for recorded events, which are
    /// written in KubeArmor's own key order.
    public var layout: KeyLayout?

    public init() {}

    /// The value of a typed field as a string (numbers in decimal).
    public func string(_ field: EventField) -> String {
        switch field {
        case .timestamp: return String(timestamp)
        case .updatedTime: return updatedTime
        case .clusterName: return clusterName
        case .hostName: return hostName
        case .namespaceName: return namespaceName
        case .podName: return podName
        case .labels: return labels
        case .containerID: return containerID
        case .containerName: return containerName
        case .containerImage: return containerImage
        case .hostPPID: return String(hostPPID)
        case .hostPID: return String(hostPID)
        case .ppid: return String(ppid)
        case .pid: return String(pid)
        case .uid: return String(uid)
        case .parentProcessName: return parentProcessName
        case .processName: return processName
        case .policyName: return policyName
        case .severity: return severity
        case .tags: return tags
        case .message: return message
        case .type: return type
        case .source: return source
        case .operation: return operation
        case .resource: return resource
        case .data: return data
        case .enforcer: return enforcer
        case .action: return action
        case .result: return result
        case .cwd: return cwd
        case .tty: return tty
        }
    }

    /// The value of a numeric field (`Timestamp`, `HostPID`, …); nil for string fields.
    public func number(_ field: EventField) -> Int64? {
        switch field {
        case .timestamp: return timestamp
        case .hostPPID: return Int64(hostPPID)
        case .hostPID: return Int64(hostPID)
        case .ppid: return Int64(ppid)
        case .pid: return Int64(pid)
        case .uid: return Int64(uid)
        default: return nil
        }
    }

    /// Sets a typed string field. Numeric fields are set through ``setNumber(_:_:)``.
    public mutating func setString(_ field: EventField, _ value: String) {
        if field == .updatedTime { updatedTimeAsGiven = value } else { assign(field, value) }
    }

    /// Sets a typed numeric field; PIDs and UIDs are truncated to KubeArmor's int32.
    public mutating func setNumber(_ field: EventField, _ value: Int64) {
        switch field {
        case .timestamp: timestamp = value
        case .hostPPID: hostPPID = Int32(truncatingIfNeeded: value)
        case .hostPID: hostPID = Int32(truncatingIfNeeded: value)
        case .ppid: ppid = Int32(truncatingIfNeeded: value)
        case .pid: pid = Int32(truncatingIfNeeded: value)
        case .uid: uid = Int32(truncatingIfNeeded: value)
        default: preconditionFailure("\(field.rawValue) is a string")
        }
    }

    /// The compact JSON text of an extra field, looked up by its exact key.
    public func extra(_ key: String) -> String? {
        extras.first { $0.key == key }?.json
    }

    /// Whether this is a policy alert (`MatchedPolicy`, `MatchedHostPolicy`, `MatchedNetworkPolicy`)
    /// rather than a log.
    public var isAlert: Bool { type.hasPrefix("Matched") }
}

/// A field of an imported record that rearview does not type: its key and its value as compact JSON.
public struct ExtraField: Sendable, Hashable {
    public var key: String
    /// The value as compact JSON text (`"27273"`, `{"Ref":"Deployment"}`, `["MITRE"]`, `3`).
    public var json: String

    public init(key: String, json: String) {
        self.key = key
        self.json = json
    }
}
