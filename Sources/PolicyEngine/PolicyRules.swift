/// One section of a spec (`process`, `file`, `capabilities`, `syscalls`, `device`): its rules and the
/// alert fields they inherit.
public struct RuleSection<Rule: Sendable>: Sendable {
    public var rules: [Rule]
    /// The section's own `severity`, `tags`, `message`, `action`, as written.
    public var attributes: AlertAttributes

    public init(rules: [Rule] = [], attributes: AlertAttributes = AlertAttributes()) {
        self.rules = rules
        self.attributes = attributes
    }
}

/// The `network` section: `matchProtocols` and `matchDNSQueries` with their inherited alert fields.
public struct NetworkSection: Sendable {
    public var protocols: [ProtocolRule]
    /// `matchDNSQueries`: loaded, not evaluated (rearview records no DNS queries).
    public var dnsQueries: [DNSQueryRule]
    public var attributes: AlertAttributes

    public init(protocols: [ProtocolRule] = [], dnsQueries: [DNSQueryRule] = [], attributes: AlertAttributes = AlertAttributes()) {
        self.protocols = protocols
        self.dnsQueries = dnsQueries
        self.attributes = attributes
    }
}

/// A `process` or `file` rule: one entry of `matchPaths`, `matchDirectories` or `matchPatterns`.
///
/// The options apply as in the CRD; which ones a section allows is checked by the loader
/// (`readOnly` only for files; `execname` and `allowedArgs` only for processes).
public struct PathRule: Sendable {
    /// What the rule names.
    public enum Target: Sendable, Hashable {
        /// `path`: one file, exactly.
        case path(String)
        /// `execname`: any executable with this file name, in any directory.
        case execName(String)
        /// `dir` (ends with `/`): the files directly in it, or at any depth when `recursive`.
        case directory(String, recursive: Bool)
        /// `pattern`: an AppArmor-style glob.
        case pattern(String)
    }

    public var target: Target
    /// `ownerOnly`: only the owner of the file may access (or execute) it.
    public var ownerOnly: Bool
    /// `readOnly` (files): the rule concerns writes; reads pass.
    public var readOnly: Bool
    /// `pts`: nil when absent. `false` makes the rule concern only processes on a terminal.
    public var pts: Bool?
    /// `fromSource[].path`: the rule concerns only these executables (empty: every process).
    public var fromSource: [String]
    /// `allowedArgs` (process paths): an execution whose every argument is listed is exempt.
    public var allowedArgs: [String]
    /// The alert fields as written on the rule.
    public var declared: AlertAttributes
    /// The alert fields after inheritance.
    public var effective: RuleAttributes
    public var location: PolicyLocation

    public init(target: Target, ownerOnly: Bool = false, readOnly: Bool = false, pts: Bool? = nil,
                fromSource: [String] = [], allowedArgs: [String] = [], declared: AlertAttributes = AlertAttributes(),
                effective: RuleAttributes, location: PolicyLocation) {
        self.target = target
        self.ownerOnly = ownerOnly
        self.readOnly = readOnly
        self.pts = pts
        self.fromSource = fromSource
        self.allowedArgs = allowedArgs
        self.declared = declared
        self.effective = effective
        self.location = location
    }
}

/// A `network.matchProtocols` entry.
///
/// A comma-separated `protocol` (`tcp,udp`) is split into one rule per protocol, but, as in
/// KubeArmor's `ObjCommaExpandFirstDupOthers`, only when the *first* entry of the list has a comma;
/// otherwise the entry keeps the comma and never matches.
public struct ProtocolRule: Sendable {
    /// `protocol` as written (after the comma split): `tcp`, `udp`, `icmp`, `icmpv6`, `sctp`, `raw`,
    /// `stream`, `dgram`, `rdm`, `seqpacket`, `dccp`, `packet`, `all`, in either case.
    public var `protocol`: String
    public var pts: Bool?
    public var fromSource: [String]
    public var declared: AlertAttributes
    public var effective: RuleAttributes
    public var location: PolicyLocation

