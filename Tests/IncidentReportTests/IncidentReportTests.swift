import EventModel
import EventStore
import Foundation
import Testing
@testable import IncidentReport
import Investigation
import PolicyEngine

/// The demo incident as a report: the structure of every format, the numbers `query` gives, the
/// lineage of the web shell, caps, evidence, re-evaluation.
@Suite struct DemoReportTests {
    @Test func summaryCountsMatchTheStore() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let report = try report(of: store, rowLimit: 2000)
        _ = directory
        #expect(report.summary.events == 2000)
        #expect(report.summary.alerts == 42)
        // `query --type alert --group-by Severity` gives these.
        #expect(report.summary.alertsBySeverity == [
            ReportCount(value: "8", count: 1), ReportCount(value: "5", count: 8), ReportCount(value: "4", count: 6),
            ReportCount(value: "3", count: 26), ReportCount(value: "1", count: 1),
        ])
        #expect(try report.summary.hosts.map(\.value).sorted() == Set(demoEvents.map(\.hostName)).sorted())
        #expect(try report.summary.firstNs == demoEvents.first!.timeNs)
        #expect(try report.summary.lastNs == demoEvents.last!.timeNs)
        let mitre = report.summary.tagGroups.first { $0.name == "MITRE" }
        #expect(mitre?.tags.first == ReportCount(value: "MITRE_T1057_process_discovery", count: 26))
        let nist = report.summary.tagGroups.first { $0.name == "NIST" }
        #expect(nist?.tags.contains(ReportCount(value: "NIST_800-53_AC-3", count: 7)) == true)
        #expect(!report.summary.tagGroups.flatMap(\.tags).contains { $0.value == "MITRE" || $0.value == "NIST" })
        #expect(report.rows.count == 2000)
        #expect(zip(report.rows, report.rows.dropFirst()).allSatisfy { $0.timeNs <= $1.timeNs })
    }

    @Test func treeHoldsTheWebShellLineage() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let report = try report(of: store, rowLimit: 100)
        _ = directory
        let byID = Dictionary(uniqueKeysWithValues: report.processes.map { ($0.instance.id, $0) })
        let blocked = try #require(report.processes.first { $0.instance.hostPID == 9939 })
        var lineage: [Int32] = []
        var next: ReportProcess? = blocked
        while let process = next {
            lineage.append(process.instance.hostPID)
            next = process.parentID.flatMap { byID[$0] }
        }
        #expect(lineage == [9939, 9934, 9924, 9893, 4024, 4023])
        #expect(blocked.instance.failedExecs.first?.hasPrefix("/usr/bin/apt-get") == true)
        #expect(blocked.alerts > 0 && blocked.blocked > 0)
        // Parents come before their children.
        var seen = Set<Int64>()
        for process in report.processes {
            if let parent = process.parentID { #expect(seen.contains(parent)) }
            seen.insert(process.instance.id)
        }

        let html = HTMLReportRenderer().render(report)
        for pid in lineage { #expect(html.contains("data-hostpid=\"\(pid)\"")) }
        #expect(html.contains("apache2 → dash (9893/230)"))
        #expect(html.contains("dash (9939/240) ✗ apt-get"))
        let shell = try #require(report.processes.first { $0.instance.hostPID == 9893 })
        #expect(html.contains("class=\"node sev-\(shell.level)"))
    }

    @Test func htmlHasEverySectionAndNoExternalReference() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let report = try report(of: store, rowLimit: 2000, policies: try samplePolicies())
        _ = directory
        let html = HTMLReportRenderer().render(report)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in ["summary", "process-tree", "timeline", "events", "reevaluation", "evidence"] {
            #expect(occurrences(of: "<section id=\"\(id)\">", in: html) == 1, "section \(id)")
        }
        #expect(occurrences(of: "<svg class=\"tree\"", in: html) == 1)
        #expect(occurrences(of: "<svg class=\"timeline\"", in: html) == 1)
        // Every event once in time order, the alerts and denials once more at the top.
        #expect(occurrences(of: "<details>", in: html) == 2000 + report.tables.notable.count + report.reevaluation!.alerts.count)
        // The demo's curl downloads from a URL: shown, but not as a URL the file holds.
        #expect(html.contains("http&#58;//203.0.113.45:8080/x"))
        for forbidden in ["http://", "https://", "<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "xmlns"] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        #expect(!html.contains("href=\"//"))
        let hrefs = html.components(separatedBy: "href=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(!hrefs.isEmpty && hrefs.allSatisfy { $0.hasPrefix("#") })
        #expect(!html.contains("more events not shown"))
    }

    @Test func rowsAreCappedWithANoteAndJSONIsComplete() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let capped = try report(of: store, rowLimit: 50)
        #expect(capped.rows.count == 50)
        #expect(try capped.rows.map(\.timeNs) == demoEvents.prefix(50).map(\.timeNs))
        let html = HTMLReportRenderer().render(capped)
        #expect(html.contains("1950 more events not shown (the first 50 are); the JSON report has all."))
        #expect(occurrences(of: "<details>", in: html) == 50 + capped.tables.notable.count)
        #expect(capped.tables.notable.count == 50 && capped.tables.notableEvents > 50)
        let markdown = MarkdownReportRenderer().render(capped)
        #expect(markdown.contains("1950 more events not shown (the first 50 are); the JSON report has all."))

        let complete = try report(of: store, rowLimit: nil)
        _ = directory
        let json = try #require(try JSONSerialization.jsonObject(with: Data(JSONReportRenderer().render(complete))) as? [String: Any])
        let events = try #require(json["Events"] as? [[String: Any]])
        #expect(events.count == 2000)
        #expect(json["EventsOmitted"] as? Int == 0)
        #expect(events.compactMap { $0["HostPID"] as? Int }.count == 2000)
        let summary = try #require(json["Summary"] as? [String: Any])
        #expect(summary["Alerts"] as? Int == 42)
        let processes = try #require(json["Processes"] as? [[String: Any]])
        #expect(processes.count == complete.processes.count)
        #expect(processes.contains { $0["HostPID"] as? Int == 9939 && ($0["FailedExecs"] as? [String])?.count == 1 })
        #expect(json["Reevaluation"] is NSNull)
        let evidence = try #require(json["Evidence"] as? [String: Any])
        let stores = try #require(evidence["Stores"] as? [[String: Any]])
        #expect(stores.first?["Verified"] as? Bool == true)
        #expect(stores.first?["StoreID"] as? String == (try store.storeID()))
    }

    @Test func evidenceNamesEverySegmentWithItsHash() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let report = try report(of: store, rowLimit: 10)
        let evidence = try #require(report.evidence.stores.first)
        #expect(evidence.problems.isEmpty)
        #expect(!evidence.storeID.isEmpty)
        #expect(!evidence.segments.isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/segments").filter { $0.hasSuffix(".rvseg") }
        #expect(evidence.segments.filter(\.sealed).map(\.fileName).sorted() == files.sorted())
        for segment in evidence.segments where segment.sealed {
            let hash = try #require(segment.sha256)
            #expect(hash.count == 64 && hash.allSatisfy(\.isHexDigit))
        }
        let html = HTMLReportRenderer().render(report)
        for segment in evidence.segments {
            #expect(html.contains("<code>\(segment.fileName)</code>"))
            if let hash = segment.sha256 { #expect(html.contains(hash)) }
        }
        #expect(html.contains("verified: \(evidence.segments.count) segment(s)"))
        #expect(html.contains("rearview report --store demo"))
        #expect(MarkdownReportRenderer().render(report).contains(evidence.segments[0].sha256 ?? "open"))
    }

    @Test func damagedStoreIsReportedInTheEvidence() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let segment = directory.path + "/segments/000001.rvseg"
        var bytes = try #require(FileManager.default.contents(atPath: segment))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: segment))
        let evidence = try StoreEvidence.gather(store)
        #expect(!evidence.problems.isEmpty)
        let report = IncidentReport(title: "t", selection: "everything", summary: ReportSummary(), processes: [], rows: [], tables: ReportEventTables(), reevaluation: nil,
                                    evidence: ReportEvidence(stores: [evidence], commandLine: "x", version: "test", generatedAtNs: 0),
                                    marks: [:])
        let html = HTMLReportRenderer().render(report)
        #expect(html.contains("problem(s) found"))
        #expect(html.contains("DAMAGED "))
    }

    @Test func processPicturesAreCappedKeepingAncestors() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let report = try report(of: store, rowLimit: 10)
        _ = directory
        #expect(report.processes.count > 12)
        let drawn = DrawnProcesses(report.processes, limit: 12)
        #expect(drawn.processes.count == 12)
        #expect(drawn.omitted == report.processes.count - 12)
        let ids = Set(drawn.processes.map(\.instance.id))
        #expect(drawn.processes.allSatisfy { $0.parentID.map(ids.contains) ?? true })
        // The most severe process is drawn.
        let worst = report.processes.max { ($0.level, $0.alerts) < ($1.level, $1.alerts) }!
        #expect(ids.contains(worst.instance.id))
        let html = HTMLReportRenderer(maxDrawnProcesses: 12).render(report)
        #expect(occurrences(of: "<g class=\"node ", in: html) == 12)
        #expect(html.contains("\(drawn.omitted) more processes not drawn"))
        let markdown = MarkdownReportRenderer(maxDrawnProcesses: 12).render(report)
        #expect(markdown.contains("\(drawn.omitted) more processes not listed"))
    }

    @Test func reevaluationAddsTheWouldBeAlerts() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let policies = try samplePolicies()
        let report = try report(of: store, rowLimit: nil, policies: policies)
        _ = directory
        var evaluator = policies.makeEvaluator()
        let expected = try demoEvents.filter { evaluator.verdict(for: $0) != nil }.count
        let reevaluation = try #require(report.reevaluation)
        #expect(expected > 0)
        #expect(reevaluation.alertCount == expected)
        #expect(reevaluation.alerts.count == expected)
        #expect(reevaluation.byRule.reduce(0) { $0 + $1.count } == expected)
        #expect(reevaluation.alerts.allSatisfy { $0.extra(PolicyVerdict.reevaluatedKey) == "true" })
        #expect(Set(reevaluation.policies) == Set(policies.policies.map(\.name)))
        // Recorded alerts are not mixed with re-evaluated ones.
        #expect(report.summary.alerts == 42)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(JSONReportRenderer().render(report))) as? [String: Any])
        let section = try #require(json["Reevaluation"] as? [String: Any])
        #expect(section["Alerts"] as? Int == expected)
        #expect((section["Records"] as? [Any])?.count == expected)
        let markdown = MarkdownReportRenderer().render(report)
        #expect(markdown.contains("## Policy re-evaluation"))
        #expect(markdown.contains("\(expected) alerts would have been raised"))
    }

    @Test func markdownHasEverySection() throws {
        let (directory, store) = try storeHolding(demoEvents)
        let report = try report(of: store, rowLimit: 2000)
        _ = directory
        let markdown = MarkdownReportRenderer().render(report)
        for heading in ["# Demo incident", "## Summary", "### Alerts by severity", "### MITRE tags", "### NIST tags",
                        "## Process tree", "## Timeline", "## Events", "## Evidence"] {
            #expect(markdown.contains("\n" + heading + "\n") || markdown.hasPrefix(heading + "\n"), "\(heading)")
        }
        #expect(markdown.contains("| 3 | 26 |"))
        #expect(markdown.contains("          - dash \\(9939/240\\) ✗ apt\u{2D}get"))
        #expect(!markdown.contains("http://"))
        let eventLines = markdown.split(separator: "\n").filter { $0.hasPrefix("| 2024-") }
        #expect(eventLines.count == 2000 + report.tables.notable.count)
    }
}

