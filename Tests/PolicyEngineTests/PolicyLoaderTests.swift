import Foundation
import Testing
@testable import PolicyEngine

@Suite struct PolicyLoaderTests {
    @Test func readsEveryFieldOfAPolicyAndInheritsAlertFields() throws {
        let policies = Fixture.policies("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
              name: full
              namespace: shop
            spec:
              severity: 3
              tags: [spec-tag]
              message: spec message
              selector:
                matchLabels:
                  app: web
                  kubearmor.io/container.name: "[nginx, sidecar]"
                matchExpressions:
                - key: label
                  operator: In
                  values: [tier=front]
              process:
                severity: 7
                action: Audit
                matchPaths:
                - path: /usr/bin/curl
                  fromSource: [{path: /bin/bash}, {path: /bin/sh}]
                  allowedArgs: [--version]
                  pts: false
                - execname: nc
                  message: netcat
                  action: Block
                matchDirectories:
                - dir: /tmp/
                  recursive: true
                  ownerOnly: true
                matchPatterns:
                - pattern: /**/*.sh
              file:
                tags: [file-tag]
                matchPaths:
                - path: /etc/shadow
                  readOnly: true
                  severity: 9
              network:
                matchProtocols:
                - protocol: tcp,udp
                  fromSource: [{path: /usr/bin/curl}]
              capabilities:
                matchCapabilities:
                - capability: net_raw
              syscalls:
                matchSyscalls:
                - syscall: [unlink, rmdir]
                  fromSource: [{dir: /usr/bin/, recursive: true}]
                matchPaths:
                - path: /etc/
                  recursive: true
                  syscall: [openat]
              presets:
              - name: filelessExec
                action: Audit
            """)
        let policy = try #require(policies.first)
        #expect(policy.kind == .kubeArmorPolicy && policy.name == "full" && policy.namespace == "shop")
        #expect(policy.spec.selector.matchLabels == ["app": "web", "kubearmor.io/container.name": "[nginx, sidecar]"])
        #expect(policy.spec.selector.matchExpressions == [SelectorExpression(key: .label, operator: .in, values: ["tier=front"])])
        let process = policy.spec.process.rules
        #expect(process.count == 4)
        #expect(process[0].target == .path("/usr/bin/curl"))
        #expect(process[0].fromSource == ["/bin/bash", "/bin/sh"] && process[0].allowedArgs == ["--version"] && process[0].pts == false)
        // rule ← section ← spec
        #expect(process[0].effective == RuleAttributes(severity: 7, tags: ["spec-tag"], message: "spec message", action: .audit))
        #expect(process[1].target == .execName("nc"))
        #expect(process[1].effective == RuleAttributes(severity: 7, tags: ["spec-tag"], message: "netcat", action: .block))
        #expect(process[2].target == .directory("/tmp/", recursive: true) && process[2].ownerOnly)
        #expect(process[3].target == .pattern("/**/*.sh"))
        let file = try #require(policy.spec.file.rules.first)
        #expect(file.readOnly && file.effective == RuleAttributes(severity: 9, tags: ["file-tag"], message: "spec message",
                                                                   action: .block))
        // the first protocol entry has a comma: KubeArmor splits the list
        #expect(policy.spec.network.protocols.map(\.protocol) == ["tcp", "udp"])
        #expect(policy.spec.capabilities.rules.map(\.capability) == ["net_raw"])
        let syscalls = policy.spec.syscalls.rules
        #expect(syscalls.map(\.syscalls) == [["unlink", "rmdir"], ["openat"]])
        #expect(syscalls[0].fromSource == [SyscallSource(directory: "/usr/bin/", recursive: true)])
        #expect(syscalls[1].path == "/etc/" && syscalls[1].recursive && syscalls[1].effective.action == .audit)
        #expect(policy.spec.presets == [Preset(name: "filelessExec", action: .audit)])
        #expect(policy.location == PolicyLocation(file: "test.yaml", line: 1))
        #expect(process[1].location.line == 26)
    }

    @Test func anEmptyActionMeansBlock() throws {
        let policy = try #require(Fixture.policies(Fixture.podPolicy("""
            process:
              matchPaths:
              - path: /bin/sleep
            """)).first)
        #expect(policy.spec.attributes.action == nil)
        #expect(policy.spec.process.rules[0].effective == RuleAttributes(severity: 0, tags: [], message: "", action: .block))
    }

    @Test func onlyAFirstEntryWithACommaSplitsTheList() throws {
        let policy = try #require(Fixture.policies(Fixture.podPolicy("""
            network:
              matchProtocols:
              - protocol: raw
              - protocol: tcp,udp
            """)).first)
        #expect(policy.spec.network.protocols.map(\.protocol) == ["raw", "tcp,udp"])
    }

    @Test func hostAndClusterPoliciesHaveTheirOwnSelectors() throws {
        let policies = Fixture.policies("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: host}
            spec:
              nodeSelector:
                matchLabels: {kubernetes.io/hostname: node-1}
              network:
                matchProtocols:
                - protocol: icmp
                  fromSource: [{path: /usr/bin/ping}]
              device:
                matchDevice:
                - class: MASS-STORAGE
                  level: 2
              action: Audit
            ---
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorClusterPolicy
            metadata: {name: cluster}
            spec:
              selector:
                matchExpressions:
                - {key: namespace, operator: NotIn, values: [kube-system]}
              file:
                matchDirectories: [{dir: /etc/}]
            """)
        #expect(policies.map(\.kind) == [.kubeArmorHostPolicy, .kubeArmorClusterPolicy])
        #expect(policies[0].spec.nodeSelector == ["kubernetes.io/hostname": "node-1"])
        #expect(policies[0].spec.devices.rules.map(\.deviceClass) == ["MASS-STORAGE"])
        #expect(policies[1].effectiveNamespace == nil)
        #expect(policies[1].spec.selector.matchExpressions.map(\.key) == [.namespace])
    }

