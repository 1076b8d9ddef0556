import EventModel
import Foundation
import Testing
@testable import EventStore

/// Deterministic, realistic-looking events for store tests (values repeat like real telemetry).
struct EventFactory {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }

    static let layoutA = KeyLayout(keys: ["Timestamp", "UpdatedTime", "ClusterName", "HostName", "HostPID", "PID", "UID", "ProcessName", "Type", "Operation", "Resource", "Data", "Result", "cluster_id"])
    static let layoutB = KeyLayout(keys: ["timestamp", "hostName", "hostPid", "operation", "resource"])

    mutating func events(_ count: Int, startNs: Int64 = 1_717_150_000_000_000_000) -> [Event] {
        var out: [Event] = []
        var t = startNs
        for i in 0..<count {
            var e = Event()
            t += Int64(next(5_000)) * 1000
            e.timeNs = t
            e.timestamp = t / 1_000_000_000
            if next(20) == 0 { e.updatedTimeAsGiven = "2024-05-31T10:06:40Z" }
            e.clusterName = "default"
            e.hostName = "host-\(next(3))"
            e.hostPID = Int32(1000 + next(200))
            e.hostPPID = Int32(1000 + next(50))
            e.pid = e.hostPID - 900
            e.uid = next(4) == 0 ? 1000 : 0
            e.processName = ["/usr/bin/ps", "/usr/bin/bash", "/usr/sbin/nginx", "/usr/bin/cat"][next(4)]
            e.parentProcessName = "/usr/bin/bash"
            e.operation = ["Process", "File", "Network"][next(3)]
            e.resource = "/etc/file-\(next(300)) <&> \u{e9}"
            e.data = "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY"
            e.result = "Passed"
            e.type = next(10) == 0 ? "MatchedPolicy" : "HostLog"
            if e.type == "MatchedPolicy" {
                e.policyName = "policy-\(next(3))"
                e.severity = String(next(10))
                e.action = "Audit"
            }
            if next(2) == 0 { e.namespaceName = "ns-\(next(2))"; e.podName = "pod-\(next(5))"; e.containerID = String(repeating: "ab", count: 32) }
            switch next(3) {
            case 0: e.layout = Self.layoutA; e.extras = [ExtraField(key: "cluster_id", json: "\"\(next(3))\"")]
            case 1: e.layout = Self.layoutB
            default: break
            }
            if i % 97 == 0 { e.extras.append(ExtraField(key: "Owner", json: "{\"Ref\":\"Deployment\",\"Name\":\"web\"}")) }
            out.append(e)
        }
        return out
    }
}

/// A temporary directory removed when the value is released. Failing to create it is recorded as an
/// issue of the calling test (which then fails where it uses the directory), not a crash.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "rearview-test-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            Issue.record(error, "creating \(path)")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func withoutSeq(_ events: [Event]) -> [Event] {
    events.map { var e = $0; e.seq = 0; return e }
}

/// Stores written over several seals, signed or not, for the signature and chain-head tests.
enum SignedStore {
    /// Writes `count` events into several small segments (about 4 KB each), signed by `signer` (or unsigned).
    static func write(_ path: String, signer: SegmentSigner?, count: Int = 3000, seed: UInt64 = 1,
                      startNs: Int64 = 1_717_150_000_000_000_000) throws {
        var factory = EventFactory(seed: seed)
        var options = WriterOptions()
        options.blockEvents = 200
        options.maxSegmentBytes = 4 << 10
        options.signer = signer
        let writer = try StoreWriter(path: path, options: options)
        try writer.append(factory.events(count, startNs: startNs))
        try writer.close()
    }

    /// A new key pair in `dir`: the signer and the public key read back from `NAME.pub`.
    static func newKey(_ dir: TemporaryDirectory, _ name: String = "seal.key") throws -> (SegmentSigner, SealVerifyingKey) {
        let path = dir.path + "/" + name
        let generated = try SegmentSigner.generateKeyFiles(privateKeyPath: path)
        let signer = try SegmentSigner(privateKeyFile: path)
        let key = try SealVerifyingKey(publicKeyFile: path + ".pub")
        #expect(signer.verifyingKey == generated)
        #expect(key == generated)
        return (signer, key)
    }

    static func sealedSegments(_ path: String) throws -> [UInt64] {
        try StoreWriter.segmentFiles(try Store.open(path)).filter(\.sealed).map(\.number)
    }
}
