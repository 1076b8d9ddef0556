import EventModel
import EventStore
import Foundation
import Testing
@testable import Investigation

/// A store written from events made here, in a temporary directory.
final class TestStore {
    let path = NSTemporaryDirectory() + "rearview-plan-" + UUID().uuidString
    let store: Store

    init(_ events: [Event], blockEvents: Int = 200) throws {
        var options = WriterOptions()
        options.blockEvents = blockEvents
        let writer = try StoreWriter(path: path, options: options)
        try writer.append(events)
        try writer.close()
        store = try Store.open(path)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Events from a few hosts and processes whose values cluster in time, so blocks differ in their terms.
func plannedEvents(count: Int, seed: UInt64, host: String? = nil, startNs: Int64 = 1_717_150_000_000_000_000) -> [Event] {
    var state = seed | 1
    func next(_ n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(n))
    }
    let processes = ["/usr/bin/ps", "/usr/bin/bash", "/usr/sbin/nginx", "/usr/bin/cat", "/usr/bin/curl", "/bin/sh"]
    return (0..<count).map { i in
        sampleEvent { e in
            e.timeNs = startNs + Int64(i) * 1_000_000 + Int64(next(1000))
            e.timestamp = e.timeNs / 1_000_000_000
            e.hostName = host ?? "host-\((i / 700 + next(2)) % 4)"
            e.hostPID = Int32(100 + (i / 50) % 300 + next(3))
            e.processName = processes[(i / 300 + next(2)) % processes.count]
            e.operation = ["Process", "File", "Network"][next(3)]
            e.podName = next(3) == 0 ? "" : "pod-\((i / 900) % 5)"
            e.namespaceName = next(2) == 0 ? "" : "ns-\(next(3))"
            e.type = next(8) == 0 ? "MatchedPolicy" : (e.podName.isEmpty ? "HostLog" : "ContainerLog")
            e.policyName = e.type == "MatchedPolicy" ? "policy-\(next(4))" : ""
            e.severity = String(next(10))
            e.resource = "/etc/" + ["passwd", "shadow", "hosts", "nginx/nginx.conf", "ld.so.cache"][next(5)]
            e.extras = next(5) == 0 ? [ExtraField(key: "cluster_id", json: "\"\(next(3))\"")] : []
        }
    }
}

@Suite struct QueryPlanTests {
    func seqs(_ plan: QueryPlan, _ filter: EventFilter) throws -> [UInt64] {
        var out: [UInt64] = []
        try plan.scan(filter: filter) { out.append($0.seq); return true }
        return out
    }

    /// A random expression over the fields the generator varies, mixing indexed and other fields.
    func randomExpression(_ next: (Int) -> Int, depth: Int = 0) -> String {
        if depth < 2 && next(3) == 0 {
            let op = ["and", "or"][next(2)]
            let inner = "\(randomExpression(next, depth: depth + 1)) \(op) \(randomExpression(next, depth: depth + 1))"
            return next(4) == 0 ? "not (\(inner))" : "(\(inner))"
        }
        switch next(9) {
        case 0: return "HostName = host-\(next(5))"
        case 1: return "HostPID in (\(100 + next(300)), \(100 + next(300)), \(100 + next(300)))"
        case 2: return "ProcessName = \(["/usr/bin/ps", "/usr/bin/bash", "/usr/sbin/nginx", "/bin/sh", "/nope"][next(5)])"
        case 3: return "Operation = \(["Process", "File", "Network"][next(3)])"
        case 4: return "PodName ~ 'pod-[\(next(5))\(next(5))]'"
        case 5: return "Type != HostLog"
        case 6: return "Severity >= \(next(10))"
        case 7: return "PolicyName glob 'policy-\(next(4))*'"
        default: return "cluster_id = \(next(3))"
        }
    }

    @Test func pruningNeverChangesResults() throws {
        let fixture = try TestStore(plannedEvents(count: 4_000, seed: 7), blockEvents: 100)
        var state: UInt64 = 99
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var prunedSome = 0
        for _ in 0..<200 {
            let text = randomExpression(next)
            let filter = EventFilter(try FilterExpression(parsing: text))
            let pruned = try QueryPlan(stores: [fixture.store], filter: filter)
            let full = try QueryPlan(stores: [fixture.store], filter: filter, pruning: false)
            #expect(try seqs(pruned, filter) == seqs(full, filter), "\(text)")
            if pruned.sources.count < full.sources.count { prunedSome += 1 }
        }
        // The planner must actually skip blocks for many of these expressions.
        #expect(prunedSome > 50)
    }

    @Test func selectiveQueriesReadFewBlocks() throws {
        let fixture = try TestStore(plannedEvents(count: 12_000, seed: 3))
        let filter = EventFilter(try FilterExpression(parsing: "HostPID = 150 and Operation = Process"))
        let plan = try QueryPlan(stores: [fixture.store], filter: filter)
        #expect(plan.totalBlocks == 60)
        #expect(plan.sources.count <= 6)
        #expect(plan.skippedByTerms == plan.totalBlocks - plan.sources.count)
        #expect(try seqs(plan, filter).count > 0)
        let none = try QueryPlan(stores: [fixture.store], filter: EventFilter(try FilterExpression(parsing: "ProcessName = /nope")))
        #expect(none.sources.isEmpty)
    }

    @Test func timeBoundsAreInclusiveThenExclusive() throws {
        let events = plannedEvents(count: 5000, seed: 5)
        let fixture = try TestStore(events)
        let since = events[1000].timeNs, until = events[2000].timeNs
        let filter = EventFilter(.timeRange(since: since, until: until))
        let plan = try QueryPlan(stores: [fixture.store], filter: filter)
        var times: [Int64] = []
        try plan.scan(filter: filter) { times.append($0.timeNs); return true }
        #expect(times.first == since)
        #expect(times.count == events.filter { $0.timeNs >= since && $0.timeNs < until }.count)
        #expect(!times.contains(until))
        #expect(plan.skippedByTime > 0)
    }

    @Test func severalStoresMergeInTimeOrder() throws {
        let a = try TestStore(plannedEvents(count: 3000, seed: 1, host: "node-a"))
        let b = try TestStore(plannedEvents(count: 3000, seed: 2, host: "node-b", startNs: 1_717_150_000_000_500_000))
        let filter = EventFilter(.everything)
        let plan = try QueryPlan(stores: [a.store, b.store], filter: filter)
        var seen: [(Int64, String)] = []
        try plan.scan(filter: filter) { seen.append(($0.timeNs, $0.hostName)); return true }
        #expect(seen.count == 6000)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.0 <= $1.0 })
        #expect(Set(seen.map(\.1)) == ["node-a", "node-b"])
    }
}
