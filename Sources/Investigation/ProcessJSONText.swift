/// JSON text for process tables and trees: string literals (escaped as Go's encoding/json does, so
/// the output is safe to embed in HTML), and arrays of strings read back.
enum ProcessJSONText {
    /// `"…"` with `"`, `\`, control characters, `<`, `>`, `&`, U+2028 and U+2029 escaped.
    static func string(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += unicodeEscape(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `["a","b"]`.
    static func stringArray(_ items: [String]) -> String {
        "[" + items.map(string).joined(separator: ",") + "]"
    }

    /// The strings of a JSON array of strings (whitespace allowed between tokens); nil for anything else.
    static func parseStringArray(_ text: String) -> [String]? {
        let bytes = Array(text.utf8)
        var i = 0
        func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { return nil }
        i += 1
        skipSpace()
        var items: [String] = []
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            skipSpace()
            return i == bytes.count ? items : nil
        }
        while true {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            i = start
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard i < bytes.count else { return nil }
            let body = bytes[start..<i].withUnsafeBufferPointer { ExtraValue.unescape($0) }
            items.append(String(decoding: body, as: UTF8.self))
            i += 1
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "]") { break }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
            skipSpace()
        }
        i += 1
        skipSpace()
        return i == bytes.count ? items : nil
    }
}
