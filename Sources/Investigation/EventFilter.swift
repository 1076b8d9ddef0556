import EventModel

/// A filter compiled for scanning: a predicate over ``Event`` plus what a planner may use to skip
/// blocks without decoding them.
///
/// Build one from a ``FilterExpression`` (the user's expression, the shortcut flags, `--since/--until`,
/// joined with ``FilterExpression/and(_:)``). ``matches(_:)`` allocates nothing for typed fields and
/// may be called from several threads at once. ``termConstraint`` and the time bounds never exclude
/// a block that holds a matching event.
public struct EventFilter: Sendable {
    /// The expression this filter was compiled from.
    public let expression: FilterExpression
    /// Index terms a block must hold to contain a match (see ``TermConstraint``).
    public let termConstraint: TermConstraint
    /// Bounds on ``Event/timeNs`` (unix ns) of every matching event.
    public let timeNsBounds: TimeBounds
    /// Bounds on ``Event/timestamp`` (unix s) of every matching event.
    public let timestampBounds: TimeBounds
    private let predicate: Predicate
    let compiled: CompiledFilter

    typealias Predicate = @Sendable (UnsafePointer<Event>) -> Bool

    public init(_ expression: FilterExpression) {
        self.expression = expression
        self.termConstraint = TermConstraint(expression.root)
        (self.timeNsBounds, self.timestampBounds) = TimeBounds.derive(expression.root)
        compiled = EventFilter.compile(expression.root)
        predicate = EventFilter.predicate(compiled)
    }

    /// Whether `event` satisfies the filter (for records; scans evaluate batches: ``select(in:)``).
    public func matches(_ event: borrowing Event) -> Bool {
        withUnsafePointer(to: event) { predicate($0) }
    }

    // MARK: compilation

    /// The expression as a tree of ``FieldTest``s: what both the row predicate and the batch
    /// evaluation (``select(in:)``) run, so they cannot disagree.
    static func compile(_ node: FilterNode) -> CompiledFilter {
        switch node {
        case .everything: return .everything
        case .and(let parts): return .and(parts.sortedByCost().map(compile))
        case .or(let parts): return .or(parts.sortedByCost().map(compile))
        case .not(let inner): return .not(compile(inner))
        case .compare(let field, let op, let literal): return comparison(field, op, literal)
        case .oneOf(let field, let literals): return membership(field, literals)
        case .text(let field, let test):
            let matches = test.matcher()
            return .test(FieldTest(field, .value({ value, _ in matches(value) }, absent: false)))
        case .exists(let field): return .test(FieldTest(field, .exists))
        }
    }

    /// The row predicate of a compiled tree. `and`/`or` are chained pairwise because closures kept
    /// in an array would be reabstracted, costing a thunk per call.
    static func predicate(_ compiled: CompiledFilter) -> Predicate {
        switch compiled {
        case .everything:
            return { _ in true }
        case .and(let parts), .or(let parts):
            let requiringAll = if case .and = compiled { true } else { false }
            var combined = predicate(parts[0])
            for part in parts.dropFirst() {
                let (previous, next) = (combined, predicate(part))
                if requiringAll {
                    combined = { previous($0) && next($0) }
                } else {
                    combined = { previous($0) || next($0) }
                }
            }
            return combined
        case .not(let inner):
            let p = predicate(inner)
            return { !p($0) }
        case .test(let test):
            return test.predicate()
        }
    }

