import EventModel
import Foundation
import Testing
@testable import EventStore

/// Retention: the oldest sealed segments retired within a budget, the retirement ledger that keeps
/// the rest of the chain provable, and stores left by a writer killed in the middle of it.
@Suite struct RetentionTests {
    static let t0: Int64 = 1_717_150_000_000_000_000

    /// Every stored event by Seq.
    func stored(_ path: String) throws -> [UInt64: Event] {
        let store = try Store.open(path)
        var events: [UInt64: Event] = [:]
        try store.scan(try store.blocks()) { events[$0.seq] = $0; return true }
        return events
    }

    func writer(_ path: String, signer: SegmentSigner? = nil) throws -> StoreWriter {
        var options = WriterOptions()
        options.blockEvents = 200
        options.maxSegmentBytes = 4 << 10
        options.signer = signer
        return try StoreWriter(path: path, options: options)
    }

    /// Segment number → the Seqs its blocks hold, as the index lists them.
    func seqsBySegment(_ path: String) throws -> [UInt64: Set<UInt64>] {
        var out: [UInt64: Set<UInt64>] = [:]
        for block in try Store.open(path).blocks() {
            out[block.segment, default: []].formUnion((0..<UInt64(block.location.eventCount)).map { block.location.firstSeq + $0 })
        }
        return out
    }

    @Test func planWeighsOldestFirstAndStopsAtTheFirstKept() {
        let candidates = (1...5).map { RetentionRule.Candidate(number: UInt64($0), bytes: 100, firstTimeNs: Int64($0) * 10 - 5, lastTimeNs: Int64($0) * 10) }
        let bySize = RetentionRule(maxBytes: 320).plan(candidates, storeBytes: 600).retire
        #expect(bySize.map(\.number) == [1, 2, 3])
        #expect(bySize.allSatisfy { $0.reason == .sizeBudget })
        let byAge = RetentionRule(before: 25, pruning: true).plan(candidates, storeBytes: 600).retire
        #expect(byAge.map(\.number) == [1, 2] && byAge.allSatisfy { $0.reason == .prunedBefore })
        // Age first, then size, each named; weighing stops at the first kept even if a later one is older.
        let both = RetentionRule(before: 15, maxBytes: 350).plan(candidates, storeBytes: 600).retire
        #expect(both.map(\.number) == [1, 2, 3] && both.map(\.reason) == [.retainWindow, .sizeBudget, .sizeBudget])
        let unordered = [RetentionRule.Candidate(number: 1, bytes: 100, firstTimeNs: 40, lastTimeNs: 50), .init(number: 2, bytes: 100, firstTimeNs: 1, lastTimeNs: 5)]
        #expect(RetentionRule(before: 10).plan(unordered, storeBytes: 200).retire.isEmpty)
        #expect(RetentionRule(maxBytes: 1000).plan(candidates, storeBytes: 600).retire.isEmpty)
    }

    @Test func pinnedSegmentsAreKeptUntilTheyAloneExceedTheBudget() {
        let candidates = (1...5).map { RetentionRule.Candidate(number: UInt64($0), bytes: 100, firstTimeNs: Int64($0) * 10 - 5, lastTimeNs: Int64($0) * 10) }
        // Segment 2 (15…20) is pinned: it is skipped, and weighing goes on past it.
        let pin = PinnedWindow(fromNs: 17, toNs: 18, reason: "alert")
        let plan = RetentionRule(maxBytes: 320).plan(candidates, storeBytes: 600, pins: [pin])
        #expect(plan.retire.map(\.number) == [1, 3, 4] && plan.released.isEmpty)
        #expect(RetentionRule(before: 45).plan(candidates, storeBytes: 600, pins: [pin]).retire.map(\.number) == [1, 3, 4])
        // Pins over segments 1…4: unpinned segment 5 goes first, newest as it is; then the budget cannot
        // be met without giving up pins, and the oldest go first.
        let pins = [PinnedWindow(fromNs: 0, toNs: 12, reason: "a"), PinnedWindow(fromNs: 14, toNs: 22, reason: "b"),
                    PinnedWindow(fromNs: 25, toNs: 40, reason: "c")]
        let tight = RetentionRule(maxBytes: 320).plan(candidates, storeBytes: 600, pins: pins)
        #expect(tight.released.map(\.reason) == ["a", "b"])
        #expect(tight.retire.map(\.number) == [1, 2, 5] && tight.retire.allSatisfy { $0.reason == .sizeBudget })
        // Without a budget, pins are kept whatever their age.
        let aged = RetentionRule(before: .max).plan(candidates, storeBytes: 600, pins: pins)
        #expect(aged.retire.map(\.number) == [5] && aged.released.isEmpty)
    }

