import EventModel

/// What a filter condition reads from an event: a typed field, a virtual field, or an extra by key.
enum FieldReference: Hashable, Sendable, CustomStringConvertible {
    case typed(EventField)
    /// ``Event/timeNs``.
    case timeNs
    /// ``Event/seq``.
    case seq
    /// An entry of ``Event/extras``, by exact key.
    case extra(String)

    /// Resolves a name as written in an expression: typed and virtual fields ignore ASCII case, any
    /// other name is an extra's exact key.
    init(name: String) {
        switch name.lowercased() {
        case "timens": self = .timeNs
        case "seq": self = .seq
        default: self = EventField(key: name).map { .typed($0) } ?? .extra(name)
        }
    }

    /// How values of this field compare.
    var kind: Kind {
        switch self {
        case .timeNs, .seq: return .integer
        case .typed(.timestamp): return .unixSeconds
        case .typed(.severity): return .severity
        case .typed(let field): return field.isNumeric ? .integer : .text
        case .extra: return .extra
        }
    }

    enum Kind {
        /// Whole numbers; literals must be integers (`TimeNs` also takes RFC 3339).
        case integer
        /// `Timestamp`: unix seconds compared at nanosecond precision with literals given as integer or
        /// fractional seconds or RFC 3339.
        case unixSeconds
        /// A string compared as a number when the literal is an integer.
        case severity
        /// A string compared by its UTF-8 bytes.
        case text
        /// JSON: numbers compare as numbers with numeric literals, strings by their unescaped text.
        case extra
    }

    var description: String {
        switch self {
        case .typed(let field): return field.rawValue
        case .timeNs: return "TimeNs"
        case .seq: return "Seq"
        case .extra(let key): return FilterNode.isBareFieldName(key) ? key : FilterNode.quoted(key)
        }
    }
}

/// A comparison operator of the filter language.
enum ComparisonOperator: String, Sendable {
    case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

    /// Whether `order` (the sign of field − literal) satisfies the operator.
    @inline(__always)
    func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }
}

/// A literal of an expression, already interpreted for the field it is compared with.
enum FilterLiteral: Hashable, Sendable, CustomStringConvertible {
    /// A whole number (integer fields; for `Timestamp` and `TimeNs`, unix nanoseconds).
    case integer(Int64)
    case text(String)

    var description: String {
        switch self {
        case .integer(let value): return String(value)
        case .text(let text): return FilterNode.quoted(text)
        }
    }

    /// The literal as written for `field`: `Timestamp` literals (held in ns) as decimal seconds.
    func description(for field: FieldReference) -> String {
        guard case .integer(let ns) = self, field.kind == .unixSeconds else { return description }
        let sign = ns < 0 ? "-" : ""
        let seconds = ns.magnitude / 1_000_000_000, fraction = ns.magnitude % 1_000_000_000
        guard fraction != 0 else { return sign + String(seconds) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(sign)\(seconds).\(digits)"
    }
}

/// A test of a field's text (numbers as decimal): the string operators and the shortcut flags.
enum TextTest: Sendable, CustomStringConvertible {
    case regex(PCRERegex)
    case glob(ShellGlob)
    case contains(String)
    case startsWith(String)
    /// One item of the comma-separated list (`Labels`, `Tags`) equals the text exactly.
    case hasItem(String)

    func matches(utf8 s: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .regex(let regex): return regex.matches(utf8: s)
        case .glob(let glob): return glob.matches(utf8: s)
        case .contains(let needle): return needle.utf8.withContiguousBytes { Bytes.contains(s, $0) }
        case .startsWith(let prefix): return prefix.utf8.withContiguousBytes { Bytes.hasPrefix(s, $0) }
        case .hasItem(let item): return item.utf8.withContiguousBytes { Bytes.hasListItem(s, $0) }
        }
    }

    func matches(_ text: String) -> Bool {
        text.utf8.withContiguousBytes { matches(utf8: $0) }
    }

