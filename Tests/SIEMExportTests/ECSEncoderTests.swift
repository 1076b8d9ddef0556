import EventModel
import Foundation
import SIEMExport
import Testing

@Suite struct ECSEncoderTests {
    @Test func processExecLog() throws {
        let doc = try Encode.json(TestEvents.exec, .ecs)
        #expect(member(doc, "@timestamp") as? String == "2024-05-31T10:06:40.043498123Z")
        #expect(member(doc, "ecs.version") as? String == "8.17.0")
        #expect(member(doc, "event.kind") as? String == "event")
        #expect(member(doc, "event.category") as? [String] == ["process"])
        #expect(member(doc, "event.type") as? [String] == ["start"])
        #expect(member(doc, "event.action") as? String == "execve")
        #expect(member(doc, "event.outcome") as? String == "success")
        #expect(member(doc, "event.sequence") as? Int == 42)
        #expect(member(doc, "process.pid") as? Int == 3945)
        #expect(member(doc, "process.executable") as? String == "/usr/bin/curl")
        #expect(member(doc, "process.name") as? String == "curl")
        #expect(member(doc, "process.command_line") as? String == "/usr/bin/curl -s http://10.0.0.5")
        #expect(member(doc, "process.parent.pid") as? Int == 3943)
        #expect(member(doc, "process.parent.name") as? String == "bash")
        #expect(member(doc, "process.user.id") as? String == "33")
        #expect((member(doc, "process.entity_id") as? String)?.count == 16)
        #expect(member(doc, "container.id") as? String == TestEvents.exec.containerID)
        #expect(member(doc, "container.image.name") as? String == TestEvents.exec.containerImage)
        #expect(member(doc, "orchestrator.namespace") as? String == "payments")
        #expect(member(doc, "orchestrator.resource.type") as? String == "pod")
        #expect(member(doc, "orchestrator.resource.name") as? String == "api-7d9f")
        #expect(member(doc, "host.name") as? String == "node-1")
        #expect(member(doc, "kubearmor.PID") as? Int == 113)
        #expect(member(doc, "kubearmor.Source") as? String == "/bin/bash")
        #expect(member(doc, "file") == nil && member(doc, "rule") == nil)
    }

