import EventModel
import EventStore
import Investigation

/// Event counts per distinct tuple of column values (`--group-by`, summaries), counted on a batch's
/// ids and turned into text once per distinct tuple of each block.
public struct GroupCounts: Sendable {
    /// The columns whose values make a group.
    public let columns: [EventColumn]
    /// Events per value tuple (values as ``EventColumn/value(of:)`` gives them).
    public private(set) var counts: [[String]: Int] = [:]
    /// Events counted.
    public private(set) var total = 0

    public init(columns: [EventColumn]) { self.columns = columns }

    /// The optional batch columns the grouping reads.
    public var batchColumns: BatchColumns {
        var needed: BatchColumns = []
        for column in columns {
            switch column {
            case .field(let field): needed.formUnion(BatchColumns.reading([field]))
            case .extra: needed.insert(.extras)
            case .timeNs, .seq, .time: break
            }
        }
        return needed
    }

    /// The counts of one block's `rows` (run this on the decoding threads, then ``merge(_:)``).
    public func counting(_ batch: ColumnBatch, rows: [Int32]) -> GroupCounts {
        var block = GroupCounts(columns: columns)
        guard !rows.isEmpty else { return block }
        // Each column's value per row as a code (equal codes mean equal values within the block),
        // then the rows' code tuples numbered densely, one dictionary step per column.
        var group = [Int32](repeating: 0, count: rows.count)
        var representative: [Int32] = [rows[0]]
        for (n, column) in columns.enumerated() {
            let codes = Self.codes(column, batch, rows)
            var nextRepresentative: [Int32] = []
            if n == 0, let domain = Self.dictionaryDomain(column, batch) {
                // The first column's codes are dictionary ids: number them through an array.
                var numbering = [Int32](repeating: -1, count: domain)
                for i in rows.indices {
                    let code = Int(codes[i])
                    if numbering[code] < 0 {
                        numbering[code] = Int32(nextRepresentative.count)
                        nextRepresentative.append(rows[i])
                    }
                    group[i] = numbering[code]
                }
            } else {
                var numbering: [GroupStep: Int32] = [:]
                for i in rows.indices {
                    let key = GroupStep(group: group[i], code: codes[i])
                    if let known = numbering[key] {
                        group[i] = known
                    } else {
                        let id = Int32(nextRepresentative.count)
                        numbering[key] = id
                        nextRepresentative.append(rows[i])
                        group[i] = id
                    }
                }
            }
            representative = nextRepresentative
        }
        var perGroup = [Int](repeating: 0, count: representative.count)
        for g in group { perGroup[Int(g)] += 1 }
        for (g, row) in representative.enumerated() {
            let values = columns.map { $0.value(in: batch, row: Int(row)) }
            block.counts[values, default: 0] += perGroup[g]
        }
        block.total = rows.count
        return block
    }

    /// The counts of the events of `plan` that `filter` admits: a grouping by one indexed field is
    /// taken from the index's postings where they answer (``PostingsAnswer``), every other block
    /// decoded and counted on its ids (on `threads` threads).
    public static func counting(plan: QueryPlan, filter: EventFilter, columns: [EventColumn], threads: Int = 2) throws -> GroupCounts {
        var counts = GroupCounts(columns: columns)
        var rest = plan
        if columns.count == 1, case .field(let field) = columns[0], IndexedFields.all.contains(field) {
            let answer = try plan.answerFromPostings(filter: filter, groupingBy: field)
            for (value, events) in answer.groups { counts.counts[[value], default: 0] += events }
            counts.total = answer.total
            rest = answer.remaining
        }
        let empty = GroupCounts(columns: columns)
        try rest.batches(filter: filter, columns: counts.batchColumns, threads: threads).map({ empty.counting($0, rows: $1) }) {
            counts.merge($0)
            return true
        }
        return counts
    }

    /// Counts events one by one (for callers that hold records rather than batches).
    public mutating func add(_ event: Event) {
        counts[columns.map { $0.value(of: event) }, default: 0] += 1
        total += 1
    }

    /// Adds another count of the same columns.
    public mutating func merge(_ other: GroupCounts) {
        for (key, n) in other.counts { counts[key, default: 0] += n }
        total += other.total
    }

    /// The groups, most frequent first (ties by value), at most `limit`.
    public func sorted(limit: Int? = nil) -> [(values: [String], count: Int)] {
        let rows = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }
        return (limit.map { Array(rows.prefix($0)) } ?? rows).map { ($0.key, $0.value) }
    }

    private struct GroupStep: Hashable {
        var group: Int32
        var code: Int64
    }

    /// How many codes there can be when `column`'s codes are dictionary ids of the batch; nil otherwise.
    private static func dictionaryDomain(_ column: EventColumn, _ batch: ColumnBatch) -> Int? {
        guard case .field(let field) = column else { return nil }
        switch ColumnBatch.place(of: field) {
        case .contextString, .verdictString, .rowString: return batch.stringCount
        case .contextNumber, .timestamp, .updatedTime: return nil
        }
    }

    /// A code per row for `column`: a dictionary id, a number, or the row itself where values are per row.
    private static func codes(_ column: EventColumn, _ batch: ColumnBatch, _ rows: [Int32]) -> [Int64] {
        switch column {
        case .field(let field):
            switch ColumnBatch.place(of: field) {
            case .contextString(let f): return rows.map { Int64(batch.stringID(f, context: Int(batch.contextIDs[Int($0)]))) }
            case .contextNumber(let f): return rows.map { Int64(batch.number(f, context: Int(batch.contextIDs[Int($0)]))) }
            case .verdictString(let f): return rows.map { Int64(batch.stringID(f, verdict: Int(batch.verdictIDs[Int($0)]))) }
            case .rowString:
                let ids = batch.rowStringIDs(field)
                return rows.map { Int64(ids[Int($0)]) }
            case .timestamp: return rows.map { batch.timestamps[Int($0)] }
            case .updatedTime: return rows.map(Int64.init)
            }
        case .timeNs, .time: return rows.map { batch.timeNs[Int($0)] }
        case .seq: return rows.map(Int64.init)
        case .extra(let key):
            var bySet: [Int32: Int64] = [:]
            return rows.map { row in
                let set = batch.extrasIDs[Int(row)]
                if let known = bySet[set] { return known }
                let code = batch.extraValueID(key, set: set).map(Int64.init) ?? -1
                bySet[set] = code
                return code
            }
        }
    }
}
