/// An inclusive range of times that every matching event lies in, for skipping blocks by time.
///
/// The unit is that of the field it bounds (``EventFilter/timeNsBounds`` in unix ns,
/// ``EventFilter/timestampBounds`` in unix s). Derived from comparisons of `TimeNs` and `Timestamp`
/// joined by `and` (intersection) and `or` (hull); anything else leaves the bounds open.
public struct TimeBounds: Sendable, Equatable, CustomStringConvertible {
    /// Inclusive lower bound; `Int64.min` when open.
    public var lower: Int64
    /// Inclusive upper bound; `Int64.max` when open.
    public var upper: Int64

    public init(lower: Int64, upper: Int64) {
        self.lower = lower
        self.upper = upper
    }

    public static let unbounded = TimeBounds(lower: .min, upper: .max)
    /// No time at all: the filter cannot match.
    public static let empty = TimeBounds(lower: .max, upper: .min)

    public var isEmpty: Bool { lower > upper }
    public var isUnbounded: Bool { lower == .min && upper == .max }

    public func contains(_ time: Int64) -> Bool { lower <= time && time <= upper }

    /// Whether a block whose times span `first...last` may hold a match.
    public func overlaps(first: Int64, last: Int64) -> Bool { lower <= last && first <= upper }

    func intersection(_ other: TimeBounds) -> TimeBounds {
        TimeBounds(lower: max(lower, other.lower), upper: min(upper, other.upper))
    }

    func hull(_ other: TimeBounds) -> TimeBounds {
        if isEmpty { return other }
        if other.isEmpty { return self }
        return TimeBounds(lower: min(lower, other.lower), upper: max(upper, other.upper))
    }

    public var description: String {
        if isEmpty { return "empty" }
        let low = lower == .min ? "-∞" : String(lower)
        let high = upper == .max ? "+∞" : String(upper)
        return "[\(low), \(high)]"
    }

    // MARK: derivation

    /// The bounds on `TimeNs` and on `Timestamp` implied by a filter tree.
    static func derive(_ node: FilterNode) -> (timeNs: TimeBounds, timestamp: TimeBounds) {
        switch node {
        case .and(let parts):
            return parts.map(derive).reduce((unbounded, unbounded)) {
                ($0.timeNs.intersection($1.timeNs), $0.timestamp.intersection($1.timestamp))
            }
        case .or(let parts):
            return parts.map(derive).reduce((empty, empty)) { ($0.timeNs.hull($1.timeNs), $0.timestamp.hull($1.timestamp)) }
        case .compare(.timeNs, let op, .integer(let ns)):
            return (nanoseconds(op, ns), unbounded)
        case .compare(.typed(.timestamp), let op, .integer(let ns)):
            return (unbounded, seconds(op, ns))
        case .oneOf(.timeNs, let literals):
            return (literals.reduce(empty) { $0.hull(literal($1).map { nanoseconds(.equal, $0) } ?? unbounded) }, unbounded)
        case .oneOf(.typed(.timestamp), let literals):
            return (unbounded, literals.reduce(empty) { $0.hull(literal($1).map { seconds(.equal, $0) } ?? unbounded) })
        default:
            return (unbounded, unbounded)
        }
    }

    private static func literal(_ literal: FilterLiteral) -> Int64? {
        if case .integer(let value) = literal { return value }
        return nil
    }

    /// `TimeNs op ns`.
    private static func nanoseconds(_ op: ComparisonOperator, _ ns: Int64) -> TimeBounds {
        switch op {
        case .equal: return TimeBounds(lower: ns, upper: ns)
        case .notEqual: return unbounded
        case .less: return ns == .min ? empty : TimeBounds(lower: .min, upper: ns - 1)
        case .lessOrEqual: return TimeBounds(lower: .min, upper: ns)
        case .greater: return ns == .max ? empty : TimeBounds(lower: ns + 1, upper: .max)
        case .greaterOrEqual: return TimeBounds(lower: ns, upper: .max)
        }
    }

    /// `Timestamp op ns`, comparing `Timestamp` × 10⁹ with `ns` exactly, as bounds in seconds.
    private static func seconds(_ op: ComparisonOperator, _ ns: Int64) -> TimeBounds {
        let (q, r) = floorDivide(ns, 1_000_000_000)
        switch op {
        case .equal: return r == 0 ? TimeBounds(lower: q, upper: q) : empty
        case .notEqual: return unbounded
        case .less: return TimeBounds(lower: .min, upper: r == 0 ? q - 1 : q)
        case .lessOrEqual: return TimeBounds(lower: .min, upper: q)
        case .greater: return TimeBounds(lower: q + 1, upper: .max)
        case .greaterOrEqual: return TimeBounds(lower: r == 0 ? q : q + 1, upper: .max)
        }
    }
}
