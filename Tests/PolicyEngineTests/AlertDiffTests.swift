import EventModel
import Testing
@testable import PolicyEngine

@Suite struct AlertDiffTests {
    /// A recorded alert for `event` under `policy`.
    func recorded(_ event: Event, policy: String, action: String = "Audit", result: String = "Passed") -> Event {
        var alert = event
        alert.type = "MatchedPolicy"
        alert.policyName = policy
        alert.action = action
        alert.result = result
        alert.enforcer = "eBPF Monitor"
        return alert
    }

    @Test func pairsAlertsByOperationAndPolicy() {
        let shadow = Fixture.open("/etc/shadow")
        var passwd = Fixture.open("/etc/passwd")
        passwd.timeNs += 1
        var hosts = Fixture.open("/etc/hosts")
        hosts.timeNs += 2
        var group = Fixture.open("/etc/group")
        group.timeNs += 3
        let policies = Fixture.policies(Fixture.podPolicy("""
            file:
              matchPaths:
              - {path: /etc/shadow, action: Block}
              - {path: /etc/passwd}
              - {path: /etc/hosts}
            action: Audit
            """))
        let history = [
            recorded(shadow, policy: "test-policy"),        // was audited, now blocked: changed
            passwd,                                          // not alerted before: new
            recorded(hosts, policy: "test-policy"),          // same: unchanged
            recorded(group, policy: "test-policy"),          // no longer matched: gone
            recorded(group, policy: "another-policy"),       // another policy: ignored
        ]
        var evaluator = PolicySet(policies).makeEvaluator()
        let reevaluated = history.compactMap { evaluator.evaluate($0) }
        let diff = AlertDiff(recorded: history, reevaluated: reevaluated, policyNames: PolicySet(policies).alertPolicyNames)
        #expect(diff.new.map(\.resource) == ["/etc/passwd"])
        #expect(diff.gone.map(\.resource) == ["/etc/group"])
        #expect(diff.changed.map { [$0.recorded.action, $0.reevaluated.action, $0.reevaluated.result] }
            == [["Audit", "Block", "Permission denied"]])
        #expect(diff.unchanged.map(\.resource) == ["/etc/hosts"])
    }

    @Test func reevaluatedAlertsInTheStoreAreNotTakenForRecordedOnes() {
        let policies = Fixture.policies(Fixture.podPolicy("file: {matchPaths: [{path: /etc/shadow}]}\naction: Audit"))
        var evaluator = PolicySet(policies).makeEvaluator()
        let alert = evaluator.evaluate(Fixture.open("/etc/shadow"))!
        let diff = AlertDiff(recorded: [alert], reevaluated: [alert], policyNames: ["test-policy"])
        #expect(diff.new.count == 1 && diff.gone.isEmpty && diff.unchanged.isEmpty)
    }

    @Test func theKeyIsTheOperationAndThePolicy() {
        let event = Fixture.open("/etc/shadow")
        var later = event
        later.timeNs += 1
        #expect(AlertKey(recorded(event, policy: "a")) == AlertKey(recorded(event, policy: "a", action: "Block")))
        #expect(AlertKey(recorded(event, policy: "a")) != AlertKey(recorded(event, policy: "b")))
        #expect(AlertKey(recorded(event, policy: "a")) != AlertKey(recorded(later, policy: "a")))
    }
}
