import EventModel
import EventStore
import Foundation
import Testing
@testable import Investigation

/// The column-batch evaluation of a filter (per context, verdict or dictionary value) must select
/// exactly the rows the record predicate accepts.
@Suite struct BatchFilterTests {
    /// Random events with every kind of field the batch keys differently: context and verdict
    /// strings, context numbers, per-row Resource/Data, Timestamp, a kept UpdatedTime, extras.
    static func events(_ count: Int, seed: UInt64) -> [Event] {
        var rng = SplitMix64(seed: seed)
        var events = (0..<count).map { _ in RandomEvents.event(&rng) }
        for i in events.indices {
            events[i].data = ["syscall=SYS_OPENAT flags=O_RDONLY", "syscall=SYS_EXECVE", ""].randomElement(using: &rng)!
            events[i].tags = ["MITRE", "MITRE,T1057", ""].randomElement(using: &rng)!
            if Int.random(in: 0..<4, using: &rng) == 0 { events[i].updatedTimeAsGiven = "2024-05-31T10:00:0\(i % 10)Z" }
            if Int.random(in: 0..<3, using: &rng) == 0 {
                events[i].extras.append(ExtraField(key: "retries", json: String(Int.random(in: 0..<5, using: &rng))))
            }
        }
        return events.sorted { $0.timeNs < $1.timeNs }
    }

    /// Conditions on the fields ``RandomEvents`` leaves out.
    static let moreConditions = [
        "Data ~ 'OPENAT'", "Data = ''", "Data exists", "Tags has T1057", "UpdatedTime startswith '2024'",
        "UpdatedTime exists", "Seq > 1500", "Seq in (3, 700, 2999)", "Severity > 4", "Severity in (1, 10)",
        "HostPID ~ '^1'", "HostPID exists", "Timestamp exists", "retries > 2", "retries = 0", "retries exists",
        "not retries exists", "TimeNs ~ '5'",
    ]

    static func expression(_ rng: inout SplitMix64) -> String {
        let own = moreConditions.randomElement(using: &rng)!
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return own
        case 1: return "\(own) and \(RandomEvents.expression(&rng, depth: 2))"
        case 2: return "(\(own) or \(RandomEvents.expression(&rng, depth: 2)))"
        default: return RandomEvents.expression(&rng, depth: 3)
        }
    }

    @Test func batchSelectionEqualsTheRecordPredicate() throws {
        let store = try TestStore(Self.events(3000, seed: 7), blockEvents: 700)
        let blocks = try store.store.blocks()
        let batches = try blocks.map { try store.store.batch(in: $0) }
        let records = batches.map { $0.events() }
        var rng = SplitMix64(seed: 0xBA7C4)
        var selectedTotal = 0, rejectedTotal = 0
        for _ in 0..<400 {
            let source = Self.expression(&rng)
            let filter = EventFilter(try FilterExpression(parsing: source))
            for (batch, events) in zip(batches, records) {
                let expected = events.indices.filter { filter.matches(events[$0]) }.map(Int32.init)
                let selected = filter.select(in: batch)
                #expect(selected == expected, "\(source)")
                selectedTotal += selected.count
                rejectedTotal += batch.count - selected.count
            }
        }
        // Only meaningful if the expressions both select and reject a good share.
        #expect(selectedTotal > 100_000 && rejectedTotal > 100_000, "\(selectedTotal) selected, \(rejectedTotal) rejected")
    }

    @Test func projectedBatchesAnswerTheFilterLikeFullOnes() throws {
        let store = try TestStore(Self.events(2000, seed: 9), blockEvents: 500)
        for source in ["Resource ~ '^/etc'", "Data ~ 'EXECVE' and HostName = 'node-a'", "retries > 1", "Operation = File"] {
            let filter = EventFilter(try FilterExpression(parsing: source))
            for block in try store.store.blocks() {
                let full = filter.select(in: try store.store.batch(in: block))
                let projected = filter.select(in: try store.store.batch(in: block, columns: filter.columns))
                #expect(full == projected, "\(source)")
            }
        }
    }

    @Test func countAndScanAgreeWithTheRecords() throws {
        let events = Self.events(2500, seed: 11)
        let store = try TestStore(events, blockEvents: 300)
        for source in ["Operation = Process", "Resource ~ 'shadow' or retries exists", "not HostName = 'node-b'"] {
            let filter = EventFilter(try FilterExpression(parsing: source))
            let plan = try QueryPlan(stores: [store.store], filter: filter)
            var scanned: [UInt64] = []
            try plan.scan(filter: filter) { scanned.append($0.seq); return true }
            var stored: [Event] = []
            try store.store.scan(try store.store.blocks()) { stored.append($0); return true }
            #expect(scanned == stored.filter { filter.matches($0) }.map(\.seq), "\(source)")
            #expect(try plan.count(filter: filter) == scanned.count, "\(source)")
        }
    }
}
