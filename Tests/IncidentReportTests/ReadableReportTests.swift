import EventModel
import EventStore
import Foundation
import Testing
@testable import IncidentReport
import Investigation

/// What makes a report readable: alerts and denials first, the selected lineage's own events next,
/// the rest grouped; a timeline zoomed to the lineage with ticks at round times.
@Suite struct ReadableReportTests {
    /// The report around the web shell (dash, HostPID 9893), as `report --around 9893` collects it.
    static func aroundTheWebShell(_ store: Store) throws -> (report: IncidentReport, table: ProcessInstanceTable, tree: ProcessTree) {
        let table = try StoredProcessTable(store: store).table()
        let tree = ProcessTree(table: table, selecting: .hostPID(9893))
        var collector = IncidentReportCollector(table: table, onlyProcesses: Set(tree.instancesByID.keys),
                                                lineage: tree.selectedAndDescendants, rowLimit: 2000)
        for event in try demoEvents { collector.add(event) }
        let evidence = ReportEvidence(stores: [], commandLine: "rearview report --around 9893", version: "test", generatedAtNs: 0)
        return (collector.report(title: "web shell", selection: "around 9893", tree: tree, focus: tree.selectedIDs, evidence: evidence),
                table, tree)
    }

    @Test func alertsAndDenialsComeFirstThenTheLineageThenTheRestGrouped() throws {
        let (directory, store) = try storeHolding(demoEvents)
        _ = directory
        let (report, table, tree) = try Self.aroundTheWebShell(store)
        let lineage = tree.selectedAndDescendants
        let lineagePIDs = Set(lineage.compactMap { tree.instancesByID[$0]?.hostPID })
        #expect(lineagePIDs.isSuperset(of: [9893, 9924, 9934, 9939, 9946]) && !lineagePIDs.contains(4024))

        // Independently: each demo event's instance, then the three tables' contents.
        let selected = try demoEvents.filter { event in
            table.instanceID(hostName: event.hostName, hostPID: event.hostPID, at: event.timeNs).map { tree.instancesByID[$0] != nil } ?? false
        }
        let inLineage = selected.filter { event in
            table.instanceID(hostName: event.hostName, hostPID: event.hostPID, at: event.timeNs).map(lineage.contains) ?? false
        }
        let notable = selected.filter { $0.isAlert || $0.result != "Passed" }
        #expect(report.tables.notable.map(\.timeNs) == notable.map(\.timeNs))
        #expect(notable.contains { !$0.isAlert && $0.result == "Permission denied" }, "a denial without an alert")
        #expect(report.rows.map(\.timeNs) == inLineage.map(\.timeNs))
        #expect(report.tables.storyEvents == inLineage.count)
        #expect(report.tables.otherEvents == selected.count - inLineage.count)
        #expect(report.tables.others.reduce(0) { $0 + $1.count } == report.tables.otherEvents)
        let keys = report.tables.others.map { "\($0.first.hostPID) \($0.first.operation) \($0.first.resource) \($0.first.result)" }
        #expect(Set(keys).count == keys.count && keys.count < report.tables.otherEvents)

        let html = HTMLReportRenderer().render(report)
        let order = ["id=\"events-notable\"", "id=\"events-story\"", "id=\"events-others\""].map { html.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order[0]! < order[1]! && order[1]! < order[2]!)
        // Every Result other than Passed is marked, in every table it appears in.
        let failedRows = notable.filter { $0.result != "Passed" }.count
        #expect(occurrences(of: "<td class=\"failed\">", in: html) >= 2 * failedRows)
        #expect(!html.contains("<td class=\"failed\">Passed"))
        let markdown = MarkdownReportRenderer().render(report)
        #expect(markdown.contains("### Alerts and denials (\(notable.count))") && markdown.contains("**Permission denied**"))
    }

    @Test func theTimelineZoomsToTheLineage() throws {
        let (directory, store) = try storeHolding(demoEvents)
        _ = directory
        let (report, _, tree) = try Self.aroundTheWebShell(store)
        let picture = TimelinePicture(report, drawn: DrawnProcesses(report.processes, limit: 200))
        let lineageTimes = tree.selectedAndDescendants.flatMap { report.marks[$0] ?? [] }.map(\.timeNs)
        #expect(picture.isZoomed)
        #expect(picture.firstNs <= lineageTimes.min()! && picture.lastNs >= lineageTimes.max()!)
        // Narrower than the whole selection, which the ancestors' traffic spreads over.
        let selection = report.summary.lastNs! - report.summary.firstNs!
        #expect(picture.lastNs - picture.firstNs < selection * 3 / 4)
        let svg = picture.svg()
        #expect(svg.contains("zoomed to the selected process and its descendants"))
        #expect(svg.contains("◂") && svg.contains("▸"), "the ancestors' events outside the zoom are counted")
    }

    @Test func ticksFallOnRoundTimes() {
        let base: Int64 = 1_717_150_031_000_000_000  // 2024-05-31T10:07:11Z
        for (span, interval, label) in [(Int64(37_000_000_000), Int64(5_000_000_000), "10:07:15"),
                                        (7_200_000_000_000, 1_800_000_000_000, "10:30"),
                                        (300_123_456, 50_000_000, "10:07:11.050")] {
            let ticks = TimelinePicture.ticks(base + 123_456, base + 123_456 + span)
            #expect(ticks.interval == interval, "\(span)")
            #expect(ticks.times.count >= 4 && ticks.times.allSatisfy { $0 % interval == 0 && $0 >= base && $0 <= base + 123_456 + span })
            #expect(TimelinePicture.clock(ticks.times[0], interval: interval) == label)
        }
    }
}
