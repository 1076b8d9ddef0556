import Testing
import Foundation
import EventModel
@testable import PolicyEngine

@Test func scratchBench() throws {
    let bytes = [UInt8](FileManager.default.contents(atPath: "/work/main/samples/demo-incident.ndjson")!)
    let demo = try KubeArmorJSONReader.readAll(bytes: bytes, origin: "demo", threads: 1).compactMap { try? $0.get() }
    var events: [Event] = []
    events.reserveCapacity(1_000_000)
    while events.count < 1_000_000 { events += demo }
    let one = PolicyLoader.load(paths: ["/work/main/samples/policies"]).policies
    let corpus = PolicyLoader.load(paths: ["/work/shared/corpus/kubearmor-policies/policy-templates"]).policies
    let hundred = Array(corpus.prefix(100))
    for scope in [EvaluationOptions.Scope.asWritten, .everywhere] {
        var options = EvaluationOptions()
        options.scope = scope
        let m1 = PolicyEvaluationBenchmark.measure(PolicySet(one, options: options), events: events)
        let m100 = PolicyEvaluationBenchmark.measure(PolicySet(hundred, options: options), events: events)
        print("BENCH", scope, "1:", Int(m1.eventsPerSecond), m1.alerts, "100:", Int(m100.eventsPerSecond), m100.alerts, "ratio", m1.eventsPerSecond / m100.eventsPerSecond)
    }
}
