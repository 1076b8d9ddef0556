import Foundation
import Investigation

/// Decides which workloads one policy applies to, as KubeArmor's daemon does when it hands policies
/// to endpoints (`core/kubeUpdate.go` `CreateSecurityPolicy`, `GetSecurityPolicies`; `common.go`
/// `MatchIdentities`, `MatchExpIdentities`).
///
/// A workload is described by *identities*, `key=value` strings: a pod has `namespaceName=NS` and
/// its labels (from the event's comma-separated `Labels`); a node has `kubernetes.io/hostname=HOST`
/// and `kubearmor.io/hostname=HOST` (the event's `HostName`) plus any labels the caller supplies.
///
/// KubeArmor's rules, including the surprising ones:
/// - KubeArmorPolicy: every `matchLabels` pair and `namespaceName=` its namespace must be among the
///   pod's identities, so an empty selector selects the whole namespace. `kubearmor.io/container.name:
///   "[a, b]"` is not a label: it restricts the policy to those container names.
/// - `matchExpressions` with key `label`: values are whole `key=value` labels; the pod must have one of
///   the `In` values. `NotIn` values are only collected while no `In` expression has been seen
///   earlier in the list, and when both kinds are collected, the `NotIn` test decides alone.
/// - KubeArmorClusterPolicy: `namespace In` lists the namespaces; without any `In`, every namespace
///   except the `NotIn` ones. No label selector at all means every pod of those namespaces.
/// - KubeArmorHostPolicy: every `nodeSelector.matchLabels` pair must be among the node's identities,
///   so an empty `nodeSelector` selects no node at all. `kubearmor.io/hostname` and
///   `kubernetes.io/hostname` accept a comma-separated list of names and `*` (any node that has the
///   label); `kubearmor.io/hostnamereg` and `kubernetes.io/hostnamereg` take a pattern where `*` is
///   any run of characters, tested unanchored against the node's first such label only, and a node
///   without the label passes (`MatchesRegex`). Kubernetes mode is assumed (`kubernetes.io/hostname`
///   gets the same treatment as `kubearmor.io/hostname`).
struct WorkloadMatcher: Sendable {
    private enum Target: Sendable {
        case pods(identities: [String], containers: [String], labelsIn: [String], labelsNotIn: [String])
        case namespaces(included: Set<String>?, excluded: Set<String>, labelsIn: [String], labelsNotIn: [String])
        case nodes(identities: [String])
    }

    private let target: Target

    init(_ policy: KubeArmorPolicy) {
        let selector = policy.spec.selector
        var labelsIn: [String] = []
        var labelsNotIn: [String] = []
        var namespacesIn: Set<String>?
        var namespacesNotIn: Set<String> = []
        for expression in selector.matchExpressions {
            switch (expression.key, expression.operator) {
            case (.label, .in): labelsIn += expression.values
            case (.label, .notIn): if labelsIn.isEmpty { labelsNotIn += expression.values }
            case (.namespace, .in): namespacesIn = (namespacesIn ?? []).union(expression.values)
            case (.namespace, .notIn): if namespacesIn == nil { namespacesNotIn.formUnion(expression.values) }
            }
        }
        switch policy.kind {
        case .kubeArmorPolicy:
            var identities = ["namespaceName=" + (policy.effectiveNamespace ?? "default")]
            var containers: [String] = []
            for (key, value) in selector.matchLabels.sorted(by: { $0.key < $1.key }) {
                if key == "kubearmor.io/container.name" {
                    containers += Self.containerNames(value)
                } else {
                    identities.append(key + "=" + value)
                }
            }
            target = .pods(identities: identities, containers: containers, labelsIn: labelsIn, labelsNotIn: labelsNotIn)
        case .kubeArmorClusterPolicy:
            target = .namespaces(included: namespacesIn, excluded: namespacesIn == nil ? namespacesNotIn : [],
                                 labelsIn: labelsIn, labelsNotIn: labelsNotIn)
        case .kubeArmorHostPolicy:
            target = .nodes(identities: (policy.spec.nodeSelector ?? [:]).map { $0.key + "=" + $0.value }.sorted())
        }
    }

