import EventModel
import EventStore

/// The part of a count (`--count`) or of a grouping on one indexed field (`--group-by`) that the
/// index's postings answer without decoding a block, and the plan of the blocks that must still be
/// decoded and filtered.
///
/// The postings hold, per block, how many events have each value of an indexed field. A block is
/// answered from them when the filter is a conjunction of *term clauses* (`F = v`, `F in (…)`,
/// `F exists`, and `F ~ re`, `glob`, `contains`, `startswith`, `has` or a shortcut flag whose test
/// rejects the empty string, each on an indexed field `F`, resolved against the store's values of
/// `F`) and of `TimeNs` orderings (`--since`, `--until`), and in that block:
///
/// - the time clauses hold at the block's first and last time (so at every event of it), and
/// - every term clause but at most one admits all the block's events (its values' counts sum to the
///   block's event count): the events that match are then those of the one other clause, whose
///   counts are summed. A grouping also needs that other clause, if any, to be on the grouped field.
///
/// Any other block, any other filter, a grouping by anything but one indexed field, a store whose
/// postings are not exact (``Store/postingsAreExact()``), a plan made without pruning (`--no-prune`,
/// kept as the pure scan to compare with) and a grouping whose values include two spellings Swift
/// holds equal (the scan's `[String]`-keyed counts merge those) go to the decoding path. Results are
/// the same either way; only the work differs.
public struct PostingsAnswer: Sendable {
    /// Matching events of the answered blocks.
    public let total: Int
    /// With a grouping field: matching events of the answered blocks per byte-distinct value (values
    /// with no event left out).
    public let groups: [(value: String, events: Int)]
    /// Blocks answered from postings.
    public let answeredBlocks: Int
    /// The plan narrowed to the blocks the postings do not answer.
    public let remaining: QueryPlan

    init(total: Int = 0, groups: [(value: String, events: Int)] = [], answeredBlocks: Int = 0, remaining: QueryPlan) {
        self.total = total
        self.groups = groups
        self.answeredBlocks = answeredBlocks
        self.remaining = remaining
    }
}

extension QueryPlan {
    /// What the postings answer of counting (or, with `field`, grouping by `field`) the events of
    /// this plan that `filter` admits; see ``PostingsAnswer``.
    public func answerFromPostings(filter: EventFilter, groupingBy field: EventField? = nil) throws(StoreError) -> PostingsAnswer {
        guard pruning, field.map(IndexedFields.all.contains) ?? true, let selection = PostingsSelection(filter.expression.root) else {
            return PostingsAnswer(remaining: self)
        }
        // Sources of one store stay together; each store's postings are read once.
        var stores: [ObjectIdentifier: (store: Store, sources: [BlockSource])] = [:]
        var storeOrder: [ObjectIdentifier] = []
        for source in sources {
            let key = ObjectIdentifier(source.store)
            if stores[key] == nil { storeOrder.append(key) }
            stores[key, default: (source.store, [])].sources.append(source)
        }
        var facts: [ObjectIdentifier: StorePostings] = [:]
        for key in storeOrder where try stores[key]!.store.postingsAreExact() {
            facts[key] = try StorePostings(stores[key]!.store, selection, groupingBy: field)
        }
        if field != nil {
            // The scan counts groups by `String` equality: leave two such spellings to it.
            let values = facts.values.flatMap(\.groupValues)
            if Set(values).count != Set(values.map { Array($0.utf8) }).count { return PostingsAnswer(remaining: self) }
        }
        var total = 0, answered = 0
        var remaining: [BlockSource] = []
        var groupIndex: [[UInt8]: Int] = [:]
        var groups: [(value: String, events: Int)] = []
        for key in storeOrder {
            guard let fact = facts[key] else {
                remaining += stores[key]!.sources
                continue
            }
            for source in stores[key]!.sources {
                guard let counts = fact.answer(source.block, selection, grouping: field) else {
                    remaining.append(source)
                    continue
                }
                answered += 1
                total += counts.total
                for (value, n) in counts.groups where n > 0 {
                    let bytes = Array(value.utf8)
                    if let k = groupIndex[bytes] {
                        groups[k].events += n
                    } else {
                        groupIndex[bytes] = groups.count
                        groups.append((value, n))
                    }
                }
            }
        }
        return PostingsAnswer(total: total, groups: groups, answeredBlocks: answered, remaining: narrowed(to: remaining))
    }
}

/// A filter as term clauses and time orderings, when it is only a conjunction of those.
struct PostingsSelection {
    enum Values {
        /// Values as written (byte-distinct or not; compared by bytes).
        case literal([String])
        /// The values a test of the field's text admits (it rejects the empty string).
        case pattern(@Sendable (String) -> Bool)
    }

    var clauses: [(field: EventField, values: Values)] = []
    var times: [(op: ComparisonOperator, ns: Int64)] = []

    init?(_ node: FilterNode) {
        switch node {
        case .everything: return
        case .and(let parts):
            for part in parts { guard add(part) else { return nil } }
        default:
            guard add(node) else { return nil }
        }
    }

