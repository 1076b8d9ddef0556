import EventModel
import Foundation
import Testing
@testable import EventStore

/// An import read in small chunks, spilled in small sorted runs and checked for copies in small
/// windows builds the same store as sorting, deduplicating and appending the whole input at once.
@Suite struct StreamingImportTests {
    static let options: WriterOptions = {
        var options = WriterOptions()
        options.blockEvents = 100
        options.maxSegmentBytes = 40_000
        return options
    }()

    /// Lines of 4000 records: out of order in places, many sharing a time, some repeated.
    static let lines: [String] = {
        var factory = EventFactory(seed: 14)
        var writer = KubeArmorJSONWriter()
        var events = factory.events(4000)
        for i in stride(from: 0, to: events.count - 40, by: 37) { events.swapAt(i, i + 1 + factory.next(39)) }
        for i in stride(from: 5, to: events.count, by: 11) { events[i].timeNs = events[i - 1].timeNs }
        events[2000..<2300].reverse()
        return events.map { writer.json($0) }
    }()

    /// Where the bad lines go in the plain file (0-based), and what they are.
    static let rejectedAt = [0, 333, 334, 1000, 1499]
    static let badLines = [#"{"HostPID":"x"}"#, "garbage", #"{"HostName":"a""#, "[1,2]", #"{"Timestamp":}"#]

    /// The store before the import: the first 600 records, record 10 twice more.
    func prepare(_ store: String) throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/earlier.ndjson"
        try (Self.lines[..<600] + [Self.lines[10], Self.lines[10]]).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var importer = Importer(storePath: store)
        importer.options = Self.options
        _ = try importer.run(files: [path])
    }

    /// A plain file with bad lines among records 0..<1500, a gzip file of two members (1500..<3000),
    /// an LZ4 file (3000..<4000, then records 100..<150 and 10 again).
    func inputs(in dir: TemporaryDirectory) throws -> [String] {
        var plain = Array(Self.lines[..<1500])
        for (at, bad) in zip(Self.rejectedAt, Self.badLines) { plain.insert(bad, at: at) }
        let plainPath = dir.path + "/plain.ndjson"
        try (plain.joined(separator: "\n") + "\n").write(toFile: plainPath, atomically: true, encoding: .utf8)
        let first = Self.lines[1500..<2200].joined(separator: "\n") + "\n"
        let second = Self.lines[2200..<3000].joined(separator: "\n") + "\n"
        let gzipPath = dir.path + "/members.ndjson.gz"
        try Data(compressed(first, with: "gzip") + compressed(second, with: "gzip")).write(to: URL(fileURLWithPath: gzipPath))
        let tail = Array(Self.lines[3000...]) + Self.lines[100..<150] + [Self.lines[10]]
        let lz4Path = dir.path + "/tail.ndjson.lz4"
        try Data(compressed(tail.joined(separator: "\n") + "\n", with: "lz4")).write(to: URL(fileURLWithPath: lz4Path))
        return [plainPath, gzipPath, lz4Path]
    }