    /// Whether the policy applies to a container of a pod in `namespace` whose identities are `identities`.
    func applies(toPodIn namespace: String, identities: Set<String>, containerName: String) -> Bool {
        switch target {
        case .pods(let policyIdentities, let containers, let labelsIn, let labelsNotIn):
            return Self.matchIdentities(policyIdentities, identities)
                && Self.matchExpressions(labelsIn, labelsNotIn, identities)
                && (containers.isEmpty || containers.contains(containerName))
        case .namespaces(let included, let excluded, let labelsIn, let labelsNotIn):
            let namespaceSelected = included.map { $0.contains(namespace) } ?? !excluded.contains(namespace)
            return namespaceSelected && Self.matchExpressions(labelsIn, labelsNotIn, identities)
        case .nodes:
            return false
        }
    }

    /// Whether the policy applies to a node whose identities are `identities`.
    func applies(toNodeWith identities: Set<String>) -> Bool {
        guard case .nodes(let policyIdentities) = target else { return false }
        return Self.matchIdentities(policyIdentities, identities)
    }

    /// A pod's identities: `namespaceName=NS` and its labels.
    static func podIdentities(namespace: String, labels: String) -> Set<String> {
        var identities: Set<String> = ["namespaceName=" + namespace]
        for label in labels.split(separator: ",") { identities.insert(String(label)) }
        return identities
    }

    /// A node's identities: its host name under both hostname labels, and `extraLabels`.
    static func nodeIdentities(hostName: String, extraLabels: [String: String]) -> Set<String> {
        var identities: Set<String> = ["kubernetes.io/hostname=" + hostName, "kubearmor.io/hostname=" + hostName]
        for (key, value) in extraLabels { identities.insert(key + "=" + value) }
        return identities
    }

    /// `[a, b]` → `a`, `b` (KubeArmor drops the first and last character and splits at commas).
    private static func containerNames(_ value: String) -> [String] {
        guard value.count > 2 else { return [] }
        return value.dropFirst().dropLast().split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// KubeArmor's `MatchIdentities`: every identity of the policy is among the workload's (with the
    /// host-name forms), and a policy with no identity at all matches nothing.
    static func matchIdentities(_ policy: [String], _ workload: Set<String>) -> Bool {
        guard !policy.isEmpty else { return false }
        for identity in policy {
            guard let equals = identity.firstIndex(of: "=") else {
                if !workload.contains(identity) { return false }
                continue
            }
            let key = String(identity[..<equals])
            let value = String(identity[identity.index(after: equals)...])
            switch key {
            case "kubearmor.io/hostnamereg", "kubernetes.io/hostnamereg":
                // `MatchesRegex`: only the first (sorted) identity that contains the label key is tested,
                // unanchored, and a node without that label passes.
                let labelKey = String(key.dropLast(3))
                let element = labelKey.replacingOccurrences(of: ".", with: "\\.") + "="
                    + value.replacingOccurrences(of: "*", with: ".*")
                if let first = workload.filter({ $0.contains(labelKey) }).min() {
                    guard let regex = try? PCRERegex(element), regex.matches(first) else { return false }
                }
            case "kubearmor.io/hostname", "kubernetes.io/hostname":
                let found = value.split(separator: ",", omittingEmptySubsequences: false).contains { name in
                    name == "*" ? workload.contains { $0.hasPrefix(key + "=") } : workload.contains(key + "=" + name)
                }
                if !found { return false }
            default:
                if !workload.contains(identity) { return false }
            }
        }
        return true
    }

    /// KubeArmor's `MatchExpIdentities`.
    static func matchExpressions(_ labelsIn: [String], _ labelsNotIn: [String], _ workload: Set<String>) -> Bool {
        if labelsIn.isEmpty && labelsNotIn.isEmpty { return true }
        var matched = labelsIn.contains { workload.contains($0) }
        if !labelsNotIn.isEmpty { matched = !labelsNotIn.contains { workload.contains($0) } }
        return matched
    }
}
