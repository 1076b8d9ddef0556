import Investigation
import Yams

/// Reads the fields of one YAML mapping the way the Kubernetes API server reads a custom resource:
/// typed (`"5"` is not an integer), `null` meaning absent, and with every field it was not asked for
/// reported as unknown (kubectl's default strict field validation) by ``finish()``.
///
/// Failures are ``PolicyRejection``s at the line of the offending node, worded
/// `spec.process.matchPaths[0].path: what is wrong`.
struct YAMLObjectReader {
    let file: String
    /// The field path of this object (`spec.process`), empty for the document root.
    let path: String
    /// The line of the mapping (or of the `null` that stands for an empty one).
    let line: Int
    private let pairs: [(key: String, keyLine: Int, value: Node)]
    private var used: Set<String> = []

    /// Reads `node` as a mapping; `null` reads as an empty mapping.
    init(_ node: Node, path: String, file: String) throws(PolicyRejection) {
        self.file = file
        self.path = path
        self.line = node.mark?.line ?? 0
        switch node {
        case .mapping(let mapping):
            var pairs: [(String, Int, Node)] = []
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else {
                    throw PolicyRejection(file: file, line: key.mark?.line ?? line, category: .invalid,
                                          reason: "\(path.isEmpty ? "document" : path): keys must be strings")
                }
                pairs.append((scalar.string, key.mark?.line ?? line, value))
            }
            self.pairs = pairs
        case .scalar where node.tagName == .null:
            self.pairs = []
        default:
            throw PolicyRejection(file: file, line: line, category: .invalid,
                                  reason: "\(path.isEmpty ? "document" : path): must be an object")
        }
    }

    /// An object with no fields, standing for one that is absent (`spec` of a document without one).
    init(emptyAt path: String, line: Int, file: String) {
        self.file = file
        self.path = path
        self.line = line
        self.pairs = []
    }

    /// The path of `key` inside this object.
    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A rejection for `key` (or for the object itself when nil), at that field's line.
    func failure(_ key: String?, _ reason: String) -> PolicyRejection {
        let entry = key.flatMap { name in pairs.first { $0.key == name } }
        let where_ = key.map(fieldPath) ?? (path.isEmpty ? "document" : path)
        return PolicyRejection(file: file, line: entry?.value.mark?.line ?? entry?.keyLine ?? line,
                               category: .invalid, reason: "\(where_): \(reason)")
    }

    /// The value of `key`, or nil when it is absent or `null`; marks the key as known.
    mutating func value(_ key: String) -> Node? {
        used.insert(key)
        guard let node = pairs.first(where: { $0.key == key })?.value, node.tagName != .null else { return nil }
        return node
    }

    mutating func string(_ key: String) throws(PolicyRejection) -> String? {
        guard let node = value(key) else { return nil }
        return try scalarString(node, fieldPath(key))
    }

    mutating func requiredString(_ key: String) throws(PolicyRejection) -> String {
        guard let value = try string(key) else {
            // Name what was written instead: a misspelt key is the usual cause.
            let others = pairs.map(\.key).filter { $0 != key && !used.contains($0) }
            let given = others.isEmpty ? "" : " (fields given: \(others.joined(separator: ", ")))"
            throw PolicyRejection(file: file, line: line, category: .invalid,
                                  reason: "\(fieldPath(key)): Required value\(given)")
        }
        return value
    }

    mutating func bool(_ key: String) throws(PolicyRejection) -> Bool? {
        guard let node = value(key) else { return nil }
        guard case .scalar = node, node.tagName == .bool, let value = node.bool else {
            throw failure(key, "must be a boolean, found \(Self.describe(node))")
        }
        return value
    }

    mutating func int(_ key: String) throws(PolicyRejection) -> Int? {
        guard let node = value(key) else { return nil }
        guard case .scalar = node, node.tagName == .int, let value = node.int else {
            throw failure(key, "must be an integer, found \(Self.describe(node))")
        }
        return value
    }

    /// A list of strings (`tags`, `values`, `allowedArgs`, `syscall`).
    mutating func strings(_ key: String) throws(PolicyRejection) -> [String] {
        guard let node = value(key) else { return [] }
        guard case .sequence(let sequence) = node else {
            throw failure(key, "must be a list, found \(Self.describe(node))")
        }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            values.append(try scalarString(item, "\(fieldPath(key))[\(index)]"))
        }
        return values
    }

    /// A nested object, or nil when absent.
    mutating func object(_ key: String) throws(PolicyRejection) -> YAMLObjectReader? {
        guard let node = value(key) else { return nil }
        return try YAMLObjectReader(node, path: fieldPath(key), file: file)
    }

    /// A list of objects (`matchPaths`, `fromSource`, …).
    mutating func objects(_ key: String) throws(PolicyRejection) -> [YAMLObjectReader] {
        guard let node = value(key) else { return [] }
        guard case .sequence(let sequence) = node else {
            throw failure(key, "must be a list, found \(Self.describe(node))")
        }
        var objects: [YAMLObjectReader] = []
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(fieldPath(key))[\(index)]"
            guard case .mapping = item else {
                throw PolicyRejection(file: file, line: item.mark?.line ?? line, category: .invalid,
                                      reason: "\(itemPath): must be an object, found \(Self.describe(item))")
            }
            objects.append(try YAMLObjectReader(item, path: itemPath, file: file))
        }
        return objects
    }

    /// A map of strings to strings (`matchLabels`).
    mutating func stringMap(_ key: String) throws(PolicyRejection) -> [String: String] {
        guard let node = value(key) else { return [:] }
        guard case .mapping(let mapping) = node else {
            throw failure(key, "must be an object, found \(Self.describe(node))")
        }
        var map: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let name) = keyNode else { throw failure(key, "keys must be strings") }
            map[name.string] = try scalarString(valueNode, "\(fieldPath(key)).\(name.string)")
        }
        return map
    }

    /// Fails on the first field (in document order) that no accessor asked for.
    func finish() throws(PolicyRejection) {
        if let unknown = pairs.first(where: { !used.contains($0.key) }) {
            throw PolicyRejection(file: file, line: unknown.keyLine, category: .invalid,
                                  reason: "unknown field \"\(fieldPath(unknown.key))\"")
        }
    }

    // MARK: constraints

    /// Fails unless `value` matches the CRD's `pattern` (and is at most `maxLength` long).
    func check(_ key: String, _ value: String, matches pattern: PCRERegex, maxLength: Int? = nil) throws(PolicyRejection) {
        if let maxLength, value.count > maxLength {
            throw failure(key, "may not be longer than \(maxLength) characters, found \(value.count)")
        }
        guard pattern.matches(value) else {
            throw failure(key, "\"\(value)\" does not match the pattern \(pattern.pattern)")
        }
    }

    /// Fails unless `value` is one of `allowed`.
    func check(_ key: String, _ value: String, isOneOf allowed: [String]) throws(PolicyRejection) {
        guard allowed.contains(value) else {
            throw failure(key, "Unsupported value \"\(value)\": supported values are "
                + allowed.map { "\"\($0)\"" }.joined(separator: ", "))
        }
    }

    // MARK: helpers

    private func scalarString(_ node: Node, _ path: String) throws(PolicyRejection) -> String {
        guard case .scalar(let scalar) = node, [.str, .timestamp].contains(node.tagName) else {
            throw PolicyRejection(file: file, line: node.mark?.line ?? line, category: .invalid,
                                  reason: "\(path): must be a string, found \(Self.describe(node))")
        }
        return scalar.string
    }

    /// How a node reads in a type error: `an integer (5)`, `a list`, …
    private static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "an object"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch node.tagName {
            case .int: return "an integer (\(scalar.string))"
            case .bool: return "a boolean (\(scalar.string))"
            case .float: return "a number (\(scalar.string))"
            case .null: return "null"
            default: return "a string (\"\(scalar.string)\")"
            }
        }
    }
}

extension Node {
    /// The resolved tag (`tag:yaml.org,2002:int`, …): what type a plain scalar reads as under YAML 1.1
    /// rules, as Kubernetes' YAML parser reads it.
    var tagName: Tag.Name { Tag.Name(rawValue: tag.description) }
}
