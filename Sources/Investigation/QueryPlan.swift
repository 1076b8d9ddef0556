import EventModel
import EventStore

/// Which blocks of which stores a filtered scan must read, and why the others can be skipped.
///
/// Planning reads only the index: block time ranges against the filter's time bounds, then the
/// filter's ``TermConstraint`` against per-block postings. Pruning never changes results: a block is
/// skipped only when the index proves it holds no matching event.
public struct QueryPlan: Sendable {
    /// The blocks to decode, of every store.
    public let sources: [BlockSource]
    public let totalBlocks: Int
    public let skippedByTime: Int
    public let skippedByTerms: Int
    /// The term constraint after regular expressions were resolved against each store's terms (of
    /// the first store, for display).
    public let constraint: TermConstraint
    public let timeBounds: TimeBounds
    /// Whether blocks were skipped by time and index terms (false: every block is read, and counts
    /// are not answered from postings either: the pure scan, to compare with).
    public let pruning: Bool
    /// Where the plan's scans note the blocks they leave out as damaged, going on past them; nil:
    /// a damaged block ends the scan with its error.
    public var damaged: DamagedBlocks?

    /// Plans a scan of `stores` for `filter`; with `pruning` false every block is read (for testing
    /// that pruning changes nothing, and for `--explain` comparisons).
    public init(stores: [Store], filter: EventFilter, pruning: Bool = true) throws(StoreError) {
        var sources: [BlockSource] = []
        var total = 0, byTime = 0, byTerms = 0
        var shown = filter.termConstraint
        let bounds = filter.timeNsBounds
        for (n, store) in stores.enumerated() {
            let all = try store.blocks()
            total += all.count
            guard pruning else {
                sources += all.map { BlockSource(store: store, block: $0) }
                continue
            }
            let inTime = bounds.isEmpty ? [] : all.filter { bounds.overlaps(first: $0.location.minTimeNs, last: $0.location.maxTimeNs) }
            byTime += all.count - inTime.count
            let resolved = try Self.resolve(filter.termConstraint, store: store)
            if n == 0 { shown = resolved }
            if let allowed = try Self.blockIDs(resolved, store: store) {
                let kept = inTime.filter { allowed.contains($0.id) }
                byTerms += inTime.count - kept.count
                sources += kept.map { BlockSource(store: store, block: $0) }
            } else {
                sources += inTime.map { BlockSource(store: store, block: $0) }
            }
        }
        self.sources = sources
        totalBlocks = total
        skippedByTime = byTime
        skippedByTerms = byTerms
        constraint = shown
        timeBounds = bounds
        self.pruning = pruning
    }

    private init(_ plan: QueryPlan, sources: [BlockSource]) {
        self.sources = sources
        totalBlocks = plan.totalBlocks
        skippedByTime = plan.skippedByTime
        skippedByTerms = plan.skippedByTerms
        constraint = plan.constraint
        timeBounds = plan.timeBounds
        pruning = plan.pruning
        damaged = plan.damaged
    }

    /// The plan with only `sources` (some of its own) left to read.
    func narrowed(to sources: [BlockSource]) -> QueryPlan { QueryPlan(self, sources: sources) }

    /// Replaces pattern constraints by the store's terms they match.
    private static func resolve(_ constraint: TermConstraint, store: Store) throws(StoreError) -> TermConstraint {
        do {
            return try constraint.resolvingPatterns { field in try store.values(of: field) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, path: store.path, "reading terms: \(error)")
        }
    }

    /// The ids of blocks that can satisfy `constraint`, or nil when it does not restrict blocks.
    private static func blockIDs(_ constraint: TermConstraint, store: Store) throws(StoreError) -> Set<Int64>? {
        switch constraint {
        case .anything, .matching:
            return nil
        case .anyOf(let field, let values):
            guard IndexedFields.all.contains(field) else { return nil }
            return try store.blockIDs(where: field, in: values)
        case .allOf(let parts):
            var result: Set<Int64>?
            for part in parts {
                guard let ids = try blockIDs(part, store: store) else { continue }
                result = result.map { $0.intersection(ids) } ?? ids
                if result?.isEmpty == true { return result }
            }
            return result
        case .oneOf(let parts):
            var result = Set<Int64>()
            for part in parts {
                guard let ids = try blockIDs(part, store: store) else { return nil }
                result.formUnion(ids)
            }
            return result
        }
    }

    /// The planned blocks as a batch scan that keeps the rows `filter` admits, decoding `columns`
    /// (and those the filter reads) of the optional ones.
    public func batches(filter: EventFilter, columns: BatchColumns = .all, threads: Int = 2) -> BatchScan {
        var scan = BatchScan(sources, threads: threads)
        scan.columns = columns.union(filter.columns)
        scan.damaged = damaged
        if case .everything = filter.compiled {} else { scan.select = { filter.select(in: $0) } }
        return scan
    }

    /// Decodes the planned blocks (in parallel) and hands every matching event to `body` in time
    /// order across all stores; `body` returns false to stop.
    public func scan(filter: EventFilter, threads: Int = 2, _ body: (Event) throws -> Bool) throws {
        try batches(filter: filter, threads: threads).events(body)
    }

    /// How many events match `filter`: from the postings where they answer (``PostingsAnswer``),
    /// the other blocks decoded and filtered.
    public func count(filter: EventFilter, threads: Int = 2) throws -> Int {
        let answer = try answerFromPostings(filter: filter)
        var total = answer.total
        try answer.remaining.batches(filter: filter, columns: [], threads: threads).map({ _, rows in rows.count }) { n in
            total += n
            return true
        }
        return total
    }

    /// A human-readable account of the plan, for `--explain`.
    public var explanation: String {
        let read = sources.count
        return """
            blocks: \(totalBlocks) total, \(read) read, \(totalBlocks - read) skipped (\(skippedByTime) by time, \(skippedByTerms) by index terms)
            time:   \(timeBounds)
            terms:  \(constraint)
            """
    }
}
