import Testing
import Foundation
import EventModel
@testable import PolicyEngine

@Test func scratchDemo() throws {
    let bytes = [UInt8](FileManager.default.contents(atPath: "/work/main/samples/demo-incident.ndjson")!)
    let events = try KubeArmorJSONReader.readAll(bytes: bytes, origin: "demo", threads: 1).compactMap { try? $0.get() }
    let loaded = PolicyLoader.load(paths: ["/work/main/samples/policies"])
    for scope in EvaluationOptions.Scope.allCases {
        var options = EvaluationOptions()
        options.scope = scope
        let set = PolicySet(loaded.policies, options: options)
        var ev = set.makeEvaluator()
        let alerts = events.compactMap { ev.evaluate($0) }
        print(scope, alerts.count, ev.statistics())
        for a in alerts { print("  ", a.type, a.hostName, a.processName, a.resource, a.action, a.result, a.severity, a.tags) }
    }
}