    /// Adds one condition of the conjunction; false when the postings cannot decide it.
    private mutating func add(_ node: FilterNode) -> Bool {
        switch node {
        case .and(let parts):
            return parts.allSatisfy { add($0) }
        case .compare(.timeNs, let op, .integer(let ns)) where op != .notEqual:
            times.append((op, ns))
            return true
        case .compare(.typed(let field), .equal, let literal):
            guard let value = Self.term(field, literal) else { return false }
            clauses.append((field, .literal([value])))
            return true
        case .oneOf(.typed(let field), let literals):
            let values = literals.compactMap { Self.term(field, $0) }
            guard values.count == literals.count else { return false }
            clauses.append((field, .literal(values)))
            return true
        case .text(.typed(let field), let test) where IndexedFields.all.contains(field) && !test.matches(""):
            clauses.append((field, .pattern { test.matches($0) }))
            return true
        case .exists(.typed(let field)) where IndexedFields.all.contains(field):
            // Non-empty; numbers non-zero (as the filter reads `exists`); the shortcut flags add it.
            clauses.append((field, .pattern { !$0.isEmpty && (!field.isNumeric || $0 != "0") }))
            return true
        default:
            return false
        }
    }

    /// The posted term an equality with `literal` selects: a numeric field's decimal text of an
    /// integer literal, a string field's non-empty text; nil where the postings cannot tell.
    private static func term(_ field: EventField, _ literal: FilterLiteral) -> String? {
        guard IndexedFields.all.contains(field) else { return nil }
        switch (field.isNumeric, literal) {
        case (true, .integer(let value)): return String(value)
        case (true, .text): return nil
        case (false, _): return literal.text.isEmpty ? nil : literal.text
        }
    }

    /// Whether every time clause holds for every time in `[first, last]`.
    func timesHold(first: Int64, last: Int64) -> Bool {
        times.allSatisfy { clause in
            [first, last].allSatisfy { t in clause.op.holds(t < clause.ns ? -1 : t > clause.ns ? 1 : 0) }
        }
    }
}

/// One store's postings of a selection's clauses (events per block of the admitted values of each
/// clause's field) and of the grouped field.
private struct StorePostings {
    /// Per clause: admitted events per block id.
    var clauseCounts: [[Int64: Int]] = []
    var clauseFields: [EventField] = []
    /// The grouped field's values, and per block id its (value index, events) pairs.
    var groupValues: [String] = []
    var groupCounts: [Int64: [(value: Int, events: Int)]] = [:]
    /// Which clause is on the grouped field (the last such), if any.
    var groupClause: Int?

    init(_ store: Store, _ selection: PostingsSelection, groupingBy field: EventField?) throws(StoreError) {
        // Clauses on one field combine into one clause of the values all of them admit.
        var admitted: [(field: EventField, values: [[UInt8]: String])] = []
        for clause in selection.clauses {
            var values: [[UInt8]: String] = [:]
            switch clause.values {
            case .literal(let literal):
                for value in literal { values[Array(value.utf8)] = value }
            case .pattern(let admits):
                for value in try store.values(of: clause.field) where admits(value) { values[Array(value.utf8)] = value }
            }
            if let k = admitted.firstIndex(where: { $0.field == clause.field }) {
                admitted[k].values = admitted[k].values.filter { values[$0.key] != nil }
            } else {
                admitted.append((clause.field, values))
            }
        }
        for (field, values) in admitted {
            var perBlock: [Int64: Int] = [:]
            for posting in try store.postings(of: field, values: Array(values.values)) {
                for (block, events) in posting.blocks { perBlock[block, default: 0] += events }
            }
            clauseCounts.append(perBlock)
            clauseFields.append(field)
        }
        guard let field else { return }
        groupClause = clauseFields.lastIndex(of: field)
        let values = groupClause.map { Array(admitted[$0].values.values) }
        for posting in try store.postings(of: field, values: values) {
            let index = groupValues.count
            groupValues.append(posting.value)
            for (block, events) in posting.blocks { groupCounts[block, default: []].append((index, events)) }
        }
    }

    /// The matching events of `block` (per group value when grouping), or nil when the postings do
    /// not decide them.
    func answer(_ block: IndexedBlock, _ selection: PostingsSelection,
                grouping field: EventField?) -> (total: Int, groups: [(String, Int)])? {
        let events = block.location.eventCount
        guard selection.timesHold(first: block.location.minTimeNs, last: block.location.maxTimeNs) else { return nil }
        var partial: Int?  // the one clause that admits only some of the block's events
        for (k, counts) in clauseCounts.enumerated() {
            let admitted = counts[block.id] ?? 0
            if admitted == 0 { return (0, []) }
            if admitted == events { continue }
            guard partial == nil else { return nil }
            partial = k
        }
        guard field != nil else { return (partial.map { clauseCounts[$0][block.id]! } ?? events, []) }
        // Grouped: every clause admits the whole block, or only the grouped field's does not.
        if let partial, partial != groupClause { return nil }
        let pairs = groupCounts[block.id] ?? []
        let total = pairs.reduce(0) { $0 + $1.events }
        // Where the grouped field is not constrained, its counts must cover the block.
        if partial == nil, groupClause == nil, total != events { return nil }
        return (total, pairs.map { (groupValues[$0.value], $0.events) })
    }
}
