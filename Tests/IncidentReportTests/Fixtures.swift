import EventModel
import EventStore
import Foundation
import IncidentReport
import Investigation
import PolicyEngine

/// The repository checkout (for samples/).
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A fixture that could not be made; thrown into each test that needs it rather than trapping.
struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
}

/// The demo incident's events in time order (read once).
private let loadedDemoEvents = Result { () throws -> [Event] in
    let path = repository + "/samples/demo-incident.ndjson"
    guard let data = FileManager.default.contents(atPath: path) else { throw FixtureFailure(description: "\(path): cannot read") }
    let events = try KubeArmorJSONReader.readAll(bytes: Array(data), origin: path).map { try $0.get() }
    return events.enumerated().sorted { ($0.element.timeNs, $0.offset) < ($1.element.timeNs, $1.offset) }.map(\.element)
}

/// The demo incident's events in time order.
var demoEvents: [Event] { get throws { try loadedDemoEvents.get() } }

/// A store directory in the temporary directory, removed when released.
final class TemporaryDirectory {
    let path = NSTemporaryDirectory() + "rearview-report-" + UUID().uuidString

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A store holding `events` (sealed, with its process table), for reports over real segments.
func storeHolding(_ events: [Event]) throws -> (directory: TemporaryDirectory, store: Store) {
    let directory = TemporaryDirectory()
    let writer = try StoreWriter(path: directory.path, options: WriterOptions())
    try writer.append(events)
    try writer.flush()
    _ = try StoredProcessTable.update(writer)
    try writer.close()
    return (directory, try Store.open(directory.path))
}

/// A report over every event of `store`, as `rearview report` makes one without --around, generated at time 0.
func report(of store: Store, rowLimit: Int?, policies: PolicySet? = nil, title: String = "Demo incident") throws -> IncidentReport {
    let table = try StoredProcessTable(store: store).table()
    var collector = IncidentReportCollector(table: table, rowLimit: rowLimit, policies: policies)
    let filter = EventFilter(.everything)
    try QueryPlan(stores: [store], filter: filter).scan(filter: filter) { event in
        collector.add(event)
        return true
    }
    let tree = ProcessTree(table: table, selecting: .instances(collector.instanceIDs), ancestors: true, descendants: false)
    let evidence = ReportEvidence(stores: [try StoreEvidence.gather(store)], commandLine: "rearview report --store demo",
                                  version: "test", generatedAtNs: 0)
    return collector.report(title: title, selection: "everything", tree: tree,
                            policySources: policies == nil ? [] : ["samples/policies"], evidence: evidence)
}

/// A report of `events` without a store (for hostile strings), generated at time 0.
func report(of events: [Event], rowLimit: Int? = nil) -> IncidentReport {
    var builder = ProcessInstanceBuilder()
    _ = builder.add(events)
    var collector = IncidentReportCollector(table: builder.table, rowLimit: rowLimit)
    for event in events { collector.add(event) }
    let tree = ProcessTree(table: builder.table, selecting: .instances(collector.instanceIDs), ancestors: true, descendants: false)
    return collector.report(title: "hostile", selection: "everything", tree: tree,
                            evidence: ReportEvidence(stores: [], commandLine: "rearview report", version: "test", generatedAtNs: 0))
}

/// The policies of samples/policies.
func samplePolicies() throws -> PolicySet {
    let loaded = PolicyLoader.load(paths: [repository + "/samples/policies"])
    guard loaded.rejections.isEmpty && !loaded.policies.isEmpty else {
        throw FixtureFailure(description: "samples/policies should load: \(loaded.rejections)")
    }
    return PolicySet(loaded.policies)
}

/// How often `needle` occurs in `text`.
func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}
