import EventModel
import Foundation
import Yams

/// ECS's field definitions (the vendored, trimmed `ecs_flat.yml`) and a validator for documents.
struct ECSSchema {
    struct Field {
        var type: String
        var isArray: Bool
        var allowedValues: [String: [String]]?
    }

    private(set) var fields: [String: Field] = [:]

    init(file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let root = try Yams.load(yaml: text) as? [String: [String: Any]] else { throw SchemaError("\(file): not a mapping") }
        for (name, definition) in root {
            var allowed: [String: [String]]?
            if let values = definition["allowed_values"] as? [[String: Any]] {
                allowed = Dictionary(uniqueKeysWithValues: values.map { ($0["name"] as! String, $0["expected_event_types"] as? [String] ?? []) })
            }
            fields[name] = Field(type: definition["type"] as? String ?? "", isArray: (definition["normalize"] as? [String])?.contains("array") ?? false,
                                 allowedValues: allowed)
        }
    }

    /// What is wrong with a document, one message per problem (empty: valid). Fields under
    /// `customNamespace` are rearview's own and are not checked.
    func problems(_ document: JSONValue, customNamespace: String = "kubearmor") -> [String] {
        var problems: [String] = []
        var leaves: [(String, JSONValue)] = []
        func walk(_ value: JSONValue, _ path: String) {
            if case .object(let members) = value, fields[path]?.type != "object", fields[path]?.type != "flattened" {
                for (key, member) in members { walk(member, path.isEmpty ? key : path + "." + key) }
            } else {
                leaves.append((path, value))
            }
        }
        walk(document, "")
        for required in ["@timestamp", "ecs.version"] where !leaves.contains(where: { $0.0 == required }) {
            problems.append("\(required) missing")
        }
        for (path, value) in leaves {
            if path == customNamespace || path.hasPrefix(customNamespace + ".") { continue }
            guard let field = fields[path] else {
                problems.append("\(path): not an ECS field")
                continue
            }
            let values: [JSONValue]
            if case .array(let items) = value {
                if !field.isArray { problems.append("\(path): an array, but ECS does not normalize it to one") }
                values = items
            } else {
                if field.isArray { problems.append("\(path): ECS expects an array") }
                values = [value]
            }
            for item in values {
                if !Self.compatible(item, field.type) { problems.append("\(path): \(item.text) is not a \(field.type)") }
                if let allowed = field.allowedValues, case .string(let name) = item, allowed[name] == nil {
                    problems.append("\(path): \(name) is not an allowed value")
                }
            }
        }
        // Each event.type must be expected for each event.category.
        if case .array(let categories)? = document.at("event.category"), case .array(let types)? = document.at("event.type"),
           let allowed = fields["event.category"]?.allowedValues {
            for case .string(let category) in categories {
                for case .string(let type) in types where !(allowed[category] ?? []).contains(type) {
                    problems.append("event.type \(type) is not expected for event.category \(category)")
                }
            }
        }
        return problems
    }

    static func compatible(_ value: JSONValue, _ type: String) -> Bool {
        // ECS's object fields that documents fill (labels) hold keywords, with unique keys.
        if type == "object", case .object(let members) = value {
            var keys: Set<String> = []
            for member in members {
                guard member.value.isString, keys.insert(member.key).inserted else { return false }
            }
            return true
        }
        switch (type, value) {
        case ("keyword", .string), ("constant_keyword", .string), ("wildcard", .string), ("match_only_text", .string), ("text", .string):
            return true
        case ("long", .integer(_)): return true
        case ("integer", .integer(let i)), ("short", .integer(let i)), ("byte", .integer(let i)):
            return Int64(Int32.min)...Int64(Int32.max) ~= i
        case ("float", .integer), ("float", .fraction), ("scaled_float", .integer), ("scaled_float", .fraction), ("double", .fraction):
            return true
        case ("boolean", .bool): return true
        case ("date", .string(let text)): return UnixTime.parseRFC3339(text) != nil
        case ("ip", .string(let text)): return OCSFSchema.isIP(text)
        default: return false
        }
    }
}
