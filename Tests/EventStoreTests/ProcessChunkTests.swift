import EventModel
import Foundation
import Testing
@testable import EventStore

/// The process table in `process_chunks`: rows round-trip, incremental updates read back as a full
/// write does, and a store with the older `processes` rows still reads (and migrates on write).
@Suite struct ProcessChunkStorageTests {
    static func row(_ id: Int64, host: String = "h1", hostPID: Int64? = nil, parent: Int64? = nil, command: String? = nil,
                    full: Bool = false) -> ProcessInstanceRow {
        ProcessInstanceRow(
            id: id, hostName: host, hostPID: hostPID ?? 1000 + id % 97, pid: full ? 1 + id % 5 : 1000 + id % 97,
            startNs: 1_700_000_000_000_000_000 + id * 1_000_003, exitNs: full ? 1_700_000_000_000_000_000 + id * 1_000_003 + 42 : nil,
            lastActivityNs: 1_700_000_000_000_000_000 + id * 1_000_003 + 7, exitCode: full ? -id : nil,
            exitSignal: full ? "SIGKILL" : "", images: "[\"/usr/bin/bash\",\"/usr/bin/ps\"]",
            command: command ?? "bash -c 'echo \(id)'", failedExecs: full ? "[\"/nope\"]" : "[]", uid: full ? Int64(id % 3) : nil,
            containerID: id % 2 == 0 ? "" : "14a0f9e77f1b\(id % 4)", podName: id % 2 == 0 ? "" : "web-\(id % 4)",
            parentID: parent, reaperID: full ? max(0, id - 3) : nil, origin: "recorded", processEvents: id, fileEvents: 3 * id,
            networkEvents: 0, capabilitiesEvents: 1, syscallEvents: id % 7, otherEvents: Int64.max - id)
    }

    /// Rows with every optional field both set and unset, long and non-ASCII strings, parents forming a tree.
    static let rows: [ProcessInstanceRow] = (0..<20_000).map { (i: Int64) in
        let command: String? = switch i % 1000 {
        case 1: String(repeating: "ü€𝄞 long ", count: 20_000)
        case 2: "ls -la /tmp/日本語 \u{0}"
        default: nil
        }
        return row(i * 2 + 5, host: i % 3 == 0 ? "ip-10-0-1-1" : "ip-10-0-1-2", parent: i == 0 ? nil : (i / 2) * 2 + 5,
                   command: command, full: i % 2 == 1)
    }

    static func blocks(_ writer: StoreWriter) throws -> ProcessTableWatermark {
        ProcessTableWatermark(consumed: try writer.store.blocks())
    }

    @Test func rowsRoundTrip() throws {
        let directory = TemporaryDirectory()
        let writer = try StoreWriter(path: directory.path)
        try writer.storeProcessRows(Self.rows.shuffled(), replacingAll: true, watermark: try Self.blocks(writer))
        try writer.close()
        let store = try Store.open(directory.path)
        #expect(try store.processRows(.all) == Self.rows)
        #expect(try store.processRows(.hostPID(1005, hostName: nil)) == Self.rows.filter { $0.hostPID == 1005 })
        #expect(try store.processRows(.hostPID(1005, hostName: "ip-10-0-1-1"))
                == Self.rows.filter { $0.hostPID == 1005 && $0.hostName == "ip-10-0-1-1" })
        // Ancestors of the row with id 2001 (i = 998): 998 → 499 → 249 → … → 0.
        let up = try store.processRows(around: [2001], ancestors: true, descendants: false, depth: nil).map(\.id)
        var expected: [Int64] = [], i: Int64 = 998
        while true { expected.append(i * 2 + 5); if i == 0 { break }; i /= 2 }
        #expect(up == expected.sorted())
        let down = try store.processRows(around: [9], ancestors: false, descendants: true, depth: 1).map(\.id)
        #expect(down == Self.rows.filter { $0.id == 9 || $0.parentID == 9 }.map(\.id))
    }

    @Test func incrementalUpdatesReadAsAFullWrite() throws {
        let incremental = TemporaryDirectory(), full = TemporaryDirectory()
        var table = Dictionary(uniqueKeysWithValues: Self.rows.prefix(9000).map { ($0.id, $0) })
        let writer = try StoreWriter(path: incremental.path)
        try writer.storeProcessRows(Array(Self.rows.prefix(9000)), replacingAll: true, watermark: try Self.blocks(writer))
        // Rounds of new rows and changed old ones: appended chunks at first, a rewrite once superseded rows pile up.
        for round in 0..<8 {
            let new = Self.rows.dropFirst(9000 + round * 1000).prefix(1000)
            let changed = table.values.sorted { $0.id < $1.id }.enumerated().filter { $0.offset % 5 == round % 5 }.map {
                var r = $0.element
                r.lastActivityNs += 1
                r.exitNs = r.lastActivityNs
                r.command += " (round \(round))"
                return r
            }
            let update = Array(new) + changed
            for r in update { table[r.id] = r }
            try writer.storeProcessRows(update, replacingAll: false, watermark: try Self.blocks(writer))
            #expect(try writer.store.processRows(.all) == table.values.sorted { $0.id < $1.id }, "round \(round)")
        }
        try writer.close()
        let fullWriter = try StoreWriter(path: full.path)
        try fullWriter.storeProcessRows(table.values.sorted { $0.id < $1.id }, replacingAll: true, watermark: try Self.blocks(fullWriter))
        try fullWriter.close()
        let a = try Store.open(incremental.path), b = try Store.open(full.path)
        #expect(try a.processRows(.all) == b.processRows(.all))
        #expect(try a.processRows(.hostPID(1010, hostName: nil)) == b.processRows(.hostPID(1010, hostName: nil)))
        #expect(try a.processRows(around: [21, 4001], ancestors: true, descendants: true, depth: 3)
                == b.processRows(around: [21, 4001], ancestors: true, descendants: true, depth: 3))
    }

    @Test func aStoreWithTheOlderLayoutReadsAndMigratesOnWrite() throws {
        let directory = TemporaryDirectory()
        let rows = Array(Self.rows.prefix(3000))
        var writer = try StoreWriter(path: directory.path)
        try writer.storeProcessRows(rows, replacingAll: true, watermark: try Self.blocks(writer))
        let mark = try writer.store.processTableWatermark()
        try writer.store.index.writeLegacyLayout(rows)
        try writer.close()

        let old = try Store.open(directory.path)
        #expect(try old.processRows(.all) == rows)
        #expect(try old.processRows(.hostPID(1005, hostName: nil)) == rows.filter { $0.hostPID == 1005 })
        let around = try old.processRows(around: [2001], ancestors: true, descendants: true, depth: 2)
        // A read-only opener leaves the layout as it was.
        #expect(try old.index.tableExists("processes") && !old.index.tableExists("process_chunks"))

        writer = try StoreWriter(path: directory.path)
        try writer.close()
        let migrated = try Store.open(directory.path)
        #expect(try !migrated.index.tableExists("processes") && migrated.index.tableExists("process_chunks"))
        #expect(try migrated.processRows(.all) == rows)
        #expect(try migrated.processRows(around: [2001], ancestors: true, descendants: true, depth: 2) == around)
        #expect(try migrated.processTableWatermark() == mark)
    }
}