    public init(protocol: String, pts: Bool? = nil, fromSource: [String] = [], declared: AlertAttributes = AlertAttributes(),
                effective: RuleAttributes, location: PolicyLocation) {
        self.protocol = `protocol`
        self.pts = pts
        self.fromSource = fromSource
        self.declared = declared
        self.effective = effective
        self.location = location
    }
}

/// A `network.matchDNSQueries` entry (loaded, not evaluated).
public struct DNSQueryRule: Sendable {
    public var domain: String
    public var fromSource: [String]
    public var declared: AlertAttributes
    public var effective: RuleAttributes
    public var location: PolicyLocation

    public init(domain: String, fromSource: [String] = [], declared: AlertAttributes = AlertAttributes(),
                effective: RuleAttributes, location: PolicyLocation) {
        self.domain = domain
        self.fromSource = fromSource
        self.declared = declared
        self.effective = effective
        self.location = location
    }
}

/// A `capabilities.matchCapabilities` entry (comma lists split as for ``ProtocolRule``).
public struct CapabilityRule: Sendable {
    /// `capability` as written: `net_raw`, `sys_admin`, … (a `cap_` prefix is allowed).
    public var capability: String
    public var fromSource: [String]
    public var declared: AlertAttributes
    public var effective: RuleAttributes
    public var location: PolicyLocation

    public init(capability: String, fromSource: [String] = [], declared: AlertAttributes = AlertAttributes(),
                effective: RuleAttributes, location: PolicyLocation) {
        self.capability = capability
        self.fromSource = fromSource
        self.declared = declared
        self.effective = effective
        self.location = location
    }
}

/// A `syscalls.matchSyscalls` entry (no ``path``) or `syscalls.matchPaths` entry (with one).
///
/// Syscall rules always audit: KubeArmor ignores any `action` for them.
public struct SyscallRule: Sendable {
    /// `syscall`: lower-case names from the CRD's enum.
    public var syscalls: [String]
    /// `path` of a `matchPaths` entry (a file, or a directory ending in `/`); nil for `matchSyscalls`.
    public var path: String?
    /// `recursive` of a `matchPaths` entry.
    public var recursive: Bool
    public var fromSource: [SyscallSource]
    public var declared: AlertAttributes
    public var effective: RuleAttributes
    public var location: PolicyLocation

    public init(syscalls: [String], path: String? = nil, recursive: Bool = false, fromSource: [SyscallSource] = [],
                declared: AlertAttributes = AlertAttributes(), effective: RuleAttributes, location: PolicyLocation) {
        self.syscalls = syscalls
        self.path = path
        self.recursive = recursive
        self.fromSource = fromSource
        self.declared = declared
        self.effective = effective
        self.location = location
    }
}

/// A syscall rule's `fromSource` entry: an executable `path`, or a `dir` (optionally `recursive`).
public struct SyscallSource: Sendable, Hashable {
    public var path: String?
    public var directory: String?
    public var recursive: Bool

    public init(path: String? = nil, directory: String? = nil, recursive: Bool = false) {
        self.path = path
        self.directory = directory
        self.recursive = recursive
    }
}

/// A host policy's `device.matchDevice` entry (USB devices; loaded, not evaluated).
public struct DeviceRule: Sendable {
    public var deviceClass: String
    public var subClass: Int?
    public var `protocol`: Int?
    public var level: Int?
    public var declared: AlertAttributes
    public var effective: RuleAttributes
    public var location: PolicyLocation

    public init(deviceClass: String, subClass: Int? = nil, protocol: Int? = nil, level: Int? = nil,
                declared: AlertAttributes = AlertAttributes(), effective: RuleAttributes, location: PolicyLocation) {
        self.deviceClass = deviceClass
        self.subClass = subClass
        self.protocol = `protocol`
        self.level = level
        self.declared = declared
        self.effective = effective
        self.location = location
    }
}

/// A `presets` entry (`protectEnv`, `filelessExec`, `exec`, `protectProc`): loaded, not evaluated.
public struct Preset: Sendable, Hashable {
    public var name: String
    public var action: PolicyAction?

    public init(name: String, action: PolicyAction?) {
        self.name = name
        self.action = action
    }
}
