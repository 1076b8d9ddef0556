import EventModel
import Foundation
import Testing
@testable import EventStore

@Suite struct BlockCodecTests {
    @Test func roundTripsEveryField() throws {
        var factory = EventFactory(seed: 1)
        var events = factory.events(3000)
        for i in events.indices { events[i].seq = 100 + UInt64(i) }
        let block = BlockCodec.encode(events[...], firstSeq: 100)
        let decoded = try block.payload.decoding { (raw) throws(DecodeFailure) in try BlockCodec.decode(header: block.header, payload: raw).events() }
        #expect(decoded == events)
        #expect(block.header.eventCount == 3000)
        #expect(block.header.firstSeq == 100)
        // Layouts and extras must survive exactly, and equal layouts share one instance after decoding.
        #expect(decoded.filter { $0.layout == EventFactory.layoutA }.count == events.filter { $0.layout == EventFactory.layoutA }.count)
    }

    @Test func compressesRepetitiveEventsWell() {
        var factory = EventFactory(seed: 2)
        let events = factory.events(8192)
        let block = BlockCodec.encode(events[...], firstSeq: 1)
        #expect(Double(block.byteCount) / 8192 < 20, "bytes/event \(Double(block.byteCount) / 8192)")
    }

    @Test func termsMatchDecodedTerms() throws {
        var factory = EventFactory(seed: 3)
        let events = factory.events(2000)
        let block = BlockCodec.encode(events[...], firstSeq: 1)
        let decoded = try block.payload.decoding { (raw) throws(DecodeFailure) in try BlockCodec.decode(header: block.header, payload: raw) }
        #expect(block.terms == BlockCodec.terms(of: decoded))
    }

    @Test func damagedPayloadThrowsInsteadOfCrashing() {
        var factory = EventFactory(seed: 4)
        let events = factory.events(50)
        let block = BlockCodec.encode(events[...], firstSeq: 1)
        var failures = 0
        for position in stride(from: 0, to: block.payload.count, by: 3) {
            var payload = block.payload
            payload[position] ^= 0x5A
            do {
                _ = try payload.decoding { (raw) throws(DecodeFailure) in try BlockCodec.decode(header: block.header, payload: raw) }
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0)
    }
}

@Suite struct StoreWriterTests {
    func write(_ events: [Event], to path: String, blockEvents: Int = 500, flushEvery: Int? = nil) throws -> StoreWriter {
        var options = WriterOptions()
        options.blockEvents = blockEvents
        let writer = try StoreWriter(path: path, options: options)
        if let flushEvery {
            for chunk in stride(from: 0, to: events.count, by: flushEvery) {
                try writer.append(Array(events[chunk..<min(chunk + flushEvery, events.count)]))
                try writer.flush()
            }
        } else {
            try writer.append(events)
        }
        return writer
    }

    func readAll(_ path: String) throws -> [Event] {
        let store = try Store.open(path)
        var out: [Event] = []
        try store.scan(try store.blocks()) { out.append($0); return true }
        return out
    }