    @Test func retiringBySizeDropsTheOldestSegmentsAndTheRestStillVerifies() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 5)
        let w = try writer(dir.path)
        try w.append(factory.events(3000, startNs: Self.t0))
        try w.append(factory.events(50, startNs: Self.t0 + 100_000_000_000_000))
        try w.flush()
        let before = try stored(dir.path)
        let bySegment = try seqsBySegment(dir.path)
        let open = try #require(w.openSegmentNumber)
        let budget = try w.halfTheStore()
        let retired = try w.retire(RetentionRule(maxBytes: budget), now: 42).retired
        #expect(!retired.isEmpty)
        #expect(retired.map(\.number) == Array(1...UInt64(retired.count)), "oldest first, consecutive")
        #expect(!retired.contains { $0.number == open }, "the segment being written is never retired")
        #expect(try w.store.diskBytes() <= budget + (4 << 10) + 2 * 4096, "within the budget, give or take a segment and the index's pages")
        try w.close()

        // Exactly the retired segments' events are gone, every other is unchanged.
        let retiredSeqs = retired.reduce(into: Set<UInt64>()) { $0.formUnion(bySegment[$1.number] ?? []) }
        let after = try stored(dir.path)
        #expect(Set(after.keys) == Set(before.keys).subtracting(retiredSeqs))
        #expect(after.allSatisfy { before[$0.key] == $0.value })
        #expect(retired.reduce(0) { $0 + $1.events } == UInt64(retiredSeqs.count))
        for segment in retired {
            #expect(!FileManager.default.fileExists(atPath: Store.segmentsPath(dir.path) + "/" + SegmentFile.name(number: segment.number, sealed: true)))
        }
        let store = try Store.open(dir.path)
        #expect(Set(try store.segments().map(\.number)).isDisjoint(with: retired.map(\.number)))
        #expect(try store.processTableWatermark() == nil, "the process table was dropped with the retired blocks")
        // The index's totals count only what is left.
        #expect(try store.summary().hosts.reduce(0) { $0 + $1.events } == after.count)

        let report = try StoreVerifier.check(store)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.retired.count == 1)
        #expect(report.retired.first?.first == 1 && report.retired.first?.last == UInt64(retired.count))
        #expect(report.retired.first?.reason == .sizeBudget && report.retired.first?.retiredAtNs == 42)
        #expect(report.head.events == 3050, "the chain's event count still counts the retired segments")
        #expect(try store.summary().retired == report.retired)
    }

    @Test func sequenceNumbersAndSegmentNumbersGoOnAfterEverySegmentWasRetired() throws {
        let dir = TemporaryDirectory()
        try SignedStore.write(dir.path, signer: nil, count: 1000)
        let sealed = try SignedStore.sealedSegments(dir.path)
        let w = try writer(dir.path)
        let retired = try w.retire(RetentionRule(before: .max, pruning: true), now: 1).retired
        #expect(retired.map(\.number) == sealed, "every sealed segment, the newest included")
        #expect(try w.store.blocks().isEmpty)
        var factory = EventFactory(seed: 9)
        try w.append(factory.events(300, startNs: Self.t0 + 10_000_000_000_000))
        try w.close()
        let after = try stored(dir.path)
        #expect(after.keys.min() == 1001, "no Seq is given out twice")
        #expect(try Store.open(dir.path).segments().first?.number == sealed.last! + 1)
        let report = try StoreVerifier.check(try Store.open(dir.path))
        #expect(report.problems.isEmpty, "\(report.problems)")
        // The index is derived data: rebuilt from what is left, the store still verifies.
        _ = try Store.reindex(dir.path)
        #expect(try StoreVerifier.verify(try Store.open(dir.path)).isEmpty)
        #expect(try stored(dir.path) == after)
    }

    @Test func aSignedLedgerProvesTheRetirementAndItsRemovalOrAlterationIsDamage() throws {
        let keys = TemporaryDirectory(), dir = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        let (_, otherKey) = try SignedStore.newKey(keys, "other.key")
        try SignedStore.write(dir.path, signer: signer)
        // A signed store refuses a writer without the key: an unsigned ledger would prove nothing.
        let unsigned = try writer(dir.path)
        #expect(throws: StoreError.self) { try unsigned.retire(RetentionRule(maxBytes: 1), now: 1) }
        try unsigned.close()

        let w = try writer(dir.path, signer: signer)
        let retired = try w.retire(RetentionRule(maxBytes: try w.halfTheStore()), now: 7).retired
        try w.close()
        #expect(retired.count >= 2)
        let store = try Store.open(dir.path)
        #expect(try StoreVerifier.verify(store, signedBy: key).isEmpty)
        let report = try StoreVerifier.check(store, signedBy: otherKey)
        #expect(report.problems.contains { $0.path.hasSuffix(RetirementLedger.fileName) && $0.message.contains("signed by another key") }, "\(report.problems)")

        let ledgerPath = Store.segmentsPath(dir.path) + "/" + RetirementLedger.fileName
        let original = try Data(contentsOf: URL(fileURLWithPath: ledgerPath))
        // One bit of a retired segment's hash: the chain breaks there and the signature no longer holds.
        var altered = original
        altered[RetirementLedger.headerSize + RetirementLedger.entrySize + 8] ^= 1
        try altered.write(to: URL(fileURLWithPath: ledgerPath))
        let problems = try StoreVerifier.verify(try Store.open(dir.path), signedBy: key)
        #expect(problems.contains { $0.message.contains("hash chain broken") }, "\(problems)")
        #expect(problems.contains { $0.message.contains("not valid (altered ledger)") }, "\(problems)")

        // The ledger removed: the retired segments are missing, as any removed segments are.
        try FileManager.default.removeItem(atPath: ledgerPath)
        let missing = try StoreVerifier.verify(try Store.open(dir.path))
        #expect(missing.contains { $0.message.contains("segment(s) 1…\(retired.count) missing") }, "\(missing)")
        try original.write(to: URL(fileURLWithPath: ledgerPath))
        #expect(try StoreVerifier.verify(try Store.open(dir.path), signedBy: key).isEmpty)
    }

    /// The three durable steps of a retirement, each the last before a kill: the store verifies at
    /// every point, readers see either all or none of a segment, and the next writer finishes the job.
    @Test(arguments: [1, 2])
    func aRetirementCutShortIsFinishedByTheNextWriter(stepsDone: Int) throws {
        let keys = TemporaryDirectory(), dir = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        try SignedStore.write(dir.path, signer: signer)
        let before = try stored(dir.path)
        let w = try writer(dir.path, signer: signer)
        let plan = try w.retirementPlan(RetentionRule(maxBytes: try w.halfTheStore()), now: 3).retired
        #expect(plan.count >= 2)
        var ledger = RetirementLedger(storeID: w.storeID)
        try ledger.add(plan, signedBy: signer)
        try ledger.write(store: w.store)
        if stepsDone == 2 { try w.store.index.retire(segments: plan.map(\.number)) }
        try w.close()

        let store = try Store.open(dir.path)
        let report = try StoreVerifier.check(store, signedBy: key)
        #expect(report.problems.isEmpty, "after step \(stepsDone): \(report.problems)")
        #expect(report.pendingRetirements == plan.map(\.number))
        let seen = try stored(dir.path)
        #expect(seen.count == (stepsDone == 2 ? before.count - Int(plan.reduce(0) { $0 + $1.events }) : before.count))

        let next = try writer(dir.path, signer: signer)
        #expect(next.recovery.finishedRetirements == plan.count)
        try next.close()
        let finished = try StoreVerifier.check(try Store.open(dir.path), signedBy: key)
        #expect(finished.problems.isEmpty && finished.pendingRetirements.isEmpty, "\(finished.problems)")
        #expect(try stored(dir.path).count == before.count - Int(plan.reduce(0) { $0 + $1.events }))
    }

    @Test func aDamagedLedgerIsReportedWithItsOffset() throws {
        let dir = TemporaryDirectory()
        try SignedStore.write(dir.path, signer: nil)
        let w = try writer(dir.path)
        try w.retire(RetentionRule(maxBytes: try w.halfTheStore()), now: 3)
        try w.close()
        let path = Store.segmentsPath(dir.path) + "/" + RetirementLedger.fileName
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(5).write(to: URL(fileURLWithPath: path))
        let problems = try StoreVerifier.verify(try Store.open(dir.path))
        #expect(problems.first?.path == path && problems.first?.offset == 24, "\(problems)")
        #expect(problems.first?.message.contains("expected \(bytes.count)") == true, "\(problems)")
    }
}

extension StoreWriter {
    /// What the store's files take once the write-ahead log is emptied, less half its segments: a
    /// budget that retires some segments and keeps others.
    func halfTheStore() throws -> Int {
        store.index.truncateLog()
        return try store.diskBytes() - (try store.segments().reduce(0) { $0 + $1.bytes }) / 2
    }
}
