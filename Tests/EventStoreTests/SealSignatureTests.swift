import EventModel
import Foundation
import Testing
@testable import EventStore

@Suite struct SealSignatureTests {
    @Test func everySealedSegmentIsSignedAndVerifies() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        try SignedStore.write(store.path, signer: signer)
        let segments = try SignedStore.sealedSegments(store.path)
        #expect(segments.count > 2)
        for number in segments {
            let signature = try #require(try SealSignature.read(store: try Store.open(store.path), segment: number))
            #expect(signature.publicKey == key.raw)
        }
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).isEmpty)
        // Signing adds files beside the segments; the hash chain is what it would be unsigned.
        let unsigned = TemporaryDirectory()
        try SignedStore.write(unsigned.path, signer: nil)
        #expect(try Store.open(unsigned.path).segments().count == segments.count)
    }

    @Test func anotherKeyIsReportedForEverySegment() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, _) = try SignedStore.newKey(keys)
        let (_, otherKey) = try SignedStore.newKey(keys, "other.key")
        try SignedStore.write(store.path, signer: signer)
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: otherKey)
        // Every segment, and the chain head.
        #expect(problems.count == (try SignedStore.sealedSegments(store.path)).count + 1)
        #expect(problems.allSatisfy { $0.message.contains("signed by another key") })
        #expect(problems.filter { $0.path.hasSuffix(".rvseg") }.count == (try SignedStore.sealedSegments(store.path)).count)
        #expect(problems.last?.path == store.path + "/segments/head.sig")
    }

    @Test func alteredSignatureIsReported() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        try SignedStore.write(store.path, signer: signer)
        let sigPath = SealSignature.path(store: store.path, segment: 2)
        for (offset, expected) in [(80, "not a valid signature"), (50, "signs a different segment hash"), (10, "names another key")] {
            let original = try Data(contentsOf: URL(fileURLWithPath: sigPath))
            var bytes = Array(original)
            bytes[offset] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: sigPath))
            let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
            #expect(problems.count == 1, "offset \(offset): \(problems)")
            #expect(problems.first?.path.hasSuffix("000002.rvseg") == true)
            #expect(problems.first?.message.contains(expected) == true, "offset \(offset): \(problems)")
            try original.write(to: URL(fileURLWithPath: sigPath))
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: sigPath))
        #expect(try StoreVerifier.verify(try Store.open(store.path), signedBy: key).first?.message.contains("unreadable signature") == true)
    }

    @Test func unsignedSegmentIsReported() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        try SignedStore.write(store.path, signer: signer)
        let signedCount = try SignedStore.sealedSegments(store.path).count
        try SignedStore.write(store.path, signer: nil, count: 100, seed: 2, startNs: 1_717_160_000_000_000_000)
        let problems = try StoreVerifier.verify(try Store.open(store.path), signedBy: key)
        // The unsigned segment, and the head that does not vouch for it.
        #expect(problems.map(\.path) == [store.path + "/segments/" + SegmentFile.name(number: UInt64(signedCount + 1), sealed: true),
                                         store.path + "/segments/head.sig"])
        #expect(problems.first?.message.contains("not signed") == true)
        #expect(problems.last?.message.contains("segment \(signedCount + 1) sealed after the signed head") == true, "\(problems)")
        // Without a key the same store verifies: signatures are checked only when asked for.
        #expect(try StoreVerifier.verify(try Store.open(store.path)).isEmpty)
    }

    @Test func recoverySignsTheSegmentItSeals() throws {
        let keys = TemporaryDirectory(), source = TemporaryDirectory()
        let (signer, key) = try SignedStore.newKey(keys)
        var factory = EventFactory(seed: 3)
        var options = WriterOptions()
        options.blockEvents = 100
        options.signer = signer
        // Left open, as if killed after a flush.
        let writer = try StoreWriter(path: source.path, options: options)
        try writer.append(factory.events(250))
        try writer.flush()
        let copy = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: source.path, toPath: copy.path)
        try writer.close()
        try StoreWriter(path: copy.path, options: options).close()
        #expect(try SealSignature.read(store: try Store.open(copy.path), segment: 1) != nil)
        #expect(try StoreVerifier.verify(try Store.open(copy.path), signedBy: key).isEmpty)
    }

    @Test func keygenSetsMode0600AndRefusesToOverwrite() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/seal.key"
        try SegmentSigner.generateKeyFiles(privateKeyPath: path)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let privateBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try SegmentSigner.generateKeyFiles(privateKeyPath: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == privateBytes)
        // A public key alone also blocks it, and no private key is left behind.
        let second = dir.path + "/second.key"
        try Data("x".utf8).write(to: URL(fileURLWithPath: second + ".pub"))
        #expect(throws: StoreError.self) { try SegmentSigner.generateKeyFiles(privateKeyPath: second) }
        #expect(!FileManager.default.fileExists(atPath: second))
    }

    @Test func privateKeyReadableByOthersIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/seal.key"
        try SegmentSigner.generateKeyFiles(privateKeyPath: path)
        chmod(path, 0o644)
        do {
            _ = try SegmentSigner(privateKeyFile: path)
            Issue.record("a world-readable private key was accepted")
        } catch {
            #expect(error.message.contains("chmod 600"))
        }
        #expect(throws: StoreError.self) { _ = try SegmentSigner(privateKeyFile: path + ".pub") }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func opensslReadsTheKeysAndChecksTheSignature() throws {
        let keys = TemporaryDirectory(), store = TemporaryDirectory()
        let (signer, _) = try SignedStore.newKey(keys)
        try SignedStore.write(store.path, signer: signer, count: 300)
        let derived = try run("/usr/bin/openssl", ["pkey", "-in", keys.path + "/seal.key", "-pubout"])
        #expect(derived == (try String(contentsOfFile: keys.path + "/seal.key.pub", encoding: .utf8)))
        let signature = try #require(try SealSignature.read(store: try Store.open(store.path), segment: 1))
        try Data(SealSignature.message(segmentHash: signature.segmentHash)).write(to: URL(fileURLWithPath: keys.path + "/message"))
        try Data(signature.signature).write(to: URL(fileURLWithPath: keys.path + "/signature"))
        let verdict = try run("/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", keys.path + "/seal.key.pub", "-rawin",
                                                   "-in", keys.path + "/message", "-sigfile", keys.path + "/signature"])
        #expect(verdict.contains("Signature Verified Successfully"))
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
