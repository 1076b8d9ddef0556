import EventModel
import Testing
@testable import PolicyEngine

@Suite struct PrecedenceTests {
    @Test func blockWinsOverAuditWhateverTheOrder() {
        let policies = Fixture.policies(Fixture.podPolicy("file: {matchPaths: [{path: /etc/shadow}]}\naction: Audit", name: "audit")
            + "\n---\n" + Fixture.podPolicy("file: {matchDirectories: [{dir: /etc/}]}\naction: Block", name: "block"))
        #expect(Expected(Fixture.evaluate(policies, [Fixture.open("/etc/shadow")])[0]) == .block("block"))
    }

    @Test func blockWinsOverAMoreSpecificAllow() {
        // AppArmor's deny wins; BPF-LSM would let the exact Allow path win over the Block directory.
        let policies = Fixture.policies(Fixture.podPolicy("file: {matchPaths: [{path: /etc/hosts}]}\naction: Allow", name: "allow")
            + "\n---\n" + Fixture.podPolicy("file: {matchDirectories: [{dir: /etc/}]}\naction: Block", name: "block"))
        #expect(Expected(Fixture.evaluate(policies, [Fixture.open("/etc/hosts")])[0]) == .block("block"))
    }

    @Test func theFirstAuditRuleInLoadOrderLabelsTheAlert() {
        let policies = Fixture.policies(Fixture.podPolicy("file: {matchDirectories: [{dir: /etc/}]}\naction: Audit", name: "first")
            + "\n---\n" + Fixture.podPolicy("file: {matchPaths: [{path: /etc/shadow}]}\naction: Audit", name: "second"))
        #expect(Expected(Fixture.evaluate(policies, [Fixture.open("/etc/shadow")])[0]) == .audit("first"))
    }

    @Test func anAuditRuleAlertsInsideAnAllowList() {
        let policies = Fixture.policies(Fixture.podPolicy("""
            file:
              matchDirectories: [{dir: /etc/, recursive: true, action: Allow}]
              matchPaths: [{path: /etc/shadow, action: Audit}]
            """))
        let alerts = Fixture.evaluate(policies, [Fixture.open("/etc/shadow"), Fixture.open("/etc/hosts")],
                                      options: Fixture.options(posture: .block))
        #expect(alerts.map(Expected.init) == [.audit(), .none])
    }

    @Test func anAuditedNamespaceOnlyAudits() throws {
        var options = Fixture.options()
        options.auditedNamespaces = ["multiubuntu"]
        let policies = Fixture.policies(Fixture.podPolicy("file: {matchPaths: [{path: /etc/shadow}]}\naction: Block"))
        let alert = try #require(Fixture.evaluate(policies, [Fixture.open("/etc/shadow")], options: options)[0])
        #expect(Expected(alert) == Expected(policyName: "test-policy", action: "Audit (Block)", result: "Passed"))
    }
}

@Suite struct DefaultPostureTests {
    static let allowSleep = Fixture.podPolicy("process: {matchPaths: [{path: /bin/sleep}]}\naction: Allow")

    @Test(arguments: [
        (DefaultPosture.Action.block, Expected.postureBlock),
        (.audit, Expected.postureAudit),
        (.allow, Expected.none),
    ])
    func anExecutionOutsideTheAllowListFallsToThePosture(posture: DefaultPosture.Action, expected: Expected) {
        let alerts = Fixture.evaluate(Fixture.policies(Self.allowSleep), [Fixture.execution("/bin/sleep"), Fixture.execution("/bin/ls")],
                                      options: Fixture.options(posture: posture))
        #expect(alerts.map(Expected.init) == [.none, expected])
    }

    @Test func processesAndFilesShareOneAllowList() {
        // KubeArmor's existFileAllowPolicy and AppArmor's single `file` default: an allow list of
        // executables puts file accesses under the default posture too.
        let alerts = Fixture.evaluate(Fixture.policies(Self.allowSleep), [Fixture.open("/etc/hostname")],
                                      options: Fixture.options(posture: .block))
        #expect(alerts.map(Expected.init) == [.postureBlock])
    }

