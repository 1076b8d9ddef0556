import EventModel
import Foundation
import Testing
@testable import EventStore

/// The batch scan hands rows over in (TimeNs, Seq) order whether blocks follow one another in time
/// (each block's work then runs on the decoding threads) or overlap (rows are merged first).
@Suite struct BatchScanTests {
    /// A store with two imports of the same period: their blocks overlap in time.
    static func overlappingStore() throws -> (path: String, store: Store) {
        let path = NSTemporaryDirectory() + "rearview-batchscan-" + UUID().uuidString
        var options = WriterOptions()
        options.blockEvents = 250
        let writer = try StoreWriter(path: path, options: options)
        var factory = EventFactory(seed: 21)
        try writer.append(factory.events(1200))
        try writer.flush()
        try writer.append(factory.events(900, startNs: 1_717_150_000_000_000_500))
        try writer.close()
        return (path, try Store.open(path))
    }

    static func keys(_ events: [Event]) -> [[Int64]] { events.map { [$0.timeNs, Int64($0.seq)] } }

    @Test func overlappingBlocksAreMergedIntoTimeOrder() throws {
        let (path, store) = try Self.overlappingStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sources = try store.blocks().map { BlockSource(store: store, block: $0) }
        var scan = BatchScan(sources)
        #expect(!scan.isDisjointInTime)
        scan.select = { batch in (0..<Int32(batch.count)).filter { $0 % 3 != 0 } }
        var merged: [Event] = []
        try scan.orderedMap({ batch, rows in batch.events(at: rows) }) { merged += $0; return true }
        let kept = try store.blocks().flatMap { block in
            try store.events(in: block).enumerated().filter { $0.offset % 3 != 0 }.map(\.element)
        }
        let expected = kept.sorted { ($0.timeNs, $0.seq) < ($1.timeNs, $1.seq) }
        #expect(merged.count == expected.count && merged.count > 1000)
        #expect(merged == expected, "first difference at \(merged.indices.first { merged[$0] != expected[$0] } ?? -1)")
    }

    @Test func blocksThatFollowOneAnotherAreMappedPerBlockInOrder() throws {
        let path = NSTemporaryDirectory() + "rearview-batchscan-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = WriterOptions()
        options.blockEvents = 100
        let writer = try StoreWriter(path: path, options: options)
        var factory = EventFactory(seed: 5)
        try writer.append(factory.events(1000))
        try writer.close()
        let store = try Store.open(path)
        let scan = BatchScan(try store.blocks().map { BlockSource(store: store, block: $0) }, threads: 3)
        #expect(scan.isDisjointInTime)
        var firstSeqs: [UInt64] = []
        var threadStates = try scan.orderedMap(state: { 0 }, { (seen: inout Int, batch, rows) in
            seen += rows.count
            return batch.firstSeq
        }) { firstSeqs.append($0); return true }
        #expect(firstSeqs == firstSeqs.sorted() && firstSeqs.count == 10)
        // Every row was seen by exactly one thread's state.
        threadStates.sort()
        #expect(threadStates.reduce(0, +) == 1000)
        // Stopping early stops the scan.
        var taken = 0
        try scan.map({ _, rows in rows.count }) { _ in taken += 1; return taken < 3 }
        #expect(taken == 3)
    }
}
