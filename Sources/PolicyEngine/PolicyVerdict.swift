import EventModel

/// What the policies would have done with one event that raises an alert: which policy (or the
/// default posture), the action, and the result the operation would have had.
///
/// Small and cheap to make; ``alert(for:enforcer:)`` turns it into the alert record.
public struct PolicyVerdict: Sendable {
    let label: AlertLabel?
    /// `Block`, `Audit`, or `Audit (Block)` in audited namespaces and hosts.
    public let action: String
    /// `Permission denied` for an operation that passed but would have been denied, otherwise the
    /// result as recorded.
    public let result: String
    /// Whether the alert is a `MatchedHostPolicy` (the event has no container).
    public let isHostAlert: Bool
    /// Whether an `ownerOnly` rule decided without knowing the file's owner.
    public let ownerUnverified: Bool

    /// The policy's name, or `DefaultPosture`.
    public var policyName: String { label?.policyName ?? "DefaultPosture" }

    /// The rule that decided, as written (section, target, options, source, line: `process
    /// /usr/bin/ps (line 18)`), or `default posture`.
    public var rule: String { label?.rule ?? "default posture" }

    /// The extra field that marks a re-evaluated alert (`"Reevaluated": true`).
    public static let reevaluatedKey = "Reevaluated"
    private static let reevaluatedField = ExtraField(key: reevaluatedKey, json: "true")
    private static let ownerUnverifiedField = ExtraField(key: "OwnerUnverified", json: "true")

    /// `event` as the alert: `Type`, `PolicyName`, `Severity`, `Tags`, `ATags`, `Message` (empty for
    /// `DefaultPosture`), `Action`, `Enforcer`, `Result`, `"Reevaluated": true` (and
    /// `"OwnerUnverified": true` when so); every other field as recorded. The key layout of an imported
    /// record is dropped, so the alert is written in KubeArmor's alert order.
    public func alert(for event: Event, enforcer: String) -> Event {
        var alert = event
        alert.type = isHostAlert ? "MatchedHostPolicy" : "MatchedPolicy"
        alert.policyName = policyName
        alert.severity = label?.severity ?? ""
        alert.tags = label?.tags ?? ""
        alert.message = label?.message ?? ""
        alert.action = action
        alert.enforcer = enforcer
        alert.result = result
        if alert.extras.contains(where: Self.isReplaced) { alert.extras.removeAll(where: Self.isReplaced) }
        if let tags = label?.tagsField { alert.extras.append(tags) }
        alert.extras.append(Self.reevaluatedField)
        if ownerUnverified { alert.extras.append(Self.ownerUnverifiedField) }
        alert.layout = nil
        return alert
    }

    private static func isReplaced(_ field: ExtraField) -> Bool {
        field.key == "ATags" || field.key == reevaluatedKey || field.key == "OwnerUnverified"
    }
}