/// Strings an attacker controls (paths, commands, names) are shown, never interpreted.
@Suite struct HostileStringTests {
    static let hostile: [Event] = {
        var event = Event()
        event.timeNs = 1_717_150_000_000_000_000
        event.timestamp = 1_717_150_000
        event.hostName = "node-<b>1</b>"
        event.hostPID = 4242
        event.hostPPID = 1
        event.pid = 4242
        event.processName = "/tmp/\"quoted\" 'name'"
        event.parentProcessName = "/bin/sh"
        event.operation = "File"
        event.resource = "<script>alert(1)</script>"
        event.data = "path=/tmp/a\nb\u{1B}[31mred | pipe \u{FFFD} \u{202E}txt.exe"
        event.result = "Passed"
        event.type = "MatchedPolicy"
        event.policyName = "p|<i>x</i>"
        event.severity = "9"
        event.action = "Audit"
        event.tags = "MITRE,<img src=x>"
        event.extras = [ExtraField(key: "Owner", json: #"{"Name":"</dd><script>x</script>"}"#)]
        var second = event
        second.timeNs += 1_000_000
        second.resource = "/var/www/a|b`c`*d*_e_[f](g) ~h~ #i \\j"
        second.processName = "/usr/bin/\u{202E}gpj.exe"
        return [event, second]
    }()

    @Test func htmlShowsHostileStringsAsText() {
        let html = HTMLReportRenderer().render(report(of: Self.hostile))
        #expect(!html.contains("<script>"))
        #expect(!html.contains("<b>1</b>"))
        #expect(!html.contains("<i>x</i>"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("node-&lt;b&gt;1&lt;/b&gt;"))
        #expect(html.contains("&quot;quoted&quot; &#39;name&#39;"))
        #expect(html.contains("&lt;/dd&gt;&lt;script&gt;x&lt;/script&gt;"))
        // Control and direction characters are visible escapes, never raw.
        #expect(!html.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        #expect(html.contains("a\\nb\\x1b[31mred"))
        #expect(html.contains("\\u{202e}txt.exe"))
        #expect(html.contains("\u{FFFD}"))
        // Attribute values cannot be broken out of: every data-host value is escaped.
        #expect(html.contains("data-host=\"node-&lt;b&gt;1&lt;/b&gt;\""))
    }

    @Test func markdownEscapesMarkupAndPipes() {
        let markdown = MarkdownReportRenderer().render(report(of: Self.hostile))
        #expect(!markdown.contains("<script>"))
        #expect(markdown.contains("\\<script\\>alert\\(1\\)\\</script\\>"))
        #expect(markdown.contains("/var/www/a\\|b\\`c\\`\\*d\\*\\_e\\_\\[f\\]\\(g\\) \\~h\\~ \\#i \\\\\\\\j"))
        #expect(!markdown.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        // Every event row has exactly the table's 8 unescaped pipes.
        let rows = markdown.split(separator: "\n").filter { $0.hasPrefix("| 2024-") }
        #expect(rows.count == 2 + report(of: Self.hostile).tables.notable.count)
        for row in rows {
            var pipes = 0
            var escaped = false
            for character in row {
                if character == "|" && !escaped { pipes += 1 }
                escaped = character == "\\" && !escaped
            }
            #expect(pipes == 8, "\(row)")
        }
    }

    @Test func jsonKeepsHostileStringsExactly() throws {
        let bytes = JSONReportRenderer().render(report(of: Self.hostile))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let events = try #require(json["Events"] as? [[String: Any]])
        #expect(events.first?["Resource"] as? String == "<script>alert(1)</script>")
        #expect(events.first?["Data"] as? String == Self.hostile[0].data)
        // Extra fields are kept as the record had them (export's lossless rule).
        #expect((events.first?["Owner"] as? [String: String])?["Name"] == "</dd><script>x</script>")
    }

    @Test func shellQuotingRoundTripsThroughSh() throws {
        let arguments = ["rearview", "report", "PolicyName ~ 'ksp'", "--out", "a b.html", "--title", "$HOME `x` \"q\"", "plain-1.0"]
        let line = ShellQuoting.commandLine(arguments)
        #expect(line == #"rearview report 'PolicyName ~ '\''ksp'\''' --out 'a b.html' --title '$HOME `x` "q"' plain-1.0"#)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "printf '%s\\n' " + line]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        #expect(String(decoding: printed, as: UTF8.self) == arguments.map { $0 + "\n" }.joined())
    }
}
