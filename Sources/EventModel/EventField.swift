/// A field of the KubeArmor alert/log record that rearview keeps typed.
///
/// The raw value is the key as `karmor logs --json` spells it. Fields KubeArmor writes as JSON objects
/// or arrays (`Owner`, `ATags`, `EventData`, `ExecEvent`) and any field rearview does not know are kept
/// verbatim in ``Event/extras`` instead, so that nothing from an input record is lost.
public enum EventField: String, CaseIterable, Sendable, Hashable {
    case timestamp = "Timestamp"
    case updatedTime = "UpdatedTime"
    case clusterName = "ClusterName"
    case hostName = "HostName"
    case namespaceName = "NamespaceName"
    case podName = "PodName"
    case labels = "Labels"
    case containerID = "ContainerID"
    case containerName = "ContainerName"
    case containerImage = "ContainerImage"
    case hostPPID = "HostPPID"
    case hostPID = "HostPID"
    case ppid = "PPID"
    case pid = "PID"
    case uid = "UID"
    case parentProcessName = "ParentProcessName"
    case processName = "ProcessName"
    case policyName = "PolicyName"
    case severity = "Severity"
    case tags = "Tags"
    case message = "Message"
    case type = "Type"
    case source = "Source"
    case operation = "Operation"
    case resource = "Resource"
    case data = "Data"
    case enforcer = "Enforcer"
    case action = "Action"
    case result = "Result"
    case cwd = "Cwd"
    case tty = "TTY"

    /// Whether the field holds a JSON number (all others hold strings).
    public var isNumeric: Bool {
        switch self {
        case .timestamp, .hostPPID, .hostPID, .ppid, .pid, .uid: return true
        default: return false
        }
    }

    /// Looks a key up the way KubeArmor's two JSON shapes spell it: karmor's PascalCase (`HostPID`) and the
    /// daemon's `-logPath` camelCase (`hostPid`, `hostPPid`); the comparison ignores ASCII case.
    public init?(key: some StringProtocol) {
        guard let field = EventField.byLowercasedKey[key.lowercased()] else { return nil }
        self = field
    }

    private static let byLowercasedKey: [String: EventField] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.rawValue.lowercased(), $0) })

    /// Position of the field in `allCases`, a small dense number for tables and encodings.
    public var ordinal: Int { EventField.ordinals[self]! }

    private static let ordinals: [EventField: Int] = Dictionary(
        uniqueKeysWithValues: allCases.enumerated().map { ($1, $0) })
}

/// The order and spelling of the keys of one input record, so that export reproduces it exactly.
///
/// Records from the same source share a handful of layouts; stores and codecs intern them.
public struct KeyLayout: Hashable, Sendable {
    /// The keys as they appeared in the input, in order.
    public let keys: [String]

    public init(keys: [String]) { self.keys = keys }
}