    /// Elastic's detection rules read `process.args`; Kibana filters on `labels.*` as an object.
    @Test func argsAndLabelsAreStructured() throws {
        let exec = try Encode.json(TestEvents.exec, .ecs)
        #expect(member(exec, "process.args") as? [String] == ["/usr/bin/curl", "-s", "http://10.0.0.5"])
        #expect(member(exec, "process.args_count") as? Int == 3)
        #expect(member(exec, "labels") as? [String: String] == ["app": "api"])
        var event = TestEvents.fileOpen
        event.source = "/bin/cat  /etc/shadow"
        event.labels = "app=redis,statefulset.kubernetes.io/pod-name=redis-2,app=other,flag,=x"
        let file = try Encode.json(event, .ecs)
        #expect(member(file, "process.command_line") as? String == "/bin/cat  /etc/shadow")
        #expect(member(file, "process.args") as? [String] == ["/bin/cat", "/etc/shadow"])
        #expect(member(file, "labels") as? [String: String]
                == ["app": "redis", "statefulset_kubernetes_io/pod-name": "redis-2", "flag": ""])
        #expect(member(file, "kubearmor.Labels") as? String == event.labels)
        event.labels = ""
        event.source = ""
        let bare = try Encode.json(event, .ecs)
        #expect(member(bare, "labels") == nil && member(bare, "process.args") == nil)
    }

    @Test func fileAndNetworkLogs() throws {
        let file = try Encode.json(TestEvents.fileOpen, .ecs)
        #expect(member(file, "event.category") as? [String] == ["file"])
        #expect(member(file, "event.type") as? [String] == ["access"])
        #expect(member(file, "file.path") as? String == "/etc/shadow")
        #expect(member(file, "file.name") as? String == "shadow")
        #expect(member(file, "process.command_line") as? String == "/usr/bin/curl -s http://10.0.0.5")

        let connect = try Encode.json(TestEvents.connect, .ecs)
        #expect(member(connect, "event.type") as? [String] == ["connection", "start"])
        #expect(member(connect, "destination.ip") as? String == "10.0.0.5")
        #expect(member(connect, "destination.port") as? Int == 443)
        #expect(member(connect, "network.direction") as? String == "egress")

        let accept = try Encode.json(TestEvents.accept, .ecs)
        #expect(member(accept, "source.ip") as? String == "10.0.0.9")
        #expect(member(accept, "destination.port") as? Int == 22)
        #expect(member(accept, "network.transport") as? String == "tcp")
        #expect(member(accept, "network.direction") as? String == "ingress")
        #expect(member(accept, "orchestrator.type") as? String == "kubernetes")

        let socket = try Encode.json(TestEvents.socket, .ecs)
        #expect(member(socket, "destination") == nil && member(socket, "event.type") as? [String] == ["info"])
    }

    @Test func alerts() throws {
        let block = try Encode.json(TestEvents.blockAlert, .ecs)
        #expect(member(block, "event.kind") as? String == "alert")
        #expect(member(block, "event.outcome") as? String == "failure")
        #expect(member(block, "event.severity") as? Int == 7)
        #expect(member(block, "rule.name") as? String == "block-curl")
        #expect(member(block, "tags") as? [String] == ["MITRE", "T1105"])
        #expect(member(block, "message") as? String == "curl blocked")
        #expect(member(block, "kubearmor.Action") as? String == "Block")
        #expect(member(block, "kubearmor.Enforcer") as? String == "BPFLSM")
        let audit = try Encode.json(TestEvents.auditFileAlert, .ecs)
        #expect(member(audit, "event.kind") as? String == "alert")
        #expect(member(audit, "event.dataset") as? String == "kubearmor.alert")
        #expect(member(audit, "event.outcome") as? String == "success")
    }

    @Test func entityIDsFollowProcessInstances() throws {
        var first = TestEvents.exec
        var later = TestEvents.fileOpen
        later.timeNs += 1000
        var reused = TestEvents.exec
        reused.timeNs += 5_000_000_000
        var afterReuse = TestEvents.fileOpen
        afterReuse.timeNs = reused.timeNs + 1000
        first.seq = 1; later.seq = 2; reused.seq = 3; afterReuse.seq = 4
        let ids = try Encode.bytes([first, later, reused, afterReuse], .ecs).map { bytes in
            member(try JSONSerialization.jsonObject(with: Data(bytes)), "process.entity_id") as! String
        }
        #expect(ids[0] == ids[1])
        #expect(ids[2] == ids[3])
        #expect(ids[0] != ids[2])
        // The parent's id is the one its own events carry.
        var parent = TestEvents.exec
        parent.hostPID = 3943
        parent.hostPPID = 1
        let pair = try Encode.bytes([parent, TestEvents.fileOpen], .ecs).map { try JSONSerialization.jsonObject(with: Data($0)) }
        #expect(member(pair[0], "process.entity_id") as! String == member(pair[1], "process.parent.entity_id") as! String)
    }

    @Test func defaultHostNameFillsIn() throws {
        var event = TestEvents.fileOpen
        event.hostName = ""
        #expect(member(try Encode.json(event, .ecs), "host") == nil)
        let text = Encode.text(event, .ecs, ExportOptions(defaultHostName: "fallback"))
        let doc = try JSONSerialization.jsonObject(with: Data(text.utf8))
        #expect(member(doc, "host.name") as? String == "fallback")
    }

    @Test func hostileStringsRoundTrip() throws {
        let doc = try Encode.json(TestEvents.hostileEvent, .ecs)
        #expect(member(doc, "message") as? String == TestEvents.hostile)
        #expect(member(doc, "file.path") as? String == "/tmp/" + TestEvents.hostile)
        #expect(member(doc, "rule.name") as? String == TestEvents.hostile)
        #expect(member(doc, "container.name") as? String == TestEvents.hostile)
        #expect((member(doc, "tags") as? [String])?.joined(separator: ",") == TestEvents.hostile)
        #expect(member(doc, "kubearmor.Owner.Name") as? String == "x\"y")
    }

    /// Every KubeArmor field of every real record is somewhere in the document, with its exact value.
    @Test func nothingIsLost() throws {
        let places: [EventField: String] = [
            .timestamp: "kubearmor.Timestamp", .clusterName: "orchestrator.cluster.name", .hostName: "host.name",
            .namespaceName: "orchestrator.namespace", .podName: "orchestrator.resource.name", .labels: "kubearmor.Labels",
            .containerID: "container.id", .containerName: "container.name", .containerImage: "container.image.name",
            .hostPPID: "process.parent.pid", .hostPID: "process.pid", .ppid: "kubearmor.PPID", .pid: "kubearmor.PID",
            .uid: "process.user.id", .parentProcessName: "process.parent.executable", .processName: "process.executable",
            .policyName: "rule.name", .message: "message", .type: "kubearmor.Type", .source: "kubearmor.Source",
            .operation: "kubearmor.Operation", .resource: "kubearmor.Resource", .data: "kubearmor.Data",
            .enforcer: "kubearmor.Enforcer", .action: "kubearmor.Action", .result: "kubearmor.Result",
            .cwd: "process.working_directory", .tty: "kubearmor.TTY",
        ]
        let corpus = try TestEvents.corpus
        for (event, bytes) in zip(corpus, Encode.bytes(corpus, .ecs)) {
            let doc = try JSONSerialization.jsonObject(with: Data(bytes))
            for (field, path) in places where !event.string(field).isEmpty && !(field == .timestamp && event.timestamp == 0) {
                #expect(member(doc, path).map { "\($0)" } == event.string(field), "\(field.rawValue) at \(path)")
            }
            if !event.severity.isEmpty {
                #expect((member(doc, "event.severity") ?? member(doc, "kubearmor.Severity")).map { "\($0)" } == event.severity)
            }
            if !event.tags.isEmpty { #expect((member(doc, "tags") as? [String])?.joined(separator: ",") == event.tags) }
            let time = (member(doc, "@timestamp") as! String).prefix(26) + "Z"
            #expect(member(doc, "kubearmor.UpdatedTime") as? String ?? String(time) == event.updatedTime)
            for extra in event.extras {
                let value = (member(doc, "kubearmor") as? [String: Any])?[extra.key] as Any
                let expected = try JSONSerialization.jsonObject(with: Data(extra.json.utf8), options: .fragmentsAllowed)
                #expect(try JSONSerialization.data(withJSONObject: [value], options: .sortedKeys)
                        == JSONSerialization.data(withJSONObject: [expected], options: .sortedKeys), "\(extra.key)")
            }
        }
    }
}
