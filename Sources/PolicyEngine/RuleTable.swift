/// The rules of every policy that applies to one kind of workload, merged and indexed, so that
/// matching an event costs about the same for one policy as for a hundred.
///
/// Process and file rules are looked up by path (``PathRuleIndex``); network and capability rules
/// are few and scanned; the allow-list flags say which kinds of operation fall to a default posture.
final class RuleTable: Sendable {
    /// Indices (into ``PolicySet/policies``) of the policies merged here.
    let policyIndices: [Int]
    let rules: [CompiledRule]
    /// Per rule, ``SourceHash`` of its `fromSource` executable, or 0 for a rule without one: the
    /// matcher compares these before touching a rule.
    let sourceHashes: [UInt64]
    let process: PathRuleIndex
    let file: PathRuleIndex
    let sockets: SocketRuleIndex
    let capabilityRules: [Int32]
    let syscallRules: [CompiledSyscallRule]
    /// An `Allow` process or file rule exists: processes and files share one allow list and one posture
    /// (KubeArmor's `existFileAllowPolicy`, and AppArmor's profile, which has one `file` default).
    let fileAllowList: Bool
    /// An `Allow` protocol rule (or `net_raw` capability rule) exists.
    let networkAllowList: Bool
    /// An `Allow` capability rule exists.
    let capabilityAllowList: Bool

    init(policyIndices: [Int], policies: [CompiledPolicy]) {
        self.policyIndices = policyIndices
        var rules: [CompiledRule] = []
        var processRules: [(Int32, PathRule.Target, AppArmorGlob?)] = []
        var fileRules: [(Int32, PathRule.Target, AppArmorGlob?)] = []
        var socketRules: [(Int32, ProtocolSelector)] = []
        var capabilityRules: [Int32] = []
        var syscallRules: [CompiledSyscallRule] = []
        var fileAllowList = false, networkAllowList = false, capabilityAllowList = false
        for index in policyIndices {
            for rule in policies[index].rules {
                let id = Int32(rules.count)
                rules.append(rule)
                let allows = rule.action == .allow
                switch rule.target {
                case .process(let target, let glob):
                    processRules.append((id, target, glob))
                    fileAllowList = fileAllowList || allows
                case .file(let target, let glob):
                    fileRules.append((id, target, glob))
                    fileAllowList = fileAllowList || allows
                case .socket(let selector):
                    socketRules.append((id, selector))
                    networkAllowList = networkAllowList || allows
                case .capability:
                    capabilityRules.append(id)
                    capabilityAllowList = capabilityAllowList || allows
                }
            }
            syscallRules += policies[index].syscallRules
        }
        self.rules = rules
        self.sourceHashes = rules.map { $0.fromSource.map(SourceHash.of) ?? 0 }
        self.process = PathRuleIndex(processRules)
        self.file = PathRuleIndex(fileRules)
        self.sockets = SocketRuleIndex(socketRules)
        self.capabilityRules = capabilityRules
        self.syscallRules = syscallRules
        self.fileAllowList = fileAllowList
        self.networkAllowList = networkAllowList
        self.capabilityAllowList = capabilityAllowList
    }
}

/// Network rules by the socket type or protocol they name.
struct SocketRuleIndex: Sendable {
    private let byProtocol: [[Int32]]
    private let byType: [[Int32]]
    /// `all`: every socket with a known type.
    private let anyType: [Int32]
    let isEmpty: Bool

    init(_ rules: [(id: Int32, selector: ProtocolSelector)]) {
        var byProtocol = Array(repeating: [Int32](), count: SocketFacts.IPProtocol.allCases.count)
        var byType = Array(repeating: [Int32](), count: SocketFacts.SocketType.allCases.count)
        var anyType: [Int32] = []
        for (id, selector) in rules {
            switch selector {
            case .ipProtocol(let value): byProtocol[SocketFacts.IPProtocol.allCases.firstIndex(of: value)!].append(id)
            case .socketType(let value): byType[SocketFacts.SocketType.allCases.firstIndex(of: value)!].append(id)
            case .any: anyType.append(id)
            case .none: continue
            }
        }
        self.byProtocol = byProtocol
        self.byType = byType
        self.anyType = anyType
        self.isEmpty = rules.isEmpty
    }

    /// Appends the rules that name `socket`'s protocol or type, and `all` rules for a socket of known type.
    func collect(_ socket: SocketFacts, into out: inout [Int32]) {
        if let value = socket.ipProtocol { out += byProtocol[SocketFacts.IPProtocol.allCases.firstIndex(of: value)!] }
        if let value = socket.type {
            out += byType[SocketFacts.SocketType.allCases.firstIndex(of: value)!]
            out += anyType
        }
    }
}

/// FNV-1a of an executable's path, 0 reserved for "no source".
enum SourceHash {
    static func of(_ path: String) -> UInt64 {
        let hash = path.utf8.withContiguousBuffer(PathHash.of)
        return hash == 0 ? 1 : hash
    }
}

/// Process or file rules indexed by what they name: exact paths and executable names in hash tables,
/// directories in a table probed at every `/` of the path, patterns in a table of the directories
/// their literal prefixes name (so a pattern is only tried on paths under that directory).
final class PathRuleIndex: Sendable {
    private struct DirectoryRules: Sendable {
        var recursive: [Int32] = []
        var direct: [Int32] = []
    }

    private let exact: PathTable<[Int32]>
    private let execNames: PathTable<[Int32]>
    private let directories: PathTable<DirectoryRules>
    private let patterns: [(glob: AppArmorGlob, rule: Int32)]
    /// Indices into `patterns`, by the directory part of each pattern's literal prefix.
    private let patternDirectories: PathTable<[Int]>
    /// Indices into `patterns` whose literal prefix names no directory (relative patterns).
    private let undirectedPatterns: [Int]
    let isEmpty: Bool

