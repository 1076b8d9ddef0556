import EventModel
import Foundation
import Testing
@testable import PolicyEngine

/// Which events a policy applies to (KubeArmor's `GetSecurityPolicies`, `MatchIdentities`,
/// `MatchExpIdentities`, `UpdateHostSecurityPolicies`).
@Suite struct SelectorTests {
    static let sleep = "process: {matchPaths: [{path: /bin/sleep}]}\naction: Audit"

    /// Whether a policy with `selector` (a `spec.selector` body) audits `/bin/sleep` in `container`.
    func selects(_ selector: String, kind: String = "KubeArmorPolicy", namespace: String? = "multiubuntu",
                 container: String = "ubuntu-1", eventNamespace: String = "multiubuntu") -> Bool {
        let yaml = """
            apiVersion: security.kubearmor.com/v1
            kind: \(kind)
            metadata:
              name: selector-test
            \(namespace.map { "  namespace: \($0)" } ?? "")
            spec:
              selector:
            \(selector.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
              process: {matchPaths: [{path: /bin/sleep}]}
              action: Audit
            """
        var event = Fixture.execution("/bin/sleep", container: container)
        event.namespaceName = eventNamespace
        return Fixture.evaluate(Fixture.policies(yaml), [event])[0] != nil
    }

    @Test func matchLabelsMustAllBeLabelsOfThePod() {
        #expect(selects("matchLabels: {container: ubuntu-1}"))
        #expect(selects("matchLabels: {container: ubuntu-1, group: group-1}"))
        #expect(!selects("matchLabels: {container: ubuntu-1, group: group-2}"))
        #expect(!selects("matchLabels: {container: ubuntu-2}"))
    }

    @Test func aPolicyOnlyCoversItsNamespace() {
        #expect(!selects("matchLabels: {container: ubuntu-1}", eventNamespace: "other"))
        // without metadata.namespace, the policy lives in `default`
        #expect(!selects("matchLabels: {container: ubuntu-1}", namespace: nil))
        #expect(selects("matchLabels: {container: ubuntu-1}", namespace: nil, eventNamespace: "default"))
    }

    @Test func anEmptySelectorCoversTheWholeNamespace() {
        #expect(selects("{}", container: "ubuntu-4"))
    }

    @Test func containerNameIsNotALabel() {
        var event = Fixture.execution("/bin/sleep")
        event.containerName = "sidecar"
        let policies = Fixture.policies(Fixture.podPolicy(Self.sleep).replacingOccurrences(
            of: "container: ubuntu-1", with: "kubearmor.io/container.name: \"[web, sidecar]\""))
        #expect(Fixture.evaluate(policies, [event])[0] != nil)
        event.containerName = "web-2"
        #expect(Fixture.evaluate(policies, [event])[0] == nil)
    }

