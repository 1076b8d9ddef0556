import EventModel

/// The difference between the alerts a store holds and those a re-evaluation raised (`--diff`).
///
/// Alerts are paired by ``AlertKey``: the operation (host, process, time, operation, resource) and the
/// policy name. Only recorded alerts whose `PolicyName` is among the evaluated names take part (see
/// ``PolicySet/alertPolicyNames``); recorded logs and other policies' alerts are ignored, as are
/// re-evaluated alerts (marked `Reevaluated`) found among the recorded ones.
public struct AlertDiff: Sendable {
    /// Raised by the re-evaluation, not recorded.
    public var new: [Event] = []
    /// Recorded, not raised by the re-evaluation.
    public var gone: [Event] = []
    /// Both, with a different `Action` or `Result`.
    public var changed: [(recorded: Event, reevaluated: Event)] = []
    /// Both, with the same `Action` and `Result` (the re-evaluated alert is kept).
    public var unchanged: [Event] = []

    public init(recorded: some Sequence<Event>, reevaluated: some Sequence<Event>, policyNames: Set<String>) {
        var recordedByKey: [AlertKey: [Event]] = [:]
        var recordedOrder: [AlertKey] = []
        for event in recorded where event.isAlert && policyNames.contains(event.policyName)
            && event.extra(PolicyVerdict.reevaluatedKey) == nil {
            let key = AlertKey(event)
            if recordedByKey[key] == nil { recordedOrder.append(key) }
            recordedByKey[key, default: []].append(event)
        }
        for alert in reevaluated {
            let key = AlertKey(alert)
            guard var matches = recordedByKey[key], !matches.isEmpty else {
                new.append(alert)
                continue
            }
            let match = matches.removeFirst()
            recordedByKey[key] = matches
            if match.action == alert.action && match.result == alert.result {
                unchanged.append(alert)
            } else {
                changed.append((recorded: match, reevaluated: alert))
            }
        }
        for key in recordedOrder { gone += recordedByKey[key] ?? [] }
    }
}

/// What pairs a recorded alert with a re-evaluated one: the same operation by the same process at the
/// same moment, under the same policy name.
public struct AlertKey: Hashable, Sendable {
    public var hostName: String
    public var hostPID: Int32
    public var timeNs: Int64
    public var operation: String
    public var resource: String
    public var policyName: String

    public init(_ event: Event) {
        hostName = event.hostName
        hostPID = event.hostPID
        timeNs = event.timeNs
        operation = event.operation
        resource = event.resource
        policyName = event.policyName
    }
}
