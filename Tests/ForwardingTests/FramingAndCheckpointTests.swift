@testable import Forwarding
import EventStore
import Foundation
import Testing

@Suite struct FramingTests {
    @Test func syslogOverTCPIsOctetCounted() {
        var batch = RecordBatch()
        _ = RecordFraming.octetCounted.append(Array("<14>1 - - - - - - héllo".utf8), seq: 7, to: &batch)
        _ = RecordFraming.octetCounted.append(Array("x".utf8), seq: 9, to: &batch)
        #expect(String(decoding: batch.payload, as: UTF8.self) == "24 <14>1 - - - - - - héllo1 x")
        #expect(batch.records == 2 && batch.lastSeq == 9)
    }

    @Test func datagramsAreCutAtACharacterBoundary() {
        var batch = RecordBatch()
        // "ab€" is 61 62 E2 82 AC: a limit of 4 must not keep half of the euro sign.
        let cut = RecordFraming.datagram(maxSize: 4).append(Array("ab€".utf8), seq: 1, to: &batch)
        #expect(batch.payload == Array("ab".utf8) && cut == 3)
        #expect(RecordFraming.datagram(maxSize: 5).append(Array("ab€".utf8), seq: 2, to: &batch) == 0)
        #expect(Array(batch.record(1)) == Array("ab€".utf8))
    }

    @Test func bulkActionsCarryAStableID() {
        var batch = RecordBatch()
        _ = RecordFraming.bulkCreate(index: "events", idPrefix: "store1").append(Array(#"{"a":1}"#.utf8), seq: 42, to: &batch)
        #expect(String(decoding: batch.payload, as: UTF8.self)
                == "{\"create\":{\"_index\":\"events\",\"_id\":\"store1-42\"}}\n{\"a\":1}\n")
    }

    @Test func bulkItemErrorsAreRetriedOrRefused() throws {
        let fine = Array(#"{"errors":false,"items":[{"create":{"_id":"s-1","status":201}}]}"#.utf8)
        #expect(try HTTPCollectorConnection.checkBulkItems(fine, ids: ["s-1"]) == 0)
        let resent = Array(#"{"errors":true,"items":[{"create":{"_id":"s-1","status":409}},{"create":{"_id":"s-2","status":201}}]}"#.utf8)
        #expect(try HTTPCollectorConnection.checkBulkItems(resent, ids: ["s-1", "s-2"]) == 1)
        let busy = Array(#"{"errors":true,"items":[{"create":{"_id":"s-1","status":429}}]}"#.utf8)
        #expect(throws: ForwardError.self) { try HTTPCollectorConnection.checkBulkItems(busy, ids: ["s-1"]) }
        #expect((try? HTTPCollectorConnection.checkBulkItems(busy, ids: ["s-1"])) == nil)
        let refused = Array(#"{"errors":true,"items":[{"create":{"_id":"s-3","status":400,"error":{"type":"mapper_parsing_exception"}}}]}"#.utf8)
        do {
            _ = try HTTPCollectorConnection.checkBulkItems(refused, ids: ["s-3"])
            Issue.record("a 400 item must stop forward")
        } catch {
            #expect(!error.retryable && error.message.contains("mapper_parsing_exception") && error.message.contains("s-3"))
        }
    }
}

@Suite struct CheckpointFileTests {
    @Test func savedCheckpointsReadBackAndLeaveNoTemporaryFile() throws {
        let store = NSTemporaryDirectory() + "rearview-forward-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: store) }
        let destination = try ForwardDestination(parsing: "https://es.example:9200/idx/_bulk")
        let file = CheckpointFile(store: try DirectoryHandle(path: store, trust: .owned), destination: destination)
        #expect(file.path == store + "/forward/https___es.example_9200_idx__bulk.checkpoint")
        #expect(try file.load() == nil)
        let checkpoint = ForwardCheckpoint(destination: destination.description, selection: "--type alert", storeID: "abc",
                                           lastSeq: 1 << 40, records: 12)
        try file.save(checkpoint)
        try file.save(checkpoint)
        #expect(try file.load() == checkpoint)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/forward") == [(file.path as NSString).lastPathComponent])
        try file.remove()
        #expect(try file.load() == nil)
        try file.remove()
    }

    @Test func aDamagedCheckpointIsAnError() throws {
        let store = NSTemporaryDirectory() + "rearview-forward-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: store + "/forward", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: store) }
        let file = CheckpointFile(store: try DirectoryHandle(path: store, trust: .owned), destination: try ForwardDestination(parsing: "syslog+udp://h"))
        try Data("{\"last_seq\":".utf8).write(to: URL(fileURLWithPath: file.path))
        #expect(throws: ForwardError.self) { try file.load() }
    }

    @Test func destinationsPickTheirFormat() throws {
        #expect(try ForwardDestination(parsing: "syslog+tls://h").defaultFormat == .syslog)
        #expect(try ForwardDestination(parsing: "https://h/services/collector/event").defaultFormat == .splunkHEC)
        #expect(try ForwardDestination(parsing: "https://h/logs/_bulk").defaultFormat == .ecs)
    }
}
