import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The OCSF schema as its source files define it (classes, objects, dictionary), resolved the way the
/// OCSF server resolves them (`extends`, `$include`, profiles), and a validator for events.
struct OCSFSchema {
    /// An attribute of a class or object: the dictionary's definition merged with the class's or
    /// object's own, and the profile it comes from (nil: always part of the class).
    struct Attribute {
        var requirement: String?
        var type: String
        var isArray: Bool
        var enumValues: [String: String]?
        var profile: String?
    }

    /// A class or object: its attributes and `at_least_one` constraint.
    struct Definition {
        var name: String
        var attributes: [String: Attribute]
        var atLeastOne: [String]
        var classUID: Int?
        var categoryUID: Int?
    }

    let root: String
    private var dictionary: [String: JSONValue] = [:]
    private var baseTypes: [String: String] = [:]
    private(set) var classes: [Int: Definition] = [:]
    private var objects: [String: Definition] = [:]

    init(root: String) throws {
        self.root = root
        let dictionaryFile = try Self.load(root + "/dictionary.json")
        if case .object(let members)? = dictionaryFile["attributes"] {
            for (key, value) in members { dictionary[key] = value }
        }
        if case .object(let types)? = dictionaryFile["types"]?["attributes"] {
            for (name, type) in types { if case .string(let base)? = type["type"] { baseTypes[name] = base } }
        }
        var categories: [String: Int] = [:]
        if case .object(let members)? = try Self.load(root + "/categories.json")["attributes"] {
            for (name, category) in members { if case .integer(let uid)? = category["uid"] { categories[name] = Int(uid) } }
        }
        // Event classes: every file under events/ with a uid.
        for file in try Self.files(under: root + "/events") {
            let source = try Self.load(file)
            guard case .integer(let uid)? = source["uid"] else { continue }
            var definition = try resolve(source, kind: "events")
            let category = try category(of: source, kind: "events")
            definition.categoryUID = categories[category]
            definition.classUID = categories[category].map { $0 * 1000 + Int(uid) }
            classes[definition.classUID!] = definition
        }
        for file in try Self.files(under: root + "/objects") {
            let definition = try resolve(try Self.load(file), kind: "objects")
            objects[definition.name] = definition
        }
    }

    // MARK: loading

