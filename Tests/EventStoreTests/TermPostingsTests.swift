import EventModel
import Foundation
import GRDB
import Testing
@testable import EventStore

/// The index's postings in the `v4-term-blocks` layout: chunked per 64 block ids, counted by bytes,
/// read in both layouts, converted by a writer, rebuilt by `reindex`.
@Suite struct TermPostingsTests {
    /// Writes `events` in blocks of `blockEvents`, one writer session per part.
    func store(_ parts: [[Event]], blockEvents: Int) throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        for part in parts {
            var options = WriterOptions()
            options.blockEvents = blockEvents
            let writer = try StoreWriter(path: dir.path, options: options)
            try writer.append(part)
            try writer.close()
        }
        return dir
    }

    /// Every indexed field's postings as (value, block id, events), sorted: what the index says.
    func postings(_ store: Store) throws -> [String] {
        var out: [String] = []
        for field in IndexedFields.all {
            for posting in try store.postings(of: field) {
                for (block, events) in posting.blocks { out.append("\(field.rawValue)\t\(posting.value)\t\(block)\t\(events)") }
            }
        }
        return out.sorted()
    }

    /// The same, counted from every decoded block: what the postings must say.
    func decodedTerms(_ store: Store) throws -> [String] {
        var out: [String] = []
        for block in try store.blocks() {
            for term in BlockCodec.terms(of: try store.batch(in: block)) {
                out.append("\(term.field.rawValue)\t\(term.value)\t\(block.id)\t\(term.count)")
            }
        }
        return out.sorted()
    }

    @Test func postingsOverManyChunksAndSessionsEqualTheDecodedBlocks() throws {
        var factory = EventFactory(seed: 41)
        // 150+ blocks of 20 events over three writer sessions: chunks of 64 block ids are appended to
        // across transactions and sessions.
        let dir = try store([factory.events(1400), factory.events(900, startNs: 1_717_160_000_000_000_000),
                             factory.events(900, startNs: 1_717_170_000_000_000_000)], blockEvents: 20)
        let store = try Store.open(dir.path)
        #expect(try store.blocks().count > 150)
        #expect(try store.postingsAreExact())
        let expected = try decodedTerms(store)
        #expect(expected.count > 1000)
        #expect(try postings(store) == expected)
        let chunks = try store.index.db.read { db in try Int.fetchOne(db, sql: "SELECT count(DISTINCT chunk) FROM term_blocks")! }
        #expect(chunks >= 3)
    }

    @Test func totalsAndBlockLookupsReadThePostings() throws {
        var factory = EventFactory(seed: 42)
        let events = factory.events(3000)
        let dir = try store([events], blockEvents: 100)
        let store = try Store.open(dir.path)
        let byHost = Dictionary(grouping: events, by: \.hostName).mapValues(\.count)
        let totals = try store.counts(by: .hostName)
        #expect(Dictionary(uniqueKeysWithValues: totals.map { ($0.value, $0.events) }) == byHost)
        #expect(totals.map(\.events) == totals.map(\.events).sorted(by: >))
        let blocks = try store.blocks()
        var expected = Set<Int64>()
        for block in blocks where try store.events(in: block).contains(where: { $0.hostPID == 1042 }) { expected.insert(block.id) }
        #expect(!expected.isEmpty)
        #expect(try store.blockIDs(where: .hostPID, in: ["1042"]) == expected)
        #expect(try store.blockIDs(where: .hostPID, in: ["1042", "999999"]) == expected)
    }

    @Test func canonicallyEquivalentSpellingsArePostedApart() throws {
        // "K" and the Kelvin sign are equal as Swift strings but are different bytes, so different
        // process names; a query for one must find its blocks whichever came first.
        var factory = EventFactory(seed: 43)
        var events = factory.events(400)
        for i in events.indices { events[i].processName = i < 200 ? (i % 2 == 0 ? "K" : "\u{212A}") : "\u{212A}" }
        let dir = try store([events], blockEvents: 100)
        let store = try Store.open(dir.path)
        let kelvin = try store.postings(of: .processName, values: ["\u{212A}"])
        #expect(kelvin.count == 1)
        #expect(kelvin.first?.blocks.map(\.events) == [50, 50, 100, 100])
        #expect(try store.postings(of: .processName, values: ["K"]).first?.blocks.map(\.events) == [50, 50])
        #expect(try store.values(of: .processName).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
                    == [Array("K".utf8), Array("\u{212A}".utf8)])
    }

    @Test func removedBlocksLeaveThePostingsOfTheOthers() throws {
        var factory = EventFactory(seed: 44)
        let dir = try store([factory.events(2000)], blockEvents: 20)
        let store = try Store.open(dir.path)
        let blocks = try store.blocks()
        // Blocks from two chunks, one of them a chunk's last block.
        let ids: [Int64] = blocks.map(\.id)
        let removed = Set(ids.filter { (id: Int64) -> Bool in id % 7 == 0 || id == 63 })
        let before = try decodedTerms(store)
        let writerIndex = try StoreIndex(directory: store.directory, readOnly: false)
        try writerIndex.remove(blocks: Array(removed))
        let expected = before.filter { (line: String) -> Bool in
            let block = Int64(line.split(separator: "\t", omittingEmptySubsequences: false)[2])!
            return !removed.contains(block)
        }
        #expect(expected.count < before.count)
        #expect(try postings(try Store.open(dir.path)) == expected)
    }

    @Test func readersReadTheEarlierLayoutAndWritersConvertIt() throws {
        var factory = EventFactory(seed: 45)
        let dir = try store([factory.events(2500)], blockEvents: 30)
        let fresh = try Store.open(dir.path)
        let expected = try postings(fresh)
        let freshDump = try fresh.index.dump()
        try StoreIndex(directory: fresh.directory, readOnly: false).writeLegacyTermLayout()

        // A reader reads the rows as they are, changes nothing, and does not count on them.
        let legacy = try Store.open(dir.path)
        #expect(try legacy.index.db.read { db in try db.tableExists("postings") && !db.tableExists("term_blocks") })
        #expect(try postings(legacy) == expected)
        #expect(try legacy.counts(by: .operation).map(\.events).reduce(0, +) == 2500)
        #expect(try !legacy.postingsAreExact())
        #expect(try Store.open(dir.path).index.db.read { db in try db.tableExists("postings") })

        // A writer converts them (and vacuums); the postings read the same, not marked exact.
        try StoreWriter(path: dir.path).close()
        let converted = try Store.open(dir.path)
        #expect(try converted.index.db.read { db in try !db.tableExists("postings") && !db.tableExists("terms") && db.tableExists("term_blocks") })
        #expect(try postings(converted) == expected)
        #expect(try !converted.postingsAreExact())

        // reindex rebuilds the index as a fresh writer made it.
        _ = try Store.reindex(dir.path)
        let rebuilt = try Store.open(dir.path)
        #expect(try rebuilt.postingsAreExact())
        #expect(try rebuilt.index.dump() == freshDump)
    }

    @Test func chunkEntriesRoundTrip() {
        var bytes: [UInt8] = []
        let entries: [(Int64, Int)] = [(128, 1), (130, 127), (131, 128), (150, 8192), (191, 1_000_000)]
        for (block, events) in entries { StoreIndex.appendEntry(block: block, events: events, to: &bytes) }
        let read = StoreIndex.entries(bytes, chunk: 2)
        #expect(read.map(\.block) == entries.map(\.0))
        #expect(read.map(\.events) == entries.map(\.1))
    }
}
