import EventModel
import Foundation
import SIEMExport
import Testing

@Suite struct OCSFEncoderTests {
    static func event(_ event: Event) throws -> JSONValue { try JSONValue.parse(Encode.bytes([event], .ocsf)[0]) }

    @Test func processLaunch() throws {
        let value = try Self.event(TestEvents.exec)
        #expect(value["class_uid"] == .integer(1007) && value["category_uid"] == .integer(1))
        #expect(value["activity_id"] == .integer(1) && value["type_uid"] == .integer(100701))
        #expect(value["time"] == .integer(1_717_150_000_043))
        #expect(value["severity_id"] == .integer(1) && value["status_id"] == .integer(1))
        #expect(value.at("process.pid") == .integer(3945))
        #expect(value.at("process.cmd_line") == .string("/usr/bin/curl -s http://10.0.0.5"))
        #expect(value.at("process.file.path") == .string("/usr/bin/curl"))
        #expect(value.at("process.namespace_pid") == .integer(113))
        #expect(value.at("process.created_time") == .integer(1_717_150_000_043))
        #expect(value.at("process.container.image.uid") == .string("sha256:26e875555790f82ec1d3fcff2a3af4d46b0a18e8830e07bc1e398f1012bd4ace"))
        #expect(value.at("actor.process.pid") == .integer(3943))
        #expect(value.at("actor.process.name") == .string("bash"))
        #expect(value.at("metadata.version") == .string("1.3.0"))
        #expect(value.at("metadata.profiles") == .array([.string("host"), .string("container")]))
        #expect(value.at("unmapped.NamespaceName") == .string("payments"))
    }

    @Test func exitCarriesItsCode() throws {
        var exit = TestEvents.exec
        exit.data = "syscall=SYS_EXIT code=3"
        let value = try Self.event(exit)
        #expect(value["activity_id"] == .integer(2) && value["type_uid"] == .integer(100702))
        #expect(value["exit_code"] == .integer(3))
    }

    @Test func fileAndNetworkActivities() throws {
        let file = try Self.event(TestEvents.fileOpen)
        #expect(file["class_uid"] == .integer(1001) && file["activity_id"] == .integer(14) && file["type_uid"] == .integer(100114))
        #expect(file.at("file.path") == .string("/etc/shadow") && file.at("file.name") == .string("shadow"))
        #expect(file.at("actor.process.pid") == .integer(3945))
        var delete = TestEvents.fileOpen
        delete.data = "syscall=SYS_UNLINKAT flags="
        #expect(try Self.event(delete)["activity_id"] == .integer(4))

        let connect = try Self.event(TestEvents.connect)
        #expect(connect["class_uid"] == .integer(4001) && connect["category_uid"] == .integer(4) && connect["activity_id"] == .integer(1))
        #expect(connect.at("dst_endpoint.ip") == .string("10.0.0.5") && connect.at("dst_endpoint.port") == .integer(443))
        #expect(connect.at("connection_info.direction_id") == .integer(2))
        let accept = try Self.event(TestEvents.accept)
        #expect(accept.at("src_endpoint.ip") == .string("10.0.0.9") && accept.at("connection_info.direction_id") == .integer(1))
        #expect(accept.at("connection_info.protocol_name") == .string("tcp"))
        let socket = try Self.event(TestEvents.socket)
        #expect(socket["activity_id"] == .integer(99) && socket.at("dst_endpoint.name") == .string(TestEvents.socket.resource))
    }

    @Test func alertsAreDetectionFindings() throws {
        let block = try Self.event(TestEvents.blockAlert)
        #expect(block["class_uid"] == .integer(2004) && block["type_uid"] == .integer(200401))
        #expect(block["severity_id"] == .integer(4))  // Severity 7: High
        #expect(block["action_id"] == .integer(2) && block["disposition_id"] == .integer(2))
        #expect(block.at("finding_info.title") == .string("curl blocked"))
        #expect(block.at("finding_info.analytic.name") == .string("block-curl"))
        #expect(block.at("finding_info.types") == .array([.string("MITRE"), .string("T1105")]))
        guard case .array(let evidences)? = block["evidences"], let evidence = evidences.first else {
            Issue.record("no evidences")
            return
        }
        #expect(evidence.at("process.pid") == .integer(3945))
        let audit = try Self.event(TestEvents.auditFileAlert)
        #expect(audit["severity_id"] == .integer(3) && audit["action_id"] == .integer(1))
        #expect(audit.at("finding_info.title") == .string("audit-shadow: Audit File /etc/shadow"))
        guard case .array(let auditEvidences)? = audit["evidences"] else { Issue.record("no evidences"); return }
        #expect(auditEvidences.first?.at("file.path") == .string("/etc/shadow"))
    }

    @Test func hostileStringsRoundTrip() throws {
        let value = try Self.event(TestEvents.hostileEvent)
        #expect(value["message"] == .string(TestEvents.hostile))
        #expect(value.at("unmapped.Source") == .string(TestEvents.hostile))
        #expect(value.at("unmapped.Owner.Name") == .string("x\"y"))
        #expect(value.at("device.hostname") == .string("host " + TestEvents.hostile))
    }
}
