import EventModel
import EventStore

/// What an expression names that the stores may not hold: the names it reads as extras, and the
/// values it compares closed-set fields with (`Operation = process`).
struct FilterMentions: Sendable {
    /// A field name read as an extra, where it was written.
    struct Name: Sendable {
        var text: String
        var offset: Int
        var expression: String
    }

    /// An `=`/`in` value of one of ``FilterVocabulary/closedSetFields``.
    struct Value: Sendable {
        var field: EventField
        var value: String
        var offset: Int
    }

    var extras: [Name] = []
    var closedSetValues: [Value] = []

    mutating func append(_ other: FilterMentions) {
        extras += other.extras
        closedSetValues += other.closedSetValues
    }
}

/// Checks an expression's names and values against what the selected stores hold, so that a typo
/// (`Namespace = payments`, `Operation = process`) is not answered with a silent 0.
///
/// A name that is not a KubeArmor field (typed, or one rearview keeps as an extra such as `Owner`),
/// not `TimeNs` or `Seq`, and not the key of an extra of any stored record is an error with a caret
/// and the closest field name. For Operation, Type, Action, Result and Enforcer, whose values form a
/// small closed set, an `=`/`in` value no stored event has gets a note naming the closest stored one.
public enum FilterVocabulary {
    /// Fields whose values come from a small set KubeArmor defines.
    public static let closedSetFields: Set<EventField> = [.operation, .type, .action, .result, .enforcer]

    /// The first name of `expression` that is no field of the stores' records, as the error to show.
    public static func unknownField(in expression: FilterExpression, stores: [Store]) throws -> FilterSyntaxError? {
        let known = EventField.kubeArmorExtraKeys
        let asked = expression.mentions.extras.filter { !known.contains($0.text) }
        guard !asked.isEmpty else { return nil }
        let present = try extraKeysPresent(Set(asked.map(\.text)), in: stores)
        guard let missing = asked.first(where: { !present.contains($0.text) }) else { return nil }
        var reason = "unknown field '\(missing.text)': not a KubeArmor or rearview field, nor a key of any stored record"
        if let near = closest(to: missing.text, among: fieldNames) { reason += "; did you mean \(near)?" }
        return FilterSyntaxError(expression: missing.expression, offset: missing.offset, reason: reason)
    }

    /// Notes (one line each) for closed-set values of `expression` that no event of `stores` has.
    /// Indexed fields (Operation, Type) are looked up in the index; Action against KubeArmor's
    /// actions; the others, which need a scan, only when `nothingMatched`.
    public static func closedSetNotes(for expression: FilterExpression, stores: [Store],
                                      nothingMatched: Bool) throws -> [String] {
        let mentions = expression.mentions.closedSetValues
        guard !mentions.isEmpty else { return [] }
        var stored: [EventField: Set<String>] = [:]
        for field in Set(mentions.map(\.field)) where IndexedFields.all.contains(field) {
            stored[field] = Set(try stores.flatMap { try $0.values(of: field) })
        }
        stored[.action] = stored[.action] ?? Self.actions
        let scanned = Set(mentions.map(\.field)).subtracting(stored.keys)
        if nothingMatched && !scanned.isEmpty { stored.merge(try storedValues(of: scanned, in: stores)) { $1 } }
        var notes: [String] = []
        for mention in mentions {
            guard let values = stored[mention.field], !values.contains(mention.value) else { continue }
            if mention.field == .action && !nothingMatched
                && !values.contains(where: { $0.lowercased() == mention.value.lowercased() }) { continue }
            var note = "note: no stored event has \(mention.field.rawValue) = '\(mention.value)'"
            if let near = closest(to: mention.value, among: values.sorted()) {
                note += "; the closest stored value is '\(near)' (= is exact and case-sensitive)"
            } else if values.isEmpty {
                note += "; no stored event has any \(mention.field.rawValue)"
            }
            notes.append(note)
        }
        return notes
    }

    /// KubeArmor's policy actions.
    static let actions: Set<String> = ["Audit", "Block", "Allow"]

    /// Typed and virtual field names, the candidates of "did you mean".
    static let fieldNames: [String] = EventField.allCases.map(\.rawValue) + ["TimeNs", "Seq"]
        + EventField.kubeArmorExtraKeys.sorted()

    /// The candidate `name` most likely meant: one it starts (`Pod` → `PodName`, the shortest such),
    /// else the nearest by edit distance, ignoring case, when near enough.
    static func closest(to name: String, among candidates: [String]) -> String? {
        let lower = name.lowercased()
        guard !lower.isEmpty else { return nil }
        if let prefixed = candidates.filter({ $0.lowercased().hasPrefix(lower) }).min(by: { $0.count < $1.count }) {
            return prefixed
        }
        let scored = candidates.map { (candidate: $0, distance: editDistance(lower, $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }),
              best.distance <= max(2, lower.count / 3) else { return nil }
        return best.candidate
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Which of `keys` some block of `stores` has as an extra key; stops once all are found.
    private static func extraKeysPresent(_ keys: Set<String>, in stores: [Store]) throws -> Set<String> {
        var found: Set<String> = []
        var scan = BatchScan(try sources(of: stores))
        scan.columns = .extras
        try scan.map({ batch, _ in
            keys.filter { key in (0..<Int32(batch.extrasSetCount)).contains { batch.extraValueID(key, set: $0) != nil } }
        }, { present in
            found.formUnion(present)
            return found.count < keys.count
        })
        return found
    }

    /// The distinct stored values of `fields`.
    private static func storedValues(of fields: Set<EventField>, in stores: [Store]) throws -> [EventField: Set<String>] {
        var values: [EventField: Set<String>] = [:]
        var scan = BatchScan(try sources(of: stores))
        scan.columns = []
        try scan.map({ batch, _ in
            var ids: [EventField: Set<Int32>] = [:]
            for field in fields {
                for row in 0..<batch.count { if let id = batch.stringID(field, row: row) { ids[field, default: []].insert(id) } }
            }
            return ids.mapValues { Set($0.map(batch.string)) }
        }, { block in
            values.merge(block) { $0.union($1) }
            return true
        })
        return values
    }

    private static func sources(of stores: [Store]) throws -> [BlockSource] {
        try stores.flatMap { store in try store.blocks().map { BlockSource(store: store, block: $0) } }
    }
}
