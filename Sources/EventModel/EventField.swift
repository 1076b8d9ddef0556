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

    /// KubeArmor's own record keys that rearview keeps as extras (`Owner`, `ATags`, …): names a filter
    /// may use even where no stored record has them.
    public static var kubeArmorExtraKeys: Set<String> { KubeArmorKeyOrder.extraKeys }

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
    public var ordinal: Int {
        switch self {
        case .timestamp: return 0
        case .updatedTime: return 1
        case .clusterName: return 2
        case .hostName: return 3
        case .namespaceName: return 4
        case .podName: return 5
        case .labels: return 6
        case .containerID: return 7
        case .containerName: return 8
        case .containerImage: return 9
        case .hostPPID: return 10
        case .hostPID: return 11
        case .ppid: return 12
        case .pid: return 13
        case .uid: return 14
        case .parentProcessName: return 15
        case .processName: return 16
        case .policyName: return 17
        case .severity: return 18
        case .tags: return 19
        case .message: return 20
        case .type: return 21
        case .source: return 22
        case .operation: return 23
        case .resource: return 24
        case .data: return 25
        case .enforcer: return 26
        case .action: return 27
        case .result: return 28
        case .cwd: return 29
        case .tty: return 30
        }
    }
}

/// The order and spelling of the keys of one input record, so that export reproduces it exactly.
///
/// Records from the same source share a handful of layouts; stores and codecs intern them.
public struct KeyLayout: Hashable, Sendable {
    /// The keys as they appeared in the input, in order.
    public let keys: [String]

    public init(keys: [String]) { self.keys = keys }
}
