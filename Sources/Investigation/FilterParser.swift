import EventModel

/// Byte classes and keywords of the filter language.
enum Lexer {
    static func isNameStart(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A || b == 0x5F }
    static func isNameByte(_ b: UInt8) -> Bool { isNameStart(b) || (b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x2D }
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    /// Ends a bare value: space, parentheses, comma.
    static func endsBareValue(_ b: UInt8) -> Bool { isSpace(b) || b == 0x28 || b == 0x29 || b == 0x2C }

    static let keywords: Set<String> = ["and", "or", "not", "in", "glob", "contains", "startswith", "has", "exists"]
    static func isKeyword(_ word: String) -> Bool { keywords.contains(word.lowercased()) }
}

/// Reads the filter language into a ``FilterNode`` tree; see ``FilterExpression`` for the grammar.
struct FilterParser {
    private let expression: String
    private let bytes: [UInt8]
    private var position = 0
    /// The names read as extras and the `=`/`in` values of closed-set fields, for ``FilterVocabulary``.
    private(set) var mentions = FilterMentions()

    init(_ expression: String) {
        self.expression = expression
        self.bytes = Array(expression.utf8)
    }

    mutating func parse() throws(FilterSyntaxError) -> FilterNode {
        skipSpace()
        guard position < bytes.count else {
            throw error("the expression is empty: expected a condition such as Operation = Process")
        }
        let node = try parseOr()
        skipSpace()
        guard position == bytes.count else {
            if bytes[position] == UInt8(ascii: ")") { throw error("')' has no matching '('") }
            throw error("expected 'and', 'or' or the end of the expression")
        }
        return node
    }

    // MARK: grammar

    private mutating func parseOr() throws(FilterSyntaxError) -> FilterNode {
        var parts = [try parseAnd()]
        while takeKeyword("or") { parts.append(try parseAnd()) }
        return FilterNode.disjunction(parts)
    }

    private mutating func parseAnd() throws(FilterSyntaxError) -> FilterNode {
        var parts = [try parseNot()]
        while takeKeyword("and") { parts.append(try parseNot()) }
        return parts.count == 1 ? parts[0] : .and(parts.flatMap { part -> [FilterNode] in
            if case .and(let inner) = part { return inner }
            return [part]
        })
    }

    private mutating func parseNot() throws(FilterSyntaxError) -> FilterNode {
        if takeKeyword("not") { return .not(try parseNot()) }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(FilterSyntaxError) -> FilterNode {
        skipSpace()
        guard position < bytes.count else { throw error("expected a condition, found the end of the expression") }
        guard bytes[position] == UInt8(ascii: "(") else { return try parseCondition() }
        let open = position
        position += 1
        let inner = try parseOr()
        skipSpace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ")") else {
            if position < bytes.count { throw error("expected 'and', 'or' or ')'") }
            throw error("'(' is never closed", at: open)
        }
        position += 1
        return inner
    }

    private mutating func parseCondition() throws(FilterSyntaxError) -> FilterNode {
        skipSpace()
        let nameStart = position
        let name = try readFieldName()
        let field = FieldReference(name: name)
        if case .extra = field { mentions.extras.append(.init(text: name, offset: nameStart, expression: expression)) }
        skipSpace()
        let operatorStart = position
        if let symbol = takeSymbolOperator() {
            let value = try readValue(after: symbol)
            if symbol == "~" { return .text(field, .regex(try compileRegex(value))) }
            let op = ComparisonOperator(rawValue: symbol == "==" ? "=" : symbol)!
            if op == .equal { noteClosedSetValue(value, of: field) }
            return .compare(field, op, try literal(value, for: field))
        }
        let word = peekWord().lowercased()
        switch word {
        case "exists":
            position += word.utf8.count
            return .exists(field)
        case "in":
            position += word.utf8.count
            return .oneOf(field, try readList(for: field))
        case "glob":
            position += word.utf8.count
            let value = try readValue(after: word)
            do {
                return .text(field, .glob(try ShellGlob(value.text)))
            } catch {
                throw self.error("bad glob: \(error.reason)", at: value.sourceOffset(ofTextByte: error.offset))
            }
        case "contains", "startswith", "has":
            position += word.utf8.count
            let value = try readValue(after: word)
            switch word {
            case "contains": return .text(field, .contains(value.text))
            case "startswith": return .text(field, .startsWith(value.text))
            default: return .text(field, .hasItem(value.text))
            }
        default:
            throw error("expected an operator after '\(name)': =, !=, <, <=, >, >=, ~, glob, in, contains, "
                        + "startswith, has or exists", at: operatorStart)
        }
    }