    private static func load(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw SchemaError("cannot read \(path)") }
        return try JSONValue.parse([UInt8](data))
    }

    private static func files(under directory: String) throws -> [String] {
        let items = try FileManager.default.subpathsOfDirectory(atPath: directory)
        return items.filter { $0.hasSuffix(".json") }.map { directory + "/" + $0 }
    }

    /// The source file of the class or object named `name` (files are found by their `name`).
    private func source(named name: String, kind: String) throws -> JSONValue {
        for file in try Self.files(under: root + "/" + kind) {
            let source = try Self.load(file)
            if source["name"] == .string(name) { return source }
        }
        throw SchemaError("no \(kind) definition named \(name) in the vendored schema")
    }

    private func category(of source: JSONValue, kind: String) throws -> String {
        if case .string(let category)? = source["category"] { return category }
        guard case .string(let parent)? = source["extends"] else { return "other" }
        return try category(of: try self.source(named: parent, kind: kind), kind: kind)
    }

    /// A definition with its parents' attributes, its includes', and the dictionary's types.
    private func resolve(_ source: JSONValue, kind: String) throws -> Definition {
        guard case .string(let name)? = source["name"] else { throw SchemaError("a \(kind) file without a name") }
        var merged: [String: [(key: String, value: JSONValue)]] = [:]
        var profiles: [String: String] = [:]
        var atLeastOne: [String] = []
        try collect(source, kind: kind, into: &merged, profiles: &profiles, atLeastOne: &atLeastOne)
        var attributes: [String: Attribute] = [:]
        for (attribute, overrides) in merged {
            guard let entry = dictionary[attribute], case .string(let type)? = entry["type"] else {
                throw SchemaError("\(name).\(attribute) is not in the dictionary")
            }
            var definition = Attribute(requirement: nil, type: type, isArray: entry["is_array"] == .bool(true),
                                       enumValues: Self.enumValues(entry["enum"]), profile: profiles[attribute])
            for (key, value) in overrides {
                switch key {
                case "requirement": if case .string(let r) = value { definition.requirement = r }
                // Enum values accumulate down the hierarchy (a class adds its activities to 0 Unknown and 99 Other).
                case "enum": definition.enumValues = (definition.enumValues ?? [:]).merging(Self.enumValues(value) ?? [:]) { $1 }
                case "type": if case .string(let t) = value { definition.type = t }
                default: break
                }
            }
            attributes[attribute] = definition
        }
        return Definition(name: name, attributes: attributes, atLeastOne: atLeastOne)
    }

    private func collect(_ source: JSONValue, kind: String, into merged: inout [String: [(key: String, value: JSONValue)]],
                         profiles: inout [String: String], atLeastOne: inout [String]) throws {
        if case .string(let parent)? = source["extends"] {
            try collect(try self.source(named: parent, kind: kind), kind: kind, into: &merged, profiles: &profiles, atLeastOne: &atLeastOne)
        }
        if case .array(let names)? = source["constraints"]?["at_least_one"] {
            atLeastOne = names.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        guard case .object(let members)? = source["attributes"] else { return }
        for (key, value) in members {
            if key == "$include" {
                let includes: [JSONValue] = if case .array(let list) = value { list } else { [value] }
                for case .string(let path) in includes {
                    let included = try Self.load(root + "/" + path)
                    let profile: String? = if included["meta"] == .string("profile"), case .string(let p)? = included["name"] { p } else { nil }
                    let before = Set(merged.keys)
                    try collect(included, kind: kind, into: &merged, profiles: &profiles, atLeastOne: &atLeastOne)
                    if let profile {
                        for attribute in merged.keys where !before.contains(attribute) { profiles[attribute] = profile }
                    }
                }
                continue
            }
            guard case .object(let overrides) = value else { continue }
            merged[key, default: []] += overrides
        }
    }

    private static func enumValues(_ value: JSONValue?) -> [String: String]? {
        guard case .object(let members)? = value else { return nil }
        var values: [String: String] = [:]
        for (id, item) in members { values[id] = if case .string(let caption)? = item["caption"] { caption } else { "" } }
        return values
    }

    // MARK: validation

    /// What is wrong with an event, one message per problem (empty: valid).
    func problems(_ event: JSONValue) -> [String] {
        var problems: [String] = []
        guard case .integer(let classUID)? = event["class_uid"], let definition = classes[Int(classUID)] else {
            return ["class_uid missing or not a vendored class"]
        }
        var profiles: Set<String> = []
        if case .array(let names)? = event.at("metadata.profiles") {
            for case .string(let name) in names { profiles.insert(name) }
        }
        if case .integer(let activity)? = event["activity_id"], event["type_uid"] != .integer(classUID * 100 + activity) {
            problems.append("type_uid is not class_uid × 100 + activity_id")
        }
        if event["category_uid"] != definition.categoryUID.map({ .integer(Int64($0)) }) {
            problems.append("category_uid does not match class \(definition.name)")
        }
        check(event, against: definition, path: definition.name, profiles: profiles, into: &problems)
        return problems
    }

    private func check(_ value: JSONValue, against definition: Definition, path: String, profiles: Set<String>,
                       into problems: inout [String]) {
        guard case .object(let members) = value else { return problems.append("\(path): not an object") }
        let present = Set(members.map(\.key))
        for (name, attribute) in definition.attributes where attribute.requirement == "required" && !present.contains(name) {
            if let profile = attribute.profile, !profiles.contains(profile) { continue }
            problems.append("\(path).\(name): required attribute missing")
        }
        if !definition.atLeastOne.isEmpty && present.isDisjoint(with: definition.atLeastOne) {
            problems.append("\(path): needs at least one of \(definition.atLeastOne)")
        }
        for (name, member) in members {
            guard let attribute = definition.attributes[name] else {
                problems.append("\(path).\(name): not an attribute of \(definition.name)")
                continue
            }
            if let profile = attribute.profile, !profiles.contains(profile) {
                problems.append("\(path).\(name): belongs to profile \(profile), not listed in metadata.profiles")
            }
            if attribute.isArray {
                guard case .array(let items) = member else {
                    problems.append("\(path).\(name): expected an array")
                    continue
                }
                for (index, item) in items.enumerated() {
                    check(item, attribute, path: "\(path).\(name)[\(index)]", profiles: profiles, into: &problems)
                }
            } else {
                check(member, attribute, path: "\(path).\(name)", profiles: profiles, into: &problems)
            }
        }
        // An id and its caption sibling must agree (activity_id/activity_name, status_id/status, …).
        for (name, member) in members where name.hasSuffix("_id") {
            guard case .integer(let id) = member, id != 99, let captions = definition.attributes[name]?.enumValues,
                  let sibling = dictionary[name]?["sibling"], case .string(let siblingName) = sibling,
                  case .string(let caption)? = value[siblingName] else { continue }
            if captions[String(id)] != caption { problems.append("\(path).\(siblingName): \(caption) does not match \(name) \(id)") }
        }
    }

    private func check(_ value: JSONValue, _ attribute: Attribute, path: String, profiles: Set<String>, into problems: inout [String]) {
        // class_uid and category_uid are checked against the class itself (the server generates their enums).
        if let values = attribute.enumValues, !path.hasSuffix(".class_uid"), !path.hasSuffix(".category_uid") {
            let key: String? = switch value {
            case .integer(let i): String(i)
            case .string(let s): s
            default: nil
            }
            if key.flatMap({ values[$0] }) == nil { problems.append("\(path): \(value.text) is not one of its enum values") }
        }
        if attribute.type == "object" {
            if case .object = value {} else { problems.append("\(path): expected an object") }
            return
        }
        if !attribute.type.hasSuffix("_t") {
            guard let object = objects[attribute.type] else {
                return problems.append("\(path): object \(attribute.type) is not vendored")
            }
            return check(value, against: object, path: path, profiles: profiles, into: &problems)
        }
        var type = attribute.type
        while let base = baseTypes[type], !["string_t", "integer_t", "long_t", "float_t", "boolean_t", "json_t"].contains(type) {
            if type == "ip_t", case .string(let text) = value, !Self.isIP(text) { problems.append("\(path): \(text) is not an IP address") }
            if type == "port_t", case .integer(let port) = value, !(0...65535).contains(port) { problems.append("\(path): port out of range") }
            type = base
        }
        let ok: Bool = switch (type, value) {
        case ("string_t", .string): true
        case ("integer_t", .integer(let i)): Int64(Int32.min)...Int64(Int32.max) ~= i
        case ("long_t", .integer): true
        case ("float_t", .integer), ("float_t", .fraction): true
        case ("boolean_t", .bool): true
        case ("json_t", _): true
        default: false
        }
        if !ok { problems.append("\(path): \(value.text) is not a \(attribute.type)") }
    }

    static func isIP(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }
}

struct SchemaError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
