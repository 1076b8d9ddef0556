import EventModel
import EventStore
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
        case .time: return UnixTime.shown(event.timeNs)
        case .extra(let key):
            guard let json = event.extra(key) else { return "" }
            return Self.unquoted(json)
        }
    }

    /// The value at `row` of `batch`, as ``value(of:)`` writes it for the row's event.
    public func value(in batch: ColumnBatch, row: Int) -> String {
        switch self {
        case .field(let field):
            switch ColumnBatch.place(of: field) {
            case .contextNumber(let f): return String(batch.number(f, context: Int(batch.contextIDs[row])))
            case .timestamp: return String(batch.timestamps[row])
            case .updatedTime: return batch.updatedTime(row: row)
            case .contextString, .verdictString, .rowString: return batch.string(batch.stringID(field, row: row)!)
            }
        case .timeNs: return String(batch.timeNs[row])
        case .time: return UnixTime.shown(batch.timeNs[row])
        case .seq: return String(batch.firstSeq &+ UInt64(row))
        case .extra(let key):
            guard let id = batch.extraValueID(key, set: batch.extrasIDs[row]) else { return "" }
            return Self.unquoted(batch.string(id))
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
