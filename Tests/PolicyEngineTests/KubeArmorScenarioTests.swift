import EventModel
import Foundation
import Testing
@testable import PolicyEngine

/// KubeArmor's own scenario tests (`tests/k8s_env/{scenarios,host_scenarios}/*/cmdN`), replayed as
/// history: each command becomes the event it causes, the policy is the scenario's own file, and the
/// expected alert is derived from the `cmdN` file the way KubeArmor's `test-scenarios-local.sh` does.
struct Scenario: Sendable, CustomTestStringConvertible {
    /// `scenarios/multiubuntu_test_01` or `host_scenarios/kubearmor-dev-next_test_01`.
    let directory: String
    let command: String
    /// The event the command causes that the scenario's `condition` names.
    let event: Event

    var testDescription: String { "\(directory)/\(command)" }
    var isHost: Bool { directory.hasPrefix("host_scenarios") }
}

@Suite struct KubeArmorScenarioTests {
    static let root = Fixture.corpus + "/KubeArmor/tests/k8s_env/"

    // MARK: what commands do

    static func namespace(_ directory: String) -> String { directory.contains("github") ? "github" : "multiubuntu" }

    static func owner(_ path: String) -> Int32 { path.hasPrefix("/home/user1/") ? 1000 : 0 }

    /// `path arguments` executed by `parent` in pod `container` (or on the host).
    static func run(_ directory: String, _ container: String, _ path: String, _ arguments: String = "",
                    parent: String = "/bin/bash", uid: Int32 = 0) -> Event {
        var event = Fixture.execution(path, arguments: arguments, parent: parent, container: container, uid: uid,
                                      owner: owner(path))
        place(&event, directory)
        return event
    }

    /// `path` opened by `process` for reading or writing.
    static func open(_ directory: String, _ container: String, _ path: String, by process: String = "/bin/cat",
                     write: Bool = false, uid: Int32 = 0) -> Event {
        var event = Fixture.open(path, write: write, by: process, container: container, uid: uid, owner: owner(path))
        place(&event, directory)
        return event
    }

    static func socket(_ directory: String, _ container: String, _ resource: String, by process: String) -> Event {
        var event = Fixture.socket(resource, by: process, container: container)
        place(&event, directory)
        return event
    }

    static func place(_ event: inout Event, _ directory: String) {
        if directory.hasPrefix("host_scenarios") {
            event.hostName = "kubearmor-dev-next"
            event.namespaceName = ""
            event.podName = ""
            event.labels = ""
            event.containerID = ""
            event.containerName = ""
        } else {
            event.namespaceName = namespace(directory)
        }
    }

    static let raw = "domain=AF_PACKET type=SOCK_RAW protocol=768"
    static let ping = "domain=AF_INET type=SOCK_RAW protocol=ICMP"
    static let tcp = "domain=AF_INET type=SOCK_STREAM protocol=TCP"
    static let dns = "domain=AF_INET type=SOCK_DGRAM protocol=UDP"

    static func s(_ directory: String, _ command: String, _ event: Event) -> Scenario {
        Scenario(directory: directory, command: command, event: event)
    }

