import Foundation
import Yams

/// Reads KubeArmor policy YAML from files, directories (recursively) or text.
///
/// Every YAML document is loaded or rejected on its own, so one invalid policy does not hide the
/// others in the same file; a YAML syntax error rejects the rest of its file (the documents before it
/// still load). Documents are validated as the CRDs and the Kubernetes API server (with kubectl's
/// default strict field validation) would: see ``PolicyRejection``.
public enum PolicyLoader {
    /// Loads every `.yaml`/`.yml` file under each path (a file is read whatever its name); directories
    /// are walked recursively in byte order of their paths, so results are stable.
    public static func load(paths: [String]) -> PolicyLoadResult {
        var result = PolicyLoadResult()
        for path in paths {
            for file in policyFiles(at: path, into: &result) {
                let contents: String
                do throws(PolicyRejection) {
                    contents = try PolicyYAMLScreen.read(file)
                } catch {
                    result.rejections.append(error)
                    continue
                }
                result.append(load(yaml: contents, file: file))
            }
        }
        return result
    }

    /// Loads the documents of one YAML text; `file` names it in locations and rejections. Text that
    /// ``PolicyYAMLScreen`` refuses (too large, anchors or aliases, too many nodes) loads nothing from
    /// that point on.
    public static func load(yaml: String, file: String) -> PolicyLoadResult {
        var result = PolicyLoadResult()
        result.files = [file]
        var documents: YamlSequence<Node>
        do {
            try PolicyYAMLScreen.screen(yaml, file: file)
            documents = try Yams.compose_all(yaml: yaml)
        } catch let refused as PolicyRejection {
            result.rejections.append(refused)
            return result
        } catch {
            result.rejections.append(syntaxRejection(error, file: file))
            return result
        }
        var nodes = 0
        while let document = documents.next() {
            nodes += PolicyYAMLScreen.nodeCount(document, upTo: PolicyYAMLScreen.maxNodes - nodes)
            guard nodes <= PolicyYAMLScreen.maxNodes else {
                result.rejections.append(PolicyRejection(
                    file: file, line: document.mark?.line ?? 0, category: .refusedYAML,
                    reason: "more than \(PolicyYAMLScreen.maxNodes) YAML nodes in the file; the rest of it is not read"))
                return result
            }
            switch PolicyDocumentParser(file: file).parse(document) {
            case .policy(let policy): result.policies.append(policy)
            case .rejected(let rejection): result.rejections.append(rejection)
            case .empty: break
            }
        }
        if let error = documents.error {
            result.rejections.append(syntaxRejection(error, file: file))
        }
        return result
    }

    /// The files to read under `path`, sorted; a path that does not exist becomes a rejection.
    private static func policyFiles(at path: String, into result: inout PolicyLoadResult) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            result.rejections.append(PolicyRejection(file: path, line: 0, category: .unreadable,
                                                     reason: "no such file or directory"))
            return []
        }
        guard isDirectory.boolValue else { return [path] }
        let base = path.hasSuffix("/") ? path : path + "/"
        let names = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
        return names
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .map { base + $0 }
            .filter { name in
                var nested: ObjCBool = false
                return FileManager.default.fileExists(atPath: name, isDirectory: &nested) && !nested.boolValue
            }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// libyaml's complaint as a rejection at its line.
    private static func syntaxRejection(_ error: any Error, file: String) -> PolicyRejection {
        guard let yamlError = error as? YamlError else {
            return PolicyRejection(file: file, line: 0, category: .yamlSyntax, reason: "\(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text): " } ?? ""
            return PolicyRejection(file: file, line: mark.line, category: .yamlSyntax,
                                   reason: "invalid YAML: \(prefix)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PolicyRejection(file: file, line: context.mark.line, category: .yamlSyntax,
                                   reason: "invalid YAML: duplicate key \(duplicates.joined(separator: ", ")) in a mapping")
        case .reader(let problem, _, _, _):
            return PolicyRejection(file: file, line: 0, category: .yamlSyntax, reason: "invalid YAML: \(problem)")
        default:
            return PolicyRejection(file: file, line: 0, category: .yamlSyntax, reason: "invalid YAML: \(yamlError)")
        }
    }
}

/// The policies read from a set of files and the documents rejected, in reading order.
public struct PolicyLoadResult: Sendable {
    public var policies: [KubeArmorPolicy] = []
    public var rejections: [PolicyRejection] = []
    /// The files read.
    public var files: [String] = []

    public init() {}

    mutating func append(_ other: PolicyLoadResult) {
        policies += other.policies
        rejections += other.rejections
        files += other.files
    }
}

/// A YAML document (or file) that did not load, with where and why: `FILE:LINE: reason`.
public struct PolicyRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the document was not loaded.
    public enum Category: String, Sendable, Hashable {
        /// The file could not be read (line 0).
        case unreadable
        /// The YAML itself is malformed (libyaml's message); the rest of the file is not read.
        case yamlSyntax
        /// YAML refused before it is checked as policies: larger than the size or node limit, or with
        /// anchors or aliases (see ``PolicyYAMLScreen``); the rest of the file is not read.
        case refusedYAML
        /// A KubeArmor policy that the CRD or the API server would refuse.
        case invalid
        /// A KubeArmor kind rearview does not evaluate (`KubeArmorNetworkPolicy`).
        case unsupportedKind
        /// A document that is not a KubeArmor security policy at all (a Deployment, …).
        case notAPolicy
    }

    public var file: String
    /// 1-based line of the offending node; 0 when the whole file is concerned.
    public var line: Int
    public var category: Category
    public var reason: String

    public init(file: String, line: Int, category: Category, reason: String) {
        self.file = file
        self.line = line
        self.category = category
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}
