import EventStore
import Foundation
import Testing

/// `verify` and the signed chain head through the CLI: the truncation attack (newest segments removed,
/// then `reindex`), a head from another key, `--expect-head`, open segments, and the writers that keep the head.
@Suite(.serialized) struct ChainHeadCommandTests {
    /// A store imported with `--sign-key` into several small segments; returns it and the key's path.
    func signedImport(_ scratch: Scratch, key name: String = "seal.key", store storeName: String = "store") throws -> (store: String, key: String) {
        let input = scratch.path + "/input.ndjson", store = scratch.path + "/" + storeName, key = scratch.path + "/" + name
        if !FileManager.default.fileExists(atPath: input) { try Shared.generate(input, ["--events", "6000", "--seed", "15"]) }
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        let imported = try CLI.run(["import", "--store", store, "--sign-key", key, "--block-events", "500", "--segment-size", "64K", input])
        #expect(imported.status == 0, "\(imported.stderr)")
        return (store, key)
    }

    /// The `head: segment N, E events, sha256 HASH` line of verify's output.
    func head(_ stdout: String) throws -> (segment: UInt64, events: Int, hash: String) {
        let line = try #require(lines(stdout).first { $0.hasPrefix("head: segment ") }, "no head line in: \(stdout)")
        let words = line.split(separator: " ")
        let segment = try #require(UInt64(words[2].dropLast()))
        let events = try #require(Int(words[3]))
        let hash = String(try #require(words.last))
        #expect(hash.count == 64)
        return (segment, events, hash)
    }

    @Test func newestSegmentsRemovedAndReindexedIsDamaged() throws {
        let scratch = Scratch()
        let (store, key) = try signedImport(scratch)
        let clean = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(clean.status == 0, "\(clean.stdout)")
        let noted = try head(clean.stdout)
        #expect(noted.segment >= 3 && noted.events == 6000)
        #expect(clean.stdout.contains("signed head: segment \(noted.segment), 6000 events, signed "))

        // The attack: delete the newest two sealed segments (and their signatures), rebuild the index.
        for number in [noted.segment - 1, noted.segment] {
            let segment = store + "/segments/" + String(format: "%06d.rvseg", number)
            try FileManager.default.removeItem(atPath: segment)
            try FileManager.default.removeItem(atPath: segment + ".sig")
        }
        let reindexed = try CLI.run(["reindex", "--store", store])
        #expect(reindexed.status == 0, "\(reindexed.stderr)")
        // Without the key, what is left chains: verify cannot tell, and says so with the head's signer unchecked.
        let unchecked = try CLI.run(["verify", "--store", store])
        #expect(unchecked.status == 0)
        #expect(unchecked.stdout.contains("signed head: segment \(noted.segment)") && unchecked.stdout.contains("(not checked: give --pubkey)"))
        #expect(try head(unchecked.stdout).segment == noted.segment - 2)

        let verified = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(verified.status == 3)
        #expect(lines(verified.stdout).filter { $0.hasPrefix("DAMAGED") } == [
            "DAMAGED \(store)/segments/head.sig: truncated: the signed head is segment \(noted.segment) but the newest sealed segment is "
                + "\(noted.segment - 2): segments \(noted.segment - 1)…\(noted.segment) removed",
        ], "\(verified.stdout)")
        // The noted head is gone from the chain as well.
        let expected = try CLI.run(["verify", "--store", store, "--expect-head", noted.hash])
        #expect(expected.status == 3)
        #expect(expected.stdout.contains("DAMAGED \(store): the expected head \(noted.hash) is not a sealed segment of this store"))

