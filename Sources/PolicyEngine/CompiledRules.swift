import EventModel

/// The alert fields a rule raises with, already rendered as KubeArmor prints them (a class: verdicts
/// share it).
final class AlertLabel: Sendable {
    let policyName: String
    /// `"0"` when no severity was declared anywhere, as KubeArmor prints it.
    let severity: String
    /// Tags joined with commas.
    let tags: String
    /// `ATags`: the tags as a compact JSON array; nil when there are none.
    let tagsField: ExtraField?
    let message: String
    /// Which rule raised it, for summaries: section, target, options, source and line, e.g.
    /// `process /usr/bin/ps (line 18)`.
    let rule: String

    init(policyName: String, attributes: RuleAttributes, rule: String) {
        self.policyName = policyName
        self.rule = rule
        self.severity = String(attributes.severity)
        self.tags = attributes.tags.joined(separator: ",")
        self.tagsField = attributes.tags.isEmpty ? nil
            : ExtraField(key: "ATags", json: "[" + attributes.tags.map(KubeArmorJSONWriter.quoted).joined(separator: ",") + "]")
        self.message = attributes.message
    }
}

/// One rule of one policy for one source, as KubeArmor's feeder splits them (`newMatchPolicy`: a rule
/// with several `fromSource` entries becomes one match entry per source). A class, so that the
/// matcher handles references rather than copies.
final class CompiledRule: Sendable {
    /// What the rule matches.
    enum Target: Sendable {
        case process(PathRule.Target, AppArmorGlob?)
        case file(PathRule.Target, AppArmorGlob?)
        case socket(ProtocolSelector)
        /// A capability name, upper case, without `CAP_`.
        case capability(String)
    }

    /// The position in KubeArmor's evaluation order (policies in load order; within one, process,
    /// file, network, capability rules, each in written order, each source in order).
    let order: Int
    let target: Target
    let action: PolicyAction
    let ownerOnly: Bool
    let readOnly: Bool
    /// `pts: false`: the rule concerns processes on a terminal only.
    let terminalOnly: Bool
    /// The executable the rule is limited to (nil: any).
    let fromSource: String?
    let allowedArgs: [String]
    let label: AlertLabel

    init(order: Int, target: Target, action: PolicyAction, ownerOnly: Bool, readOnly: Bool, terminalOnly: Bool,
         fromSource: String?, allowedArgs: [String], label: AlertLabel) {
        self.order = order
        self.target = target
        self.action = action
        self.ownerOnly = ownerOnly
        self.readOnly = readOnly
        self.terminalOnly = terminalOnly
        self.fromSource = fromSource
        self.allowedArgs = allowedArgs
        self.label = label
    }
}

/// A syscall rule split as the feeder splits it: one entry per syscall and per source.
struct CompiledSyscallRule: Sendable {
    /// The syscall name in upper case, as it follows `SYS_` in `Data`.
    let syscall: String
    /// The `matchPaths` path (a file, or a directory ending in `/`); nil for `matchSyscalls`.
    let path: String?
    let pathRecursive: Bool
    /// The source executable, or a directory of executables ending in `/`.
    let source: String?
    let sourceRecursive: Bool
    let label: AlertLabel

    /// The feeder's `Syscall` case of `UpdateMatchedPolicy`: same syscall; a `matchPaths` directory
    /// matches itself and, only when `recursive`, what is under it; a source directory matches the
    /// executables directly in it, or under it when `recursive`.
    func matches(syscall name: Substring, resource: String, source executable: Substring) -> Bool {
        guard name == syscall else { return false }
        if let path {
            if path.hasSuffix("/") {
                guard (pathRecursive && resource.hasPrefix(path)) || path.dropLast() == resource else { return false }
            } else if path != resource {
                return false
            }
        }
        guard let source else { return true }
        if source.hasSuffix("/") && executable.hasPrefix(source) {
            return sourceRecursive || !executable.dropFirst(source.count).contains("/")
        }
        return source == executable
    }
}

/// One policy compiled: which workloads it covers and its rules in evaluation order.
struct CompiledPolicy: Sendable {
    let workloads: WorkloadMatcher
    let kind: PolicyKind
    let rules: [CompiledRule]
    let syscallRules: [CompiledSyscallRule]