    // MARK: tokens

    private mutating func readFieldName() throws(FilterSyntaxError) -> String {
        skipSpace()
        guard position < bytes.count else { throw error("expected a field name, found the end of the expression") }
        if bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") {
            return try readQuoted().text
        }
        guard Lexer.isNameStart(bytes[position]) else { throw error("expected a field name") }
        let start = position
        while position < bytes.count, Lexer.isNameByte(bytes[position]) { position += 1 }
        let name = text(start..<position)
        if Lexer.isKeyword(name) {
            throw error("expected a field name, found the keyword '\(name)'", at: start)
        }
        return name
    }

    private mutating func takeSymbolOperator() -> String? {
        for symbol in ["==", "!=", "<=", ">=", "=", "<", ">", "~"] where startsWith(symbol) {
            position += symbol.utf8.count
            return symbol
        }
        return nil
    }

    /// A value token: its unescaped text and where it was written.
    struct Value {
        let text: String
        /// Offset of the first byte of the token (the quote, for quoted values).
        let offset: Int
        /// Offset of the first text byte when text bytes map one-to-one onto source bytes; nil when
        /// escapes changed the length.
        let verbatimStart: Int?

        /// The expression offset of byte `k` of the text, or of the token when escapes intervene.
        func sourceOffset(ofTextByte k: Int) -> Int { verbatimStart.map { $0 + k } ?? offset }
    }

    private mutating func readValue(after operatorName: String) throws(FilterSyntaxError) -> Value {
        skipSpace()
        guard position < bytes.count else { throw error("expected a value after '\(operatorName)'") }
        let b = bytes[position]
        if b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") { return try readQuoted() }
        guard !Lexer.endsBareValue(b) else { throw error("expected a value after '\(operatorName)'") }
        let start = position
        while position < bytes.count, !Lexer.endsBareValue(bytes[position]) { position += 1 }
        let word = text(start..<position)
        if ["and", "or"].contains(word.lowercased()) {
            throw error("expected a value after '\(operatorName)' (quote '\(word)' to use it as a value)", at: start)
        }
        return Value(text: word, offset: start, verbatimStart: start)
    }

    /// A quoted value: `'…'` or `"…"`. `\\`, `\'`, `\"`, `\n`, `\t`, `\r` are escapes; a backslash before
    /// any other character stays, so regexes like `'\d+'` need no doubling.
    private mutating func readQuoted() throws(FilterSyntaxError) -> Value {
        let start = position
        let quote = bytes[position]
        position += 1
        var out = [UInt8]()
        var escaped = false
        while position < bytes.count, bytes[position] != quote {
            var b = bytes[position]
            if b == UInt8(ascii: "\\"), position + 1 < bytes.count {
                let next = bytes[position + 1]
                switch next {
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): b = next
                case UInt8(ascii: "n"): b = 0x0A
                case UInt8(ascii: "t"): b = 0x09
                case UInt8(ascii: "r"): b = 0x0D
                default: b = 0
                }
                if b != 0 {
                    out.append(b)
                    position += 2
                    escaped = true
                    continue
                }
                b = UInt8(ascii: "\\")
            }
            out.append(b)
            position += 1
        }
        guard position < bytes.count else { throw error("the quote is never closed", at: start) }
        position += 1
        return Value(text: String(decoding: out, as: UTF8.self), offset: start, verbatimStart: escaped ? nil : start + 1)
    }

    private mutating func readList(for field: FieldReference) throws(FilterSyntaxError) -> [FilterLiteral] {
        skipSpace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "(") else {
            throw error("expected '(' to open the list after 'in'")
        }
        let open = position
        position += 1
        var values = [FilterLiteral]()
        while true {
            let value = try readValue(after: values.isEmpty ? "(" : ",")
            noteClosedSetValue(value, of: field)
            values.append(try literal(value, for: field))
            skipSpace()
            guard position < bytes.count else { throw error("the list is never closed with ')'", at: open) }
            if bytes[position] == UInt8(ascii: ")") { position += 1; return values }
            guard bytes[position] == UInt8(ascii: ",") else { throw error("expected ',' or ')' in the list") }
            position += 1
        }
    }

    // MARK: literals

    private mutating func noteClosedSetValue(_ value: Value, of field: FieldReference) {
        guard case .typed(let typed) = field, FilterVocabulary.closedSetFields.contains(typed) else { return }
        mentions.closedSetValues.append(.init(field: typed, value: value.text, offset: value.offset))
    }

    private func literal(_ value: Value, for field: FieldReference) throws(FilterSyntaxError) -> FilterLiteral {
        switch field.kind {
        case .text, .extra:
            return .text(value.text)
        case .severity:
            return Int64(value.text).map { .integer($0) } ?? .text(value.text)
        case .integer:
            if let number = Int64(value.text) { return .integer(number) }
            if field == .timeNs, let ns = UnixTime.parseRFC3339(value.text) { return .integer(ns) }
            let expected = field == .timeNs ? "an integer (unix ns) or an RFC 3339 time" : "an integer"
            throw error("\(field) is a number: expected \(expected), not '\(value.text)'", at: value.offset)
        case .unixSeconds:
            if let ns = UnixSeconds.nanoseconds(value.text) ?? UnixTime.parseRFC3339(value.text) { return .integer(ns) }
            throw error("\(field) is unix seconds: expected a number such as 1717149600 or 1717149600.25, "
                        + "or an RFC 3339 time, not '\(value.text)'", at: value.offset)
        }
    }

    private func compileRegex(_ value: Value) throws(FilterSyntaxError) -> PCRERegex {
        do {
            return try PCRERegex(value.text)
        } catch {
            throw self.error("bad regular expression: \(error.message) (at offset \(error.offset) of the pattern)",
                             at: value.sourceOffset(ofTextByte: error.offset))
        }
    }

    // MARK: scanning

    private mutating func skipSpace() {
        while position < bytes.count, Lexer.isSpace(bytes[position]) { position += 1 }
    }

    /// The run of name bytes at the current position (after spaces), not consumed.
    private mutating func peekWord() -> String {
        skipSpace()
        var end = position
        while end < bytes.count, Lexer.isNameByte(bytes[end]) { end += 1 }
        return text(position..<end)
    }

    private mutating func takeKeyword(_ keyword: String) -> Bool {
        guard peekWord().lowercased() == keyword else { return false }
        position += keyword.utf8.count
        return true
    }

    private func startsWith(_ symbol: String) -> Bool {
        let s = Array(symbol.utf8)
        return bytes.count - position >= s.count && bytes[position..<(position + s.count)].elementsEqual(s)
    }

    private func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    private func error(_ reason: String, at offset: Int? = nil) -> FilterSyntaxError {
        FilterSyntaxError(expression: expression, offset: min(offset ?? position, bytes.count), reason: reason)
    }
}

