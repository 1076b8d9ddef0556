import EventModel

/// Text from events made safe for a terminal, and the short forms trees and timelines print.
///
/// Event strings come from the monitored hosts, so an attacker can choose them: a process name with
/// a newline, an escape sequence or a right-to-left override could forge or hide lines. Those are
/// shown as visible escapes. (Invalid UTF-8 never reaches here: events hold Swift strings, which
/// replace it with U+FFFD.)
public enum ProcessDisplayText {
    /// `text` with `\` doubled, `\n` `\r` `\t` `\e` written so, other control characters (C0, DEL,
    /// C1) as `\xHH`, and invisible direction and layout controls as `\u{HHHH}`.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{1B}": out += "\\e"
            default:
                if scalar.value < 0x100 {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else {
                    out += "\\u{" + hex(scalar.value, digits: 4) + "}"
                }
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x5C, 0x7F...0x9F: return true
        // Bidirectional marks, embeddings, overrides and isolates; zero-width and line/paragraph separators.
        case 0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// The last path component (`/usr/bin/bash` → `bash`), escaped; `?` for an empty name.
    public static func programName(_ path: String) -> String {
        guard !path.isEmpty else { return "?" }
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        return escaped(name)
    }

    /// `2024-05-31T10:06:40.043Z`: UTC with milliseconds.
    public static func time(_ ns: Int64) -> String {
        let micro = UnixTime.rfc3339Micro(ns)
        return String(micro.dropLast(4)) + "Z"
    }
}
