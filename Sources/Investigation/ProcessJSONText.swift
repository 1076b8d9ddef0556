import EventModel

/// JSON text for process tables and trees: string literals (Go's escapes, as KubeArmor writes them,
/// so the output is safe to embed in HTML), and arrays of strings read back.
enum ProcessJSONText {
    static func string(_ text: String) -> String { KubeArmorJSONWriter.quoted(text) }

    /// `["a","b"]`.
    static func stringArray(_ items: [String]) -> String {
        "[" + items.map(string).joined(separator: ",") + "]"
    }

    /// The strings of a JSON array of strings (whitespace allowed between tokens); nil for anything else.
    static func parseStringArray(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var i = 0
            func skipSpace() {
                while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
            }
            func isAt(_ byte: UInt8) -> Bool { i < bytes.count && bytes[i] == byte }
            skipSpace()
            guard isAt(UInt8(ascii: "[")) else { return nil }
            i += 1
            skipSpace()
            var items: [String] = []
            if !isAt(UInt8(ascii: "]")) {
                while true {
                    guard isAt(UInt8(ascii: "\"")) else { return nil }
                    let start = i + 1
                    var hasEscape = false
                    i = start
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                        if bytes[i] == UInt8(ascii: "\\") {
                            hasEscape = true
                            i += 1
                        }
                        i += 1
                    }
                    guard i < bytes.count else { return nil }
                    let body = UnsafeBufferPointer(rebasing: bytes[start..<i])
                    items.append(hasEscape ? String(decoding: ExtraValue.unescape(body), as: UTF8.self)
                                           : String(decoding: body, as: UTF8.self))
                    i += 1
                    skipSpace()
                    if isAt(UInt8(ascii: "]")) { break }
                    guard isAt(UInt8(ascii: ",")) else { return nil }
                    i += 1
                    skipSpace()
                }
            }
            i += 1
            skipSpace()
            return i == bytes.count ? items : nil
        }
    }
}
