import EventModel
import SIEMExport
import Foundation

/// Hand-made events of each operation, alerts and logs, and the project's real records.
enum TestEvents {
    /// 2024-05-31T10:06:40.043498123Z
    static let timeNs: Int64 = 1_717_150_000_043_498_123

    static func base(_ operation: String, type: String = "ContainerLog") -> Event {
        var event = Event()
        event.timeNs = timeNs
        event.timestamp = timeNs / 1_000_000_000
        event.seq = 42
        event.clusterName = "default"
        event.hostName = "node-1"
        event.namespaceName = "payments"
        event.podName = "api-7d9f"
        event.labels = "app=api"
        event.containerID = "bd87a86557b6fb7ebfeaa1551a28f7b324e4e25a15fc899e4fd58dbe7bdc968b"
        event.containerName = "api"
        event.containerImage = "ghcr.io/acme/api:2.3.1@sha256:26e875555790f82ec1d3fcff2a3af4d46b0a18e8830e07bc1e398f1012bd4ace"
        event.hostPPID = 3943
        event.hostPID = 3945
        event.ppid = 1
        event.pid = 113
        event.uid = 33
        event.parentProcessName = "/bin/bash"
        event.processName = "/usr/bin/curl"
        event.source = "/usr/bin/curl -s http://10.0.0.5"
        event.operation = operation
        event.type = type
        event.result = "Passed"
        event.cwd = "/"
        return event
    }

    static var exec: Event {
        var event = base("Process")
        event.resource = "/usr/bin/curl -s http://10.0.0.5"
        event.source = "/bin/bash"
        event.data = "syscall=SYS_EXECVE"
        return event
    }

    static var fileOpen: Event {
        var event = base("File")
        event.resource = "/etc/shadow"
        event.data = "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY"
        return event
    }

    static var connect: Event {
        var event = base("Network")
        event.resource = "sa_family=AF_INET sin_port=443 sin_addr=10.0.0.5"
        event.data = "syscall=SYS_CONNECT fd=3"
        return event
    }

    static var accept: Event {
        var event = base("Network", type: "HostLog")
        event.resource = "remoteip=10.0.0.9 port=22 protocol=TCP"
        event.data = "kprobe=tcp_accept domain=AF_INET"
        return event
    }

    static var socket: Event {
        var event = base("Network")
        event.resource = "domain=AF_INET type=SOCK_DGRAM|SOCK_NONBLOCK protocol=0"
        event.data = "syscall=SYS_SOCKET"
        return event
    }

    /// A blocked exec alert.
    static var blockAlert: Event {
        var event = exec
        event.type = "MatchedPolicy"
        event.policyName = "block-curl"
        event.severity = "7"
        event.tags = "MITRE,T1105"
        event.message = "curl blocked"
        event.action = "Block"
        event.enforcer = "BPFLSM"
        event.result = "Permission denied"
        return event
    }

    /// An audited file alert without a message.
    static var auditFileAlert: Event {
        var event = fileOpen
        event.type = "MatchedHostPolicy"
        event.policyName = "audit-shadow"
        event.severity = "5"
        event.action = "Audit"
        event.enforcer = "eBPF Monitor"
        return event
    }

    /// Strings no format may mangle: quotes, backslashes, line breaks, control and non-ASCII characters.
    static let hostile = "a\"b\\c\nd\re\tf|g=h]i\u{0}j\u{1F}k<>&\u{2028}é\u{FFFD}😀 end"

    static var hostileEvent: Event {
        var event = auditFileAlert
        event.resource = "/tmp/" + hostile
        event.source = hostile
        event.message = hostile
        event.policyName = hostile
        event.tags = hostile
        event.containerName = hostile
        event.hostName = "host " + hostile
        event.type = "MatchedPolicy"
        event.extras = [ExtraField(key: "Owner", json: #"{"Ref":"Deployment","Name":"x\"y"}"#)]
        return event
    }

    static var handMade: [Event] { [exec, fileOpen, connect, accept, socket, blockAlert, auditFileAlert, hostileEvent] }

    /// Every record of the demo incident and of the real KubeArmor corpus.
    static var corpus: [Event] { get throws { try loadedCorpus.get() } }

    private static let loadedCorpus = Result { () throws -> [Event] in
        var events: [Event] = []
        for file in [Paths.repository + "/samples/demo-incident.ndjson", Paths.logs + "/KubeArmor/samples.ndjson",
                     Paths.logs + "/accuknox-docs/alerts.ndjson"] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            for outcome in try KubeArmorJSONReader.readAll(bytes: bytes, origin: file) {
                if case .success(var event) = outcome {
                    event.seq = UInt64(events.count + 1)
                    events.append(event)
                }
            }
        }
        return events
    }
}

/// Where the repository, the shared corpus and the vendored schemas are.
enum Paths {
    static let testDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    static let repository = URL(fileURLWithPath: testDirectory).deletingLastPathComponent().deletingLastPathComponent().path
    static let schemas = testDirectory + "/Schemas"
    static let logs: String = {
        var dir = URL(fileURLWithPath: repository)
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("shared/corpus/kubearmor-logs").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return "/work/shared/corpus/kubearmor-logs"
    }()
}

/// Encoding helpers for tests.
enum Encode {
    static func bytes(_ events: [Event], _ format: ExportFormat, _ options: ExportOptions = .init()) -> [[UInt8]] {
        var encoder = format.encoder(options)
        return events.map { event in
            var out: [UInt8] = []
            encoder.append(event, to: &out)
            return out
        }
    }

    static func text(_ event: Event, _ format: ExportFormat, _ options: ExportOptions = .init()) -> String {
        String(decoding: bytes([event], format, options)[0], as: UTF8.self)
    }

    /// The record parsed as a JSON object.
    static func json(_ event: Event, _ format: ExportFormat) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(bytes([event], format)[0])) as! [String: Any]
    }
}
