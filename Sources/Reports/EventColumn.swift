import EventModel
import Foundation

/// A column of event output (`--columns`, `--group-by`): a KubeArmor field, an extra field of an
/// imported record, or one of rearview's own (`TimeNs`, `Seq`, `Time` as RFC 3339).
public enum EventColumn: Hashable, Sendable, CustomStringConvertible {
    case field(EventField)
    case timeNs
    case seq
    case time
    case extra(String)

    /// Parses a column name; KubeArmor field names ignore case, anything else names an extra field.
    public init(name: String) {
        switch name.lowercased() {
        case "timens": self = .timeNs
        case "seq": self = .seq
        case "time": self = .time
        default: self = EventField(key: name).map(EventColumn.field) ?? .extra(name)
        }
    }

    /// Parses `A,B,C`.
    public static func list(_ text: String) -> [EventColumn] {
        text.split(separator: ",").map { EventColumn(name: $0.trimmingCharacters(in: .whitespaces)) }
    }

    public var description: String {
        switch self {
        case .field(let f): return f.rawValue
        case .timeNs: return "TimeNs"
        case .seq: return "Seq"
        case .time: return "Time"
        case .extra(let key): return key
        }
    }

    /// The value as text: numbers in decimal, extra string values unquoted, other extras as JSON.
    public func value(of event: Event) -> String {
        switch self {
        case .field(let f): return event.string(f)
        case .timeNs: return String(event.timeNs)
        case .seq: return String(event.seq)
        case .time: return UnixTime.rfc3339Micro(event.timeNs)
        case .extra(let key):
            guard let json = event.extra(key) else { return "" }
            return Self.unquoted(json)
        }
    }

    /// A JSON string literal's text, or the JSON itself for numbers, objects and arrays.
    static func unquoted(_ json: String) -> String {
        guard json.hasPrefix("\"") else { return json }
        if !json.contains("\\") { return String(json.dropFirst().dropLast()) }
        let decoded = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        return decoded as? String ?? json
    }

    /// The default columns of the `table` format.
    public static let tableDefault: [EventColumn] = [
        .time, .field(.hostName), .field(.hostPID), .field(.processName), .field(.operation), .field(.resource),
        .field(.result), .field(.policyName),
    ]
}

/// Makes text safe for a terminal: control characters, escape sequences and line breaks become
/// visible escapes (`\n`, `\t`, `\x1b`, `\u{85}`), so hostile paths and commands cannot move the cursor,
/// change colours or forge lines. A backslash is doubled, so a name that spells `\x1b` out cannot pass
/// for one that holds an escape character.
public enum TerminalSafe {
    public static func text(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for scalar in s.unicodeScalars {
            guard needsEscape(scalar) else { out.unicodeScalars.append(scalar); continue }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            default:
                out += scalar.value < 0x80 ? String(format: "\\x%02x", scalar.value) : String(format: "\\u{%x}", scalar.value)
            }
        }
        return out
    }

    private static func needsEscape(_ c: Unicode.Scalar) -> Bool {
        c.value < 0x20 || c == "\\" || c.value == 0x7F || (0x80...0x9F).contains(c.value) || c == "\u{2028}" || c == "\u{2029}"
            || c == "\u{FEFF}" || c == "\u{061C}" || (0x200B...0x200F).contains(c.value) || (0x202A...0x202E).contains(c.value)
            || (0x2066...0x2069).contains(c.value)
    }
}