    static let multiubuntu: [Scenario] = {
        func m(_ n: String) -> String { "scenarios/multiubuntu_test_\(n)" }
        return [
            s(m("01"), "cmd1", run(m("01"), "ubuntu-1", "/bin/sleep", "1")),
            s(m("01"), "cmd2", run(m("01"), "ubuntu-3", "/bin/sleep", "1")),
            s(m("02"), "cmd1", run(m("02"), "ubuntu-4", "/bin/sleep", "1")),
            s(m("03"), "cmd1", socket(m("03"), "ubuntu-1", raw, by: "/usr/sbin/arping")),
            s(m("04"), "cmd1", run(m("04"), "ubuntu-1", "/sbin/route")),
            s(m("05"), "cmd1", run(m("05"), "ubuntu-2", "/usr/bin/env")),
            s(m("05"), "cmd2", run(m("05"), "ubuntu-2", "/usr/bin/whoami")),
            s(m("06"), "cmd1", open(m("06"), "ubuntu-5", "/credentials/password")),
            s(m("07"), "cmd1", socket(m("07"), "ubuntu-5", ping, by: "/bin/ping")),
            s(m("08"), "cmd1", open(m("08"), "ubuntu-3", "/credentials/password")),
            s(m("08"), "cmd2", open(m("08"), "ubuntu-3", "/etc/hostname")),
            s(m("09"), "cmd1", open(m("09"), "ubuntu-4", "/credentials/password")),
            s(m("09"), "cmd2", open(m("09"), "ubuntu-4", "/credentials/password", by: "/bin/bash", write: true)),
            s(m("11"), "cmd1", open(m("11"), "ubuntu-1", "/etc/shadow")),
            s(m("11"), "cmd2", open(m("11"), "ubuntu-1", "/etc/gshadow")),
            s(m("11"), "cmd3", open(m("11"), "ubuntu-1", "/etc/hostname")),
            s(m("12"), "cmd1", run(m("12"), "ubuntu-2", "/bin/ls", parent: "/bin/dash")),
            s(m("12"), "cmd2", run(m("12"), "ubuntu-2", "/bin/cat", "/etc/hostname", parent: "/bin/dash")),
            s(m("13"), "cmd1", open(m("13"), "ubuntu-2", "/run/secrets/kubernetes.io/serviceaccount/token")),
            s(m("14"), "cmd1", run(m("14"), "ubuntu-3", "/home/user1/hello")),
            s(m("14"), "cmd2", run(m("14"), "ubuntu-3", "/home/user1/hello", uid: 1000)),
            s(m("15"), "cmd1", run(m("15"), "ubuntu-3", "/home/user1/hello")),
            s(m("15"), "cmd2", run(m("15"), "ubuntu-3", "/home/user1/hello", uid: 1000)),
            s(m("16"), "cmd1", open(m("16"), "ubuntu-4", "/credentials/password")),
            s(m("16"), "cmd2", open(m("16"), "ubuntu-4", "/credentials/password", by: "/bin/bash", write: true)),
            s(m("17"), "cmd1", open(m("17"), "ubuntu-4", "/secret.txt")),
            s(m("17"), "cmd2", open(m("17"), "ubuntu-4", "/etc/hosts")),
            s(m("18"), "cmd1", open(m("18"), "ubuntu-4", "/secret.txt", by: "/usr/bin/head")),
            s(m("18"), "cmd2", open(m("18"), "ubuntu-4", "/secret.txt")),
            s(m("19"), "cmd1", open(m("19"), "ubuntu-4", "/credentials/password", by: "/readwrite")),
            s(m("19"), "cmd2", open(m("19"), "ubuntu-4", "/credentials/password", by: "/readwrite", write: true)),
            s(m("19"), "cmd3", open(m("19"), "ubuntu-4", "/secret.txt", by: "/readwrite")),
            s(m("20"), "cmd1", open(m("20"), "ubuntu-4", "/credentials/password", by: "/readwrite")),
            s(m("20"), "cmd2", open(m("20"), "ubuntu-4", "/credentials/password", by: "/readwrite", write: true)),
            s(m("20"), "cmd3", open(m("20"), "ubuntu-4", "/secret.txt", by: "/readwrite")),
            s(m("21"), "cmd1", open(m("21"), "ubuntu-3", "/home/user1/secret_data1.txt", uid: 1000)),
            s(m("21"), "cmd2", open(m("21"), "ubuntu-3", "/home/user1/secret_data1.txt")),
            s(m("22"), "cmd1", open(m("22"), "ubuntu-5", "/home/user1/secret_data1.txt", uid: 1000)),
            s(m("22"), "cmd2", open(m("22"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/bin/bash", write: true, uid: 1000)),
            s(m("22"), "cmd3", open(m("22"), "ubuntu-5", "/home/user1/secret_data1.txt")),
            s(m("22"), "cmd4", open(m("22"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/bin/bash", write: true)),
            s(m("23"), "cmd1", open(m("23"), "ubuntu-5", "/home/user1/secret_data1.txt", uid: 1000)),
            s(m("23"), "cmd2", open(m("23"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/readwrite", write: true, uid: 1000)),
            s(m("23"), "cmd3", open(m("23"), "ubuntu-5", "/home/user1/secret_data1.txt")),
            s(m("23"), "cmd4", open(m("23"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/readwrite", write: true)),
            s(m("24"), "cmd1", open(m("24"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/readwrite", uid: 1000)),
            s(m("24"), "cmd2", open(m("24"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/readwrite", write: true, uid: 1000)),
            s(m("24"), "cmd3", open(m("24"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/readwrite")),
            s(m("24"), "cmd4", open(m("24"), "ubuntu-5", "/home/user1/secret_data1.txt", by: "/readwrite", write: true)),
            s(m("25"), "cmd1", open(m("25"), "ubuntu-2", "/home/user1/dir1/key1.txt")),
            s(m("25"), "cmd2", open(m("25"), "ubuntu-2", "/home/user1/dir1/key1.txt", uid: 1000)),
            s(m("25"), "cmd3", open(m("25"), "ubuntu-2", "/home/user1/dir1/key1.txt", by: "/bin/bash", write: true, uid: 1000)),
            s(m("25"), "cmd4", open(m("25"), "ubuntu-2", "/home/user1/dir1/key1.txt", by: "/bin/bash", write: true)),
            s(m("26"), "cmd1", open(m("26"), "ubuntu-2", "/home/user1/secret_data1.txt", by: "/bin/bash", write: true)),
            s(m("26"), "cmd2", open(m("26"), "ubuntu-2", "/home/user1/secret_data1.txt")),
            s(m("26"), "cmd3", open(m("26"), "ubuntu-2", "/home/user1/secret_data1.txt", by: "/bin/bash", write: true, uid: 1000)),
            s(m("26"), "cmd4", open(m("26"), "ubuntu-2", "/home/user1/secret_data1.txt", uid: 1000)),
            s(m("27"), "cmd1", open(m("27"), "ubuntu-1", "/home/user1/secret_data1.txt", uid: 1000)),
            s(m("27"), "cmd2", open(m("27"), "ubuntu-1", "/home/user1/secret_data1.txt", by: "/bin/bash", write: true, uid: 1000)),
            s(m("27"), "cmd3", open(m("27"), "ubuntu-1", "/home/user1/otherfile.txt", by: "/bin/bash", write: true, uid: 1000)),
            s(m("27"), "cmd4", open(m("27"), "ubuntu-1", "/home/user1/otherfile.txt", by: "/bin/bash", write: true)),
            s(m("27"), "cmd5", open(m("27"), "ubuntu-1", "/home/user1/secret_data1.txt", by: "/bin/bash", write: true)),
            s(m("27"), "cmd6", open(m("27"), "ubuntu-1", "/home/user1/secret_data1.txt")),
            s(m("28"), "cmd1", socket(m("28"), "ubuntu-1", raw, by: "/usr/sbin/arping")),
        ]
    }()

    static let github: [Scenario] = {
        func g(_ n: String) -> String { "scenarios/github_test_\(n)" }
        return [
            s(g("01"), "cmd1", run(g("01"), "ubuntu-1", "/bin/uname", "-r", parent: "/bin/dash")),
            s(g("01"), "cmd2", run(g("01"), "ubuntu-1", "/bin/ls", parent: "/bin/dash")),
            s(g("02"), "cmd1", open(g("02"), "ubuntu-1", "/credentials/password")),
            s(g("02"), "cmd2", open(g("02"), "ubuntu-1", "/credentials/keys/priv.key")),
            s(g("04"), "cmd1", open(g("04"), "ubuntu-1", "/secret.txt")),
            s(g("04"), "cmd2", open(g("04"), "ubuntu-1", "/etc/hostname")),
            s(g("05"), "cmd1", open(g("05"), "ubuntu-1", "/secret.txt")),
            s(g("05"), "cmd2", open(g("05"), "ubuntu-1", "/etc/hosts")),
            s(g("07"), "cmd1", open(g("07"), "ubuntu-1", "/home/user1/dir1/key1.txt")),
            s(g("07"), "cmd2", open(g("07"), "ubuntu-1", "/home/user1/dir1/key1.txt", uid: 1000)),
            s(g("07"), "cmd3", open(g("07"), "ubuntu-1", "/home/user1/dir1/key1.txt", by: "/bin/bash", write: true)),
            s(g("07"), "cmd4", open(g("07"), "ubuntu-1", "/home/user1/dir1/key1.txt", by: "/bin/bash", write: true, uid: 1000)),
            s(g("10"), "cmd1", socket(g("10"), "ubuntu-1", tcp, by: "/usr/bin/curl")),
            s(g("10"), "cmd2", socket(g("10"), "ubuntu-1", raw, by: "/usr/sbin/arping")),
            s(g("12"), "cmd1", socket(g("12"), "ubuntu-1", tcp, by: "/usr/bin/curl")),
            s(g("12"), "cmd2", socket(g("12"), "ubuntu-1", dns, by: "/usr/bin/curl")),
            s(g("12"), "cmd3", socket(g("12"), "ubuntu-1", tcp, by: "/usr/bin/wget")),
            s(g("13"), "cmd1", socket(g("13"), "ubuntu-1", raw, by: "/usr/sbin/arping")),
        ]
    }()

    static let host: [Scenario] = {
        func h(_ n: String) -> String { "host_scenarios/kubearmor-dev-next_test_\(n)" }
        return [
            s(h("01"), "cmd1", run(h("01"), "", "/usr/bin/diff", "--help")),
            s(h("02"), "cmd1", open(h("02"), "", "/etc/passwd")),
            s(h("02"), "cmd2", open(h("02"), "", "/etc/passwd", by: "/usr/bin/head")),
            s(h("03"), "cmd1", open(h("03"), "", "/etc/hostname")),
            s(h("04"), "cmd1", run(h("04"), "", "/bin/date", parent: "/bin/bash")),
            s(h("04"), "cmd2", run(h("04"), "", "/bin/ls", parent: "/bin/bash")),
            s(h("05"), "cmd1", run(h("05"), "", "/bin/date", parent: "/bin/bash")),
            s(h("05"), "cmd2", run(h("05"), "", "/bin/ls", parent: "/bin/bash")),
            s(h("06"), "cmd1", open(h("06"), "", "/etc/hostname", by: "/usr/bin/head")),
            s(h("06"), "cmd2", open(h("06"), "", "/etc/hosts", by: "/usr/bin/head")),
            s(h("07"), "cmd1", open(h("07"), "", "/etc/hostname", by: "/usr/bin/head")),
            s(h("07"), "cmd2", open(h("07"), "", "/etc/hosts", by: "/usr/bin/head")),
            s(h("08"), "cmd1", open(h("08"), "", "/etc/default/useradd", by: "/usr/bin/head")),
            s(h("08"), "cmd2", open(h("08"), "", "/etc/hostname", by: "/usr/bin/head")),
            s(h("09"), "cmd1", open(h("09"), "", "/etc/default/useradd", by: "/usr/bin/head")),
            s(h("09"), "cmd2", open(h("09"), "", "/etc/hostname", by: "/usr/bin/head")),
        ]
    }()

    // MARK: the scenario files

    /// `key: value` lines of a `cmdN` file.
    static func expectation(_ scenario: Scenario) throws -> [String: String] {
        let text = try String(contentsOfFile: root + scenario.directory + "/" + scenario.command, encoding: .utf8)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The scenario's policy file: the YAML beside the `cmdN` files, or where the repository's symlink points.
    static func policyFile(_ directory: String) throws -> String {
        let beside = try FileManager.default.contentsOfDirectory(atPath: root + directory).filter { $0.hasSuffix(".yaml") }
        if let file = beside.first { return root + directory + "/" + file }
        let links = try String(contentsOfFile: Fixture.corpus + "/KubeArmor/SYMLINKS.txt", encoding: .utf8)
        let link = try #require(links.split(separator: "\n").first { $0.hasPrefix("tests/k8s_env/\(directory)/") })
        // The corpus keeps the link targets at their paths under `examples/`.
        let target = try #require(link.range(of: "examples/"))
        return Fixture.corpus + "/KubeArmor/" + link[target.lowerBound...]
    }

    /// What `test-scenarios-local.sh` expects under `posture`: the alert's policy, action and result.
    static func expected(_ fields: [String: String], policyName: String, posture: DefaultPosture.Action) -> Expected {
        switch (fields["result"], fields["action"]) {
        case ("default", "default"): return posture == .block ? .postureBlock : .postureAudit
        case ("passed", "Allow"), ("passed", "Block"): return .none
        case ("passed", "Audit"): return .audit(policyName)
        case ("failed", "Block"): return .block(policyName)
        default:
            Issue.record("no expectation for result \(fields["result"] ?? "-") and action \(fields["action"] ?? "-")")
            return .none
        }
    }

    @Test(arguments: multiubuntu + github + host)
    func scenario(_ scenario: Scenario) throws {
        let fields = try Self.expectation(scenario)
        // The event stands for the operation the scenario checks.
        #expect(scenario.event.operation == fields["operation"])
        let condition = try #require(fields["condition"])
        #expect(scenario.event.resource.contains(condition) || scenario.event.processName.contains(condition))
        let loaded = PolicyLoader.load(paths: [try Self.policyFile(scenario.directory)])
        let policy = try #require(loaded.policies.first, "\(loaded.rejections)")
        for posture in [DefaultPosture.Action.block, .audit] {
            let alert = Fixture.evaluate([policy], [scenario.event], options: Fixture.options(posture: posture))[0]
            #expect(Expected(alert) == Self.expected(fields, policyName: policy.name, posture: posture),
                    "posture \(posture.rawValue)")
            if let alert {
                #expect(alert.type == (scenario.isHost ? "MatchedHostPolicy" : "MatchedPolicy"))
            }
        }
    }
}
