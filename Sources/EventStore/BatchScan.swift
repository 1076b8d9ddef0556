import EventModel
import Foundation

/// A read of blocks of one or more stores as column batches: decoded and filtered on several threads,
/// handed over in time order (or, for aggregations, per block).
///
/// Blocks are decoded in storage-time order; `select` runs on the decoding threads, once per block,
/// and returns the rows to keep (nil keeps all). Rows come out ordered by (`TimeNs`, `Seq`) across
/// blocks and stores, with ties between stores in the order the sources were given.
public struct BatchScan: Sendable {
    /// The blocks to read, in (first time, first Seq) order, or first-Seq order.
    public let sources: [BlockSource]
    public var threads: Int
    /// The optional columns to decode (see ``BatchColumns``).
    public var columns: BatchColumns = .all
    /// Picks the rows of a batch to hand over, in ascending order; nil keeps every row.
    public var select: (@Sendable (ColumnBatch) -> [Int32]?)?
    /// Where a block that does not read back intact (``StoreError/Code/damaged``) is noted and left
    /// out, the scan going on; nil ends the scan with the error.
    public var damaged: DamagedBlocks?

    /// A scan of `sources` in (first time, first Seq) order; with `inSeqOrder`, in first-Seq order
    /// instead (for readers of one store that resume from a Seq, which ``map(_:_:)`` serves).
    public init(_ sources: [BlockSource], threads: Int = 2, inSeqOrder: Bool = false) {
        self.sources = inSeqOrder ? sources.sorted { $0.block.location.firstSeq < $1.block.location.firstSeq } : sources.sorted {
            ($0.block.location.minTimeNs, $0.block.location.firstSeq) < ($1.block.location.minTimeNs, $1.block.location.firstSeq)
        }
        self.threads = threads
    }

    private struct Stop: Error {}

    /// Runs `work` on the decoding threads for each block's selected rows and hands the results to
    /// `combine` in storage order, a window of blocks ahead at most (memory stays bounded): for
    /// aggregations, which need no time order across blocks. `combine` returns false to stop.
    public func map<T: Sendable>(_ work: @escaping @Sendable (ColumnBatch, [Int32]) -> T,
                                 _ combine: (T) throws -> Bool) throws {
        _ = try map(state: {}, { (_: inout Void, batch, rows) in work(batch, rows) }, combine)
    }

    /// ``map(_:_:)`` with state that each decoding thread makes once and keeps (an evaluator and its
    /// caches); returns every thread's state at the end.
    public func map<State, T: Sendable>(state makeState: @escaping @Sendable () -> State,
                                        _ work: @escaping @Sendable (inout State, ColumnBatch, [Int32]) -> T,
                                        _ combine: (T) throws -> Bool) throws -> [State] {
        try mapBlocks(state: makeState, work) { try $0.map(combine) ?? true }
    }

    /// ``map(state:_:_:)`` that hands `combine` nil for a block left out as damaged.
    private func mapBlocks<State, T: Sendable>(state makeState: @escaping @Sendable () -> State,
                                               _ work: @escaping @Sendable (inout State, ColumnBatch, [Int32]) -> T,
                                               _ combine: (T?) throws -> Bool) throws -> [State] {
        let sources = sources, columns = columns, select = select, damaged = damaged
        guard !sources.isEmpty else { return [] }
        let finished = FinishedStates<State>()
        var delivered = 0  // jobs are delivered in order: the next one's number
        do {
            try OrderedParallelMap.run(
                jobs: sources.count, threads: min(max(1, threads), sources.count), window: max(1, threads) * 2,
                makeState: makeState,
                work: { (state: inout State, job: Int) -> Result<T, StoreError> in
                    Result { () throws(StoreError) -> T in
                        let batch = try sources[job].store.batch(in: sources[job].block, columns: columns)
                        return work(&state, batch, select?(batch) ?? Array(0..<Int32(batch.count)))
                    }
                },
                finish: { finished.add($0) },
                deliver: { (result: Result<T, StoreError>) throws -> Void in
                    let job = delivered
                    delivered += 1
                    let value: T?
                    switch result {
                    case .success(let result): value = result
                    case .failure(let error) where error.code == .damaged && damaged != nil:
                        damaged?.add(sources[job], error)
                        value = nil
                    case .failure(let error): throw error
                    }
                    if try !combine(value) { throw Stop() }
                })
        } catch is Stop {}
        return finished.states
    }

    /// A batch and its selected rows, handed from a decoding thread to the merging one.
    private struct Selected: @unchecked Sendable {
        var batch: ColumnBatch
        var rows: [Int32]
    }

    /// Hands runs of selected rows to `body` in time order; each run's rows belong to one batch and
    /// are ascending. `body` returns false to stop.
    public func ordered(_ body: (ColumnBatch, ArraySlice<Int32>) throws -> Bool) throws {
        var merger = RowMerger()
        var position = 0
        _ = try mapBlocks(state: {}, { (_: inout Void, batch, rows) in Selected(batch: batch, rows: rows) }) { selected in
            position += 1
            if let selected { merger.add(selected.batch, selected.rows) }
            let horizon = position < sources.count ? sources[position].block.location.minTimeNs : Int64.max
            return try merger.drain(before: horizon, body)
        }
    }

