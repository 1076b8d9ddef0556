import EventModel
import Foundation
import Testing
@testable import PolicyEngine

/// Builders for the events and policies the tests evaluate.
enum Fixture {
    static let corpus = "/work/shared/corpus/kubearmor-policies"
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("samples").path

    /// Policies from YAML text that must load without rejection.
    static func policies(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [KubeArmorPolicy] {
        let result = PolicyLoader.load(yaml: yaml, file: "test.yaml")
        #expect(result.rejections.isEmpty, "\(result.rejections)", sourceLocation: sourceLocation)
        return result.policies
    }

    /// A KubeArmorPolicy for the multiubuntu pod `container` with `body` as the rest of its spec.
    static func podPolicy(_ body: String, name: String = "test-policy", container: String = "ubuntu-1") -> String {
        """
        apiVersion: security.kubearmor.com/v1
        kind: KubeArmorPolicy
        metadata:
          name: \(name)
          namespace: multiubuntu
        spec:
          selector:
            matchLabels:
              container: \(container)
        \(body.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    /// An event in the multiubuntu pod `container` (group-1 for ubuntu-1…3, group-2 for 4 and 5).
    static func podEvent(_ operation: String, resource: String, data: String = "", process: String,
                         parent: String = "/bin/bash", container: String = "ubuntu-1", uid: Int32 = 0,
                         owner: Int32? = nil, tty: String = "", result: String = "Passed") -> Event {
        var event = Event()
        event.timeNs = 1_717_150_000_000_000_000
        event.timestamp = 1_717_150_000
        event.clusterName = "default"
        event.hostName = "kubearmor-dev"
        event.namespaceName = "multiubuntu"
        event.podName = "\(container)-deployment-5bd8d67678-4szzv"
        let number = Int(container.split(separator: "-").last ?? "1") ?? 1
        event.labels = "container=\(container),group=group-\(number <= 3 ? 1 : 2)"
        event.containerID = "0b1c8a1f9e2d" + String(repeating: "0", count: 52)
        event.containerName = "\(container)-container"
        event.hostPID = 4242
        event.hostPPID = 4241
        event.pid = 42
        event.ppid = 41
        event.uid = uid
        event.operation = operation
        event.resource = resource
        event.data = data
        event.processName = process
        event.parentProcessName = parent
        event.source = operation == "Process" ? parent : process
        event.tty = tty
        event.result = result
        event.type = "ContainerLog"
        if let owner { event.extras.append(ExtraField(key: "OID", json: String(owner))) }
        return event
    }

    /// The same event on the host `hostName` (no container).
    static func hostEvent(_ operation: String, resource: String, data: String = "", process: String,
                          parent: String = "/usr/bin/bash", hostName: String = "kubearmor-dev",
                          result: String = "Passed") -> Event {
        var event = podEvent(operation, resource: resource, data: data, process: process, parent: parent, result: result)
        event.hostName = hostName
        event.namespaceName = ""
        event.podName = ""
        event.labels = ""
        event.containerID = ""
        event.containerName = ""
        event.type = "HostLog"
        return event
    }

    static func execution(_ path: String, arguments: String = "", parent: String = "/bin/bash",
                          container: String = "ubuntu-1", uid: Int32 = 0, owner: Int32? = nil,
                          result: String = "Passed") -> Event {
        podEvent("Process", resource: arguments.isEmpty ? path : path + " " + arguments, data: "syscall=SYS_EXECVE",
                 process: path, parent: parent, container: container, uid: uid, owner: owner, result: result)
    }

    static func open(_ path: String, write: Bool = false, by process: String = "/bin/cat",
                     container: String = "ubuntu-1", uid: Int32 = 0, owner: Int32? = nil,
                     result: String = "Passed") -> Event {
        let flags = write ? "O_WRONLY|O_CREAT|O_APPEND" : "O_RDONLY"
        return podEvent("File", resource: path, data: "syscall=SYS_OPENAT fd=-100 flags=\(flags)", process: process,
                        container: container, uid: uid, owner: owner, result: result)
    }

    /// A socket operation of `process`, whose `Source` is `commandLine` (default: the executable alone).
    static func socket(_ resource: String, by process: String = "/usr/bin/curl", commandLine: String? = nil,
                       container: String = "ubuntu-1", data: String = "syscall=SYS_SOCKET") -> Event {
        var event = podEvent("Network", resource: resource, data: data, process: process, container: container)
        if let commandLine { event.source = commandLine }
        return event
    }

    /// Evaluates `events` one by one with a fresh evaluator.
    static func evaluate(_ policies: [KubeArmorPolicy], _ events: [Event],
                         options: EvaluationOptions = EvaluationOptions()) -> [Event?] {
        var evaluator = PolicySet(policies, options: options).makeEvaluator()
        return events.map { evaluator.evaluate($0) }
    }

    static func options(scope: EvaluationOptions.Scope = .asWritten, posture: DefaultPosture.Action = .audit) -> EvaluationOptions {
        var options = EvaluationOptions()
        options.scope = scope
        options.containerPosture = DefaultPosture(posture)
        options.hostPosture = DefaultPosture(posture)
        return options
    }

    /// The demo incident's events.
    static func demoIncident() throws -> [Event] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: samples + "/demo-incident.ndjson")))
        return try KubeArmorJSONReader.readAll(bytes: bytes, origin: "demo-incident.ndjson").map { try $0.get() }
    }
}

/// What a test expects of one evaluation: no alert, or an alert's policy, action and result.
struct Expected: Equatable, CustomStringConvertible {
    var policyName: String
    var action: String
    var result: String

    static let none = Expected(policyName: "", action: "", result: "")

    init(policyName: String, action: String, result: String) {
        self.policyName = policyName
        self.action = action
        self.result = result
    }

    init(_ alert: Event?) {
        self = alert.map { Expected(policyName: $0.policyName, action: $0.action, result: $0.result) } ?? .none
    }

    static func block(_ policy: String = "test-policy") -> Expected {
        Expected(policyName: policy, action: "Block", result: "Permission denied")
    }

    static func audit(_ policy: String = "test-policy") -> Expected {
        Expected(policyName: policy, action: "Audit", result: "Passed")
    }

    static let postureBlock = Expected(policyName: "DefaultPosture", action: "Block", result: "Permission denied")
    static let postureAudit = Expected(policyName: "DefaultPosture", action: "Audit", result: "Passed")

    var description: String { self == .none ? "no alert" : "\(policyName) \(action) \(result)" }
}