        // The signing importer refuses to sign over the gap.
        let more = try CLI.run(["import", "--store", store, "--sign-key", key, Shared.logs + "/KubeArmor/samples.ndjson"])
        #expect(more.status == 3, "\(more.stderr)")
        #expect(more.stderr.contains("truncated") && more.stderr.contains("not signing over it"), "\(more.stderr)")
        #expect(lines(more.stderr).count == 1)
    }

    @Test func headSignedByAnotherKeyIsDamaged() throws {
        let scratch = Scratch()
        let (store, key) = try signedImport(scratch)
        let (other, _) = try signedImport(scratch, key: "other.key", store: "other")
        // Same events, same layout, another key: its head put in place of the store's.
        try FileManager.default.removeItem(atPath: store + "/segments/head.sig")
        try FileManager.default.copyItem(atPath: other + "/segments/head.sig", toPath: store + "/segments/head.sig")
        let verified = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(verified.status == 3)
        let damaged = lines(verified.stdout).filter { $0.hasPrefix("DAMAGED") }
        #expect(damaged.count == 1 && damaged[0].hasPrefix("DAMAGED \(store)/segments/head.sig: signed by another key (SHA256:"), "\(verified.stdout)")
    }

    @Test func expectHeadChecksTheNotedHash() throws {
        let scratch = Scratch()
        let (store, key) = try signedImport(scratch)
        let noted = try head(try CLI.run(["verify", "--store", store]).stdout)
        // Rebuilding the index of an intact store keeps its head: it still verifies against the note.
        #expect(try CLI.run(["reindex", "--store", store]).status == 0)
        for hash in [noted.hash, noted.hash.uppercased()] {
            let run = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub", "--expect-head", hash])
            #expect(run.status == 0, "\(run.stdout)")
            #expect(run.stdout.contains("expected head: found, segment \(noted.segment) (the store's head)"))
        }
        var other = Array(noted.hash)
        other[10] = other[10] == "0" ? "1" : "0"
        let wrong = try CLI.run(["verify", "--store", store, "--expect-head", String(other)])
        #expect(wrong.status == 3)
        #expect(lines(wrong.stdout).filter { $0.hasPrefix("DAMAGED") }.count == 1)
        #expect(wrong.stdout.contains("the expected head \(String(other)) is not a sealed segment of this store (its head is segment \(noted.segment), \(noted.hash))"))
        for malformed in ["abc", String(noted.hash.dropLast()) + "g", String(noted.hash.prefix(62)) + "+f"] {
            let run = try CLI.run(["verify", "--store", store, "--expect-head", malformed])
            #expect(run.status == 2)
            #expect(run.stderr.contains("--expect-head takes the 64 hex digits"), "\(run.stderr)")
        }
    }

    @Test func openSegmentsAreNamedAndUnsignedStoresSaySo() throws {
        let (scratch, store) = DemoStore.imported()
        let unsigned = try CLI.run(["verify", "--store", store])
        #expect(unsigned.status == 0)
        #expect(unsigned.stdout.contains("signed head: none (unsigned store: the removal of the newest segments cannot be detected)"))
        #expect(!unsigned.stdout.contains("open:"))
        let events = try StoredEvents.read(store).values.sorted { $0.seq < $1.seq }
        // A writer that has flushed but not sealed: its events are in an open segment.
        let writer = try StoreWriter(path: scratch.path + "/live")
        try writer.append(Array(events.prefix(40)))
        try writer.flush()
        let live = try CLI.run(["verify", "--store", scratch.path + "/live"])
        #expect(live.status == 0, "\(live.stdout)")
        #expect(live.stdout.contains("open: \(scratch.path)/live/segments/000001.rvseg.open: 40 event(s) not sealed yet"), "\(live.stdout)")
        #expect(live.stdout.contains("head: none (no sealed segment yet)"))
        try writer.close()
        let sealed = try CLI.run(["verify", "--store", scratch.path + "/live"])
        #expect(!sealed.stdout.contains("open:") && sealed.stdout.contains("head: segment 1, 40 events, sha256 "))
    }

    @Test(.enabled(if: geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs root and BTF to record"))
    func recordKeepsTheHeadAcrossRotations() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", key = scratch.path + "/seal.key", work = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        let workload = try FileWorkload.start(opening: "f-{i}", in: work, pause: 0.01)
        defer {
            Glibc.kill(workload.processIdentifier, SIGKILL)
            workload.waitUntilExit()
        }
        let recorded = try CLI.run(["record", "--store", store, "--sign-key", key, "--events", "file", "--duration", "4s", "--rotate", "1s"])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let verified = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(verified.status == 0, "\(verified.stdout)")
        let recordedHead = try head(verified.stdout)
        #expect(recordedHead.segment >= 2)
        #expect(verified.stdout.contains("signed head: segment \(recordedHead.segment), \(recordedHead.events) events"))
    }
}