    /// The import as it was done in one piece: everything read whole, one stable sort, one
    /// duplicate check, one append.
    func importInOnePiece(_ files: [String], into store: String) throws -> (imported: Int, duplicates: Int) {
        var events: [Event] = []
        for path in files {
            for case .success(let event) in try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: path), origin: path) {
                events.append(event)
            }
        }
        events = events.enumerated().sorted { ($0.element.timeNs, $0.offset) < ($1.element.timeNs, $1.offset) }.map(\.element)
        let writer = try StoreWriter(path: store, options: Self.options)
        let (kept, duplicates) = try DuplicateFilter.removeStored(from: events, store: writer.store)
        try writer.append(kept)
        try writer.close()
        return (kept.count, duplicates)
    }

    func streamingImporter(_ store: String) -> Importer {
        var importer = Importer(storePath: store)
        importer.options = Self.options
        importer.chunkBytes = 3000
        importer.spillEvents = 450
        importer.windowEvents = 70
        return importer
    }

    @Test func streamingImportBuildsTheSameStoreAsImportingInOnePiece() throws {
        let dir = TemporaryDirectory()
        let files = try inputs(in: dir)
        let reference = dir.path + "/reference", streamed = dir.path + "/streamed", plain = dir.path + "/plain"
        for store in [reference, streamed, plain] { try prepare(store) }
        let expected = try importInOnePiece(files, into: reference)
        let report = try streamingImporter(streamed).run(files: files)
        var inMemory = Importer(storePath: plain)
        inMemory.options = Self.options
        let plainReport = try inMemory.run(files: files)
        // Held in memory (sorted in place) but checked in windows smaller than a run: windows are
        // cut from the sorted events themselves, and one left open is carried over.
        let windowed = dir.path + "/windowed"
        try prepare(windowed)
        var inMemoryWindows = Importer(storePath: windowed)
        inMemoryWindows.options = Self.options
        inMemoryWindows.windowEvents = 70
        let windowedReport = try inMemoryWindows.run(files: files)

        // Records 0..<600 once each, but record 10 twice (stored three times) and 100..<150 twice (stored once).
        #expect(expected.duplicates == 549 + 2 + 50)
        for report in [report, plainReport, windowedReport] {
            #expect(report.imported == expected.imported)
            #expect(report.duplicates == expected.duplicates)
        }
        #expect(report.spilledRuns > 1)
        #expect(plainReport.spilledRuns == 0)
        let stored = try contents(reference)
        #expect(stored.blocks.count > 30)
        #expect(try contents(streamed) == stored)
        #expect(try contents(plain) == stored)
        #expect(try contents(windowed) == stored)

        // Rejections name their lines across chunks, and are kept verbatim.
        let rejected = report.files[0].rejected
        #expect(rejected.map(\.line) == Self.rejectedAt.map { $0 + 1 })
        #expect(rejected.map { String(decoding: $0.raw, as: UTF8.self) } == Self.badLines)
        #expect(rejected == plainReport.files[0].rejected)
        #expect(report.files.map(\.records) == [1505, 1500, 1051])
        let kept = try String(contentsOfFile: report.rejectFiles[0], encoding: .utf8)
        #expect(kept == Self.badLines.joined(separator: "\n") + "\n")
    }

    @Test func spilledRunsAreRemovedAndLeftoversOfAKilledImportToo() throws {
        let dir = TemporaryDirectory()
        let files = try inputs(in: dir)
        let store = dir.path + "/store"
        try prepare(store)
        let leftover = store + "/tmp-import-999999999"
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: leftover + "/run-1", contents: Data([1, 2, 3]))
        var importer = streamingImporter(store)
        var sawMerge = false
        importer.progress = { if $0.hasPrefix("merging") { sawMerge = true } }
        let report = try importer.run(files: files)
        #expect(report.spilledRuns == (4000 + 50 + 1) / 450)
        #expect(sawMerge)
        let names = try FileManager.default.contentsOfDirectory(atPath: store)
        #expect(!names.contains { $0.hasPrefix("tmp-import-") }, "\(names)")
        #expect(try Store.open(store).summary().events == 600 + 2 + report.imported)
    }

    @Test func emptyFileStillHasNoRecords() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/empty.ndjson"
        try "\n  \n\n".write(toFile: path, atomically: true, encoding: .utf8)
        var importer = streamingImporter(dir.path + "/store")
        importer.chunkBytes = 1
        let report = try importer.run(files: [path])
        #expect(report.files[0].failure?.reason == .noRecords)
        #expect(report.imported == 0)
    }

    /// Every block's place and every event as decoded, `Seq` included.
    private func contents(_ path: String) throws -> StoreContents {
        let store = try Store.open(path)
        let blocks = try store.blocks()
        return StoreContents(blocks: blocks.map { "\($0.segment)/\($0.location)" },
                             events: try blocks.flatMap { try store.events(in: $0) })
    }

    private struct StoreContents: Equatable {
        var blocks: [String]
        var events: [Event]
    }

    private func compressed(_ text: String, with tool: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
        process.arguments = ["-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(bytes)
    }
}