    /// Compiles `policy`; its rules are numbered from `firstOrder` on.
    init(_ policy: KubeArmorPolicy, firstOrder: Int) {
        workloads = WorkloadMatcher(policy)
        kind = policy.kind
        var rules: [CompiledRule] = []
        var syscallRules: [CompiledSyscallRule] = []
        // KubeArmor's feeder skips every rule of a policy that carries native AppArmor rules.
        if (policy.spec.appArmor ?? "").isEmpty {
            let name = policy.name
            func add(_ target: CompiledRule.Target, _ attributes: RuleAttributes, sources: [String], ownerOnly: Bool = false,
                     readOnly: Bool = false, pts: Bool? = nil, allowedArgs: [String] = [], describedAs rule: String,
                     line: Int) {
                for source in sources.isEmpty ? [nil] : sources.map(Optional.some) {
                    var words = [rule]
                    if ownerOnly { words.append("ownerOnly") }
                    if readOnly { words.append("readOnly") }
                    if let source { words.append("from \(source)") }
                    words.append("(line \(line))")
                    rules.append(CompiledRule(order: firstOrder + rules.count, target: target, action: attributes.action,
                                              ownerOnly: ownerOnly, readOnly: readOnly, terminalOnly: pts == false,
                                              fromSource: source, allowedArgs: allowedArgs,
                                              label: AlertLabel(policyName: name, attributes: attributes,
                                                                rule: words.joined(separator: " "))))
                }
            }
            for (rule, isProcess) in policy.spec.process.rules.map({ ($0, true) }) + policy.spec.file.rules.map({ ($0, false) }) {
                var glob: AppArmorGlob?
                if case .pattern(let pattern) = rule.target { glob = AppArmorGlob(pattern) }
                add(isProcess ? .process(rule.target, glob) : .file(rule.target, glob), rule.effective,
                    sources: rule.fromSource, ownerOnly: rule.ownerOnly, readOnly: rule.readOnly, pts: rule.pts,
                    allowedArgs: rule.allowedArgs,
                    describedAs: (isProcess ? "process " : "file ") + Self.describe(rule.target), line: rule.location.line)
            }
            for rule in policy.spec.network.protocols {
                add(.socket(ProtocolSelector(rule.protocol)), rule.effective, sources: rule.fromSource, pts: rule.pts,
                    describedAs: "network \(rule.protocol.lowercased())", line: rule.location.line)
            }
            for rule in policy.spec.capabilities.rules {
                let name = Self.capabilityName(rule.capability)
                let described = "capabilities \(rule.capability.lowercased())"
                add(.capability(name), rule.effective, sources: rule.fromSource, describedAs: described,
                    line: rule.location.line)
                // Without BPF-LSM, KubeArmor maps `net_raw` to raw sockets (`getOperationAndCapabilityFromName`).
                if name == "NET_RAW" {
                    add(.socket(.socketType(.raw)), rule.effective, sources: rule.fromSource, describedAs: described,
                        line: rule.location.line)
                }
            }
            for rule in policy.spec.syscalls.rules where rule.path != "" {
                let described = "syscalls \(rule.syscalls.joined(separator: ","))" + (rule.path.map { " \($0)" } ?? "")
                    + " (line \(rule.location.line))"
                let label = AlertLabel(policyName: name, attributes: rule.effective, rule: described)
                let sources: [SyscallSource?] = rule.fromSource.isEmpty ? [nil] : rule.fromSource
                for source in sources {
                    let sourceText: String?
                    if let source {
                        if let path = source.path, !path.isEmpty {
                            sourceText = path
                        } else if let directory = source.directory, !directory.isEmpty {
                            sourceText = directory.hasSuffix("/") ? directory : directory + "/"
                        } else {
                            continue
                        }
                    } else {
                        sourceText = nil
                    }
                    for syscall in rule.syscalls {
                        syscallRules.append(CompiledSyscallRule(
                            syscall: syscall.uppercased(), path: rule.path, pathRecursive: rule.recursive,
                            source: sourceText, sourceRecursive: source.map { $0.path == nil && $0.recursive } ?? false,
                            label: label))
                    }
                }
            }
        }
        self.rules = rules
        self.syscallRules = syscallRules
    }

    /// A path rule's target as written: `/bin/ps`, `execname ps`, `/etc/ recursive`, `pattern /tmp/*`.
    static func describe(_ target: PathRule.Target) -> String {
        switch target {
        case .path(let path): return path
        case .execName(let name): return "execname \(name)"
        case .directory(let directory, let recursive): return recursive ? "\(directory) recursive" : directory
        case .pattern(let pattern): return "pattern \(pattern)"
        }
    }

    /// `net_raw`, `cap_net_raw`, `NET_RAW` → `NET_RAW`.
    static func capabilityName(_ capability: String) -> String {
        let upper = capability.uppercased()
        return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
    }
}
