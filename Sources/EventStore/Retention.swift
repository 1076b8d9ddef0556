import GRDB
import Glibc

/// What a store keeps: the rules by which its writer retires the oldest sealed segments.
///
/// Segments are weighed oldest first, and retirement stops at the first segment the rules keep, so
/// what is left is always the newest part of the history. The segment being written is never retired.
public struct RetentionRule: Sendable, Equatable {
    /// Retire segments whose newest event is older than this (unix ns).
    public var before: Int64?
    /// Retire segments while the store's files take more than this many bytes.
    public var maxBytes: Int?
    /// The rules come from `prune` (else from a recorder's `--retain` and `--max-size`): what the
    /// ledger gives as the reason.
    public var pruning: Bool

    public init(before: Int64? = nil, maxBytes: Int? = nil, pruning: Bool = false) {
        self.before = before
        self.maxBytes = maxBytes
        self.pruning = pruning
    }

    /// A sealed segment as retention weighs it.
    struct Candidate: Equatable {
        var number: UInt64
        /// Its files' bytes (segment and signature).
        var bytes: Int
        var firstTimeNs: Int64
        var lastTimeNs: Int64
    }

    /// What to retire, and the pins given up to stay within the budget.
    struct Plan {
        var retire: [(number: UInt64, reason: RetirementReason)] = []
        /// Pinned windows released, oldest first, because pinned segments alone exceeded the budget.
        var released: [PinnedWindow] = []
    }

    /// The segments to retire, with why: `candidates` are the sealed segments oldest first (read
    /// lazily: weighing stops at the first unpinned one kept), `storeBytes` what the store's files
    /// take now. A segment with an event inside one of `pins` is kept, unless the budget cannot be
    /// met otherwise: then the oldest pins are released until it can.
    func plan(_ candidates: some Sequence<Candidate>, storeBytes: Int, pins: [PinnedWindow] = []) -> Plan {
        var plan = Plan()
        var bytes = storeBytes
        var pins = pins[...]
        var skipped: [Candidate] = []
        func isPinned(_ c: Candidate) -> Bool { pins.contains { $0.overlaps(firstNs: c.firstTimeNs, lastNs: c.lastTimeNs) } }
        for candidate in candidates {
            if isPinned(candidate) {
                skipped.append(candidate)
                continue
            }
            let reason: RetirementReason
            if let before, candidate.lastTimeNs < before {
                reason = pruning ? .prunedBefore : .retainWindow
            } else if let maxBytes, bytes > maxBytes {
                reason = pruning ? .prunedToSize : .sizeBudget
            } else {
                break
            }
            plan.retire.append((candidate.number, reason))
            bytes -= candidate.bytes
        }
        guard let maxBytes else { return plan }
        while bytes > maxBytes, let oldest = pins.first, !skipped.isEmpty {
            plan.released.append(oldest)
            pins = pins.dropFirst()
            for candidate in skipped where bytes > maxBytes && !isPinned(candidate) {
                plan.retire.append((candidate.number, pruning ? .prunedToSize : .sizeBudget))
                bytes -= candidate.bytes
            }
            let retired = Set(plan.retire.map(\.number))
            skipped.removeAll { retired.contains($0.number) }
        }
        plan.retire.sort { $0.number < $1.number }
        return plan
    }
}

/// What a retirement removed, and the pinned windows it gave up to stay within the budget.
public struct Retirement: Sendable, Equatable {
    public var retired: [RetiredSegment] = []
    /// Pinned windows released, oldest first: pinned segments alone exceeded the budget.
    public var releasedPins: [PinnedWindow] = []

    public var isEmpty: Bool { retired.isEmpty && releasedPins.isEmpty }
}

extension StoreWriter {
    /// Retires the sealed segments `rule` no longer keeps (`now`: unix ns, the ledger's time),
    /// keeping those inside pinned windows (``pin(_:)``) unless the budget cannot be met otherwise:
    /// each is entered in the retirement ledger (signed by a signing writer) with its hash, so
    /// `verify` still proves the chain; then dropped from the index (the process table with it,
    /// built again by its next reader from the blocks left) and deleted.
    ///
    /// Each step is durable before the next begins; a writer killed between them leaves a store
    /// that opens and verifies, and the next writer finishes the retirement (``reconcile``).
    @discardableResult
    public func retire(_ rule: RetentionRule, now: Int64) throws(StoreError) -> Retirement {
        let retirement = try retirementPlan(rule, now: now)
        guard !retirement.isEmpty else { return retirement }
        if !retirement.retired.isEmpty, options.signer == nil, try SignedChainHead.read(store: store) != nil {
            throw StoreError(.invalidRequest, path: store.path, "this store is signed (segments/head.sig): retiring segments needs the signing key (--sign-key), "
                             + "so that the retirement ledger is signed and `verify --pubkey` still proves the chain")
        }
        if !retirement.releasedPins.isEmpty {
            var pins = try PinnedWindows.read(store: store)
            pins.release(retirement.releasedPins)
            try pins.write(store: store)
        }
        if !retirement.retired.isEmpty {
            var ledger = try RetirementLedger.read(store: store) ?? RetirementLedger(storeID: storeID)
            try ledger.add(retirement.retired, signedBy: options.signer)
            try ledger.write(store: store)
            try Self.finishRetirement(store: store, segments: retirement.retired.map { $0.number })
            store.index.truncateLog()
        }
        return retirement
    }