    @Test func networkAllowListsHaveTheirOwnPosture() {
        let policies = Fixture.policies(Fixture.podPolicy(
            "network: {matchProtocols: [{protocol: tcp, fromSource: [{path: /usr/bin/curl}]}]}\naction: Allow"))
        var options = Fixture.options(posture: .audit)
        options.containerPosture.network = .block
        let alerts = Fixture.evaluate(policies, [
            Fixture.socket("domain=AF_INET type=SOCK_STREAM protocol=TCP", by: "/usr/bin/curl"),
            Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=UDP", by: "/usr/bin/curl"),
            Fixture.socket("domain=AF_INET type=SOCK_STREAM protocol=TCP", by: "/usr/bin/wget"),
            Fixture.open("/etc/hostname"),
        ], options: options)
        #expect(alerts.map(Expected.init) == [.none, .postureBlock, .postureBlock, .none])
    }

    @Test func aNamespacePostureOverridesTheDefault() {
        var options = Fixture.options(posture: .audit)
        options.namespacePostures["multiubuntu"] = DefaultPosture(.block)
        let alerts = Fixture.evaluate(Fixture.policies(Self.allowSleep), [Fixture.execution("/bin/ls")], options: options)
        #expect(alerts.map(Expected.init) == [.postureBlock])
    }

    @Test func anAuditedNamespaceWithABlockPostureAuditsAsBlock() throws {
        var options = Fixture.options(posture: .block)
        options.auditedNamespaces = ["multiubuntu"]
        let alert = try #require(Fixture.evaluate(Fixture.policies(Self.allowSleep), [Fixture.execution("/bin/ls")],
                                                  options: options)[0])
        #expect(Expected(alert) == Expected(policyName: "DefaultPosture", action: "Audit (Block)", result: "Passed"))
        #expect(alert.severity.isEmpty && alert.tags.isEmpty && alert.message.isEmpty && alert.extra("ATags") == nil)
    }

    @Test func theHostHasItsOwnPosture() {
        let policies = Fixture.policies("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: host-allow}
            spec:
              nodeSelector: {matchLabels: {kubearmor.io/hostname: "*"}}
              file: {matchPaths: [{path: /etc/hostname, fromSource: [{path: /usr/bin/head}]}]}
              action: Allow
            """)
        var options = Fixture.options(posture: .audit)
        options.hostPosture = DefaultPosture(.block)
        let alerts = Fixture.evaluate(policies, [
            Fixture.hostEvent("File", resource: "/etc/hostname", data: "flags=O_RDONLY", process: "/usr/bin/head"),
            Fixture.hostEvent("File", resource: "/etc/hosts", data: "flags=O_RDONLY", process: "/usr/bin/head"),
        ], options: options)
        #expect(alerts.map(Expected.init) == [.none, .postureBlock])
        #expect(alerts[1]?.type == "MatchedHostPolicy")
    }

    @Test func liveEvaluationAuditsEverythingAndReplacesMatchedEvents() {
        // record --policy: rearview observes, so nothing is denied anywhere.
        var options = Fixture.options(posture: .block)
        options.auditsEverything = true
        let block = Fixture.policies(Fixture.podPolicy("process: {matchPaths: [{path: /bin/sleep}]}"))
        var evaluator = PolicySet(block + Fixture.policies(Self.allowSleep.replacingOccurrences(
            of: "test-policy", with: "allow-sleep")), options: options).makeEvaluator()
        let events = [Fixture.open("/etc/hostname"), Fixture.execution("/bin/sleep"), Fixture.execution("/bin/ls")]
        let stored = evaluator.replacingAlerts(in: events)
        #expect(stored.map(Expected.init) == [
            Expected(policyName: "DefaultPosture", action: "Audit (Block)", result: "Passed"),
            Expected(policyName: "test-policy", action: "Audit (Block)", result: "Passed"),
            Expected(policyName: "DefaultPosture", action: "Audit (Block)", result: "Passed"),
        ])
        #expect(zip(stored, events).allSatisfy { $0.resource == $1.resource && $0.hostPID == $1.hostPID })
        // an event that raises nothing is stored as it is
        #expect(evaluator.replacingAlerts(in: [Fixture.execution("/bin/sleep", result: "No such file or directory")])
            .map(\.type) == ["ContainerLog"])
    }

    @Test func alertPolicyNamesIncludeDefaultPostureOnlyWithAnAllowList() {
        #expect(PolicySet(Fixture.policies(Self.allowSleep)).alertPolicyNames == ["test-policy", "DefaultPosture"])
        let blockOnly = Fixture.policies(Fixture.podPolicy("process: {matchPaths: [{path: /bin/sleep}]}"))
        #expect(PolicySet(blockOnly).alertPolicyNames == ["test-policy"])
    }
}
