/// The kind of a KubeArmor security policy, as its YAML `kind` spells it.
///
/// rearview evaluates the three kinds that act on processes, files, sockets and capabilities;
/// `KubeArmorNetworkPolicy` (a packet firewall) is recognised by the loader and rejected as unsupported.
public enum PolicyKind: String, Sendable, Hashable, CaseIterable {
    /// A namespaced policy that selects pods by labels (`ksp`).
    case kubeArmorPolicy = "KubeArmorPolicy"
    /// A cluster-wide policy for the nodes themselves, selected by `nodeSelector` (`hsp`).
    case kubeArmorHostPolicy = "KubeArmorHostPolicy"
    /// A cluster-wide policy that selects pods by namespace and labels (`csp`).
    case kubeArmorClusterPolicy = "KubeArmorClusterPolicy"

    /// Whether the policy applies to host processes rather than to containers.
    public var isHostPolicy: Bool { self == .kubeArmorHostPolicy }
}

/// What a rule does with an operation it matches: the CRD's `action` enum.
public enum PolicyAction: String, Sendable, Hashable, CaseIterable {
    /// Part of an allow list: matching operations pass, others fall to the default posture.
    case allow = "Allow"
    /// Matching operations pass and raise an alert.
    case audit = "Audit"
    /// Matching operations are denied and raise an alert.
    case block = "Block"
}

/// Where a policy or rule was written: file and 1-based line.
public struct PolicyLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// The alert fields a policy, a section (`process`, `file`, …) or a rule declares, exactly as written.
///
/// Every field is optional: an absent one is inherited (rule ← section ← spec), see ``RuleAttributes``.
public struct AlertAttributes: Sendable, Hashable {
    /// `severity`, 1–10.
    public var severity: Int?
    /// `tags`; empty when absent.
    public var tags: [String]
    /// `message`.
    public var message: String?
    /// `action`.
    public var action: PolicyAction?

    public init(severity: Int? = nil, tags: [String] = [], message: String? = nil, action: PolicyAction? = nil) {
        self.severity = severity
        self.tags = tags
        self.message = message
        self.action = action
    }

    /// These attributes with every absent field taken from `outer` (KubeArmor's `core/kubeUpdate.go`:
    /// a zero severity, empty tags, empty message or empty action inherits).
    func inheriting(from outer: AlertAttributes) -> AlertAttributes {
        AlertAttributes(severity: severity ?? outer.severity,
                        tags: tags.isEmpty ? outer.tags : tags,
                        message: (message?.isEmpty ?? true) ? outer.message : message,
                        action: action ?? outer.action)
    }
}

/// The alert fields a rule raises with, after inheritance from its section and then from the spec.
///
/// An action absent everywhere is `Block`: KubeArmor's `core/kubeUpdate.go` sets an empty
/// `spec.action` to `Block` before rules inherit it. A severity absent everywhere is 0, which
/// KubeArmor prints as `"0"`.
public struct RuleAttributes: Sendable, Hashable {
    public var severity: Int
    public var tags: [String]
    public var message: String
    public var action: PolicyAction

    public init(severity: Int, tags: [String], message: String, action: PolicyAction) {
        self.severity = severity
        self.tags = tags
        self.message = message
        self.action = action
    }

    /// Resolves `declared` against its section's and the spec's attributes.
    init(declared: AlertAttributes, section: AlertAttributes, spec: AlertAttributes) {
        let resolved = declared.inheriting(from: section).inheriting(from: spec)
        self.init(severity: resolved.severity ?? 0, tags: resolved.tags, message: resolved.message ?? "",
                  action: resolved.action ?? .block)
    }
}

/// One KubeArmor policy document: its kind, name, namespace and spec.
///
/// Produced by ``PolicyLoader``; compiled for matching by ``PolicySet``.
public struct KubeArmorPolicy: Sendable {
    public var kind: PolicyKind
    /// `metadata.name`.
    public var name: String
    /// `metadata.namespace` as written (nil when absent); see ``effectiveNamespace``.
    public var namespace: String?
    public var spec: PolicySpec
    /// Where the document starts.
    public var location: PolicyLocation

