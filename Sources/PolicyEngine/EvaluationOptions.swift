/// How policies are applied to history: which events each policy covers, the default postures, and
/// which workloads KubeArmor would only have audited.
public struct EvaluationOptions: Sendable {
    /// Which events a policy applies to.
    ///
    /// ``asWritten`` answers "had this policy been active, what would KubeArmor have done?", and is
    /// the only scope under which re-evaluated alerts are comparable with recorded ones (`--diff`).
    /// A policy is often written for another cluster: the sample process-discovery policy names the
    /// node `ubuntu-2gb-hel1-1`, and many community templates carry placeholder labels. Re-run over
    /// another host's history, it applies to nothing (``EvaluationStatistics/eventsInScope`` says so,
    /// per policy); ``everywhere`` then asks the investigator's question, "what in this history would
    /// the policy's rules have caught?".
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        /// As KubeArmor applies them: KubeArmorPolicy by namespace, labels and container name,
        /// KubeArmorClusterPolicy by namespace and labels, both to container events only;
        /// KubeArmorHostPolicy by `nodeSelector` against the event's host, to host events only.
        case asWritten = "as-written"
        /// Selectors ignored: container policies apply to every container event, host policies to every
        /// host event.
        case anyWorkload = "any-workload"
        /// Selectors ignored and every policy applies to every event, container or host. The alert's
        /// `Type` follows the event (`MatchedPolicy` for a container, `MatchedHostPolicy` for the host).
        case everywhere
    }

    public var scope: Scope = .asWritten
    /// Default posture for containers (KubeArmor's `-defaultFilePosture` etc., default `audit`).
    public var containerPosture = DefaultPosture()
    /// Default posture for the host (KubeArmor's `-hostDefaultFilePosture` etc., default `audit`).
    public var hostPosture = DefaultPosture()
    /// Per-namespace postures (the `kubearmor-file-posture`, … namespace annotations), overriding
    /// ``containerPosture`` for that namespace.
    public var namespacePostures: [String: DefaultPosture] = [:]
    /// Namespaces annotated `kubearmor-policy: audited`: nothing is enforced there, so a Block rule
    /// raises `Audit (Block)` with the operation's result as it was, and an allow list with a `block`
    /// posture raises `DefaultPosture` `Audit (Block)`.
    public var auditedNamespaces: Set<String> = []
    /// Hosts whose node is annotated `kubearmor-policy: audited` (same effect for host policies).
    public var auditedHosts: Set<String> = []
    /// Nothing is enforced anywhere, as if every namespace and host were audited: what live
    /// evaluation (`record --policy`) uses, since rearview observes and does not enforce.
    public var auditsEverything = false
    /// Node labels by host name, added to the identities `nodeSelector` is matched against (a node
    /// always has `kubernetes.io/hostname` and `kubearmor.io/hostname` equal to its `HostName`).
    public var nodeLabels: [String: [String: String]] = [:]
    /// The `Enforcer` of re-evaluated alerts.
    public var enforcerName = "rearview (re-evaluated)"

    public init() {}
}

/// What happens to an operation that an allow list does not cover, per kind of operation.
///
/// KubeArmor keeps one posture for processes and files together (`file`), one for network and one
/// for capabilities.
public struct DefaultPosture: Sendable, Hashable {
    /// A posture value: `allow`, `audit` or `block`.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// Allow lists are ignored.
        case allow
        /// Operations outside the allow list pass and raise a `DefaultPosture` alert with action `Audit`.
        case audit
        /// Operations outside the allow list are denied (`DefaultPosture`, `Block`).
        case block
    }

    public var file: Action
    public var network: Action
    public var capabilities: Action

    public init(file: Action = .audit, network: Action = .audit, capabilities: Action = .audit) {
        self.file = file
        self.network = network
        self.capabilities = capabilities
    }

    /// The same action for every kind of operation.
    public init(_ action: Action) {
        self.init(file: action, network: action, capabilities: action)
    }
}