    /// What ``retire(_:now:)`` would do now, without changing anything.
    public func retirementPlan(_ rule: RetentionRule, now: Int64) throws(StoreError) -> Retirement {
        let open = openSegmentNumber
        let sealed = try store.index.segments().filter { $0.sealed && $0.number != open && $0.hash != nil }
        var spans: [UInt64: StoreIndex.SegmentSpan] = [:]
        var failure: StoreError?
        let candidates = sealed.lazy.compactMap { (segment) -> RetentionRule.Candidate? in
            guard failure == nil else { return nil }
            do throws(StoreError) {
                let span = try self.store.index.span(ofSegment: segment.number)
                spans[segment.number] = span
                return RetentionRule.Candidate(number: segment.number, bytes: segment.bytes + SealSignature.size,
                                               firstTimeNs: span.firstTimeNs, lastTimeNs: span.lastTimeNs)
            } catch {
                failure = error
                return nil
            }
        }
        var bytes = try store.diskBytes()
        if let maxBytes = rule.maxBytes, bytes > maxBytes {
            // The write-ahead log keeps its size after a checkpoint: give back what it holds before weighing.
            store.index.truncateLog()
            bytes = try store.diskBytes()
        }
        let plan = rule.plan(candidates, storeBytes: bytes, pins: try PinnedWindows.read(store: store).windows)
        if let failure { throw failure }
        let byNumber = Dictionary(uniqueKeysWithValues: sealed.map { ($0.number, $0) })
        let retired = plan.retire.map { (number, reason) -> RetiredSegment in
            let segment = byNumber[number]!, span = spans[number]!
            return RetiredSegment(number: number, hash: segment.hash!, previousHash: segment.previousHash, events: UInt64(span.events),
                                  bytes: UInt64(segment.bytes), firstTimeNs: span.firstTimeNs, lastTimeNs: span.lastTimeNs,
                                  nextSeq: span.nextSeq, retiredAtNs: now, reason: reason)
        }
        return Retirement(retired: retired, releasedPins: plan.released)
    }

    /// Gives the pages the index no longer uses back to the file system (after a large retirement).
    public func compactIndex() throws(StoreError) {
        try store.index.wrap("compacting the index") { try store.index.db.vacuum() }
        store.index.truncateLog()
    }

    /// Drops segments the ledger lists from the index and deletes their files: the rest of a
    /// retirement, also what a killed one left undone.
    static func finishRetirement(store: Store, segments numbers: [UInt64]) throws(StoreError) {
        guard !numbers.isEmpty else { return }
        try store.index.retire(segments: numbers)
        for number in numbers {
            for name in [SegmentFile.name(number: number, sealed: true), SealSignature.name(segment: number),
                         SegmentFile.name(number: number, sealed: false)] {
                try store.segmentsDirectory.removeFile(name)
            }
        }
        try store.segmentsDirectory.sync()
    }
}

extension StoreIndex {
    /// What a segment's blocks cover.
    struct SegmentSpan: Equatable {
        var events: Int
        var firstTimeNs: Int64
        var lastTimeNs: Int64
        /// The Seq after its last event.
        var nextSeq: UInt64
    }

    func span(ofSegment number: UInt64) throws(StoreError) -> SegmentSpan {
        try wrap("reading blocks") {
            try db.read { db in
                let row = try Row.fetchOne(db, sql: """
                    SELECT COALESCE(SUM(events), 0) AS events, COALESCE(MIN(min_time), 0) AS first, COALESCE(MAX(max_time), 0) AS last,
                           COALESCE(MAX(first_seq + events), 0) AS next FROM blocks WHERE segment = ?
                    """, arguments: [Int64(number)])!
                return SegmentSpan(events: row["events"], firstTimeNs: row["first"], lastTimeNs: row["last"],
                                   nextSeq: UInt64(row["next"] as Int64))
            }
        }
    }

    /// Copies the write-ahead log into the index and truncates it (when no reader holds it; else
    /// it stays as it is until a later try).
    func truncateLog() {
        try? db.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// Removes segments, their blocks and postings, and the process table, in one transaction.
    func retire(segments numbers: [UInt64]) throws(StoreError) {
        try wrap("retiring segments") {
            try db.write { db in
                let list = numbers.map { String($0) }.joined(separator: ",")
                let ids = try Int64.fetchAll(db, sql: "SELECT id FROM blocks WHERE segment IN (\(list))")
                try Self.removePostings(blocks: Set(ids), db)
                try db.execute(sql: "DELETE FROM blocks WHERE segment IN (\(list)); DELETE FROM segments WHERE number IN (\(list))")
                try Self.dropProcessTable(db)
            }
        }
    }
}

extension Store {
    /// The bytes the store's files take (index, segments, signatures, ledger): what a disk budget counts.
    public func diskBytes() throws(StoreError) -> Int {
        var total = 0
        for directory in [self.directory, segmentsDirectory] {
            for name in try directory.names() {
                if let st = try directory.status(name), st.st_mode & S_IFMT == S_IFREG { total += Int(st.st_size) }
            }
        }
        return total
    }
}
