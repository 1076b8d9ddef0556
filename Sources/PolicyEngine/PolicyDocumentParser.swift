import Yams

/// Turns one composed YAML document into a ``KubeArmorPolicy``, checking it as the CRDs do
/// (required fields, patterns, enums, ranges, the fields each kind allows) and resolving the alert
/// fields every rule inherits.
struct PolicyDocumentParser {
    enum Outcome {
        case policy(KubeArmorPolicy)
        case rejected(PolicyRejection)
        /// An empty document (`---` followed by nothing).
        case empty
    }

    let file: String

    func parse(_ root: Node) -> Outcome {
        if case .scalar = root, root.tagName == .null { return .empty }
        do {
            return .policy(try policy(root))
        } catch {
            return .rejected(error)
        }
    }

    // MARK: document

    private func policy(_ root: Node) throws(PolicyRejection) -> KubeArmorPolicy {
        var top = try YAMLObjectReader(root, path: "", file: file)
        let apiVersion = try top.string("apiVersion")
        let kindName = try top.string("kind")
        guard let kindName, let kind = PolicyKind(rawValue: kindName) else {
            if kindName == "KubeArmorNetworkPolicy" {
                throw PolicyRejection(file: file, line: top.line, category: .unsupportedKind,
                                      reason: "KubeArmorNetworkPolicy is not evaluated: it filters packets by address "
                                          + "and port, which rearview does not record")
            }
            throw PolicyRejection(file: file, line: top.line, category: .notAPolicy,
                                  reason: "kind \(kindName.map { "\"\($0)\"" } ?? "(none)") is not a KubeArmor security policy")
        }
        guard apiVersion == PolicySchema.apiVersion else {
            throw top.failure("apiVersion", "no kind \"\(kind.rawValue)\" is registered for version \"\(apiVersion ?? "")\""
                + " (expected \(PolicySchema.apiVersion))")
        }
        let location = PolicyLocation(file: file, line: top.line)
        guard var metadata = try top.object("metadata") else {
            throw PolicyRejection(file: file, line: top.line, category: .invalid, reason: "metadata.name: Required value")
        }
        let name = try metadata.requiredString("name")
        try metadata.check("name", name, matches: PolicySchema.objectName, maxLength: PolicySchema.objectNameMaxLength)
        let namespace = try metadata.string("namespace")
        if let namespace {
            try metadata.check("namespace", namespace, matches: PolicySchema.namespaceName,
                               maxLength: PolicySchema.namespaceNameMaxLength)
        }
        _ = try metadata.stringMap("labels")
        _ = try metadata.stringMap("annotations")
        for field in PolicySchema.objectMetaFields where !["name", "namespace", "labels", "annotations"].contains(field) {
            _ = metadata.value(field)
        }
        try metadata.finish()
        let spec = try self.spec(top.object("spec") ?? YAMLObjectReader(emptyAt: "spec", line: top.line, file: file),
                                 kind: kind)
        _ = try top.object("status")
        try top.finish()
        return KubeArmorPolicy(kind: kind, name: name, namespace: kind == .kubeArmorPolicy ? namespace : nil,
                               spec: spec, location: location)
    }

    private func spec(_ reader: YAMLObjectReader, kind: PolicyKind) throws(PolicyRejection) -> PolicySpec {
        var reader = reader
        let attributes = try self.attributes(&reader, allowsAction: true)
        var spec = PolicySpec(attributes: attributes)
        switch kind {
        case .kubeArmorPolicy, .kubeArmorClusterPolicy:
            if var selector = try reader.object("selector") {
                spec.selector = try workloadSelector(&selector, cluster: kind == .kubeArmorClusterPolicy)
                try selector.finish()
            }
            spec.presets = try presets(&reader)
        case .kubeArmorHostPolicy:
            guard var nodeSelector = try reader.object("nodeSelector") else {
                throw PolicyRejection(file: file, line: reader.line, category: .invalid,
                                      reason: "spec.nodeSelector: Required value")
            }
            spec.nodeSelector = try nodeSelector.stringMap("matchLabels")
            try nodeSelector.finish()
            if var device = try reader.object("device") {
                spec.devices = try devices(&device, spec: attributes)
                try device.finish()
            }
        }
        let host = kind.isHostPolicy
        if var process = try reader.object("process") {
            spec.process = try pathSection(&process, isFile: false, spec: attributes)
            try process.finish()
        }
        if var file = try reader.object("file") {
            spec.file = try pathSection(&file, isFile: true, spec: attributes)
            try file.finish()
        }
        if var network = try reader.object("network") {
            spec.network = try networkSection(&network, host: host, spec: attributes)
            try network.finish()
        }
        if var capabilities = try reader.object("capabilities") {
            spec.capabilities = try capabilitySection(&capabilities, host: host, spec: attributes)
            try capabilities.finish()
        }
        if var syscalls = try reader.object("syscalls") {
            spec.syscalls = try syscallSection(&syscalls, spec: attributes)
            try syscalls.finish()
        }
        spec.appArmor = try reader.string("apparmor")
        try reader.finish()
        return spec
    }

    // MARK: selectors

    private func workloadSelector(_ reader: inout YAMLObjectReader, cluster: Bool) throws(PolicyRejection) -> WorkloadSelector {
        var selector = WorkloadSelector()
        if !cluster { selector.matchLabels = try reader.stringMap("matchLabels") }
        let allowedKeys = cluster ? ["namespace", "label"] : ["label"]
        for var entry in try reader.objects("matchExpressions") {
            let key = try entry.string("key")
            let op = try entry.string("operator")
            if let key { try entry.check("key", key, isOneOf: allowedKeys) }
            if let op { try entry.check("operator", op, isOneOf: ["In", "NotIn"]) }
            let values = try entry.strings("values")
            try entry.finish()
            // An expression without key or operator is valid for the CRD and ignored by KubeArmor.
            guard let key, let op, let parsedKey = SelectorExpression.Key(rawValue: key),
                  let parsedOperator = SelectorExpression.Operator(rawValue: op) else { continue }
            selector.matchExpressions.append(SelectorExpression(key: parsedKey, operator: parsedOperator, values: values))
        }
        return selector
    }

    // MARK: alert fields

    private func attributes(_ reader: inout YAMLObjectReader, allowsAction: Bool) throws(PolicyRejection) -> AlertAttributes {
        var attributes = AlertAttributes()
        if let severity = try reader.int("severity") {
            guard PolicySchema.severityRange.contains(severity) else {
                throw reader.failure("severity", "must be between 1 and 10, found \(severity)")
            }
            attributes.severity = severity
        }
        attributes.tags = try reader.strings("tags")
        attributes.message = try reader.string("message")
        if allowsAction, let action = try reader.string("action") {
            try reader.check("action", action, isOneOf: PolicyAction.allCases.map(\.rawValue))
            attributes.action = PolicyAction(rawValue: action)
        }
        return attributes
    }

    private func location(_ reader: YAMLObjectReader) -> PolicyLocation {
        PolicyLocation(file: file, line: reader.line)
    }

    /// `fromSource[].path` entries; entries without a path are skipped, as KubeArmor skips them.
    private func sources(_ reader: inout YAMLObjectReader) throws(PolicyRejection) -> [String] {
        var paths: [String] = []
        for var source in try reader.objects("fromSource") {
            if let path = try source.string("path") {
                try source.check("path", path, matches: PolicySchema.path, maxLength: PolicySchema.pathMaxLength)
                if !path.isEmpty { paths.append(path) }
            }
            try source.finish()
        }
        return paths
    }

    /// Fails when a rule that the host CRD requires to name its sources has none.
    private func requireSources(_ reader: YAMLObjectReader, _ sources: [String]) throws(PolicyRejection) {
        if sources.isEmpty {
            throw PolicyRejection(file: file, line: reader.line, category: .invalid,
                                  reason: "\(reader.fieldPath("fromSource")): Required value")
        }
    }

    // MARK: process and file

    private func pathSection(_ reader: inout YAMLObjectReader, isFile: Bool,
                             spec: AlertAttributes) throws(PolicyRejection) -> RuleSection<PathRule> {
        let section = try attributes(&reader, allowsAction: true)
        var rules: [PathRule] = []
        for var entry in try reader.objects("matchPaths") {
            let declared = try attributes(&entry, allowsAction: true)
            let target: PathRule.Target
            var allowedArgs: [String] = []
            if isFile {
                let path = try entry.requiredString("path")
                try entry.check("path", path, matches: PolicySchema.path, maxLength: PolicySchema.pathMaxLength)
                target = .path(path)
            } else {
                let path = try entry.string("path")
                if let path {
                    try entry.check("path", path, matches: PolicySchema.path, maxLength: PolicySchema.pathMaxLength)
                }
                let execName = try entry.string("execname")
                if let execName { try entry.check("execname", execName, matches: PolicySchema.execName) }
                allowedArgs = try entry.strings("allowedArgs")
                if allowedArgs.count > PolicySchema.allowedArgsMaxItems {
                    throw entry.failure("allowedArgs", "must have at most \(PolicySchema.allowedArgsMaxItems) items, "
                        + "found \(allowedArgs.count)")
                }
                if let execName, !execName.isEmpty {
                    target = .execName(execName)
                } else if let path {
                    target = .path(path)
                } else {
                    throw PolicyRejection(file: file, line: entry.line, category: .invalid,
                                          reason: "\(entry.path): needs a path or an execname")
                }
            }
            rules.append(try pathRule(&entry, target: target, allowedArgs: allowedArgs, isFile: isFile,
                                      declared: declared, section: section, spec: spec))
        }
        for var entry in try reader.objects("matchDirectories") {
            let declared = try attributes(&entry, allowsAction: true)
            let directory = try entry.requiredString("dir")
            try entry.check("dir", directory, matches: PolicySchema.directory)
            let recursive = try entry.bool("recursive") ?? false
            rules.append(try pathRule(&entry, target: .directory(directory, recursive: recursive), allowedArgs: [],
                                      isFile: isFile, declared: declared, section: section, spec: spec))
        }
        for var entry in try reader.objects("matchPatterns") {
            let declared = try attributes(&entry, allowsAction: true)
            let pattern = try entry.requiredString("pattern")
            rules.append(try pathRule(&entry, target: .pattern(pattern), allowedArgs: [], isFile: isFile,
                                      declared: declared, section: section, spec: spec))
        }
        return RuleSection(rules: rules, attributes: section)
    }

    /// The options every path rule shares; `matchPatterns` entries take no `pts` and no `fromSource`.
    private func pathRule(_ entry: inout YAMLObjectReader, target: PathRule.Target, allowedArgs: [String], isFile: Bool,
                          declared: AlertAttributes, section: AlertAttributes,
                          spec: AlertAttributes) throws(PolicyRejection) -> PathRule {
        let isPattern: Bool
        if case .pattern = target { isPattern = true } else { isPattern = false }
        let ownerOnly = try entry.bool("ownerOnly") ?? false
        let readOnly = isFile ? try entry.bool("readOnly") ?? false : false
        let pts = isPattern ? nil : try entry.bool("pts")
        let fromSource = isPattern ? [] : try sources(&entry)
        try entry.finish()
        return PathRule(target: target, ownerOnly: ownerOnly, readOnly: readOnly, pts: pts, fromSource: fromSource,
                        allowedArgs: allowedArgs, declared: declared,
                        effective: RuleAttributes(declared: declared, section: section, spec: spec),
                        location: location(entry))
    }

    // MARK: network and capabilities

    private func networkSection(_ reader: inout YAMLObjectReader, host: Bool,
                                spec: AlertAttributes) throws(PolicyRejection) -> NetworkSection {
        let section = try attributes(&reader, allowsAction: true)
        var protocols: [ProtocolRule] = []
        for var entry in try reader.objects("matchProtocols") {
            let declared = try attributes(&entry, allowsAction: true)
            let value = try entry.requiredString("protocol")
            try entry.check("protocol", value, matches: PolicySchema.networkProtocol)
            let pts = host ? nil : try entry.bool("pts")
            let fromSource = try sources(&entry)
            if host { try requireSources(entry, fromSource) }
            try entry.finish()
            protocols.append(ProtocolRule(protocol: value, pts: pts, fromSource: fromSource, declared: declared,
                                          effective: RuleAttributes(declared: declared, section: section, spec: spec),
                                          location: location(entry)))
        }
        var dnsQueries: [DNSQueryRule] = []
        for var entry in try reader.objects("matchDNSQueries") {
            let declared = try attributes(&entry, allowsAction: true)
            let domain = try entry.requiredString("domain")
            let fromSource = try sources(&entry)
            try entry.finish()
            dnsQueries.append(DNSQueryRule(domain: domain, fromSource: fromSource, declared: declared,
                                           effective: RuleAttributes(declared: declared, section: section, spec: spec),
                                           location: location(entry)))
        }
        return NetworkSection(protocols: Self.commaExpanded(protocols, \.protocol),
                              dnsQueries: Self.commaExpanded(dnsQueries, \.domain), attributes: section)
    }

    private func capabilitySection(_ reader: inout YAMLObjectReader, host: Bool,
                                   spec: AlertAttributes) throws(PolicyRejection) -> RuleSection<CapabilityRule> {
        let section = try attributes(&reader, allowsAction: true)
        var rules: [CapabilityRule] = []
        for var entry in try reader.objects("matchCapabilities") {
            let declared = try attributes(&entry, allowsAction: true)
            let capability = try entry.requiredString("capability")
            try entry.check("capability", capability, matches: PolicySchema.capability)
            let fromSource = try sources(&entry)
            if host { try requireSources(entry, fromSource) }
            try entry.finish()
            rules.append(CapabilityRule(capability: capability, fromSource: fromSource, declared: declared,
                                        effective: RuleAttributes(declared: declared, section: section, spec: spec),
                                        location: location(entry)))
        }
        return RuleSection(rules: Self.commaExpanded(rules, \.capability), attributes: section)
    }

    /// KubeArmor's `ObjCommaExpandFirstDupOthers`: when the first entry's value holds a comma, every
    /// entry is split at commas (spaces removed) into one entry per value; otherwise nothing changes.
    static func commaExpanded<Rule>(_ rules: [Rule], _ value: WritableKeyPath<Rule, String>) -> [Rule] {
        guard let first = rules.first, first[keyPath: value].contains(",") else { return rules }
        return rules.flatMap { rule in
            rule[keyPath: value].split(separator: ",", omittingEmptySubsequences: false).map { part in
                var copy = rule
                copy[keyPath: value] = part.filter { $0 != " " }
                return copy
            }
        }
    }

    // MARK: syscalls, devices, presets

    private func syscallSection(_ reader: inout YAMLObjectReader,
                                spec: AlertAttributes) throws(PolicyRejection) -> RuleSection<SyscallRule> {
        let section = try attributes(&reader, allowsAction: false)
        // Syscall rules always audit, whatever the spec's action says.
        let effective = RuleAttributes(declared: AlertAttributes(action: .audit), section: section, spec: spec)
        var rules: [SyscallRule] = []
        for var entry in try reader.objects("matchSyscalls") {
            let names = try syscallNames(&entry)
            let fromSource = try syscallSources(&entry)
            try entry.finish()
            rules.append(SyscallRule(syscalls: names, fromSource: fromSource, effective: effective, location: location(entry)))
        }
        for var entry in try reader.objects("matchPaths") {
            let path = try entry.string("path")
            if let path { try entry.check("path", path, matches: PolicySchema.syscallPath) }
            let recursive = try entry.bool("recursive") ?? false
            let names = try syscallNames(&entry)
            let fromSource = try syscallSources(&entry)
            try entry.finish()
            rules.append(SyscallRule(syscalls: names, path: path ?? "", recursive: recursive, fromSource: fromSource,
                                     effective: effective, location: location(entry)))
        }
        return RuleSection(rules: rules, attributes: section)
    }

    private func syscallNames(_ entry: inout YAMLObjectReader) throws(PolicyRejection) -> [String] {
        let names = try entry.strings("syscall")
        for name in names where !PolicySchema.syscalls.contains(name) {
            throw entry.failure("syscall", "Unsupported value \"\(name)\": not a syscall name of the CRD's enum")
        }
        return names
    }

    private func syscallSources(_ entry: inout YAMLObjectReader) throws(PolicyRejection) -> [SyscallSource] {
        var sources: [SyscallSource] = []
        for var source in try entry.objects("fromSource") {
            let path = try source.string("path")
            if let path { try source.check("path", path, matches: PolicySchema.path, maxLength: PolicySchema.pathMaxLength) }
            let directory = try source.string("dir")
            let recursive = try source.bool("recursive") ?? false
            try source.finish()
            sources.append(SyscallSource(path: path, directory: directory, recursive: recursive))
        }
        return sources
    }

    private func devices(_ reader: inout YAMLObjectReader, spec: AlertAttributes) throws(PolicyRejection) -> RuleSection<DeviceRule> {
        let section = try attributes(&reader, allowsAction: true)
        var rules: [DeviceRule] = []
        for var entry in try reader.objects("matchDevice") {
            let declared = try attributes(&entry, allowsAction: true)
            let deviceClass = try entry.requiredString("class")
            let subClass = try entry.int("subClass")
            let deviceProtocol = try entry.int("protocol")
            let level = try entry.int("level")
            if let level, level < 1 { throw entry.failure("level", "must be at least 1, found \(level)") }
            try entry.finish()
            rules.append(DeviceRule(deviceClass: deviceClass, subClass: subClass, protocol: deviceProtocol, level: level,
                                    declared: declared,
                                    effective: RuleAttributes(declared: declared, section: section, spec: spec),
                                    location: location(entry)))
        }
        return RuleSection(rules: rules, attributes: section)
    }

    private func presets(_ reader: inout YAMLObjectReader) throws(PolicyRejection) -> [Preset] {
        var presets: [Preset] = []
        for var entry in try reader.objects("presets") {
            let name = try entry.string("name") ?? ""
            let action = try entry.string("action")
            if let action { try entry.check("action", action, isOneOf: PolicyAction.allCases.map(\.rawValue)) }
            try entry.finish()
            presets.append(Preset(name: name, action: action.flatMap(PolicyAction.init(rawValue:))))
        }
        return presets
    }
}
