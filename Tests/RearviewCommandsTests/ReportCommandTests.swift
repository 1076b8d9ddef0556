import Foundation
import Testing

/// `rearview report` as a user runs it: formats, --out, --around, --policy, bad input, and the HTML
/// opened in a real headless Chromium.
@Suite(.serialized) struct ReportCommandTests {
    /// One store with the demo incident, shared by the tests of this suite.
    static let fixture = DemoStore.imported()
    var store: String { Self.fixture.store }

    static let webHost = "ip-10-0-1-10.ec2.internal"

    /// Runs `report` with a fixed generation time.
    func report(_ arguments: [String]) throws -> CLI.Run {
        try CLI.run(["report", "--store", store] + arguments, environment: ["SOURCE_DATE_EPOCH": "1700000000"])
    }

    func json(_ run: CLI.Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
    }

    // MARK: formats

    @Test func htmlIsTheDefaultAndSelfContained() throws {
        let run = try report([])
        #expect(run.status == 0, "\(run.stderr)")
        let html = run.stdout
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</html>\n"))
        for id in ["summary", "process-tree", "timeline", "events", "evidence"] {
            #expect(html.contains("<section id=\"\(id)\">"), "\(id)")
        }
        #expect(!html.contains("<section id=\"reevaluation\">"))
        for forbidden in ["http://", "https://", "<script", "<link", " src=", "xmlns", "url("] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        let hrefs = html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(hrefs.allSatisfy { $0.hasPrefix("#") }, "\(hrefs)")
        // The evidence names the command and the generation time from SOURCE_DATE_EPOCH.
        #expect(html.contains("report --store \(store)"))
        #expect(html.contains("2023-11-14T22:13:20.000000Z"))
        // Same store, same command: the same bytes.
        #expect(try report([]).stdoutBytes == run.stdoutBytes)
    }