    init(_ rules: [(id: Int32, target: PathRule.Target, glob: AppArmorGlob?)]) {
        var exact: [([UInt8], [Int32])] = []
        var execNames: [([UInt8], [Int32])] = []
        var directories: [([UInt8], DirectoryRules)] = []
        var patterns: [(AppArmorGlob, Int32)] = []
        var patternDirectories: [([UInt8], [Int])] = []
        var undirectedPatterns: [Int] = []
        for (id, target, glob) in rules {
            switch target {
            case .path(let path): exact.append((Array(path.utf8), [id]))
            case .execName(let name): execNames.append((Array(name.utf8), [id]))
            case .directory(let directory, let recursive):
                directories.append((Array(directory.utf8),
                                    recursive ? DirectoryRules(recursive: [id]) : DirectoryRules(direct: [id])))
            case .pattern:
                guard let glob else { continue }
                if let slash = glob.literalPrefix.lastIndex(of: UInt8(ascii: "/")) {
                    patternDirectories.append((Array(glob.literalPrefix[...slash]), [patterns.count]))
                } else {
                    undirectedPatterns.append(patterns.count)
                }
                patterns.append((glob, id))
            }
        }
        self.exact = PathTable(exact.map { (key: $0.0, payload: $0.1) }, merge: { $0 += $1 })
        self.execNames = PathTable(execNames.map { (key: $0.0, payload: $0.1) }, merge: { $0 += $1 })
        self.directories = PathTable(directories.map { (key: $0.0, payload: $0.1) }, merge: {
            $0.recursive += $1.recursive
            $0.direct += $1.direct
        })
        self.patterns = patterns
        self.patternDirectories = PathTable(patternDirectories.map { (key: $0.0, payload: $0.1) }, merge: { $0 += $1 })
        self.undirectedPatterns = undirectedPatterns
        self.isEmpty = rules.isEmpty
    }

    /// Appends to `out` every rule whose target names `path`, as KubeArmor's `matchResources` decides:
    /// a `path` equal to it; an `execname` equal to its last component; a directory that contains it
    /// directly, or at any depth when recursive, or that is the path itself (`/etc/` names `/etc`); a
    /// pattern matching `path` or, for executions, the command line `alsoForPatterns`.
    func collect(path: String, alsoForPatterns commandLine: String? = nil, into out: inout [Int32]) {
        guard !isEmpty else { return }
        path.utf8.withContiguousBuffer { bytes in
            var hash = PathHash.seed
            var lastSlash = -1
            var directoryAtLastSlash: Int?
            for i in 0..<bytes.count {
                hash = PathHash.step(hash, bytes[i])
                guard bytes[i] == UInt8(ascii: "/") else { continue }
                lastSlash = i
                directoryAtLastSlash = nil
                if !directories.isEmpty,
                   let entry = directories.find(hash: hash, key: UnsafeBufferPointer(rebasing: bytes[...i])) {
                    out += directories.payloads[entry].recursive
                    directoryAtLastSlash = entry
                }
                if !patternDirectories.isEmpty {
                    collectPatterns(at: i, hash: hash, bytes, path, into: &out)
                }
            }
            if let entry = directoryAtLastSlash {
                out += directories.payloads[entry].direct
            }
            if !directories.isEmpty, lastSlash != bytes.count - 1,
               let entry = directories.find(hash: PathHash.step(hash, UInt8(ascii: "/")), key: bytes, trailingSlash: true) {
                out += directories.payloads[entry].recursive + directories.payloads[entry].direct
            }
            if !exact.isEmpty, let entry = exact.find(hash: hash, key: bytes) {
                out += exact.payloads[entry]
            }
            if !execNames.isEmpty {
                let name = UnsafeBufferPointer(rebasing: bytes[(lastSlash + 1)...])
                if let entry = execNames.find(hash: PathHash.of(name), key: name) {
                    out += execNames.payloads[entry]
                }
            }
            for index in undirectedPatterns where patterns[index].glob.matches(bytes, path) {
                out.append(patterns[index].rule)
            }
        }
        if let commandLine, !patterns.isEmpty {
            collectPatterns(in: commandLine, into: &out)
        }
    }

    /// The patterns whose literal directory is `subject[...slash]` and that match the whole subject.
    @inline(__always)
    private func collectPatterns(at slash: Int, hash: UInt64, _ bytes: UnsafeBufferPointer<UInt8>, _ subject: String,
                                 into out: inout [Int32]) {
        guard let entry = patternDirectories.find(hash: hash, key: UnsafeBufferPointer(rebasing: bytes[...slash])) else {
            return
        }
        for index in patternDirectories.payloads[entry] where patterns[index].glob.matches(bytes, subject) {
            out.append(patterns[index].rule)
        }
    }

    /// Patterns only, against another subject (an execution's command line).
    private func collectPatterns(in subject: String, into out: inout [Int32]) {
        subject.utf8.withContiguousBuffer { bytes in
            var hash = PathHash.seed
            for i in 0..<bytes.count {
                hash = PathHash.step(hash, bytes[i])
                if bytes[i] == UInt8(ascii: "/") && !patternDirectories.isEmpty {
                    collectPatterns(at: i, hash: hash, bytes, subject, into: &out)
                }
            }
            for index in undirectedPatterns where patterns[index].glob.matches(bytes, subject) {
                out.append(patterns[index].rule)
            }
        }
    }
}