    public init(kind: PolicyKind, name: String, namespace: String?, spec: PolicySpec, location: PolicyLocation) {
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.spec = spec
        self.location = location
    }

    /// The namespace a `KubeArmorPolicy` lives in: `metadata.namespace`, or `default` when absent
    /// (where `kubectl apply` without `-n` puts it). Nil for the cluster-scoped kinds.
    public var effectiveNamespace: String? {
        kind == .kubeArmorPolicy ? (namespace ?? "default") : nil
    }
}

/// The `spec` of a policy: which workloads it selects, its rules, and the alert fields rules inherit.
public struct PolicySpec: Sendable {
    /// `selector` (KubeArmorPolicy: labels; KubeArmorClusterPolicy: namespace and label expressions).
    public var selector: WorkloadSelector
    /// `nodeSelector.matchLabels` (KubeArmorHostPolicy only; nil for the other kinds).
    public var nodeSelector: [String: String]?
    public var process: RuleSection<PathRule>
    public var file: RuleSection<PathRule>
    public var network: NetworkSection
    public var capabilities: RuleSection<CapabilityRule>
    public var syscalls: RuleSection<SyscallRule>
    /// `device.matchDevice` (KubeArmorHostPolicy only): loaded, not evaluated (no device events).
    public var devices: RuleSection<DeviceRule>
    /// `presets`: loaded, not evaluated (they are kernel features, not rules over events).
    public var presets: [Preset]
    /// `apparmor`: native AppArmor rules. KubeArmor's feeder skips every rule of a policy that has
    /// them, and so does rearview.
    public var appArmor: String?
    /// The spec-level `severity`, `tags`, `message`, `action`, as written.
    public var attributes: AlertAttributes

    public init(selector: WorkloadSelector = WorkloadSelector(), nodeSelector: [String: String]? = nil,
                process: RuleSection<PathRule> = RuleSection(), file: RuleSection<PathRule> = RuleSection(),
                network: NetworkSection = NetworkSection(), capabilities: RuleSection<CapabilityRule> = RuleSection(),
                syscalls: RuleSection<SyscallRule> = RuleSection(), devices: RuleSection<DeviceRule> = RuleSection(),
                presets: [Preset] = [], appArmor: String? = nil, attributes: AlertAttributes = AlertAttributes()) {
        self.selector = selector
        self.nodeSelector = nodeSelector
        self.process = process
        self.file = file
        self.network = network
        self.capabilities = capabilities
        self.syscalls = syscalls
        self.devices = devices
        self.presets = presets
        self.appArmor = appArmor
        self.attributes = attributes
    }
}

/// `spec.selector`: which pods a KubeArmorPolicy or KubeArmorClusterPolicy applies to.
public struct WorkloadSelector: Sendable, Hashable {
    /// `matchLabels` (KubeArmorPolicy only). The key `kubearmor.io/container.name` with a value
    /// `[a, b]` restricts the policy to those container names instead of matching a label.
    public var matchLabels: [String: String]
    public var matchExpressions: [SelectorExpression]

    public init(matchLabels: [String: String] = [:], matchExpressions: [SelectorExpression] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }
}

/// One `matchExpressions` entry: `key` (`label`, or `namespace` in cluster policies), `operator`, `values`.
///
/// For `label`, each value is a whole `key=value` label.
public struct SelectorExpression: Sendable, Hashable {
    public enum Key: String, Sendable, Hashable { case label, namespace }
    public enum Operator: String, Sendable, Hashable { case `in` = "In", notIn = "NotIn" }

    public var key: Key
    public var `operator`: Operator
    public var values: [String]

    public init(key: Key, operator: Operator, values: [String]) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }
}