    @Test func labelExpressions() {
        #expect(selects("matchExpressions: [{key: label, operator: In, values: [group=group-2, container=ubuntu-1]}]"))
        #expect(!selects("matchExpressions: [{key: label, operator: In, values: [group=group-2]}]"))
        #expect(selects("matchExpressions: [{key: label, operator: NotIn, values: [container=ubuntu-2]}]"))
        #expect(!selects("matchExpressions: [{key: label, operator: NotIn, values: [container=ubuntu-1]}]"))
        // NotIn after In is not even collected; In after NotIn leaves NotIn to decide alone
        #expect(selects("matchExpressions: [{key: label, operator: In, values: [group=group-1]}, "
            + "{key: label, operator: NotIn, values: [container=ubuntu-1]}]"))
        #expect(selects("matchExpressions: [{key: label, operator: NotIn, values: [container=ubuntu-9]}, "
            + "{key: label, operator: In, values: [group=group-9]}]"))
    }

    @Test func clusterPoliciesSelectNamespaces() {
        #expect(selects("matchExpressions: [{key: namespace, operator: In, values: [multiubuntu]}]",
                        kind: "KubeArmorClusterPolicy"))
        #expect(!selects("matchExpressions: [{key: namespace, operator: In, values: [other]}]", kind: "KubeArmorClusterPolicy"))
        #expect(!selects("matchExpressions: [{key: namespace, operator: NotIn, values: [multiubuntu]}]",
                         kind: "KubeArmorClusterPolicy"))
        #expect(selects("matchExpressions: [{key: namespace, operator: NotIn, values: [kube-system]}, "
            + "{key: label, operator: In, values: [container=ubuntu-1]}]", kind: "KubeArmorClusterPolicy"))
        #expect(selects("{}", kind: "KubeArmorClusterPolicy", eventNamespace: "anything"))
    }

    func hostSelects(_ labels: String, hostName: String = "node-1", nodeLabels: [String: String] = [:]) -> Bool {
        let policies = Fixture.policies("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: host}
            spec:
              nodeSelector: {matchLabels: {\(labels)}}
              process: {matchPaths: [{path: /usr/bin/ps}]}
              action: Audit
            """)
        var options = Fixture.options()
        options.nodeLabels[hostName] = nodeLabels
        let event = Fixture.hostEvent("Process", resource: "/usr/bin/ps aux", data: "syscall=SYS_EXECVE",
                                      process: "/usr/bin/ps", hostName: hostName)
        return Fixture.evaluate(policies, [event], options: options)[0] != nil
    }

    @Test func nodeSelectorsMatchTheHost() {
        #expect(hostSelects("kubernetes.io/hostname: node-1"))
        #expect(!hostSelects("kubernetes.io/hostname: node-2"))
        #expect(hostSelects("kubearmor.io/hostname: \"node-2,node-1\""))
        #expect(hostSelects("kubearmor.io/hostname: \"*\""))
        #expect(hostSelects("kubearmor.io/hostnamereg: node-*"))
        #expect(!hostSelects("kubearmor.io/hostnamereg: web-*"))
        #expect(!hostSelects("role: db"))
        #expect(hostSelects("role: db", nodeLabels: ["role": "db"]))
        // an empty nodeSelector selects no node
        #expect(!hostSelects(""))
    }

    @Test func hostPoliciesDoNotCoverContainersUnlessEverywhere() {
        let policies = Fixture.policies("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: host}
            spec:
              nodeSelector: {matchLabels: {kubernetes.io/hostname: elsewhere}}
              process: {matchPaths: [{path: /bin/sleep}]}
              action: Audit
            ---

            """ + Fixture.podPolicy(Self.sleep, name: "pod", container: "ubuntu-9"))
        let container = Fixture.execution("/bin/sleep")
        let host = Fixture.hostEvent("Process", resource: "/bin/sleep", data: "syscall=SYS_EXECVE", process: "/bin/sleep")
        func names(_ scope: EvaluationOptions.Scope) -> [String?] {
            Fixture.evaluate(policies, [container, host], options: Fixture.options(scope: scope)).map { $0?.policyName }
        }
        #expect(names(.asWritten) == [nil, nil])
        #expect(names(.anyWorkload) == ["pod", "host"])
        #expect(names(.everywhere) == ["host", "host"])
    }

    @Test func statisticsSayWhichPoliciesAppliedToNothing() {
        let policies = Fixture.policies(Fixture.podPolicy(Self.sleep, name: "here") + "\n---\n"
            + Fixture.podPolicy(Self.sleep, name: "elsewhere", container: "ubuntu-9"))
        var evaluator = PolicySet(policies).makeEvaluator()
        for event in [Fixture.execution("/bin/sleep"), Fixture.open("/etc/hosts"), Fixture.execution("/bin/sleep")] {
            _ = evaluator.evaluate(event)
        }
        var statistics = evaluator.statistics()
        #expect(statistics.events == 3 && statistics.operations == 3 && statistics.alerts == 2)
        #expect(statistics.eventsInScope == ["here": 3, "elsewhere": 0])
        statistics.merge(statistics)
        #expect(statistics.eventsInScope == ["here": 6, "elsewhere": 0] && statistics.alerts == 4)
    }
}
