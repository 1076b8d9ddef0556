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
}