    /// Hands every selected event to `body` in time order; `body` returns false to stop. Events are
    /// built on the decoding threads where blocks do not overlap in time.
    public func events(_ body: (Event) throws -> Bool) throws {
        try orderedMap({ batch, rows in batch.events(at: rows) }) { events in
            for event in events where try !body(event) { return false }
            return true
        }
    }

    /// Runs `work` on runs of selected rows and hands the results to `combine` in time order: per
    /// block on the decoding threads when no two blocks overlap in time (the usual store: its blocks
    /// follow one another), else per merged run on the calling thread. `combine` returns false to stop.
    public func orderedMap<T: Sendable>(_ work: @escaping @Sendable (ColumnBatch, ArraySlice<Int32>) -> T,
                                        _ combine: (T) throws -> Bool) throws {
        _ = try orderedMap(state: {}, { (_: inout Void, batch, rows) in work(batch, rows) }, combine)
    }

    /// ``orderedMap(_:_:)`` with state made once per thread that runs `work`; returns every such state.
    public func orderedMap<State, T: Sendable>(state makeState: @escaping @Sendable () -> State,
                                               _ work: @escaping @Sendable (inout State, ColumnBatch, ArraySlice<Int32>) -> T,
                                               _ combine: (T) throws -> Bool) throws -> [State] {
        if isDisjointInTime {
            return try map(state: makeState, { work(&$0, $1, $2[...]) }, combine)
        }
        var state = makeState()
        try ordered { batch, rows in try combine(work(&state, batch, rows)) }
        return [state]
    }

    /// Whether every block's rows come after all rows of the blocks before it, so that block order
    /// is time order.
    var isDisjointInTime: Bool {
        var latest = Int64.min
        var endingLatest: [BlockSource] = []  // the blocks whose last time is `latest`
        for source in sources {
            let location = source.block.location
            guard location.minTimeNs >= latest else { return false }
            // At an equal time, Seq decides, which orders blocks only within one store.
            if location.minTimeNs == latest, !endingLatest.allSatisfy({
                $0.store === source.store && $0.block.location.firstSeq < location.firstSeq
            }) { return false }
            if location.maxTimeNs > latest {
                latest = location.maxTimeNs
                endingLatest = [source]
            } else if location.maxTimeNs == latest {
                endingLatest.append(source)
            }
        }
        return true
    }
}

/// The states decoding threads leave when they finish.
private final class FinishedStates<State>: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [State] = []

    func add(_ state: State) {
        lock.lock()
        collected.append(state)
        lock.unlock()
    }

    var states: [State] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}

/// Merges the selected rows of decoded batches into one order by (`TimeNs`, `Seq`), handing over
/// runs of rows of one batch at a time.
struct RowMerger {
    private struct Run {
        var batch: ColumnBatch
        var rows: [Int32]
        var position = 0

        var isDone: Bool { position >= rows.count }
        var headKey: (Int64, UInt64) {
            let row = Int(rows[position])
            return (batch.timeNs[row], batch.firstSeq &+ UInt64(row))
        }
    }

    private var runs: [Run] = []

    mutating func add(_ batch: ColumnBatch, _ rows: [Int32]) {
        if !rows.isEmpty { runs.append(Run(batch: batch, rows: rows)) }
    }

    /// Emits, in order, every row with `TimeNs` < `horizon`; returns false if `body` asked to stop.
    mutating func drain(before horizon: Int64, _ body: (ColumnBatch, ArraySlice<Int32>) throws -> Bool) throws -> Bool {
        defer { runs.removeAll { $0.isDone } }
        while true {
            // The run with the smallest head (earlier runs win ties), and the next smallest head.
            var best = -1, second = -1
            for r in runs.indices where !runs[r].isDone {
                if best < 0 || runs[r].headKey < runs[best].headKey {
                    second = best
                    best = r
                } else if second < 0 || runs[r].headKey < runs[second].headKey {
                    second = r
                }
            }
            guard best >= 0 else { return true }
            // Everything of the best run that comes before the other runs' heads and the horizon goes out at once.
            let limit = second >= 0 ? runs[second].headKey : (Int64.max, UInt64.max)
            let winsTies = second < 0 || best < second
            let run = runs[best]
            var end = run.position
            while end < run.rows.count {
                let row = Int(run.rows[end])
                let key = (run.batch.timeNs[row], run.batch.firstSeq &+ UInt64(row))
                guard key.0 < horizon, key < limit || (winsTies && key == limit) else { break }
                end += 1
            }
            guard end > run.position else { return true }
            runs[best].position = end
            if try !body(run.batch, run.rows[run.position..<end]) { return false }
        }
    }
}