/// Unix seconds written as a decimal number, converted exactly to nanoseconds.
enum UnixSeconds {
    /// `1717149600` or `1717149600.043498` (up to 9 fraction digits) as unix nanoseconds; nil for
    /// anything else or out of range.
    static func nanoseconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let negative = parts[0].hasPrefix("-")
        let wholeDigits = negative ? parts[0].dropFirst() : parts[0]
        guard !wholeDigits.isEmpty, wholeDigits.allSatisfy(\.isASCIIDigit), let whole = Int64(wholeDigits) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCIIDigit) else { return nil }
            fraction = Int64(digits)! * pow10(9 - digits.count)
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = scaled.addingReportingOverflow(fraction)
        guard !overflow2 else { return nil }
        return negative ? -total : total
    }

    private static func pow10(_ n: Int) -> Int64 {
        var v: Int64 = 1
        for _ in 0..<n { v *= 10 }
        return v
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// A filter expression that does not parse: where, why, and the expression itself.
///
/// ``description`` is several lines (the reason, the expression, a caret under the offending
/// position), for a terminal; ``summary`` is one line, for logs.
public struct FilterSyntaxError: Error, Equatable, CustomStringConvertible {
    public var expression: String
    /// Byte offset into ``expression`` of the offending position.
    public var offset: Int
    public var reason: String

    /// The 1-based column (in characters) of ``offset`` within its line.
    public var column: Int { lineAndColumn.column }

    /// `filter expression, column 13: expected a value after '='`.
    public var summary: String { "filter expression, column \(column): \(reason)" }

    /// The summary, then the expression's line with a caret under the offending position.
    public var description: String {
        let (line, column) = lineAndColumn
        return "\(summary)\n  \(line)\n  \(String(repeating: " ", count: column - 1))^"
    }

    private var lineAndColumn: (line: Substring, column: Int) {
        let utf8 = expression.utf8
        let at = utf8.index(utf8.startIndex, offsetBy: min(offset, utf8.count))
        let lineStart = expression[..<at].lastIndex(of: "\n").map { expression.index(after: $0) } ?? expression.startIndex
        let lineEnd = expression[at...].firstIndex(of: "\n") ?? expression.endIndex
        let before = String(decoding: utf8[lineStart..<at], as: UTF8.self)
        return (expression[lineStart..<lineEnd], before.count + 1)
    }
}