    private static func comparison(_ field: FieldReference, _ op: ComparisonOperator, _ literal: FilterLiteral) -> CompiledFilter {
        switch (field.kind, literal) {
        case (.integer, .integer(let value)):
            return .test(FieldTest(field, .integer { op.holds(order($0, value)) }))
        case (.unixSeconds, .integer(let ns)):
            let (seconds, remainder) = floorDivide(ns, 1_000_000_000)
            return .test(FieldTest(field, .integer { timestamp in
                let o = order(timestamp, seconds)
                return op.holds(o != 0 ? o : remainder == 0 ? 0 : -1)
            }))
        case (.severity, .integer(let value)):
            return .test(FieldTest(field, .value({ text, _ in
                guard let severity = Bytes.integer(text) else { return op == .notEqual }
                return op.holds(order(severity, value))
            }, absent: op == .notEqual)))
        case (.extra, .text(let text)):
            let literalBytes = Array(text.utf8)
            let number = Double(text)
            return .test(FieldTest(field, .value({ value, kind in
                if kind == .number, let number, let own = Double(String(decoding: value, as: UTF8.self)) {
                    return op.holds(own < number ? -1 : own > number ? 1 : 0)
                }
                return literalBytes.withUnsafeBufferPointer { op.holds(Bytes.compare(value, $0)) }
            }, absent: op == .notEqual)))
        default:
            let literalBytes = Array(literal.text.utf8)
            if op == .equal || op == .notEqual {
                let equal = op == .equal
                return .test(FieldTest(field, .value({ value, _ in
                    literalBytes.withUnsafeBufferPointer { Bytes.equal(value, $0) == equal }
                }, absent: !equal)))
            }
            return .test(FieldTest(field, .value({ value, _ in
                literalBytes.withUnsafeBufferPointer { op.holds(Bytes.compare(value, $0)) }
            }, absent: op == .notEqual)))
        }
    }

    private static func membership(_ field: FieldReference, _ literals: [FilterLiteral]) -> CompiledFilter {
        let integers = literals.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        let allIntegers = integers.count == literals.count
        switch field.kind {
        case .integer where allIntegers:
            let set = Set(integers)
            return .test(FieldTest(field, .integer { set.contains($0) }))
        case .unixSeconds where allIntegers:
            let seconds = Set(integers.compactMap { ns in
                let (s, r) = floorDivide(ns, 1_000_000_000)
                return r == 0 ? s : nil
            })
            return .test(FieldTest(field, .integer { seconds.contains($0) }))
        case .severity where allIntegers:
            let set = Set(integers)
            return .test(FieldTest(field, .value({ text, _ in Bytes.integer(text).map(set.contains) ?? false }, absent: false)))
        case .text:
            guard case .typed = field else { break }
            let sorted = Set(literals.map { Array($0.text.utf8) }).sorted { $0.lexicographicallyPrecedes($1) }
            return .test(FieldTest(field, .value({ value, _ in sortedContains(sorted, value) }, absent: false)))
        default:
            break
        }
        return compile(.or(literals.map { .compare(field, .equal, $0) }))
    }

    @inline(__always)
    private static func order(_ a: Int64, _ b: Int64) -> Int { a < b ? -1 : a > b ? 1 : 0 }

    /// Binary search for `value` among byte strings sorted in byte order.
    private static func sortedContains(_ sorted: [[UInt8]], _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            let o = sorted[mid].withUnsafeBufferPointer { Bytes.compare($0, value) }
            if o == 0 { return true }
            if o < 0 { low = mid + 1 } else { high = mid }
        }
        return false
    }
}

extension [FilterNode] {
    /// The conditions ordered by a rough evaluation cost, keeping the written order among equals.
    func sortedByCost() -> [FilterNode] {
        enumerated().sorted { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) }.map(\.element)
    }
}

extension FilterNode {
    /// Rough relative cost of evaluating the condition: numbers, then string equality, then scans.
    var cost: Int {
        switch self {
        case .everything: return 0
        case .compare(let field, _, _), .exists(let field), .oneOf(let field, _):
            switch field.kind {
            case .integer, .unixSeconds: return 1
            case .severity: return 2
            case .text: return 3
            case .extra: return 6
            }
        case .text(_, .regex): return 8
        case .text(_, .glob): return 5
        case .text: return 4
        case .not(let inner): return inner.cost
        case .and(let parts), .or(let parts): return parts.reduce(0) { $0 + $1.cost }
        }
    }
}

/// `a` divided by `b` rounded towards negative infinity, and the non-negative remainder.
func floorDivide(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
    let q = a / b, r = a % b
    return r < 0 ? (q - 1, r + b) : (q, r)
}

extension FilterLiteral {
    /// The literal as text (integers in decimal).
    var text: String {
        switch self {
        case .integer(let value): return String(value)
        case .text(let text): return text
        }
    }
}