    /// Each invalid document is rejected at its line with the CRD's reason; the valid ones around it load.
    @Test(arguments: [
        ("spec:\n  severity: 11", 2, "spec.severity: must be between 1 and 10, found 11"),
        ("spec:\n  severity: \"5\"", 2, "spec.severity: must be an integer, found a string (\"5\")"),
        ("spec:\n  action: block", 2, "spec.action: Unsupported value \"block\": supported values are \"Allow\", \"Audit\", \"Block\""),
        ("spec:\n  file:\n    matchPaths:\n    - path: etc/passwd", 4,
         "spec.file.matchPaths[0].path: \"etc/passwd\" does not match the pattern ^\\/+.*[^\\/]$"),
        ("spec:\n  file:\n    matchDirectories:\n    - dir: /etc", 4,
         "spec.file.matchDirectories[0].dir: \"/etc\" does not match the pattern ^\\/$|^\\/.*\\/$"),
        ("spec:\n  file:\n    matchPaths:\n    - readOnly: true", 4,
         "spec.file.matchPaths[0].path: Required value (fields given: readOnly)"),
        ("spec:\n  process:\n    matchPath:\n    - path: /bin/ls", 3, "unknown field \"spec.process.matchPath\""),
        ("spec:\n  process:\n    matchPaths:\n    - path: /bin/ls\n      readOnly: true", 5,
         "unknown field \"spec.process.matchPaths[0].readOnly\""),
        ("spec:\n  network:\n    matchProtocols:\n    - protocol: Tcp", 4,
         "spec.network.matchProtocols[0].protocol: \"Tcp\" does not match the pattern (tcp|TCP|udp|UDP|raw|RAW|icmp|ICMP|"
            + "icmpv6|ICMPV6|sctp|SCTP|stream|STREAM|dgram|DGRAM|rdm|RDM|seqpacket|SEQPACKET|dccp|DCCP|packet|PACKET|all|ALL)$"),
        ("spec:\n  syscalls:\n    matchSyscalls:\n    - syscall: [unlinky]", 4,
         "spec.syscalls.matchSyscalls[0].syscall: Unsupported value \"unlinky\": not a syscall name of the CRD's enum"),
        ("spec:\n  selector:\n    matchExpressions:\n    - {key: namespace, operator: In}", 4,
         "spec.selector.matchExpressions[0].key: Unsupported value \"namespace\": supported values are \"label\""),
        ("spec:\n  process:\n    matchPaths:\n    - path: /bin/ls\n      ownerOnly: yes-please", 5,
         "spec.process.matchPaths[0].ownerOnly: must be a boolean, found a string (\"yes-please\")"),
    ] as [(String, Int, String)])
    func rejectsWhatTheCRDRejects(spec: String, line: Int, reason: String) {
        let yaml = """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata: {name: before}
            spec: {process: {matchPaths: [{path: /bin/true}]}}
            ---
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
              name: broken
            \(spec)
            ---
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata: {name: after}
            """
        let result = PolicyLoader.load(yaml: yaml, file: "policies.yaml")
        #expect(result.policies.map(\.name) == ["before", "after"])
        #expect(result.rejections.map(\.description) == ["policies.yaml:\(9 + line): \(reason)"])
        #expect(result.rejections.first?.category == .invalid)
    }

