import EventModel
import Foundation
import Testing
@testable import EventStore

/// The signed chain head (`segments/head.sig`): removing the newest segments of a signed store, and
/// rebuilding its index, no longer leaves a store that verifies.
@Suite struct ChainHeadTests {
    /// A store signed over several seals, and its keys.
    func signedStore() throws -> (store: TemporaryDirectory, keys: TemporaryDirectory, signer: SegmentSigner, key: SealVerifyingKey) {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        try SignedStore.write(store.path, signer: signer)
        #expect(try SignedStore.sealedSegments(store.path).count > 4)
        return (store, keys, signer, key)
    }

    /// Removes the newest `count` sealed segments with their signatures, as an attacker would.
    func removeNewest(_ count: Int, from path: String) throws -> [UInt64] {
        let removed = Array(try SignedStore.sealedSegments(path).suffix(count))
        for number in removed {
            let segment = Store.segmentsPath(path) + "/" + SegmentFile.name(number: number, sealed: true)
            try FileManager.default.removeItem(atPath: segment)
            try FileManager.default.removeItem(atPath: segment + SealSignature.suffix)
        }
        return removed
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func everySealSignsTheHead() throws {
        let (store, _, _, key) = try signedStore()
        let report = try StoreVerifier.check(try Store.open(store.path), signedBy: key)
        #expect(report.problems.isEmpty, "\(report.problems)")
        let newest = try #require(try SignedStore.sealedSegments(store.path).last)
        #expect(report.head.segment == newest)
        #expect(report.head.events == 3000)
        #expect(report.head.hash == (try Store.open(store.path).segments().last?.hash))
        let signed = try #require(report.signedHead)
        #expect(signed.position == report.head)
        #expect(signed.signer == key)
    }

    @Test func removingTheNewestSegmentsAndReindexingIsATruncation() throws {
        let (store, _, signer, key) = try signedStore()
        let head = try bytes(SignedChainHead.path(store: try Store.open(store.path)))
        let removed = try removeNewest(2, from: store.path)
        _ = try Store.reindex(store.path)
        // The hash chain alone cannot tell: what is left still chains, and the index agrees with it.
        #expect(try StoreVerifier.verify(try Store.open(store.path)).isEmpty)
        // The signed head can; reindex left it alone.
        #expect(try bytes(SignedChainHead.path(store: try Store.open(store.path))) == head)
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
        #expect(problems.map(\.path) == [SignedChainHead.path(store: try Store.open(store.path))])
        #expect(problems.first?.message.contains("truncated: the signed head is segment \(removed[1])") == true, "\(problems)")
        #expect(problems.first?.message.contains("segments \(removed[0])…\(removed[1]) removed") == true, "\(problems)")

        // A signing writer refuses to sign over the gap (which would hide it), and leaves the head as it was.
        var options = WriterOptions()
        options.signer = signer
        #expect { try StoreWriter(path: store.path, options: options) } throws: { error in
            let error = try #require(error as? StoreError)
            return error.code == .damaged && error.message.contains("truncated") && error.message.contains("not signing over it")
        }
        #expect(try bytes(SignedChainHead.path(store: try Store.open(store.path))) == head)
        // A writer without the key cannot hide it either: its new segments do not have the head's hash.
        try SignedStore.write(store.path, signer: nil, count: 1000, seed: 5, startNs: 1_717_160_000_000_000_000)
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).contains {
            $0.path == SignedChainHead.path(store: try Store.open(store.path)) && $0.message.contains("has another hash than the signed head's")
        })
    }

    @Test func removingTheHeadTooIsReported() throws {
        let (store, _, signer, key) = try signedStore()
        _ = try removeNewest(1, from: store.path)
        try FileManager.default.removeItem(atPath: SignedChainHead.path(store: try Store.open(store.path)))
        _ = try Store.reindex(store.path)
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
        #expect(problems.map(\.path) == [SignedChainHead.path(store: try Store.open(store.path))])
        #expect(problems.first?.message.contains("no signed chain head") == true)
        // A signing writer does not start a new head over segments its key signed.
        var options = WriterOptions()
        options.signer = signer
        #expect { try StoreWriter(path: store.path, options: options) } throws: { error in
            (error as? StoreError)?.message.contains("missing, although segment 1 is signed by \(key.fingerprint)") == true
        }
        #expect(!FileManager.default.fileExists(atPath: SignedChainHead.path(store: try Store.open(store.path))))
    }

    @Test func headSignedByAnotherKeyIsDamaged() throws {
        let (store, keys, _, key) = try signedStore()
        let (intruder, _) = try SignedStore.newKey(keys, "intruder.key")
        let report = try StoreVerifier.check(try Store.open(store.path), signedBy: key)
        // The intruder signs a head for the store as it is (same id, segment, hash, events).
        try intruder.writeHead(store: try Store.open(store.path), storeID: StoreWriter.bytes(hex: try Store.open(store.path).storeID()), position: report.head)
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
        #expect(problems.map(\.path) == [SignedChainHead.path(store: try Store.open(store.path))])
        #expect(problems.first?.message.contains("signed by another key (\(intruder.verifyingKey.fingerprint)), not \(key.fingerprint)") == true,
                "\(problems)")
    }

    @Test func alteredHeadIsDamaged() throws {
        let (store, _, _, key) = try signedStore()
        let path = SignedChainHead.path(store: try Store.open(store.path))
        let original = try bytes(path)
        // The event count (offset 8 + 32 + 16 + 8 + 32), then the public key, then the length.
        for (offset, expected) in [(96, "not a valid signature by"), (10, "names another key")] {
            var altered = Array(original)
            altered[offset] ^= 0x01
            try Data(altered).write(to: URL(fileURLWithPath: path))
            let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
            #expect(problems.map(\.path) == [path])
            #expect(problems.first?.message.contains(expected) == true, "offset \(offset): \(problems)")
        }
        try Data(original.prefix(100)).write(to: URL(fileURLWithPath: path))
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).first?.message.contains("unreadable chain head") == true)
    }

    @Test func expectedHeadIsCheckedAgainstTheChain() throws {
        let (store, _, signer, key) = try signedStore()
        let headPath = SignedChainHead.path(store: try Store.open(store.path))
        let first = try StoreVerifier.check(try Store.open(store.path)).head
        let firstHeadFile = try bytes(headPath)
        let same = try StoreVerifier.check(try Store.open(store.path), expectingHead: first.hash)
        #expect(same.problems.isEmpty)
        #expect(same.expectedHead == first)
        var other = first.hash
        other[0] ^= 0xFF
        let wrong = try StoreVerifier.check(try Store.open(store.path), expectingHead: other)
        #expect(wrong.expectedHead == nil)
        #expect(wrong.problems.map(\.path) == [store.path])
        #expect(wrong.problems.first?.message.contains("the expected head \(StoreWriter.hex(other)) is not a sealed segment of this store") == true)

        // The store grows: an older note still holds (its segment is in the chain, below the new head).
        try SignedStore.write(store.path, signer: signer, count: 1000, seed: 7, startNs: 1_717_160_000_000_000_000)
        let grown = try StoreVerifier.check(try Store.open(store.path), signedBy: key, expectingHead: first.hash)
        #expect(grown.problems.isEmpty, "\(grown.problems)")
        #expect(grown.expectedHead == first)
        #expect(grown.head.segment > first.segment)

        // Rollback: the segments sealed since the first head removed and that head's file put back.
        // The signatures cannot tell; the investigator's note of the newer head can.
        let noted = grown.head
        _ = try removeNewest(Int(noted.segment - first.segment), from: store.path)
        try firstHeadFile.write(to: URL(fileURLWithPath: headPath))
        _ = try Store.reindex(store.path)
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).isEmpty)
        let rolledBack = try StoreVerifier.check(try Store.open(store.path), signedBy: key, expectingHead: noted.hash)
        #expect(rolledBack.problems.count == 1, "\(rolledBack.problems)")
        #expect(rolledBack.problems.first?.message.contains("is not a sealed segment of this store (its head is segment \(first.segment)") == true)
    }

    @Test func openSegmentsAreNamed() throws {
        let (store, _, signer, key) = try signedStore()
        var options = WriterOptions()
        options.blockEvents = 100
        options.signer = signer
        var factory = EventFactory(seed: 9)
        let writer = try StoreWriter(path: store.path, options: options)
        try writer.append(factory.events(250, startNs: 1_717_160_000_000_000_000))
        try writer.flush()
        let report = try StoreVerifier.check(try Store.open(store.path), signedBy: key)
        #expect(report.problems.isEmpty, "\(report.problems)")
        let open = try #require(try StoreWriter.segmentFiles(try Store.open(store.path)).last)
        #expect(!open.sealed)
        #expect(report.openSegments == [VerificationReport.OpenSegment(path: Store.segmentsPath(store.path) + "/" + open.name, events: 250)])
        #expect(report.head.segment == open.number - 1)
        #expect(report.head.events == 3000)
        try writer.close()
        let sealed = try StoreVerifier.check(try Store.open(store.path), signedBy: key)
        #expect(sealed.problems.isEmpty && sealed.openSegments.isEmpty)
        #expect(sealed.head.segment == open.number && sealed.head.events == 3250)
        #expect(sealed.signedHead?.position == sealed.head)
    }

    @Test func aHeadLeftBehindIsReportedUntilTheNextSigningWriter() throws {
        let (store, _, signer, key) = try signedStore()
        let path = SignedChainHead.path(store: try Store.open(store.path))
        let stale = try bytes(path)
        // A writer stopped between sealing a segment and signing the head.
        try SignedStore.write(store.path, signer: signer, count: 300, seed: 8, startNs: 1_717_160_000_000_000_000)
        try stale.write(to: URL(fileURLWithPath: path))
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
        #expect(problems.map(\.path) == [path])
        #expect(problems.first?.message.contains("sealed after the signed head") == true, "\(problems)")
        // Those segments are signed by the key: the next signing writer brings the head up to them.
        var options = WriterOptions()
        options.signer = signer
        try StoreWriter(path: store.path, options: options).close()
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).isEmpty)
    }

    @Test func anUnsignedStoreHasNoHeadAndVerifiesWithoutAKey() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (_, key) = try SignedStore.newKey(keys)
        try SignedStore.write(store.path, signer: nil)
        #expect(!FileManager.default.fileExists(atPath: SignedChainHead.path(store: try Store.open(store.path))))
        let report = try StoreVerifier.check(try Store.open(store.path))
        #expect(report.problems.isEmpty)
        #expect(report.signedHead == nil)
        #expect(report.head.events == 3000)
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).contains { $0.message.contains("no signed chain head") })
    }

    @Test func signingAnUnsignedStoreStartsItsHead() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        var options = WriterOptions()
        options.signer = signer
        // An empty store: the head says "no segment yet", and verifies.
        try StoreWriter(path: store.path, options: options).close()
        let empty = try StoreVerifier.check(try Store.open(store.path), signedBy: key)
        #expect(empty.problems.isEmpty && empty.signedHead?.position == .start)
        // Unsigned segments, then signed ones: the head covers the chain, the unsigned segments stay reported.
        try SignedStore.write(store.path, signer: nil, count: 300)
        try SignedStore.write(store.path, signer: signer, count: 300, seed: 2, startNs: 1_717_160_000_000_000_000)
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
        #expect(!problems.isEmpty && problems.allSatisfy { $0.message.contains("not signed") }, "\(problems)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func opensslChecksTheHeadSignature() throws {
        let (store, keys, _, _) = try signedStore()
        let head = Array(try bytes(SignedChainHead.path(store: try Store.open(store.path))))
        // As the README shows: the domain and bytes 40..<112 are the message, the last 64 bytes the signature.
        try Data(Array("rearview-head-v1".utf8) + head[40..<112]).write(to: URL(fileURLWithPath: keys.path + "/message"))
        try Data(head.suffix(64)).write(to: URL(fileURLWithPath: keys.path + "/signature"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["pkeyutl", "-verify", "-pubin", "-inkey", keys.path + "/seal.key.pub", "-rawin",
                             "-in", keys.path + "/message", "-sigfile", keys.path + "/signature"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let verdict = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(verdict.contains("Signature Verified Successfully"))
    }
}
