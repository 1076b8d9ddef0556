import EventModel
import EventStore

/// A formula over index terms that every block holding a matching event satisfies.
///
/// The store posts, per block, the distinct values of the indexed fields (``indexedFields``; `HostPID` as a
/// decimal string). A planner may skip a block whose postings do not satisfy the constraint — the
/// derivation is conservative, so pruning never changes results. It assumes every non-empty value
/// of those fields is posted, compared by exact UTF-8 bytes (SQLite `BINARY`, not `NOCASE`): a
/// constraint never relies on empty values being posted.
///
/// | case | a block may hold a match only if |
/// | --- | --- |
/// | `anything` | always (no information) |
/// | `anyOf(F, vs)` | it posts one of `vs` for `F` (none when `vs` is empty) |
/// | `matching(F, p)` | it posts a term for `F` that `p` matches |
/// | `allOf(cs)` | every `c` holds |
/// | `oneOf(cs)` | some `c` holds |
///
/// `=` and `in` on an indexed field give `anyOf`; `~`, `glob`, `contains`, `startswith`, `has` and the
/// shortcut flags give `matching` (unless the test accepts the empty string); `and`/`or` give
/// `allOf`/`oneOf`; `not`, `!=`, orderings and other fields give `anything`.
public indirect enum TermConstraint: Sendable, Equatable, CustomStringConvertible {
    case anything
    /// Values sorted in byte order, without byte-identical duplicates.
    case anyOf(EventField, [String])
    case matching(EventField, TermPattern)
    case allOf([TermConstraint])
    case oneOf([TermConstraint])

    /// The fields the store posts terms for.
    public static let indexedFields: Set<EventField> = Set(IndexedFields.all)

    /// Derives the constraint of a filter tree.
    init(_ node: FilterNode) {
        switch node {
        case .and(let parts): self = .all(parts.map(TermConstraint.init))
        case .or(let parts): self = .any(parts.map(TermConstraint.init))
        case .compare(.typed(let field), .equal, let literal) where TermConstraint.indexedFields.contains(field):
            self = .terms(field, [literal])
        case .oneOf(.typed(let field), let literals) where TermConstraint.indexedFields.contains(field):
            self = .terms(field, literals)
        case .text(.typed(let field), let test) where TermConstraint.indexedFields.contains(field) && !test.matches(""):
            self = .matching(field, TermPattern(test: test))
        default:
            self = .anything
        }
    }

    /// Whether an event whose indexed fields have these values may match (one value per field).
    public func admits(value: (EventField) -> String) -> Bool {
        switch self {
        case .anything: return true
        case .anyOf(let field, let values): return values.contains(value(field))
        case .matching(let field, let pattern): return pattern.matches(value(field))
        case .allOf(let parts): return parts.allSatisfy { $0.admits(value: value) }
        case .oneOf(let parts): return parts.contains { $0.admits(value: value) }
        }
    }

    /// The constraint with every `matching(F, p)` replaced by `anyOf(F, the terms of vocabulary(F) that
    /// p matches)`: for planners that look terms up rather than test them. `vocabulary` must return
    /// every byte-distinct term the store posts for the field (collecting them in a `Set<String>` would
    /// merge canonically equivalent spellings such as `"caf\u{E9}"` and `"cafe\u{301}"` and lose one).
    public func resolvingPatterns(_ vocabulary: (EventField) throws -> [String]) rethrows -> TermConstraint {
        switch self {
        case .anything, .anyOf: return self
        case .matching(let field, let pattern): return .anyOf(field, TermConstraint.unique(try vocabulary(field).filter(pattern.matches)))
        case .allOf(let parts): return .all(try parts.map { try $0.resolvingPatterns(vocabulary) })
        case .oneOf(let parts): return .any(try parts.map { try $0.resolvingPatterns(vocabulary) })
        }
    }

    public var description: String {
        switch self {
        case .anything: return "anything"
        case .anyOf(let field, let values): return "\(field.rawValue) in (\(values.map(FilterNode.quoted).joined(separator: ", ")))"
        case .matching(let field, let pattern): return "\(field.rawValue) \(pattern)"
        case .allOf(let parts): return "all(\(parts.map(\.description).joined(separator: ", ")))"
        case .oneOf(let parts): return "any(\(parts.map(\.description).joined(separator: ", ")))"
        }
    }

    // MARK: construction

    /// `anyOf` for literals, or `anything` when one is empty (empty values are not posted).
    private static func terms(_ field: EventField, _ literals: [FilterLiteral]) -> TermConstraint {
        let texts = literals.map(\.text)
        return texts.contains("") ? .anything : .anyOf(field, unique(texts))
    }

    /// Conjunction, flattened, without `anything`.
    private static func all(_ parts: [TermConstraint]) -> TermConstraint {
        var flat = [TermConstraint]()
        for part in parts {
            switch part {
            case .anything: continue
            case .allOf(let inner): flat += inner
            default: flat.append(part)
            }
        }
        return flat.isEmpty ? .anything : flat.count == 1 ? flat[0] : .allOf(flat)
    }

    /// Disjunction, flattened, `anything` when any part is; `anyOf`s of one field merge.
    private static func any(_ parts: [TermConstraint]) -> TermConstraint {
        var flat = [TermConstraint]()
        for part in parts {
            switch part {
            case .anything: return .anything
            case .oneOf(let inner): flat += inner
            case .anyOf(let field, let values):
                if let k = flat.firstIndex(where: { if case .anyOf(field, _) = $0 { true } else { false } }),
                   case .anyOf(_, let earlier) = flat[k] {
                    flat[k] = .anyOf(field, unique(earlier + values))
                } else {
                    flat.append(part)
                }
            default: flat.append(part)
            }
        }
        return flat.count == 1 ? flat[0] : .oneOf(flat)
    }

    /// Sorted by bytes, byte-identical duplicates removed (`Set<String>` would also merge canonically
    /// equivalent spellings, which the index keeps apart).
    private static func unique(_ values: [String]) -> [String] {
        let sorted = values.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var out = [String]()
        var previous: [UInt8]?
        for bytes in sorted where bytes != previous {
            out.append(String(decoding: bytes, as: UTF8.self))
            previous = bytes
        }
        return out
    }
}

/// A test of one term, as the filter applies it to the field (regex, glob, substring, prefix, list
/// item). Two patterns are equal when they read the same.
public struct TermPattern: Sendable, Equatable, CustomStringConvertible {
    let test: TextTest

    /// Whether the filter's test accepts `term`.
    public func matches(_ term: String) -> Bool { test.matches(term) }

    /// The test in the filter language, e.g. `~ '(?i)web'`.
    public var description: String { test.description }

    public static func == (a: TermPattern, b: TermPattern) -> Bool { a.description == b.description }
}