    @Test func alertCountsAreThoseOfQuery() throws {
        let run = try report(["--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try #require(try json(run)["Summary"] as? [String: Any])
        let count = try CLI.run(["query", "--store", store, "--type", "alert", "--count"])
        #expect(summary["Alerts"] as? Int == Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let bySeverity = try #require(summary["AlertsBySeverity"] as? [[String: Any]])
        for entry in bySeverity {
            let severity = try #require(entry["Value"] as? String)
            let query = try CLI.run(["query", "--store", store, "--type", "alert", "Severity = \(severity)", "--count"])
            #expect(entry["Count"] as? Int == Int(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(severity)")
        }
    }

    @Test func markdownAndJSON() throws {
        let markdown = try report(["--format", "md", "--title", "Web shell | wordpress"])
        #expect(markdown.status == 0, "\(markdown.stderr)")
        #expect(markdown.stdout.hasPrefix("# Web shell \\| wordpress\n"))
        for heading in ["## Summary", "## Process tree", "## Timeline", "## Events", "## Evidence"] {
            #expect(markdown.stdout.contains("\n\(heading)\n"), "\(heading)")
        }
        let run = try report(["--format", "json", "--max-rows", "10"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try json(run)
        // JSON is never capped.
        #expect((object["Events"] as? [Any])?.count == 2000)
        #expect(object["EventsOmitted"] as? Int == 0)
        #expect(object["Title"] as? String == "Incident report")
        let evidence = try #require(object["Evidence"] as? [String: Any])
        let stores = try #require(evidence["Stores"] as? [[String: Any]])
        #expect(stores.first?["Verified"] as? Bool == true)
        let segments = try #require(stores.first?["Segments"] as? [[String: Any]])
        #expect(!segments.isEmpty && segments.allSatisfy { ($0["SHA256"] as? String)?.count == 64 })
    }

    @Test func rowsAreCappedInHTMLWithANote() throws {
        let run = try report(["--max-rows", "25"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("1975 more events not shown (the first 25 are); the JSON report has all."))
        // The 25 first events, and as many alerts and denials above them.
        #expect(run.stdout.components(separatedBy: "<details>").count - 1 == 50)
        #expect(run.stdout.contains("more alerts and denials not shown (the first 25 are)"))
    }

    @Test func theEvidenceNamesTheStoreSoTheCommandRunsAgain() throws {
        // A path with `..` in it is named from the root, without it.
        let roundabout = store + "/segments/../../" + URL(fileURLWithPath: store).lastPathComponent
        let given = try CLI.run(["report", "--store", roundabout, "--format", "json"])
        let stores = try #require((try json(given))["Evidence"] as? [String: Any])["Stores"] as? [[String: Any]]
        #expect(stores?.first?["Path"] as? String == store)
        // From $REARVIEW_STORE, the reproducible command names the store.
        let fromEnvironment = try CLI.run(["report", "--around", "9893"], environment: ["REARVIEW_STORE": roundabout])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        #expect(fromEnvironment.stdout.contains("rearview report --around 9893 --store \(store)</code>"), "\(fromEnvironment.stdout.suffix(900))")
    }

    @Test func outWritesTheFileAtomically() throws {
        let scratch = Scratch()
        let path = scratch.write("incident.html", "an older report")
        let run = try report(["--format", "md", "--out", path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written.hasPrefix("# Incident report\n"))
        #expect(written.contains("## Evidence"))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        // A failing run leaves the previous file alone.
        let failed = try report(["--around", "77777", "--out", path])
        #expect(failed.status == 2)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == written)
    }

    // MARK: --around

    @Test func aroundTheBlockedAptGet() throws {
        let run = try report(["--around", "9939", "--window", "20s", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try json(run)
        let processes = try #require(object["Processes"] as? [[String: Any]])
        #expect(processes.map { $0["HostPID"] as? Int } == [4023, 4024, 9893, 9924, 9934, 9939])
        #expect(processes.filter { $0["Selected"] as? Bool == true }.map { $0["HostPID"] as? Int } == [9939])
        #expect((object["Title"] as? String)?.contains("HostPID 9939") == true)
        // 9939 lived at 10:07:36.170 (one event): the window is 10:07:16.170 through 10:07:56.170.
        let events = try #require(object["Events"] as? [[String: Any]])
        #expect(!events.isEmpty)
        let expected = try CLI.run(["query", "--store", store, "--count",
                                    "HostName = \(Self.webHost) and HostPID in (4023, 4024, 9893, 9924, 9934, 9939) "
                                        + "and TimeNs >= 2024-05-31T10:07:16.170Z and TimeNs <= 2024-05-31T10:07:56.171Z"])
        #expect(events.count == Int(expected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(expected.stderr)")
        for event in events {
            #expect(event["HostName"] as? String == Self.webHost)
            let time = try #require(event["UpdatedTime"] as? String)
            #expect(time >= "2024-05-31T10:07:16.17" && time <= "2024-05-31T10:07:56.171", "\(time)")
        }
        #expect(events.contains { $0["HostPID"] as? Int == 9939 && $0["Action"] as? String == "Block" })
        #expect((object["Selection"] as? String)?.contains("around dash (HostPID 9939") == true)
    }

    @Test func aroundTheWebShellTakesItsDescendants() throws {
        let run = try report(["--around", "9893", "--window", "10m"])
        #expect(run.status == 0, "\(run.stderr)")
        for pid in [4023, 4024, 9893, 9897, 9902, 9910, 9913, 9915, 9920, 9921, 9924, 9934, 9939, 9946] {
            #expect(run.stdout.contains("<g class=\"node sev-") && run.stdout.contains("data-hostpid=\"\(pid)\""), "\(pid)")
        }
        #expect(run.stdout.contains(" selected\" data-hostpid=\"9893\""))
        // Nothing of the other host.
        #expect(!run.stdout.contains("data-host=\"ip-10-0-1-11.ec2.internal\""))
    }

    // MARK: --policy

    @Test func policyAddsTheReevaluation() throws {
        let policies = Shared.repository + "/samples/policies"
        let run = try report(["--policy", policies, "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let reevaluation = try #require(try json(run)["Reevaluation"] as? [String: Any])
        let evaluate = try CLI.run(["evaluate", "--store", store, "--policy", policies, "--count"])
        let expected = try #require(Int(evaluate.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(expected > 0)
        #expect(reevaluation["Alerts"] as? Int == expected)
        #expect((reevaluation["Records"] as? [[String: Any]])?.allSatisfy { $0["Reevaluated"] as? Bool == true } == true)
        let html = try report(["--policy", policies])
        #expect(html.stdout.contains("<section id=\"reevaluation\">"))
        #expect(html.stdout.contains("\(expected)</dd>"))
    }

    // MARK: bad input

    @Test func unknownProcessIsOneLineAndExit2() throws {
        let run = try report(["--around", "77777"])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        #expect(lines(run.stderr) == ["rearview: --around 77777: no process with HostPID 77777 in the store(s)"])
    }

    @Test func badPolicyFileStopsTheReport() throws {
        let scratch = Scratch()
        let policy = scratch.write("bad.yaml", "apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata: [oops\n")
        let out = scratch.path + "/report.html"
        let run = try report(["--policy", policy, "--out", out])
        #expect(run.status == 2)
        let errors = lines(run.stderr)
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { $0.hasPrefix(policy + ":") || $0.hasPrefix("rearview: ") }, "\(errors)")
        #expect(errors.first?.hasPrefix(policy + ":") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func windowWithoutAroundIsAUsageError() throws {
        let run = try report(["--window", "5m"])
        // Usage errors exit 2 (rearview maps ArgumentParser's 64).
        #expect(run.status == 2)
        #expect(run.stderr.contains("--window needs --around"))
    }

    // MARK: Chromium

    @Test func demoReportOpensInHeadlessChromium() throws {
        let chromium = try #require(Chromium.path, "chromium is missing: install the Debian package `chromium` (apt-get install chromium)")
        let scratch = Scratch()
        let html = scratch.path + "/demo report.html"
        let made = try report(["--out", html])
        #expect(made.status == 0, "\(made.stderr)")
        let url = URL(fileURLWithPath: html).absoluteString

        let screenshot = scratch.path + "/report.png"
        let shot = try Chromium.run(chromium, ["--screenshot=\(screenshot)", "--window-size=1280,4000", url], profile: scratch.path + "/profile-1")
        #expect(shot.status == 0, "\(shot.stderr)")
        let png = try #require(FileManager.default.contents(atPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 50_000, "a 1280×4000 screenshot of the report should not be nearly blank (\(png.count) bytes)")
        #expect(Chromium.consoleMessages(shot.stderr).isEmpty, "\(Chromium.consoleMessages(shot.stderr))")

        let dump = try Chromium.run(chromium, ["--dump-dom", url], profile: scratch.path + "/profile-2")
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(Chromium.consoleMessages(dump.stderr).isEmpty, "\(Chromium.consoleMessages(dump.stderr))")
        let dom = dump.stdout
        let tree = try #require(dom.range(of: "<svg class=\"tree\"").flatMap { start in
            dom.range(of: "</svg>", range: start.upperBound..<dom.endIndex).map { dom[start.lowerBound..<$0.upperBound] }
        })
        for pid in [4023, 4024, 9893, 9924, 9934, 9939] { #expect(tree.contains("data-hostpid=\"\(pid)\""), "\(pid)") }
        #expect(tree.contains("apache2 → dash (9893/230)"))
        #expect(tree.contains("dash (9939/240) ✗ apt-get"))
        #expect(dom.contains("<section id=\"evidence\">"))
    }
}

/// The headless Chromium of Debian's `chromium` package.
enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs headless Chromium (no sandbox: tests run as root) with a fresh profile, killed after 90 s.
    static func run(_ binary: String, _ arguments: [String], profile: String) throws -> CLI.Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["90", binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--enable-logging=stderr", "--v=0", "--user-data-dir=\(profile)"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return CLI.finish(process, out: out, err: err)
    }

    /// The page's console messages and load failures in Chromium's log (a page without script has none).
    static func consoleMessages(_ log: String) -> [String] {
        lines(log).filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") || $0.contains("net::ERR_") }
    }
}