    /// The test as a closure over its own payload, for the hot path: switching on the enum on every
    /// call would copy (retain) the payload each time.
    func matcher() -> @Sendable (UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .regex(let regex): return { regex.matches(utf8: $0) }
        case .glob(let glob): return { glob.matches(utf8: $0) }
        case .contains(let needle):
            let bytes = Array(needle.utf8)
            return { s in bytes.withUnsafeBufferPointer { Bytes.contains(s, $0) } }
        case .startsWith(let prefix):
            let bytes = Array(prefix.utf8)
            return { s in bytes.withUnsafeBufferPointer { Bytes.hasPrefix(s, $0) } }
        case .hasItem(let item):
            let bytes = Array(item.utf8)
            return { s in bytes.withUnsafeBufferPointer { Bytes.hasListItem(s, $0) } }
        }
    }

    /// The operator as written in the language.
    var operatorName: String {
        switch self {
        case .regex: return "~"
        case .glob: return "glob"
        case .contains: return "contains"
        case .startsWith: return "startswith"
        case .hasItem: return "has"
        }
    }

    /// The operand as written in the language; a caseless regex is written with a leading `(?i)`.
    var operand: String {
        switch self {
        case .regex(let regex): return regex.options.contains(.caseless) ? "(?i)" + regex.pattern : regex.pattern
        case .glob(let glob): return glob.pattern
        case .contains(let text), .startsWith(let text), .hasItem(let text): return text
        }
    }

    var description: String { "\(operatorName) \(FilterNode.quoted(operand))" }
}

/// The syntax tree of a filter: what ``FilterExpression`` holds and ``EventFilter`` compiles.
indirect enum FilterNode: Sendable, CustomStringConvertible {
    case everything
    case and([FilterNode])
    case or([FilterNode])
    case not(FilterNode)
    case compare(FieldReference, ComparisonOperator, FilterLiteral)
    case oneOf(FieldReference, [FilterLiteral])
    case text(FieldReference, TextTest)
    /// A typed field is non-empty (numbers: non-zero); an extra is present.
    case exists(FieldReference)

    /// Joins conditions with `and`, flattening nested conjunctions and dropping ``everything``.
    static func conjunction(_ parts: [FilterNode]) -> FilterNode {
        var flat = [FilterNode]()
        for part in parts {
            switch part {
            case .everything: continue
            case .and(let inner): flat += inner
            default: flat.append(part)
            }
        }
        return flat.isEmpty ? .everything : flat.count == 1 ? flat[0] : .and(flat)
    }

    /// Joins alternatives with `or`, flattening nested disjunctions.
    static func disjunction(_ parts: [FilterNode]) -> FilterNode {
        var flat = [FilterNode]()
        for part in parts {
            if case .or(let inner) = part { flat += inner } else { flat.append(part) }
        }
        return flat.count == 1 ? flat[0] : .or(flat)
    }

    /// The node in the filter language, fully parenthesised where precedence needs it.
    var description: String {
        switch self {
        case .everything: return "everything"
        case .and(let parts): return parts.map { $0.operandDescription(inside: .and) }.joined(separator: " and ")
        case .or(let parts): return parts.map { $0.operandDescription(inside: .or) }.joined(separator: " or ")
        case .not(let inner): return "not " + inner.operandDescription(inside: .not)
        case .compare(let field, let op, let literal): return "\(field) \(op.rawValue) \(literal.description(for: field))"
        case .oneOf(let field, let values):
            return "\(field) in (\(values.map { $0.description(for: field) }.joined(separator: ", ")))"
        case .text(let field, let test): return "\(field) \(test)"
        case .exists(let field): return "\(field) exists"
        }
    }

    private enum Context { case and, or, not }

    private func operandDescription(inside context: Context) -> String {
        switch (self, context) {
        case (.or, .and), (.or, .not), (.and, .not): return "(\(description))"
        default: return description
        }
    }

    /// Whether a field name can be written without quotes.
    static func isBareFieldName(_ name: String) -> Bool {
        guard let first = name.utf8.first, Lexer.isNameStart(first) else { return false }
        return name.utf8.allSatisfy(Lexer.isNameByte) && !Lexer.isKeyword(name)
    }

    /// Text in single quotes with `\` and `'` escaped, as the parser reads it back.
    static func quoted(_ text: String) -> String {
        var out = "'"
        for character in text {
            switch character {
            case "'": out += "\\'"
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.append(character)
            }
        }
        return out + "'"
    }
}
