import EventModel
import Testing
@testable import PolicyEngine

/// One rule, one event, one expected outcome, and the KubeArmor code the expectation comes from.
struct RuleCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// The KubeArmor source this case mirrors.
    let mirrors: String
    let spec: String
    let event: Event
    var posture: DefaultPosture.Action = .audit
    let expected: Expected

    var testDescription: String { name }
}

@Suite struct RuleMatchingTests {
    static let process: [RuleCase] = [
        RuleCase(name: "process path blocks its executable",
                 mirrors: "feeder matchResources (Process, Path: Resource == ProcessName); bpflsm enforce_proc exact key",
                 spec: "process: {matchPaths: [{path: /bin/sleep}]}", event: Fixture.execution("/bin/sleep", arguments: "1"),
                 expected: .block()),
        RuleCase(name: "process path ignores other executables", mirrors: "feeder matchResources",
                 spec: "process: {matchPaths: [{path: /bin/sleep}]}", event: Fixture.execution("/usr/bin/sleep"),
                 expected: .none),
        RuleCase(name: "execname matches the file name in any directory",
                 mirrors: "feeder ExecName: HasSuffix(ProcessName, \"/\"+name); bpflsm d_name lookup",
                 spec: "process: {matchPaths: [{execname: nc}]}", event: Fixture.execution("/usr/local/bin/nc"),
                 expected: .block()),
        RuleCase(name: "non-recursive directory covers its direct children",
                 mirrors: "feeder matchResources (Directory, depth equal)", spec: "process: {matchDirectories: [{dir: /sbin/}]}",
                 event: Fixture.execution("/sbin/route"), expected: .block()),
        RuleCase(name: "non-recursive directory skips subdirectories", mirrors: "feeder matchResources (Directory, depth equal)",
                 spec: "process: {matchDirectories: [{dir: /usr/}]}", event: Fixture.execution("/usr/bin/env"),
                 expected: .none),
        RuleCase(name: "recursive directory covers every depth", mirrors: "feeder matchResources (Recursive, depth >=)",
                 spec: "process: {matchDirectories: [{dir: /usr/, recursive: true}]}", event: Fixture.execution("/usr/bin/env"),
                 expected: .block()),
        RuleCase(name: "fromSource on a process rule is the parent executable",
                 mirrors: "bpflsm enforce_proc (source = parent task's file); feeder Source == ParentProcessName",
                 spec: "process: {matchPaths: [{path: /bin/ls, fromSource: [{path: /bin/dash}]}]}",
                 event: Fixture.execution("/bin/ls", parent: "/bin/dash"), expected: .block()),
        RuleCase(name: "fromSource on a process rule ignores other parents", mirrors: "bpflsm enforce_proc",
                 spec: "process: {matchPaths: [{path: /bin/ls, fromSource: [{path: /bin/dash}]}]}",
                 event: Fixture.execution("/bin/ls", parent: "/bin/bash"), expected: .none),
        RuleCase(name: "fromSource on a process rule also names the executable itself",
                 mirrors: "feeder Process/File: Source == ParentProcessName || Source == ProcessName",
                 spec: "process: {matchPaths: [{path: /bin/bash, fromSource: [{path: /bin/bash}]}], action: Audit}",
                 event: Fixture.execution("/bin/bash", parent: "/usr/sbin/sshd"), expected: .audit()),
        RuleCase(name: "ownerOnly blocks others than the owner", mirrors: "bpflsm enforce_proc RULE_OWNER (!is_owner -> EPERM)",
                 spec: "process: {matchPaths: [{path: /home/user1/hello, ownerOnly: true}]}",
                 event: Fixture.execution("/home/user1/hello", uid: 0, owner: 1000), expected: .block()),
        RuleCase(name: "ownerOnly lets the owner through even on a Block rule",
                 mirrors: "bpflsm enforce_proc RULE_OWNER (is_owner -> return)",
                 spec: "process: {matchPaths: [{path: /home/user1/hello, ownerOnly: true}]}",
                 event: Fixture.execution("/home/user1/hello", uid: 1000, owner: 1000), expected: .none),
        RuleCase(name: "a pattern matches the executable", mirrors: "AppArmor profile glob; feeder Glob on ProcessName",
                 spec: "process: {matchPatterns: [{pattern: /*/*/nc}]}", event: Fixture.execution("/usr/bin/nc"),
                 expected: .block()),
        RuleCase(name: "a process pattern also matches the command line", mirrors: "feeder Glob on Resource (path and arguments)",
                 spec: "process: {matchPatterns: [{pattern: /*/*/pip install*}], action: Audit}",
                 event: Fixture.execution("/usr/bin/pip", arguments: "install requests"), expected: .audit()),
        RuleCase(name: "allowedArgs exempt an execution whose arguments are all listed",
                 mirrors: "bpflsm enforce_proc RULE_ARGSET (argmatch -> allow)",
                 spec: "process: {matchPaths: [{path: /bin/rm, allowedArgs: [-i, x]}]}",
                 event: Fixture.execution("/bin/rm", arguments: "-i x"), expected: .none),
        RuleCase(name: "allowedArgs do not exempt other arguments", mirrors: "bpflsm enforce_proc RULE_ARGSET",
                 spec: "process: {matchPaths: [{path: /bin/rm, allowedArgs: [-i]}]}",
                 event: Fixture.execution("/bin/rm", arguments: "-rf /"), expected: .block()),
        RuleCase(name: "fork and exit records are not executions", mirrors: "KubeArmor logs Process events for execve only",
                 spec: "process: {matchPaths: [{path: /bin/sleep}]}",
                 event: Fixture.podEvent("Process", resource: "/bin/sleep 1", data: "syscall=SYS_CLONE", process: "/bin/sleep"),
                 expected: .none),
    ]

