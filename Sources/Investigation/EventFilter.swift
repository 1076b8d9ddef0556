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

    typealias Predicate = @Sendable (UnsafePointer<Event>) -> Bool

    public init(_ expression: FilterExpression) {
        self.expression = expression
        self.termConstraint = TermConstraint(expression.root)
        (self.timeNsBounds, self.timestampBounds) = TimeBounds.derive(expression.root)
        self.predicate = EventFilter.compile(expression.root)
    }

    /// Whether `event` satisfies the filter.
    public func matches(_ event: borrowing Event) -> Bool {
        withUnsafePointer(to: event) { predicate($0) }
    }

    /// Calls `body` with the index of each event of `events` that satisfies the filter, in order.
    /// Evaluates the events where they are, without copying them: the fast path for scanning a block.
    public func forEachMatch(in events: UnsafeBufferPointer<Event>, _ body: (Int) throws -> Void) rethrows {
        guard let base = events.baseAddress else { return }
        for i in 0..<events.count where predicate(base + i) { try body(i) }
    }

    // MARK: compilation

    static func compile(_ node: FilterNode) -> Predicate {
        switch node {
        case .everything:
            return { _ in true }
        case .and(let parts):
            // Chained pairwise: closures kept in an array would be reabstracted to take the event
            // indirectly, and every call through the thunk would copy the event.
            var combined = compile(parts[0])
            for part in parts.dropFirst() {
                let (previous, next) = (combined, compile(part))
                combined = { previous($0) && next($0) }
            }
            return combined
        case .or(let parts):
            var combined = compile(parts[0])
            for part in parts.dropFirst() {
                let (previous, next) = (combined, compile(part))
                combined = { previous($0) || next($0) }
            }
            return combined
        case .not(let inner):
            let p = compile(inner)
            return { !p($0) }
        case .compare(let field, let op, let literal):
            return comparison(field, op, literal)
        case .oneOf(let field, let literals):
            return membership(field, literals)
        case .text(let field, let test):
            return textTest(field, test)
        case .exists(let field):
            return { FieldAccess.exists(field, in: $0) }
        }
    }

    private static func comparison(_ field: FieldReference, _ op: ComparisonOperator, _ literal: FilterLiteral) -> Predicate {
        switch (field.kind, literal) {
        case (.integer, .integer(let value)):
            if case .typed(.hostPID) = field { return { op.holds(order(Int64($0.pointee.hostPID), value)) } }
            if case .timeNs = field { return { op.holds(order($0.pointee.timeNs, value)) } }
            return { op.holds(order(FieldAccess.integer(field, of: $0), value)) }
        case (.unixSeconds, .integer(let ns)):
            let (seconds, remainder) = floorDivide(ns, 1_000_000_000)
            return { e in
                let o = order(e.pointee.timestamp, seconds)
                return op.holds(o != 0 ? o : remainder == 0 ? 0 : -1)
            }
        case (.severity, .integer(let value)):
            return { e in
                guard let severity = e.pointee.severity.utf8.withContiguousBytes(Bytes.integer) else { return op == .notEqual }
                return op.holds(order(severity, value))
            }
        case (.extra, .text(let text)):
            let literalBytes = Array(text.utf8)
            let number = Double(text)
            return { e in
                let result = FieldAccess.withValue(field, of: e) { value, kind -> Bool in
                    if kind == .number, let number, let own = Double(String(decoding: value, as: UTF8.self)) {
                        return op.holds(own < number ? -1 : own > number ? 1 : 0)
                    }
                    return literalBytes.withUnsafeBufferPointer { op.holds(Bytes.compare(value, $0)) }
                }
                return result ?? (op == .notEqual)
            }
        default:
            let literalBytes = Array(literal.text.utf8)
            return { e in
                let result = FieldAccess.withValue(field, of: e) { value, _ in
                    literalBytes.withUnsafeBufferPointer { op.holds(Bytes.compare(value, $0)) }
                }
                return result ?? (op == .notEqual)
            }
        }
    }

    private static func membership(_ field: FieldReference, _ literals: [FilterLiteral]) -> Predicate {
        let integers = literals.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        let allIntegers = integers.count == literals.count
        switch field.kind {
        case .integer where allIntegers:
            let set = Set(integers)
            return { set.contains(FieldAccess.integer(field, of: $0)) }
        case .unixSeconds where allIntegers:
            let seconds = Set(integers.compactMap { ns in
                let (s, r) = floorDivide(ns, 1_000_000_000)
                return r == 0 ? s : nil
            })
            return { seconds.contains($0.pointee.timestamp) }
        case .severity where allIntegers:
            let set = Set(integers)
            return { e in e.pointee.severity.utf8.withContiguousBytes(Bytes.integer).map(set.contains) ?? false }
        case .text:
            guard case .typed(let typed) = field else { break }
            let sorted = Set(literals.map { Array($0.text.utf8) }).sorted { $0.lexicographicallyPrecedes($1) }
            return { e in FieldAccess.withText(typed, of: e) { value in sortedContains(sorted, value) } }
        default:
            break
        }
        return compile(.or(literals.map { .compare(field, .equal, $0) }))
    }

    private static func textTest(_ field: FieldReference, _ test: TextTest) -> Predicate {
        if case .typed(let typed) = field {
            return { e in FieldAccess.withText(typed, of: e) { test.matches(utf8: $0) } }
        }
        return { e in FieldAccess.withValue(field, of: e) { value, _ in test.matches(utf8: value) } ?? false }
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
