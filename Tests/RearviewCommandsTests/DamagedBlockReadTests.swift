import EventStore
import Foundation
import Testing

/// A store with one damaged block is read as far as it is intact: `query`, `export` and `timeline`
/// print every other block's events as an intact read does, name the damaged block on stderr and exit 3.
@Suite struct DamagedBlockReadTests {
    /// The demo incident in 256-event blocks, its events as `query --format ndjson` and `export`
    /// printed them while it was intact (each line's Seq beside it), then one payload byte of its
    /// third block flipped.
    struct DamagedStore {
        let path: String
        let block: BlockLocation
        let intact: [(seq: UInt64, line: String)]
        /// `export --format kubearmor` of the intact store, line by line (in the order of `intact`).
        let intactExport: [String]

        func isLeftOut(_ seq: UInt64) -> Bool {
            seq >= block.firstSeq && seq < block.firstSeq + UInt64(block.eventCount)
        }
    }

    static func damage(_ scratch: Scratch) throws -> DamagedStore {
        let path = scratch.path + "/store"
        let imported = try CLI.run(["import", "--store", path, "--block-events", "256", Shared.repository + "/samples/demo-incident.ndjson"])
        try #require(imported.status == 0, "\(imported.stderr)")
        let read = try CLI.run(["query", "--store", path, "--format", "ndjson"])
        try #require(read.status == 0)
        let intact = try lines(read.stdout).map { line in
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (seq: try #require((record["Seq"] as? NSNumber)?.uint64Value), line: line)
        }
        let exported = try CLI.run(["export", "--store", path, "--format", "kubearmor"])
        try #require(exported.status == 0 && lines(exported.stdout).count == intact.count)
        let blocks = try Store.open(path).blocks()
        try #require(blocks.count == 8)
        let third = blocks.sorted { $0.location.firstSeq < $1.location.firstSeq }[2]
        let segment = try FileHandle(forUpdating: URL(fileURLWithPath: path + "/segments/000001.rvseg"))
        let at = UInt64(third.location.offset + third.location.length / 2)
        try segment.seek(toOffset: at)
        let byte = try #require(try segment.read(upToCount: 1)).first!
        try segment.seek(toOffset: at)
        try segment.write(contentsOf: [byte ^ 0x55])
        try segment.close()
        return DamagedStore(path: path, block: third.location, intact: intact, intactExport: lines(exported.stdout))
    }

    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    /// The stderr of a read that left out the damaged block: one DAMAGED line naming it, one summary.
    static func expectNamesTheBlock(_ run: CLI.Run, _ store: DamagedStore) {
        let errors = lines(run.stderr)
        #expect(run.status == 3, "\(run.stderr)")
        #expect(errors.count == 2, "\(run.stderr)")
        let last = store.block.firstSeq + UInt64(store.block.eventCount) - 1
        #expect(errors.first?.hasPrefix("rearview: DAMAGED \(store.path)/segments/000001.rvseg: offset ") == true, "\(run.stderr)")
        #expect(errors.first?.contains("checksum mismatch: left out its 256 event(s), Seq \(store.block.firstSeq)–\(last), ") == true,
                "\(run.stderr)")
        #expect(errors.last == "rearview: the output leaves out 1 damaged block(s) holding 256 event(s); every intact block "
                + "was read (see rearview verify --store \(store.path))")
    }

    @Test func queryPrintsEveryIntactBlock() throws {
        let scratch = Scratch()
        let store = try Self.damage(scratch)
        let run = try CLI.run(["query", "--store", store.path, "--format", "ndjson"])
        Self.expectNamesTheBlock(run, store)
        #expect(Self.lines(run.stdout) == store.intact.filter { !store.isLeftOut($0.seq) }.map(\.line))

        // A filter the index cannot answer decodes every block: the count is the intact blocks' matches.
        let expression = "Resource contains etc"
        let matching = try CLI.run(["query", "--store", store.path, "--format", "ndjson", expression])
        let counted = try CLI.run(["query", "--store", store.path, "--count", expression])
        Self.expectNamesTheBlock(counted, store)
        #expect(Int(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == Self.lines(matching.stdout).count)
        let resources = try store.intact.filter { !store.isLeftOut($0.seq) }.map { entry in
            (try JSONSerialization.jsonObject(with: Data(entry.line.utf8)) as? [String: Any])?["Resource"] as? String ?? ""
        }
        #expect(Self.lines(matching.stdout).count == resources.filter { $0.contains("etc") }.count)
    }

    @Test func exportWritesEveryIntactBlock() throws {
        let scratch = Scratch()
        let store = try Self.damage(scratch)
        let out = scratch.path + "/export.ndjson"
        let run = try CLI.run(["export", "--store", store.path, "--format", "kubearmor", "--out", out])
        Self.expectNamesTheBlock(run, store)
        let expected = zip(store.intact, store.intactExport).filter { !store.isLeftOut($0.0.seq) }.map(\.1)
        #expect(try Self.lines(String(contentsOfFile: out, encoding: .utf8)) == expected)
        let ecs = try CLI.run(["export", "--store", store.path, "--format", "ecs"])
        Self.expectNamesTheBlock(ecs, store)
        #expect(Self.lines(ecs.stdout).count == expected.count)
    }

    @Test func timelineShowsEveryIntactBlock() throws {
        let scratch = Scratch()
        let store = try Self.damage(scratch)
        let run = try CLI.run(["timeline", "--store", store.path])
        Self.expectNamesTheBlock(run, store)
        #expect(Self.lines(run.stdout).count == store.intact.count - 256)
    }
}
