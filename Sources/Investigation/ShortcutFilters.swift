import EventModel

/// The `karmor logs`-style flags of `rearview query`, as a filter that ANDs with the expression.
///
/// Where `karmor logs` has the flag, it matches the way karmor does (`log/logClient.go`): the value is
/// a regular expression found anywhere in the field (unanchored; PCRE2 here, Go's RE2 there), caseless
/// for namespace, type, operation, container and pod, case-sensitive for source and resource, and an
/// event whose field is empty never matches. Empty strings and nil mean "flag not given".
///
/// | flag | field | an event matches when |
/// | --- | --- | --- |
/// | `--host R` | `HostName` | caseless regex `R` matches the non-empty `HostName` |
/// | `--namespace R` | `NamespaceName` | caseless regex matches (karmor `-n`) |
/// | `--pod R` | `PodName` | caseless regex matches (karmor `--pod`) |
/// | `--container R` | `ContainerName`, `ContainerID` | caseless regex matches `ContainerName` (karmor `--container`), or `ContainerID` starts with `R` lowercased (ID prefix) |
/// | `--operation R` | `Operation` | caseless regex matches (karmor `--operation`): `Process`, `File`, `Network`, … |
/// | `--type T` | `Type` | `alert` or `policy`: an alert (`Type` starts with `Matched`); `log` or `system`: a log (`Type` ends with `Log`: `ContainerLog`, `HostLog`); `all`: any event — karmor's `--logFilter` words; any other `T` is a caseless regex on `Type` (karmor `--logType`) |
/// | `--policy R` | `PolicyName` | caseless regex matches |
/// | `--pid N` | `HostPID` | equals `N` |
/// | `--process R` | `ProcessName` | case-sensitive regex matches |
/// | `--resource R` | `Resource` | case-sensitive regex matches (karmor `--resource`) |
/// | `--source R` | `Source` | case-sensitive regex matches (karmor `--source`) |
/// | `--labels k=v,…` | `Labels` | one of the flag's comma-separated `k=v` equals one item of the comma-separated `Labels` exactly (karmor `-l a,b`); a repeated flag must hold each time (`--labels a --labels b`: both); an event without labels does not match |
/// | `--action R` | `Action` | caseless regex matches: `Audit`, `Block`, `Allow` |
/// | `--severity-min N` | `Severity` | `Severity`, read as a number, is at least `N` |
///
/// All given flags must hold (and).
public struct ShortcutFilters: Sendable, Equatable {
    public var host: String?
    public var namespace: String?
    public var pod: String?
    public var container: String?
    public var operation: String?
    public var type: String?
    public var policy: String?
    public var pid: Int32?
    public var process: String?
    public var resource: String?
    public var source: String?
    public var labels: [String]
    public var action: String?
    public var severityMin: Int?

    public init(host: String? = nil, namespace: String? = nil, pod: String? = nil, container: String? = nil,
                operation: String? = nil, type: String? = nil, policy: String? = nil, pid: Int32? = nil,
                process: String? = nil, resource: String? = nil, source: String? = nil, labels: [String] = [],
                action: String? = nil, severityMin: Int? = nil) {
        self.host = host
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.operation = operation
        self.type = type
        self.policy = policy
        self.pid = pid
        self.process = process
        self.resource = resource
        self.source = source
        self.labels = labels
        self.action = action
        self.severityMin = severityMin
    }

    /// The flags as one expression (``FilterExpression/everything`` when none is given); regexes are
    /// compiled here.
    public func expression() throws(ShortcutFilterError) -> FilterExpression {
        var parts = [FilterNode]()
        func regex(_ flag: String, _ value: String?, _ field: EventField, caseless: Bool) throws(ShortcutFilterError) {
            guard let value, !value.isEmpty else { return }
            parts.append(try ShortcutFilters.found(flag, value, in: field, caseless: caseless))
        }
        try regex("--host", host, .hostName, caseless: true)
        try regex("--namespace", namespace, .namespaceName, caseless: true)
        try regex("--pod", pod, .podName, caseless: true)
        if let container, !container.isEmpty {
            parts.append(.or([
                try ShortcutFilters.found("--container", container, in: .containerName, caseless: true),
                .text(.typed(.containerID), .startsWith(container.lowercased())),
            ]))
        }
        try regex("--operation", operation, .operation, caseless: true)
        if let type, !type.isEmpty {
            switch type.lowercased() {
            case "alert", "policy": parts.append(.text(.typed(.type), .startsWith("Matched")))
            case "log", "system": parts.append(.text(.typed(.type), .glob(ShortcutFilters.logType)))
            case "all": break
            default: try regex("--type", type, .type, caseless: true)
            }
        }
        try regex("--policy", policy, .policyName, caseless: true)
        if let pid { parts.append(.compare(.typed(.hostPID), .equal, .integer(Int64(pid)))) }
        try regex("--process", process, .processName, caseless: false)
        try regex("--resource", resource, .resource, caseless: false)
        try regex("--source", source, .source, caseless: false)
        for flag in labels {
            let selectors = flag.split(separator: ",").map(String.init)
            if !selectors.isEmpty { parts.append(.disjunction(selectors.map { .text(.typed(.labels), .hasItem($0)) })) }
        }
        try regex("--action", action, .action, caseless: true)
        if let severityMin { parts.append(.compare(.typed(.severity), .greaterOrEqual, .integer(Int64(severityMin)))) }
        return FilterExpression(.conjunction(parts))
    }

    /// `Type glob '*Log'`: KubeArmor's log types (`ContainerLog`, `HostLog`).
    private static let logType: ShellGlob = {
        do { return try ShellGlob("*Log") } catch { preconditionFailure("constant glob: \(error)") }
    }()

    /// A non-empty `field` in which the regex `value` is found.
    private static func found(_ flag: String, _ value: String, in field: EventField,
                              caseless: Bool) throws(ShortcutFilterError) -> FilterNode {
        do {
            let regex = try PCRERegex(value, options: caseless ? .caseless : [])
            return .and([.exists(.typed(field)), .text(.typed(field), .regex(regex))])
        } catch {
            throw ShortcutFilterError(flag: flag, value: value, reason: "\(error.message) at offset \(error.offset)")
        }
    }
}

/// A shortcut flag whose value is unusable (a regex PCRE2 rejects), with the flag and value.
public struct ShortcutFilterError: Error, Equatable, CustomStringConvertible {
    public var flag: String
    public var value: String
    public var reason: String

    public var description: String { "\(flag) '\(value)': bad regular expression: \(reason)" }
}