    static let file: [RuleCase] = [
        RuleCase(name: "file path blocks a read", mirrors: "feeder matchResources (File, Path); bpflsm file_open exact key",
                 spec: "file: {matchPaths: [{path: /etc/shadow}]}", event: Fixture.open("/etc/shadow"), expected: .block()),
        RuleCase(name: "readOnly lets reads through a Block rule",
                 mirrors: "bpflsm file_open (READ && !WRITE -> decided in file_permission)",
                 spec: "file: {matchPaths: [{path: /credentials/password, readOnly: true}]}",
                 event: Fixture.open("/credentials/password"), expected: .none),
        RuleCase(name: "readOnly blocks writes", mirrors: "bpflsm file_permission (READ && !WRITE -> EPERM); feeder !O_RDONLY",
                 spec: "file: {matchPaths: [{path: /credentials/password, readOnly: true}]}",
                 event: Fixture.open("/credentials/password", write: true, by: "/bin/bash"), expected: .block()),
        RuleCase(name: "ownerOnly with readOnly lets the owner read", mirrors: "bpflsm file_open RULE_OWNER",
                 spec: "file: {matchDirectories: [{dir: /home/user1/, recursive: true, ownerOnly: true, readOnly: true}]}",
                 event: Fixture.open("/home/user1/dir1/key1.txt", uid: 1000, owner: 1000), expected: .none),
        RuleCase(name: "ownerOnly with readOnly blocks the owner's writes", mirrors: "bpflsm file_permission",
                 spec: "file: {matchDirectories: [{dir: /home/user1/, recursive: true, ownerOnly: true, readOnly: true}]}",
                 event: Fixture.open("/home/user1/dir1/key1.txt", write: true, uid: 1000, owner: 1000), expected: .block()),
        RuleCase(name: "ownerOnly with readOnly blocks others' reads", mirrors: "bpflsm file_open RULE_OWNER (!is_owner_path)",
                 spec: "file: {matchDirectories: [{dir: /home/user1/, recursive: true, ownerOnly: true, readOnly: true}]}",
                 event: Fixture.open("/home/user1/dir1/key1.txt", uid: 0, owner: 1000), expected: .block()),
        RuleCase(name: "a non-recursive file directory covers direct children",
                 mirrors: "feeder matchResources (File, Directory)", spec: "file: {matchDirectories: [{dir: /etc/}]}",
                 event: Fixture.open("/etc/passwd"), expected: .block()),
        RuleCase(name: "a non-recursive file directory skips subdirectories", mirrors: "feeder matchResources",
                 spec: "file: {matchDirectories: [{dir: /etc/}]}", event: Fixture.open("/etc/ssh/sshd_config"), expected: .none),
        RuleCase(name: "a directory rule covers the directory itself",
                 mirrors: "feeder Resource == log.Resource + \"/\"; bpflsm dirtoMap adds the directory as a file key",
                 spec: "file: {matchDirectories: [{dir: /credentials/}]}", event: Fixture.open("/credentials"),
                 expected: .block()),
        RuleCase(name: "the recursive root covers everything", mirrors: "feeder (Resource == \"/\" && Recursive)",
                 spec: "file: {matchDirectories: [{dir: /, recursive: true}], action: Audit}",
                 event: Fixture.open("/var/lib/dpkg/status"), expected: .audit()),
        RuleCase(name: "a directory rule covers the directory itself", mirrors: "feeder matchResources (Resource == log.Resource + \"/\")",
                 spec: "file: {matchDirectories: [{dir: /etc/ssh/}], action: Audit}", event: Fixture.open("/etc/ssh"),
                 expected: .audit()),
        RuleCase(name: "readOnly and ownerOnly together let only the owner's reads through",
                 mirrors: "feeder ReadOnly && OwnerOnly: all but (O_RDONLY && UID == OID) match a Block rule",
                 spec: "file: {matchPaths: [{path: /home/user1/notes, readOnly: true, ownerOnly: true}]}",
                 event: Fixture.open("/home/user1/notes", write: true, uid: 1000, owner: 1000), expected: .block()),
        RuleCase(name: "fromSource on a file rule is the accessing executable",
                 mirrors: "bpflsm match_and_enforce_path_hooks (source = current task's file)",
                 spec: "file: {matchPaths: [{path: /secret.txt, fromSource: [{path: /bin/cat}]}]}",
                 event: Fixture.open("/secret.txt", by: "/bin/cat"), expected: .block()),
        RuleCase(name: "fromSource on a file rule ignores executables that are neither it nor its parent",
                 mirrors: "feeder Process/File: Source == ParentProcessName || Source == ProcessName",
                 spec: "file: {matchPaths: [{path: /secret.txt, fromSource: [{path: /bin/cat}]}]}",
                 event: Fixture.open("/secret.txt", by: "/usr/bin/head"), expected: .none),
        RuleCase(name: "fromSource on a file rule covers what the source runs",
                 mirrors: "feeder Process/File: Source == ParentProcessName (cat /etc/shadow run from bash)",
                 spec: "file: {matchPaths: [{path: /etc/shadow, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.open("/etc/shadow", by: "/bin/cat"), expected: .block()),
        RuleCase(name: "readOnly from a parent source lets reads through",
                 mirrors: "feeder ReadOnly: O_RDONLY matched only by Allow; source matched on ParentProcessName",
                 spec: "file: {matchPaths: [{path: /etc/passwd, readOnly: true, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.open("/etc/passwd", by: "/bin/cat"), expected: .none),
        RuleCase(name: "readOnly from a parent source blocks writes",
                 mirrors: "feeder ReadOnly: !O_RDONLY matches; source matched on ParentProcessName",
                 spec: "file: {matchPaths: [{path: /etc/passwd, readOnly: true, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.open("/etc/passwd", write: true, by: "/usr/bin/tee"), expected: .block()),
        RuleCase(name: "ownerOnly from a parent source blocks others than the owner",
                 mirrors: "feeder OwnerOnly: UID != OID matches; source matched on ParentProcessName",
                 spec: "file: {matchPaths: [{path: /home/user1/notes, ownerOnly: true, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.open("/home/user1/notes", uid: 0, owner: 1000), expected: .block()),
        RuleCase(name: "ownerOnly from a parent source lets the owner through",
                 mirrors: "feeder OwnerOnly: UID == OID matched only by Allow",
                 spec: "file: {matchPaths: [{path: /home/user1/notes, ownerOnly: true, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.open("/home/user1/notes", uid: 1000, owner: 1000), expected: .none),
        RuleCase(name: "a file Allow rule from a parent source keeps its reads out of the default posture",
                 mirrors: "feeder Allow + matched source (ParentProcessName) + matched resource -> no alert",
                 spec: "file: {matchDirectories: [{dir: /etc/, recursive: true, fromSource: [{path: /bin/bash}]}], action: Allow}",
                 event: Fixture.open("/etc/hosts", by: "/bin/cat"), expected: .none),
        RuleCase(name: "a file Allow rule from another source leaves the access to the default posture",
                 mirrors: "feeder Audit (Allow) + unmatched source -> DefaultPosture",
                 spec: "file: {matchDirectories: [{dir: /etc/, recursive: true, fromSource: [{path: /bin/dash}]}], action: Allow}",
                 event: Fixture.open("/etc/hosts", by: "/bin/cat"), expected: .postureAudit),
        RuleCase(name: "a file pattern's * stays within one directory", mirrors: "AppArmor glob; Go filepath.Match",
                 spec: "file: {matchPatterns: [{pattern: /etc/*hado?}]}", event: Fixture.open("/etc/gshadow"),
                 expected: .block()),
        RuleCase(name: "a file pattern's ** crosses directories", mirrors: "AppArmor glob (the feeder drops ** patterns)",
                 spec: "file: {matchPatterns: [{pattern: /home/**/.bashrc}], action: Audit}",
                 event: Fixture.open("/home/user1/.bashrc"), expected: .audit()),
        RuleCase(name: "a file pattern does not match other files", mirrors: "AppArmor glob",
                 spec: "file: {matchPatterns: [{pattern: /etc/*hado?}]}", event: Fixture.open("/etc/hostname"),
                 expected: .none),
        RuleCase(name: "pts: false concerns terminal sessions", mirrors: "bpflsm RULE_PTS (is_pts -> EPERM); feeder TTY != \"\"",
                 spec: "file: {matchPaths: [{path: /etc/shadow, pts: false}]}",
                 event: Fixture.podEvent("File", resource: "/etc/shadow", data: "syscall=SYS_OPENAT flags=O_RDONLY",
                                         process: "/bin/cat", tty: "pts0"),
                 expected: .block()),
        RuleCase(name: "pts: false ignores processes without a terminal", mirrors: "bpflsm RULE_PTS",
                 spec: "file: {matchPaths: [{path: /etc/shadow, pts: false}]}", event: Fixture.open("/etc/shadow"),
                 expected: .none),
    ]

    static let network: [RuleCase] = [
        RuleCase(name: "raw matches a raw socket", mirrors: "feeder fetchProtocol SOCK_RAW; bpflsm match_net_rules sock_type",
                 spec: "network: {matchProtocols: [{protocol: raw}]}",
                 event: Fixture.socket("domain=AF_PACKET type=SOCK_RAW protocol=768", by: "/usr/sbin/arping"),
                 expected: .block()),
        RuleCase(name: "icmp matches ping's socket", mirrors: "feeder fetchProtocol protocol=ICMP",
                 spec: "network: {matchProtocols: [{protocol: icmp}], action: Audit}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=ICMP", by: "/bin/ping"), expected: .audit()),
        RuleCase(name: "protocol 0 on a stream socket is TCP", mirrors: "bpflsm match_net_rules (SOCK_STREAM, 0 -> IPPROTO_TCP)",
                 spec: "network: {matchProtocols: [{protocol: TCP}]}",
                 event: Fixture.socket("domain=AF_INET6 type=SOCK_STREAM|SOCK_NONBLOCK protocol=0"), expected: .block()),
        RuleCase(name: "tcp does not concern unix sockets", mirrors: "AppArmor `network tcp` is inet stream tcp",
                 spec: "network: {matchProtocols: [{protocol: tcp}]}",
                 event: Fixture.socket("domain=AF_UNIX type=SOCK_STREAM protocol=0"), expected: .none),
        RuleCase(name: "a tcp_connect record is TCP", mirrors: "feeder fetchProtocol protocol=TCP",
                 spec: "network: {matchProtocols: [{protocol: tcp}], action: Audit}",
                 event: Fixture.socket("remoteip=198.51.100.77 port=443 protocol=TCP", data: "kprobe=tcp_connect domain=AF_INET"),
                 expected: .audit()),
        RuleCase(name: "stream matches any stream socket", mirrors: "bpflsm netType STREAM",
                 spec: "network: {matchProtocols: [{protocol: stream}]}",
                 event: Fixture.socket("domain=AF_UNIX type=SOCK_STREAM protocol=0"), expected: .block()),
        RuleCase(name: "all matches every socket type", mirrors: "bpflsm handleAllNetworkRule",
                 spec: "network: {matchProtocols: [{protocol: all}], action: Audit}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=0"), expected: .audit()),
        RuleCase(name: "fromSource on a network rule is the process's executable",
                 mirrors: "bpflsm match_net_rules (source = current task); feeder Source == ProcessName",
                 spec: "network: {matchProtocols: [{protocol: udp, fromSource: [{path: /usr/bin/dig}]}]}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=17", by: "/usr/bin/dig"), expected: .block()),
        RuleCase(name: "fromSource on a network rule also names the first word of the command line",
                 mirrors: "feeder Network: HasPrefix(Source, src + \" \") || Source == ProcessName",
                 spec: "network: {matchProtocols: [{protocol: udp, fromSource: [{path: /usr/bin/python3}]}]}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=17", by: "/usr/bin/python3.11",
                                       commandLine: "/usr/bin/python3 beacon.py"), expected: .block()),
        RuleCase(name: "a command line without arguments is not compared as a first word",
                 mirrors: "feeder Network: HasPrefix(Source, src + \" \") needs the space",
                 spec: "network: {matchProtocols: [{protocol: udp, fromSource: [{path: /usr/bin/python3}]}]}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=17", by: "/usr/bin/python3.11",
                                       commandLine: "/usr/bin/python3"), expected: .none),
        RuleCase(name: "fromSource on a network rule is not the parent", mirrors: "feeder Network compares no ParentProcessName",
                 spec: "network: {matchProtocols: [{protocol: udp, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=17", by: "/usr/bin/dig"), expected: .none),
        RuleCase(name: "a network Allow rule matched by the command line's first word keeps the socket out of the default posture",
                 mirrors: "feeder Network Allow: HasPrefix(Source, src + \" \") + matched protocol -> no alert",
                 spec: "network: {matchProtocols: [{protocol: udp, fromSource: [{path: /usr/bin/python3}]}], action: Allow}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=17", by: "/usr/bin/python3.11",
                                       commandLine: "/usr/bin/python3 beacon.py"), expected: .none),
        RuleCase(name: "a network Allow rule leaves other sources to the default posture",
                 mirrors: "feeder Network Audit (Allow) + unmatched source -> DefaultPosture",
                 spec: "network: {matchProtocols: [{protocol: udp, fromSource: [{path: /usr/bin/python3}]}], action: Allow}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_DGRAM protocol=17", by: "/usr/bin/dig"), expected: .postureAudit),
        RuleCase(name: "an unsplit comma list never matches", mirrors: "ObjCommaExpandFirstDupOthers checks the first entry only",
                 spec: "network: {matchProtocols: [{protocol: raw}, {protocol: \"tcp,udp\"}]}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_STREAM protocol=TCP"), expected: .none),
        RuleCase(name: "a connect that names no socket type is not evaluated",
                 mirrors: "feeder: protocol \"unknown\" is skipped",
                 spec: "network: {matchProtocols: [{protocol: tcp}]}",
                 event: Fixture.socket("sa_family=AF_INET sin_port=443 sin_addr=1.2.3.4", data: "syscall=SYS_CONNECT fd=3"),
                 expected: .none),
    ]

    static let capabilities: [RuleCase] = [
        RuleCase(name: "a capability rule matches the capability event",
                 mirrors: "feeder Capabilities: Contains(Resource, capability) (BPF-LSM)",
                 spec: "capabilities: {matchCapabilities: [{capability: net_raw}]}",
                 event: Fixture.podEvent("Capabilities", resource: "CAP_NET_RAW", data: "syscall=SYS_SOCKET",
                                         process: "/usr/sbin/arping"),
                 expected: .block()),
        RuleCase(name: "net_raw also covers raw sockets", mirrors: "feeder getOperationAndCapabilityFromName (net_raw -> raw)",
                 spec: "capabilities: {matchCapabilities: [{capability: net_raw}]}",
                 event: Fixture.socket("domain=AF_PACKET type=SOCK_RAW protocol=768", by: "/usr/sbin/arping"),
                 expected: .block()),
        RuleCase(name: "fromSource on a capability rule also names the first word of the command line",
                 mirrors: "feeder Capabilities: HasPrefix(Source, src + \" \") || Source == ProcessName",
                 spec: "capabilities: {matchCapabilities: [{capability: net_raw, fromSource: [{path: /usr/bin/ping}]}]}",
                 event: {
                     var event = Fixture.podEvent("Capabilities", resource: "CAP_NET_RAW", data: "syscall=SYS_SOCKET",
                                                  process: "/usr/bin/ping.iputils")
                     event.source = "/usr/bin/ping -c1 10.0.0.1"
                     return event
                 }(), expected: .block()),
        RuleCase(name: "fromSource on a capability rule is not the parent", mirrors: "feeder Capabilities compares no ParentProcessName",
                 spec: "capabilities: {matchCapabilities: [{capability: net_raw, fromSource: [{path: /bin/bash}]}]}",
                 event: Fixture.podEvent("Capabilities", resource: "CAP_NET_RAW", data: "syscall=SYS_SOCKET",
                                         process: "/usr/sbin/arping"), expected: .none),
        RuleCase(name: "net_raw does not cover stream sockets", mirrors: "feeder getOperationAndCapabilityFromName",
                 spec: "capabilities: {matchCapabilities: [{capability: net_raw}]}",
                 event: Fixture.socket("domain=AF_INET type=SOCK_STREAM protocol=TCP"), expected: .none),
    ]

    static let syscalls: [RuleCase] = [
        RuleCase(name: "matchSyscalls audits the syscall", mirrors: "feeder Syscall: SYS_ name == rule; always Audit",
                 spec: "syscalls: {matchSyscalls: [{syscall: [unlink]}]}",
                 event: Fixture.podEvent("Syscall", resource: "/tmp/x", data: "syscall=SYS_UNLINK", process: "/bin/rm"),
                 expected: .audit()),
        RuleCase(name: "a syscall directory that is not recursive matches only itself",
                 mirrors: "feeder Syscall: dir prefix only with recursive (match.ReadOnly = Recursive)",
                 spec: "syscalls: {matchPaths: [{path: /tmp/, syscall: [unlink]}]}",
                 event: Fixture.podEvent("Syscall", resource: "/tmp/x", data: "syscall=SYS_UNLINK", process: "/bin/rm"),
                 expected: .none),
        RuleCase(name: "a recursive syscall directory matches below it", mirrors: "feeder Syscall",
                 spec: "syscalls: {matchPaths: [{path: /tmp/, recursive: true, syscall: [unlink]}]}",
                 event: Fixture.podEvent("Syscall", resource: "/tmp/a/x", data: "syscall=SYS_UNLINK", process: "/bin/rm"),
                 expected: .audit()),
        RuleCase(name: "a syscall source directory matches its executables", mirrors: "feeder Syscall fromSource dir",
                 spec: "syscalls: {matchSyscalls: [{syscall: [unlink], fromSource: [{dir: /bin/}]}]}",
                 event: Fixture.podEvent("Syscall", resource: "/tmp/x", data: "syscall=SYS_UNLINK", process: "/bin/rm"),
                 expected: .audit()),
    ]

    static let results: [RuleCase] = [
        RuleCase(name: "an operation that failed for another reason is not evaluated",
                 mirrors: "feeder UpdateMatchedPolicy (Passed, Permission denied, Operation not permitted only)",
                 spec: "file: {matchPaths: [{path: /etc/shadow}]}",
                 event: Fixture.open("/etc/shadow", result: "No such file or directory"), expected: .none),
        RuleCase(name: "a denied operation keeps its result under a Block rule", mirrors: "feeder Block && Result != Passed",
                 spec: "file: {matchPaths: [{path: /etc/shadow}]}", event: Fixture.open("/etc/shadow", result: "Permission denied"),
                 expected: Expected(policyName: "test-policy", action: "Block", result: "Permission denied")),
        RuleCase(name: "Audit rules alert only on operations that passed", mirrors: "feeder Audit && Result == Passed",
                 spec: "file: {matchPaths: [{path: /etc/shadow}], action: Audit}",
                 event: Fixture.open("/etc/shadow", result: "Operation not permitted"), expected: .none),
    ]

    @Test(arguments: process + file + network + capabilities + syscalls + results)
    func rule(_ rule: RuleCase) {
        let policies = Fixture.policies(Fixture.podPolicy(rule.spec))
        let alert = Fixture.evaluate(policies, [rule.event], options: Fixture.options(posture: rule.posture))[0]
        #expect(Expected(alert) == rule.expected, "mirrors \(rule.mirrors)")
    }

    @Test func anAlertCarriesTheRuleFieldsAndIsMarkedReevaluated() throws {
        let policies = Fixture.policies(Fixture.podPolicy("""
            severity: 4
            tags: [MITRE, "T1003 <credential>"]
            message: shadow read
            file: {matchPaths: [{path: /etc/shadow}]}
            action: Audit
            """))
        var event = Fixture.open("/etc/shadow")
        event.extras.append(ExtraField(key: "ATags", json: "[\"old\"]"))
        event.layout = KeyLayout(keys: ["Timestamp"])
        let alert = try #require(Fixture.evaluate(policies, [event])[0])
        #expect(alert.type == "MatchedPolicy" && alert.policyName == "test-policy" && alert.severity == "4")
        #expect(alert.tags == "MITRE,T1003 <credential>" && alert.message == "shadow read")
        #expect(alert.action == "Audit" && alert.result == "Passed" && alert.enforcer == "rearview (re-evaluated)")
        #expect(alert.extra("ATags") == "[\"MITRE\",\"T1003 \\u003ccredential\\u003e\"]")
        #expect(alert.extra("Reevaluated") == "true")
        #expect(alert.extras.filter { $0.key == "ATags" }.count == 1)
        #expect(alert.layout == nil)
        #expect(alert.resource == event.resource && alert.hostPID == event.hostPID && alert.timeNs == event.timeNs)
    }

    @Test func anUnknownOwnerIsTakenAsSomeoneElseAndSaidSo() throws {
        let policies = Fixture.policies(Fixture.podPolicy("file: {matchPaths: [{path: /home/user1/secret, ownerOnly: true}]}"))
        let alert = try #require(Fixture.evaluate(policies, [Fixture.open("/home/user1/secret", uid: 1000)])[0])
        #expect(Expected(alert) == .block())
        #expect(alert.extra("OwnerUnverified") == "true")
    }

    @Test func hostEventsRaiseHostAlerts() throws {
        let policies = Fixture.policies("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorHostPolicy
            metadata: {name: host-diff}
            spec:
              nodeSelector: {matchLabels: {kubernetes.io/hostname: kubearmor-dev}}
              process: {matchPaths: [{path: /usr/bin/diff}]}
              action: Block
            """)
        let event = Fixture.hostEvent("Process", resource: "/usr/bin/diff --help", data: "syscall=SYS_EXECVE",
                                      process: "/usr/bin/diff")
        let alert = try #require(Fixture.evaluate(policies, [event])[0])
        #expect(alert.type == "MatchedHostPolicy" && Expected(alert) == .block("host-diff"))
    }
}