    @Test func rejectsKindsItDoesNotEvaluateAndDocumentsThatAreNotPolicies() {
        let result = PolicyLoader.load(yaml: """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorNetworkPolicy
            metadata: {name: firewall}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            ---
            ---
            apiVersion: security.kubearmor.com/v2
            kind: KubeArmorPolicy
            metadata: {name: future}
            """, file: "mixed.yaml")
        #expect(result.policies.isEmpty)
        #expect(result.rejections.map(\.category) == [.unsupportedKind, .notAPolicy, .invalid])
        #expect(result.rejections.map(\.line) == [1, 5, 10])
        #expect(result.rejections[2].reason.contains("no kind \"KubeArmorPolicy\" is registered for version \"security.kubearmor.com/v2\""))
    }

    @Test func aHostPolicyNeedsANodeSelectorAndSourcesForNetworkRules() {
        let result = PolicyLoader.load(yaml: """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: no-node-selector}
            spec:
              process: {matchPaths: [{path: /bin/su}]}
            ---
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: no-source}
            spec:
              nodeSelector: {matchLabels: {kubernetes.io/hostname: a}}
              network:
                matchProtocols:
                - protocol: tcp
            """, file: "host.yaml")
        #expect(result.rejections.map(\.description) == [
            "host.yaml:5: spec.nodeSelector: Required value",
            "host.yaml:14: spec.network.matchProtocols[0].fromSource: Required value",
        ])
    }

    @Test func aYAMLErrorRejectsTheRestOfTheFileOnly() {
        let result = PolicyLoader.load(yaml: """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata: {name: first}
            ---
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
            \tname: tabbed
            """, file: "tabs.yaml")
        #expect(result.policies.map(\.name) == ["first"])
        #expect(result.rejections.count == 1)
        #expect(result.rejections.first?.category == .yamlSyntax)
        #expect(result.rejections.first?.line == 8)
    }

    /// A TAB between a value and its comment is separation, not indentation: libyaml (and Kubernetes'
    /// go-yaml, a port of it) accept it; only stricter parsers such as PyYAML refuse it.
    @Test func tabsBeforeATrailingCommentAreAccepted() throws {
        let policy = try #require(Fixture.policies(
            "apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: tabs\n"
                + "  namespace: default \t\t# Change your namespace\nspec:\n  action: Audit\t\t\n").first)
        #expect(policy.namespace == "default" && policy.spec.attributes.action == .audit)
    }

    @Test func duplicateKeysAreRejectedAsKubectlRejectsThem() {
        let result = PolicyLoader.load(yaml: """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata: {name: twice}
            spec:
              action: Audit
              action: Block
            """, file: "dup.yaml")
        #expect(result.rejections.map(\.category) == [.yamlSyntax])
        #expect(result.rejections.first?.reason.contains("duplicate key action") == true)
    }

    @Test func loadsDirectoriesRecursivelyInPathOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rearview-policies-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("b/c"), withIntermediateDirectories: true)
        func write(_ name: String, _ policyName: String) throws {
            try """
                apiVersion: security.kubearmor.com/v1
                kind: KubeArmorPolicy
                metadata: {name: \(policyName)}
                """.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try write("b/c/deep.yml", "deep")
        try write("a.yaml", "a")
        try write("b/notes.txt", "ignored")
        let result = PolicyLoader.load(paths: [directory.path, directory.appendingPathComponent("missing").path])
        #expect(result.policies.map(\.name) == ["a", "deep"])
        #expect(result.files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["a.yaml", "deep.yml"])
        #expect(result.rejections.map(\.category) == [.unreadable])
    }
}
