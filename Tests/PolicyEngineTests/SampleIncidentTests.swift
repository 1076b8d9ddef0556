import EventModel
import Foundation
import Testing
@testable import PolicyEngine

/// The README example: the process-discovery policies from `samples/` over the demo incident.
@Suite struct SampleIncidentTests {
    /// AccuKnox's host policy (`ksp-…`); the directory also holds its cluster-wide twin (`csp-…`).
    static func samplePolicies() throws -> [KubeArmorPolicy] {
        let result = PolicyLoader.load(paths: [Fixture.samples + "/policies/ksp-discovery-process-discovery.yaml"])
        #expect(result.rejections.isEmpty)
        return result.policies
    }

    @Test func asWrittenTheClusterPolicyFindsEveryPsAndPgrepInThePods() throws {
        let loaded = PolicyLoader.load(paths: [Fixture.samples + "/policies"])
        #expect(loaded.rejections.isEmpty)
        #expect(Set(loaded.policies.map(\.name)) == ["ksp-discovery-process-discovery", "csp-discovery-process-discovery"])
        let events = try Fixture.demoIncident()
        let executions = Self.discoveryExecutions(events)
        var evaluator = PolicySet(loaded.policies).makeEvaluator()
        let alerts = events.compactMap { evaluator.evaluate($0) }
        #expect(alerts.map(\.resource) == executions.map(\.resource))
        #expect(alerts.allSatisfy { $0.policyName == "csp-discovery-process-discovery" && $0.type == "MatchedPolicy" })
    }

    /// The `ps` and `pgrep` executions of the incident (recorded as other policies' alerts).
    static func discoveryExecutions(_ events: [Event]) -> [Event] {
        events.filter {
            $0.operation == "Process" && ["/usr/bin/ps", "/usr/bin/pgrep"].contains($0.processName)
                && $0.data.hasPrefix("syscall=SYS_EXECVE")
        }
    }

    @Test func asWrittenTheHostPolicyForAnotherNodeCatchesNothingAndSaysSo() throws {
        let events = try Fixture.demoIncident()
        var evaluator = PolicySet(try Self.samplePolicies()).makeEvaluator()
        let alerts = events.compactMap { evaluator.evaluate($0) }
        #expect(alerts.isEmpty)
        // its nodeSelector names ubuntu-2gb-hel1-1, not one of the incident's nodes
        #expect(evaluator.statistics().eventsInScope == ["ksp-discovery-process-discovery": 0])
    }

    @Test func everywhereItFindsEveryPsAndPgrepExecution() throws {
        let events = try Fixture.demoIncident()
        let executions = Self.discoveryExecutions(events)
        #expect(executions.count == 26)
        var evaluator = PolicySet(try Self.samplePolicies(), options: Fixture.options(scope: .everywhere)).makeEvaluator()
        let alerts = events.compactMap { evaluator.evaluate($0) }
        #expect(alerts.map(AlertKey.init).map(\.resource) == executions.map(\.resource))
        #expect(Set(alerts.map(\.hostPID)) == Set(executions.map(\.hostPID)))
        for alert in alerts {
            #expect(alert.policyName == "ksp-discovery-process-discovery")
            #expect(alert.type == "MatchedPolicy" && alert.action == "Audit" && alert.result == "Passed")
            #expect(alert.severity == "5" && alert.tags == "MITRE,Discovery")
            #expect(alert.message == "Someone accessed running process")
            #expect(alert.extra("ATags") == "[\"MITRE\",\"Discovery\"]" && alert.extra("Reevaluated") == "true")
        }
    }

    @Test func retargetedAtTheIncidentsNodesItCoversOnlyHostProcesses() throws {
        // With the nodeSelector pointed at the incident's nodes, the host policy covers host processes
        // only; every ps and pgrep of the incident ran inside containers.
        var policies = try Self.samplePolicies()
        policies[0].spec.nodeSelector = ["kubearmor.io/hostname": "ip-10-0-1-10.ec2.internal,ip-10-0-1-11.ec2.internal"]
        let events = try Fixture.demoIncident()
        var evaluator = PolicySet(policies).makeEvaluator()
        #expect(events.compactMap { evaluator.evaluate($0) }.isEmpty)
        let hostOperations = events.filter {
            $0.containerID.isEmpty && OperationKind($0) != nil
                && ["Passed", "Permission denied", "Operation not permitted"].contains($0.result)
        }.count
        #expect(evaluator.statistics().eventsInScope == ["ksp-discovery-process-discovery": hostOperations])
        #expect(hostOperations > 0)
    }
}
