import EventStore
import Foundation
import Testing
@testable import Forwarding

/// The forward checkpoint lives in the store; links planted there must not redirect its writes.
@Suite struct CheckpointTrustTests {
    let checkpoint = ForwardCheckpoint(destination: "syslog+tcp://siem.example:514", selection: "--type alert", storeID: "abc",
                                       lastSeq: 42, records: 42)

    func destination() throws -> ForwardDestination { try ForwardDestination(parsing: "syslog+tcp://siem.example:514") }

    func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "rearview-checkpoint-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path + "/store", withIntermediateDirectories: true)
        return path
    }

    @Test func theOldTemporaryNameLinkedToAVictimIsNotWrittenThrough() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let victim = root + "/victim"
        try Data("the victim's own bytes\n".utf8).write(to: URL(fileURLWithPath: victim))
        let file = CheckpointFile(store: try DirectoryHandle(path: root + "/store", trust: .owned), destination: try destination())
        try FileManager.default.createDirectory(atPath: root + "/store/forward", withIntermediateDirectories: true)
        // The fixed temporary name the checkpoint was written under (O_CREAT | O_TRUNC, following links).
        #expect(symlink(victim, file.path + ".tmp") == 0)
        try file.save(checkpoint)
        #expect(FileManager.default.contents(atPath: victim) == Data("the victim's own bytes\n".utf8))
        #expect(try file.load() == checkpoint)
        var st = stat()
        #expect(lstat(file.path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o777 == 0o600)
    }

    @Test func aForwardDirectoryLinkedElsewhereIsRefused() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/elsewhere", withIntermediateDirectories: true)
        #expect(symlink(root + "/elsewhere", root + "/store/forward") == 0)
        let file = CheckpointFile(store: try DirectoryHandle(path: root + "/store", trust: .owned), destination: try destination())
        do {
            try file.save(checkpoint)
            Issue.record("saved through a link")
        } catch {
            #expect(error.message == "\(root)/store/forward: is a symbolic link; rearview does not follow links in a store (cannot save the checkpoint)")
        }
        #expect(throws: ForwardError.self) { try file.load() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/elsewhere").isEmpty)
    }
}
