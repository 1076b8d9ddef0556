import EventModel
import Foundation
import Testing
@testable import EventStore

@Suite struct SealRecoveryTests {
    /// A writer killed after renaming a sealed segment but before updating its index row leaves the
    /// index saying "open, no hash"; the next writer must bring the row up to date.
    @Test func indexRowOfASegmentSealedAtTheKillIsRepaired() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 21)
        let writer = try StoreWriter(path: dir.path)
        try writer.append(factory.events(500))
        try writer.close()
        let sealed = try #require(try Store.open(dir.path).segments().first)
        var stale = sealed
        stale.sealed = false
        stale.hash = nil
        let index = try StoreIndex(directory: try DirectoryHandle(path: dir.path, trust: .owned), readOnly: false)
        try index.upsertSegment(stale)
        #expect(try StoreVerifier.verify(try Store.open(dir.path)).contains { $0.message.contains("different hash") })
        try StoreWriter(path: dir.path).close()
        #expect(try Store.open(dir.path).segments() == [sealed])
        #expect(try StoreVerifier.verify(try Store.open(dir.path)).isEmpty)
    }

    /// A writer killed while creating a segment (or replacing the ledger, the pins, a signature)
    /// leaves only a temporary file: the next writer removes it, and numbering goes on.
    @Test func aSegmentWhoseCreationWasCutShortLeavesNoHeadlessSegment() throws {
        let dir = TemporaryDirectory()
        try SignedStore.write(dir.path, signer: nil, count: 500)
        let segments = Store.segmentsPath(dir.path)
        let next = try SignedStore.sealedSegments(dir.path).last! + 1
        let leftover = segments + "/" + SegmentFile.name(number: next, sealed: false) + ".tmp-AbCd1234"
        try Data([0x52, 0x56]).write(to: URL(fileURLWithPath: leftover))
        #expect(try StoreVerifier.verify(try Store.open(dir.path)).isEmpty, "a temporary file is not a segment")
        var factory = EventFactory(seed: 3)
        let writer = try StoreWriter(path: dir.path)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        try writer.append(factory.events(10, startNs: 1_717_160_000_000_000_000))
        try writer.close()
        #expect(try SignedStore.sealedSegments(dir.path).last == next)
        #expect(try StoreVerifier.verify(try Store.open(dir.path)).isEmpty)
    }
}
