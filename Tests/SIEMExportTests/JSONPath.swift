import Foundation

/// Reads a member of parsed JSON by a dotted path (`process.parent.pid`).
func member(_ object: Any?, _ path: String) -> Any? {
    var current = object
    for part in path.split(separator: ".") {
        guard let dictionary = current as? [String: Any] else { return nil }
        current = dictionary[String(part)]
    }
    return current
}

/// The dotted paths of every leaf of a JSON object (arrays of scalars count as leaves; arrays of
/// objects contribute their objects' paths); `objectFields` (ECS's `labels`) are one field, leaves themselves.
func leafPaths(_ object: Any, prefix: String = "", objectFields: Set<String> = ["labels"]) -> [String] {
    if let dictionary = object as? [String: Any], !objectFields.contains(prefix) {
        return dictionary.flatMap { key, value in leafPaths(value, prefix: prefix.isEmpty ? key : prefix + "." + key, objectFields: objectFields) }
    }
    if let array = object as? [Any], array.contains(where: { $0 is [String: Any] }) {
        return array.flatMap { leafPaths($0, prefix: prefix, objectFields: objectFields) }
    }
    return [prefix]
}

/// A JSON value that keeps what JSONSerialization blurs: integers apart from fractions and booleans,
/// member order, and duplicate keys (which the parser rejects).
indirect enum JSONValue: Equatable {
    case string(String), integer(Int64), fraction(Double), bool(Bool), null
    case array([JSONValue]), object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): x == y
        case let (.integer(x), .integer(y)): x == y
        case let (.fraction(x), .fraction(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.null, .null): true
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    var isString: Bool {
        if case .string = self { return true }
        return false
    }

    /// Compact JSON text of the value, for messages.
    var text: String {
        switch self {
        case .string(let s): return "\"" + s + "\""
        case .integer(let i): return String(i)
        case .fraction(let d): return String(d)
        case .bool(let b): return String(b)
        case .null: return "null"
        case .array(let items):
            var parts: [String] = []
            for item in items { parts.append(item.text) }
            return "[" + parts.joined(separator: ",") + "]"
        case .object(let members):
            var parts: [String] = []
            for member in members { parts.append("\"" + member.key + "\":" + member.value.text) }
            return "{" + parts.joined(separator: ",") + "}"
        }
    }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The member at a dotted path.
    func at(_ path: String) -> JSONValue? {
        var current: JSONValue? = self
        for part in path.split(separator: ".") { current = current?[String(part)] }
        return current
    }

    struct ParseError: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "JSON error at \(offset): \(reason)" }
    }

    /// Parses one JSON text (RFC 8259), strictly: no trailing bytes, no duplicate keys.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = Parser(bytes: bytes)
        let value = try parser.value()
        parser.skipSpace()
        guard parser.i == bytes.count else { throw ParseError(offset: parser.i, reason: "trailing bytes") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard i < bytes.count else { throw ParseError(offset: i, reason: "unexpected end") }
            switch bytes[i] {
            case 0x7B:
                i += 1
                var members: [(key: String, value: JSONValue)] = []
                skipSpace()
                if i < bytes.count, bytes[i] == 0x7D { i += 1; return .object(members) }
                while true {
                    skipSpace()
                    let key = try string()
                    guard !members.contains(where: { $0.key == key }) else { throw ParseError(offset: i, reason: "duplicate key \(key)") }
                    skipSpace()
                    try expect(0x3A)
                    members.append((key, try value()))
                    skipSpace()
                    if i < bytes.count, bytes[i] == 0x2C { i += 1; continue }
                    try expect(0x7D)
                    return .object(members)
                }
            case 0x5B:
                i += 1
                var items: [JSONValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == 0x5D { i += 1; return .array(items) }
                while true {
                    items.append(try value())
                    skipSpace()
                    if i < bytes.count, bytes[i] == 0x2C { i += 1; continue }
                    try expect(0x5D)
                    return .array(items)
                }
            case 0x22: return .string(try string())
            case 0x74: try literal("true"); return .bool(true)
            case 0x66: try literal("false"); return .bool(false)
            case 0x6E: try literal("null"); return .null
            default: return try number()
            }
        }

        mutating func expect(_ byte: UInt8) throws {
            guard i < bytes.count, bytes[i] == byte else { throw ParseError(offset: i, reason: "expected \(UnicodeScalar(byte))") }
            i += 1
        }

        mutating func literal(_ word: String) throws {
            guard bytes[i...].starts(with: word.utf8) else { throw ParseError(offset: i, reason: "bad literal") }
            i += word.utf8.count
        }

        mutating func number() throws -> JSONValue {
            let start = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if let integer = Int64(text) { return .integer(integer) }
            guard let fraction = Double(text), text.first != "+" else { throw ParseError(offset: start, reason: "bad number \(text)") }
            return .fraction(fraction)
        }

        mutating func string() throws -> String {
            try expect(0x22)
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw ParseError(offset: i, reason: "unterminated string") }
                let b = bytes[i]
                i += 1
                if b == 0x22 { break }
                guard b >= 0x20 else { throw ParseError(offset: i - 1, reason: "control character in string") }
                guard b == 0x5C else { out.append(b); continue }
                guard i < bytes.count else { throw ParseError(offset: i, reason: "bad escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(8)
                case 0x66: out.append(12)
                case 0x6E: out.append(10)
                case 0x72: out.append(13)
                case 0x74: out.append(9)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        try literal("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw ParseError(offset: i, reason: "bad surrogate") }
                        scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw ParseError(offset: i, reason: "bad \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw ParseError(offset: i, reason: "bad escape")
                }
            }
            guard let text = String(validating: out, as: UTF8.self) else { throw ParseError(offset: i, reason: "invalid UTF-8") }
            return text
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
                throw ParseError(offset: i, reason: "bad hex")
            }
            i += 4
            return v
        }
    }
}
