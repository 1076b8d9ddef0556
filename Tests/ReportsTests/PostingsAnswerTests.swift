import EventModel
import EventStore
import Foundation
import Investigation
import Reports
import Testing

/// Counts and groupings answered from the index's postings must equal the scan's (a plan without
/// pruning decodes every block and answers nothing from postings) and the records' own filter, on
/// generated stores, one and several at a time, for many selections.
@Suite struct PostingsAnswerTests {
    /// A store written from `events` (time-ordered here) in blocks of `blockEvents`.
    final class TestStore {
        let path = NSTemporaryDirectory() + "rearview-answers-" + UUID().uuidString
        let store: Store
        let events: [Event]

        init(_ events: [Event], blockEvents: Int) throws {
            var options = WriterOptions()
            options.blockEvents = blockEvents
            let writer = try StoreWriter(path: path, options: options)
            self.events = events.sorted { $0.timeNs < $1.timeNs }
            try writer.append(self.events)
            try writer.close()
            store = try Store.open(path)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Events whose indexed values come in runs, so that many blocks hold one value of a field.
    static func clusteredEvents(_ count: Int, seed: UInt64) -> [Event] {
        var state = seed | 1
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let processes = ["/usr/bin/ps", "/usr/bin/bash", "/usr/sbin/nginx", "/usr/bin/cat", "K", "\u{212A}"]
        return (0..<count).map { i in
            var e = Event()
            e.timeNs = 1_717_150_000_000_000_000 + Int64(i) * 1_000_000 + Int64(next(900_000))
            e.timestamp = e.timeNs / 1_000_000_000
            e.hostName = "host-\((i / 250) % 3)"
            e.hostPID = Int32(100 + (i / 40) % 50 + next(2))
            e.processName = processes[(i / 120 + (next(6) == 0 ? 1 : 0)) % 4]
            e.operation = (i / 300) % 2 == 0 ? "Process" : ["File", "Network"][next(2)]
            e.podName = (i / 500) % 3 == 0 ? "" : "pod-\((i / 170) % 4)"
            e.namespaceName = e.podName.isEmpty ? "" : "ns-\(next(2))"
            e.type = next(9) == 0 ? "MatchedPolicy" : (e.podName.isEmpty ? "HostLog" : "ContainerLog")
            e.policyName = e.type == "MatchedPolicy" ? "policy-\(next(3))" : ""
            e.severity = String(next(10))
            e.resource = "/etc/" + ["passwd", "shadow", "hosts"][next(3)]
            return e
        }
    }

    /// The project's generator's records (KubeArmor JSON as karmor prints it), read back as events.
    static func generatedEvents(_ count: Int, seed: Int, hosts: Int) throws -> [Event]? {
        let generator = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/tools/gen-kubearmor-logs.py").path
        guard FileManager.default.fileExists(atPath: generator) else { return nil }
        let out = NSTemporaryDirectory() + "rearview-answers-\(UUID().uuidString).ndjson"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [generator, "--events", String(count), "--seed", String(seed), "--hosts", String(hosts), "--out", out]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the generator failed")
        let outcomes = try KubeArmorJSONReader.readAll(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: out))), origin: out, threads: 2)
        return outcomes.compactMap { try? $0.get() }
    }

    static let groupings = ["ProcessName", "HostName", "HostPID", "Operation", "PodName", "NamespaceName", "Type", "PolicyName",
                            "Resource", "HostName,Operation"]

    /// Counts and groupings of `filter` over `stores`: postings and scan against the records.
    @discardableResult
    func compare(_ stores: [TestStore], _ filter: EventFilter, groupings: [String] = Self.groupings,
                 _ comment: Comment) throws -> PostingsAnswer {
        let opened = stores.map(\.store)
        let expected = stores.reduce(0) { $0 + $1.events.filter { filter.matches($0) }.count }
        let planned = try QueryPlan(stores: opened, filter: filter)
        let scanned = try QueryPlan(stores: opened, filter: filter, pruning: false)
        #expect(try planned.count(filter: filter) == expected, comment)
        #expect(try scanned.count(filter: filter) == expected, comment)
        for grouping in groupings {
            let columns = EventColumn.list(grouping)
            let fromPostings = try GroupCounts.counting(plan: planned, filter: filter, columns: columns)
            let fromScan = try GroupCounts.counting(plan: scanned, filter: filter, columns: columns)
            #expect(fromPostings.total == expected, "\(comment) --group-by \(grouping)")
            #expect(fromPostings.counts == fromScan.counts, "\(comment) --group-by \(grouping)")
        }
        return try planned.answerFromPostings(filter: filter)
    }

    func filter(_ expression: String, _ shortcuts: ShortcutFilters = ShortcutFilters()) throws -> EventFilter {
        let parsed = expression.isEmpty ? FilterExpression.everything : try FilterExpression(parsing: expression)
        return EventFilter(.and([parsed, try shortcuts.expression()]))
    }

    @Test func generatedStoresAnswerTheSameFromPostingsAndScans() throws {
        guard let events = try Self.generatedEvents(10_000, seed: 5, hosts: 3) else { return }
        let all = try TestStore(events, blockEvents: 100)
        // One host's records alone: its HostName admits whole blocks.
        let host = "ip-10-0-1-11.ec2.internal"
        let oneHost = try TestStore(events.filter { $0.hostName == host }, blockEvents: 80)
        let blocks = try all.store.blocks()
        let boundary = blocks[blocks.count / 3].location.minTimeNs, late = blocks[2 * blocks.count / 3].location.maxTimeNs
        let middle = (blocks[10].location.minTimeNs + blocks[10].location.maxTimeNs) / 2
        let pid = events[events.count / 2].hostPID
        let selections: [(String, ShortcutFilters)] = [
            ("", .init()), ("Operation = Process", .init()), ("Operation in (Process, Network)", .init()),
            ("HostName = '\(host)'", .init()), ("HostName = '\(host)' and Operation = File", .init()),
            ("PodName ~ '^postgres'", .init()), ("PodName glob 'nginx-*' and Operation = Process", .init()),
            ("Type startswith Matched", .init()), ("ProcessName contains bash", .init()),
            ("HostPID = \(pid)", .init()), ("HostPID in (370, 371, \(pid), 99999)", .init()),
            ("NamespaceName = default and Type = ContainerLog", .init()),
            ("ProcessName = /usr/bin/kubelet and HostName = '\(host)'", .init()),
            ("TimeNs >= \(boundary)", .init()), ("TimeNs >= \(boundary) and TimeNs <= \(late) and Operation = File", .init()),
            ("TimeNs < \(middle)", .init()), ("TimeNs > \(middle) and HostName = '\(host)'", .init()),
            ("Operation = Process and Operation ~ 'Proc'", .init()),
            // Not decided by postings: negation, other fields, disjunctions, empty values.
            ("not Operation = File", .init()), ("Resource ~ shadow", .init()), ("Operation = Process or HostName = '\(host)'", .init()),
            ("Severity >= 3 and Operation = Process", .init()), ("PodName = ''", .init()), ("HostPID = 0", .init()),
            ("PodName exists", .init()), ("HostPID exists and not PodName exists", .init()),
            // karmor-style flags.
            ("", .init(pod: "postgres", operation: "process")), ("", .init(type: "alert")), ("", .init(pid: pid)),
            ("", .init(host: "ip-10-0-1-1[01]")), ("", .init(namespace: "default", process: "sh$")),
        ]
        for (expression, shortcuts) in selections {
            let f = try filter(expression, shortcuts)
            try compare([all], f, "\(f.expression)")
            try compare([oneHost], f, groupings: ["ProcessName", "HostName", "HostPID"], "one host: \(f.expression)")
            try compare([all, oneHost], f, groupings: ["ProcessName", "PodName"], "two stores: \(f.expression)")
        }
        // The postings do answer: every block of a count with no filter or one term clause, and some
        // blocks of two clauses where the second holds for whole blocks.
        for (expression, shortcuts) in [("", ShortcutFilters()), ("Operation = Process", .init()), ("PodName ~ '^postgres'", .init()),
                                        ("HostPID = \(pid)", .init()), ("PodName exists", .init()), ("", .init(operation: "process")),
                                        ("", .init(pid: pid))] {
            let f = try filter(expression, shortcuts)
            let plan = try QueryPlan(stores: [all.store], filter: f)
            let answer = try plan.answerFromPostings(filter: f)
            #expect(answer.answeredBlocks == plan.sources.count && answer.remaining.sources.isEmpty, "\(f.expression)")
        }
        let grouped = try filter("HostName = '\(host)'")
        #expect(try QueryPlan(stores: [oneHost.store], filter: grouped).answerFromPostings(filter: grouped, groupingBy: .processName)
                    .answeredBlocks == oneHost.store.blocks().count)
        let twoClauses = try filter("HostName = '\(host)' and Operation = File")
        #expect(try QueryPlan(stores: [oneHost.store], filter: twoClauses).answerFromPostings(filter: twoClauses).answeredBlocks > 0)
        let window = try filter("TimeNs >= \(boundary)")
        let windowed = try QueryPlan(stores: [all.store], filter: window).answerFromPostings(filter: window)
        #expect(windowed.answeredBlocks > 0)
        #expect(windowed.answeredBlocks < blocks.count)
    }

    @Test func randomConjunctionsAnswerTheSameFromPostingsAndScans() throws {
        let clustered = try TestStore(Self.clusteredEvents(6000, seed: 11), blockEvents: 100)
        let other = try TestStore(Self.clusteredEvents(2500, seed: 12), blockEvents: 64)
        let blocks = try clustered.store.blocks()
        var state: UInt64 = 0x5EED
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let pool = [
            "HostName = host-\(0)", "HostName in (host-1, host-2)", "HostName ~ '[02]$'", "Operation = Process",
            "Operation in (File, Network)", "Operation ~ '(?i)^proc'", "PodName = pod-1", "PodName ~ 'pod-[23]'",
            "PodName glob 'pod-*'", "NamespaceName = ns-0", "Type = ContainerLog", "Type startswith Matched",
            "PolicyName = policy-1", "ProcessName = /usr/bin/bash", "ProcessName in (/usr/bin/ps, /usr/sbin/nginx)",
            "ProcessName contains bin", "ProcessName = K", "ProcessName = '\u{212A}'", "HostPID = 120",
            "HostPID in (101, 130, 131)", "HostPID ~ '^12'",
            // A few that send blocks to the scan.
            "Severity > 4", "not Operation = Process", "Resource ~ shadow",
        ]
        var answeredSomewhere = 0
        for _ in 0..<120 {
            var parts = (0..<(1 + next(3))).map { _ in pool[next(pool.count)] }
            if next(3) == 0 {
                let block = blocks[next(blocks.count)].location
                parts.append(next(2) == 0 ? "TimeNs >= \(block.minTimeNs)" : "TimeNs < \(block.minTimeNs + Int64(next(2)) * (block.maxTimeNs - block.minTimeNs) / 2)")
            }
            let f = try filter(parts.joined(separator: " and "))
            let answer = try compare([clustered], f, groupings: ["ProcessName", "HostName", "Operation", "HostPID"], "\(f.expression)")
            if answer.answeredBlocks > 0 { answeredSomewhere += 1 }
            if next(4) == 0 { try compare([clustered, other], f, groupings: ["ProcessName"], "two stores: \(f.expression)") }
        }
        #expect(answeredSomewhere > 40)
    }

    @Test func groupsOfSpellingsSwiftHoldsEqualComeFromTheScan() throws {
        // "K" and the Kelvin sign: two values by bytes, one by Swift's String equality, which the
        // scan's groups use; the postings leave such a grouping to it, so both ways agree.
        let store = try TestStore(Self.clusteredEvents(3000, seed: 13).enumerated().map { i, e in
            var e = e
            if i % 5 == 0 { e.processName = i % 2 == 0 ? "K" : "\u{212A}" }
            return e
        }, blockEvents: 100)
        let f = EventFilter(.everything)
        let plan = try QueryPlan(stores: [store.store], filter: f)
        #expect(try plan.answerFromPostings(filter: f, groupingBy: .processName).answeredBlocks == 0)
        #expect(try plan.answerFromPostings(filter: f, groupingBy: .hostName).answeredBlocks == plan.sources.count)
        try compare([store], f, groupings: ["ProcessName", "HostName"], "K and Kelvin")
        let kelvin = try filter("ProcessName = '\u{212A}'")
        try compare([store], kelvin, groupings: ["HostName"], "Kelvin only")
        #expect(try QueryPlan(stores: [store.store], filter: kelvin).count(filter: kelvin) == store.events.filter { $0.processName.utf8.elementsEqual("\u{212A}".utf8) }.count)
    }
}
