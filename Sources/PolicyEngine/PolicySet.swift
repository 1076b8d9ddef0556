/// A set of KubeArmor policies compiled once for re-evaluation over recorded events.
///
/// Immutable and shareable between threads; each thread evaluates with its own ``PolicyEvaluator``
/// (``makeEvaluator()``), which caches the merged rule tables of the workloads it meets.
public final class PolicySet: Sendable {
    public let policies: [KubeArmorPolicy]
    public let options: EvaluationOptions
    let compiled: [CompiledPolicy]

    public init(_ policies: [KubeArmorPolicy], options: EvaluationOptions = EvaluationOptions()) {
        self.policies = policies
        self.options = options
        var compiled: [CompiledPolicy] = []
        var nextOrder = 0
        for policy in policies {
            let policyRules = CompiledPolicy(policy, firstOrder: nextOrder)
            nextOrder += policyRules.rules.count
            compiled.append(policyRules)
        }
        self.compiled = compiled
    }

    /// An evaluator for one thread.
    public func makeEvaluator() -> PolicyEvaluator { PolicyEvaluator(self) }

    /// The `PolicyName`s re-evaluated alerts can carry: the policies' names, and `DefaultPosture` when
    /// some policy has an allow list. Recorded alerts with these names are the ones to compare with
    /// (``AlertDiff``).
    public var alertPolicyNames: Set<String> {
        var names = Set(policies.map(\.name))
        if compiled.contains(where: { $0.rules.contains { $0.action == .allow } }) { names.insert("DefaultPosture") }
        return names
    }

    /// The parts of the policies that rearview loads but does not evaluate, so a caller can say so.
    public var notEvaluated: [PolicyLimitation] {
        var limitations: [PolicyLimitation] = []
        for policy in policies {
            func note(_ reason: String) {
                limitations.append(PolicyLimitation(policyName: policy.name, location: policy.location, reason: reason))
            }
            let spec = policy.spec
            if let appArmor = spec.appArmor, !appArmor.isEmpty {
                note("native AppArmor rules (spec.apparmor): KubeArmor's alert matcher skips the whole policy, "
                    + "and so does rearview")
            }
            if !spec.presets.isEmpty { note("presets are kernel protections, not rules over recorded events") }
            if !spec.network.dnsQueries.isEmpty { note("matchDNSQueries: rearview records no DNS queries") }
            if !spec.devices.rules.isEmpty { note("matchDevice: rearview records no USB device events") }
            if policy.kind == .kubeArmorHostPolicy && (spec.nodeSelector ?? [:]).isEmpty && options.scope == .asWritten {
                note("an empty nodeSelector selects no node (KubeArmor's MatchIdentities)")
            }
        }
        return limitations
    }
}

/// A part of a policy that is loaded but not evaluated, and why.
public struct PolicyLimitation: Sendable, Hashable, CustomStringConvertible {
    public var policyName: String
    public var location: PolicyLocation
    public var reason: String

    public init(policyName: String, location: PolicyLocation, reason: String) {
        self.policyName = policyName
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(policyName): \(reason)" }
}

/// Counts from one or more evaluators.
public struct EvaluationStatistics: Sendable, Equatable {
    /// Events given to ``PolicyEvaluator/evaluate(_:)``.
    public var events = 0
    /// Of those, operations a rule can concern (executions, file, network, capability and syscall
    /// events whose result is `Passed`, `Permission denied` or `Operation not permitted`).
    public var operations = 0
    /// Alerts raised.
    public var alerts = 0
    /// Per policy name, the operations its selectors applied to (every policy is listed, with 0 when it
    /// applied to none: the sign that its selectors name another cluster or host).
    public var eventsInScope: [String: Int] = [:]

    public init() {}

    /// Adds the counts of `other` (from another thread's evaluator).
    public mutating func merge(_ other: EvaluationStatistics) {
        events += other.events
        operations += other.operations
        alerts += other.alerts
        eventsInScope.merge(other.eventsInScope, uniquingKeysWith: +)
    }
}