    @Test func writesAndReadsBackInTimeOrder() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 5)
        let events = factory.events(5000)
        try write(events.shuffled(), to: dir.path, flushEvery: 1234).close()
        let back = try readAll(dir.path)
        #expect(back.count == 5000)
        #expect(zip(back, back.dropFirst()).allSatisfy { ($0.timeNs, $0.seq) < ($1.timeNs, $1.seq) })
        #expect(Set(back.map(\.contentHash)) == Set(events.map(\.contentHash)))
        let summary = try Store.open(dir.path).summary()
        #expect(summary.events == 5000)
        #expect(summary.hosts.map(\.value).sorted() == ["host-0", "host-1", "host-2"])
        #expect(summary.sealedSegments == summary.segments)
    }

    /// Runs appended one after another (shorter than a block, straddling blocks, out of order
    /// across runs) make the same blocks, numbered the same, as the events appended at once.
    @Test func runsOfAnySizeWriteTheBlocksOfOneAppend() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 7)
        var events = factory.events(3000)
        events.sort { $0.timeNs < $1.timeNs }
        events[1500..<1520].reverse()
        var options = WriterOptions()
        options.blockEvents = 100
        options.threads = 2
        let whole = try StoreWriter(path: dir.path + "/whole", options: options)
        try whole.append(events)
        try whole.close()
        let runs = try StoreWriter(path: dir.path + "/runs", options: options)
        var start = 0
        for size in [1, 99, 100, 101, 7, 350, 1, 1, 843, 1497] {
            try runs.append(events[start..<start + size])
            start += size
        }
        try runs.close()
        #expect(start == events.count)
        let expected = try readAll(dir.path + "/whole")
        #expect(try readAll(dir.path + "/runs") == expected)
        #expect(expected.map(\.seq) == (1...3000).map { UInt64($0) })
        let blocks = { (path: String) in try Store.open(path).blocks().map(\.location) }
        #expect(try blocks(dir.path + "/runs") == blocks(dir.path + "/whole"))
    }

    @Test func rotatesSegmentsAndChainsThem() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 6)
        var options = WriterOptions()
        options.blockEvents = 300
        options.maxSegmentBytes = 8 << 10
        let writer = try StoreWriter(path: dir.path, options: options)
        try writer.append(factory.events(6000))
        try writer.close()
        let store = try Store.open(dir.path)
        let segments = try store.segments()
        #expect(segments.count > 2)
        for (a, b) in zip(segments, segments.dropFirst()) { #expect(b.previousHash == a.hash) }
        #expect(try StoreVerifier.verify(store).isEmpty)
        #expect(try readAll(dir.path).count == 6000)
    }

    @Test func secondWriterIsRefusedWhileTheFirstHoldsTheStore() throws {
        let dir = TemporaryDirectory()
        let first = try StoreWriter(path: dir.path)
        #expect(throws: StoreError.self) { _ = try StoreWriter(path: dir.path) }
        try first.close()
        try StoreWriter(path: dir.path).close()
    }

    @Test func reindexRebuildsAnIdenticalIndex() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 7)
        try write(factory.events(4000), to: dir.path, blockEvents: 700).close()
        try write(factory.events(3000, startNs: 1_717_160_000_000_000_000), to: dir.path, blockEvents: 700).close()
        let before = try Store.open(dir.path).index.dump()
        _ = try Store.reindex(dir.path)
        let after = try Store.open(dir.path).index.dump()
        #expect(before.count > 100)
        #expect(before == after)
    }

    @Test func tornTailKeepsEveryCompleteBlockAtEveryCutOffset() throws {
        let source = TemporaryDirectory()
        var factory = EventFactory(seed: 8)
        let events = factory.events(190)
        // Four flushes give four blocks in one open segment; the writer is left open, as if killed.
        let writer = try write(events, to: source.path, blockEvents: 100, flushEvery: 60)
        let segment = source.path + "/segments/" + SegmentFile.name(number: 1, sealed: false)
        let contents = try SegmentFile.scanOpen(try PosixFile(path: segment, flags: O_RDONLY))
        #expect(contents.blocks.count == 4)
        let last = contents.blocks.last!
        let completeEvents = contents.blocks.dropLast().reduce(0) { $0 + $1.eventCount }
        for cut in last.offset..<(last.offset + last.length) {
            let copy = TemporaryDirectory()
            try FileManager.default.removeItem(atPath: copy.path)
            try FileManager.default.copyItem(atPath: source.path, toPath: copy.path)
            try? FileManager.default.removeItem(atPath: copy.path + "/lock")
            let file = try PosixFile(path: copy.path + "/segments/" + SegmentFile.name(number: 1, sealed: false), flags: O_RDWR)
            try file.truncate(to: cut)
            let recovering = try StoreWriter(path: copy.path)
            #expect(recovering.recovery.recovered.count == 1)
            #expect(recovering.recovery.recovered.first?.keptBlocks == 3)
            #expect(recovering.recovery.recovered.first?.droppedBytes == cut - last.offset)
            try recovering.close()
            let back = try readAll(copy.path)
            #expect(back.count == completeEvents, "cut at \(cut)")
            #expect(try StoreVerifier.verify(try Store.open(copy.path)).isEmpty)
        }
        try writer.close()
    }

    @Test func verifierCatchesAFlippedByteAndABrokenChain() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 9)
        var options = WriterOptions()
        options.blockEvents = 200
        options.maxSegmentBytes = 4 << 10
        let writer = try StoreWriter(path: dir.path, options: options)
        try writer.append(factory.events(3000))
        try writer.close()
        #expect(try StoreVerifier.verify(try Store.open(dir.path)).isEmpty)
        let second = dir.path + "/segments/" + SegmentFile.name(number: 2, sealed: true)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: second)))
        bytes[SegmentHeader.size + 100] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: second))
        let problems = try StoreVerifier.verify(try Store.open(dir.path))
        #expect(problems.contains { $0.path == second && $0.message.contains("SHA-256") })
        // Removing a segment breaks the chain at the next one.
        try FileManager.default.removeItem(atPath: second)
        let afterRemoval = try StoreVerifier.verify(try Store.open(dir.path))
        #expect(afterRemoval.contains { $0.message.contains("missing") })
        #expect(afterRemoval.contains { $0.message.contains("hash chain broken") })
    }

    @Test func duplicateFilterCountsMultiplicity() throws {
        let dir = TemporaryDirectory()
        var factory = EventFactory(seed: 10)
        let events = factory.events(1000)
        try write(events, to: dir.path).close()
        let store = try Store.open(dir.path)
        // The same records again, one of them three times: only the two extra copies are new.
        let again = events + [events[10], events[10]]
        let (kept, duplicates) = try DuplicateFilter.removeStored(from: again, store: store)
        #expect(duplicates == 1000)
        #expect(kept.count == 2)
        #expect(kept.allSatisfy { $0.contentHash == events[10].contentHash })
    }
}
