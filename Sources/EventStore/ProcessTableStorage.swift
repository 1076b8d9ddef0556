import Foundation
import GRDB

/// A process instance as a flat record of integers and strings: a row of the `processes` table of
/// `index.sqlite`.
///
/// EventStore keeps these rows without knowing how they are made: `Investigation` builds process
/// instances from events and converts them to and from rows (so EventStore does not depend on it).
/// `images` and `failedExecs` are JSON arrays of strings (`["/usr/bin/bash","/usr/bin/ps"]`),
/// `origin` says how the instance was established, `exitSignal` is empty when no signal ended the
/// process, and `parentID` and `reaperID` are ids of other rows of the same table.
public struct ProcessInstanceRow: Sendable, Hashable {
    public var id: Int64
    public var hostName: String
    public var hostPID: Int64
    public var pid: Int64
    public var startNs: Int64
    public var exitNs: Int64?
    public var lastActivityNs: Int64
    public var exitCode: Int64?
    public var exitSignal: String
    public var images: String
    public var command: String
    public var failedExecs: String
    public var uid: Int64?
    public var containerID: String
    public var podName: String
    public var parentID: Int64?
    public var reaperID: Int64?
    public var origin: String
    public var processEvents: Int64
    public var fileEvents: Int64
    public var networkEvents: Int64
    public var capabilitiesEvents: Int64
    public var syscallEvents: Int64
    public var otherEvents: Int64

    public init(id: Int64, hostName: String, hostPID: Int64, pid: Int64, startNs: Int64, exitNs: Int64?, lastActivityNs: Int64,
                exitCode: Int64?, exitSignal: String, images: String, command: String, failedExecs: String, uid: Int64?, containerID: String,
                podName: String, parentID: Int64?, reaperID: Int64?, origin: String, processEvents: Int64, fileEvents: Int64,
                networkEvents: Int64, capabilitiesEvents: Int64, syscallEvents: Int64, otherEvents: Int64) {
        self.id = id
        self.hostName = hostName
        self.hostPID = hostPID
        self.pid = pid
        self.startNs = startNs
        self.exitNs = exitNs
        self.lastActivityNs = lastActivityNs
        self.exitCode = exitCode
        self.exitSignal = exitSignal
        self.images = images
        self.command = command
        self.failedExecs = failedExecs
        self.uid = uid
        self.containerID = containerID
        self.podName = podName
        self.parentID = parentID
        self.reaperID = reaperID
        self.origin = origin
        self.processEvents = processEvents
        self.fileEvents = fileEvents
        self.networkEvents = networkEvents
        self.capabilitiesEvents = capabilitiesEvents
        self.syscallEvents = syscallEvents
        self.otherEvents = otherEvents
    }
}

/// How far the stored process table reaches into a store's blocks: it was built from every block
/// up to ``lastBlockID`` and from no later one.
///
/// The counts make the mark checkable: when the blocks up to ``lastBlockID`` no longer hold
/// ``blocks`` blocks of ``events`` events (recovery dropped a torn tail), the table is stale.
public struct ProcessTableWatermark: Sendable, Equatable {
    /// The id of the last block the table consumed (block ids grow as blocks are added).
    public var lastBlockID: Int64
    /// How many blocks the table consumed.
    public var blocks: Int
    /// How many events those blocks held.
    public var events: Int
    /// The latest event time (unix ns) in those blocks: later blocks that start before it hold older
    /// events, and the table must be rebuilt rather than extended.
    public var latestTimeNs: Int64

    public init(lastBlockID: Int64, blocks: Int, events: Int, latestTimeNs: Int64) {
        self.lastBlockID = lastBlockID
        self.blocks = blocks
        self.events = events
        self.latestTimeNs = latestTimeNs
    }

    /// The mark of a table built from exactly `consumed`.
    public init(consumed: [IndexedBlock]) {
        self.init(lastBlockID: consumed.map(\.id).max() ?? 0, blocks: consumed.count,
                  events: consumed.reduce(0) { $0 + $1.location.eventCount },
                  latestTimeNs: consumed.map(\.location.maxTimeNs).max() ?? .min)
    }

    /// The blocks of `blocks` (a store's whole list) that came after the mark, or nil when the blocks
    /// up to the mark are not those the table consumed.
    public func blocks(after blocks: [IndexedBlock]) -> [IndexedBlock]? {
        let consumed = blocks.filter { $0.id <= lastBlockID }
        guard consumed.count == self.blocks, consumed.reduce(0, { $0 + $1.location.eventCount }) == events else { return nil }
        return blocks.filter { $0.id > lastBlockID }
    }
}

/// Which rows of the stored process table to read.
public enum ProcessRowSelection: Sendable, Equatable {
    case all
    /// The instances that had this HostPID (on `hostName` when given).
    case hostPID(Int32, hostName: String?)
}

/// A `processes` row as stored: the columns SQL queries (`host`, `host_pid`, `parent_id`) as
/// such, everything else in one `details` blob of varints, strings as numbers into
/// ``ProcessStringTable``. Five values per row instead of two dozen make writing 170,000 rows
/// several times faster, and the rows smaller.
///
/// `details`: a flags varint (1 exit, 2 exit code, 4 uid, 8 reaper), then zigzag varints of pid,
/// start, [exit − start], last activity − start, [exit code], [uid], and varints of the string
/// numbers of exit signal, images, command, failed execs, container, pod, origin, [the reaper id],
/// and the six event counts.
private enum StoredProcessRow {
    static let columns = "id, host, host_pid, parent_id, details"

    /// Appends the values of `r` in column order (the layout before `v3-process-chunks`; tests make
    /// old stores with it).
    static func append(_ r: ProcessInstanceRow, to values: inout [DatabaseValue], _ strings: inout ProcessStringTable) {
        var details = ByteWriter(capacity: 64)
        let flags = (r.exitNs == nil ? 0 : 1) | (r.exitCode == nil ? 0 : 2) | (r.uid == nil ? 0 : 4) | (r.reaperID == nil ? 0 : 8)
        details.varint(flags)
        details.zigzag(r.pid)
        details.zigzag(r.startNs)
        if let exit = r.exitNs { details.zigzag(exit &- r.startNs) }
        details.zigzag(r.lastActivityNs &- r.startNs)
        if let code = r.exitCode { details.zigzag(code) }
        if let uid = r.uid { details.zigzag(uid) }
        for text in [r.exitSignal, r.images, r.command, r.failedExecs, r.containerID, r.podName, r.origin] {
            details.varint(UInt64(strings.id(text)))
        }
        if let reaper = r.reaperID { details.zigzag(reaper) }
        for count in [r.processEvents, r.fileEvents, r.networkEvents, r.capabilitiesEvents, r.syscallEvents, r.otherEvents] {
            details.zigzag(count)
        }
        values.append(r.id.databaseValue)
        values.append(strings.id(r.hostName).databaseValue)
        values.append(r.hostPID.databaseValue)
        values.append(r.parentID?.databaseValue ?? .null)
        values.append(Data(details.bytes).databaseValue)
    }

    /// A stored row, its strings still numbers.
    struct Decoded {
        var id: Int64, host: Int64, hostPID: Int64, parentID: Int64?
        var pid: Int64, startNs: Int64, exitNs: Int64?, lastActivityNs: Int64, exitCode: Int64?, uid: Int64?
        /// Exit signal, images, command, failed execs, container, pod, origin.
        var strings: [Int64]
        var reaperID: Int64?
        var counts: [Int64]

        init(_ row: Row) throws(DecodeFailure) {
            id = row[0]
            host = row[1]
            hostPID = row[2]
            parentID = row[3]
            let details: Data = row[4]
            var decoded: (pid: Int64, start: Int64, exit: Int64?, last: Int64, code: Int64?, uid: Int64?,
                          strings: [Int64], reaper: Int64?, counts: [Int64])?
            try Array(details).decoding { bytes throws(DecodeFailure) in
                var reader = ByteReader(bytes)
                let flags = try reader.varint()
                let pid = try reader.zigzag(), start = try reader.zigzag()
                let exit = flags & 1 != 0 ? start &+ (try reader.zigzag()) : nil
                let last = start &+ (try reader.zigzag())
                let code = flags & 2 != 0 ? try reader.zigzag() : nil
                let uid = flags & 4 != 0 ? try reader.zigzag() : nil
                var strings: [Int64] = []
                for _ in 0..<7 { strings.append(Int64(bitPattern: try reader.varint())) }
                let reaper = flags & 8 != 0 ? try reader.zigzag() : nil
                var counts: [Int64] = []
                for _ in 0..<6 { counts.append(try reader.zigzag()) }
                decoded = (pid, start, exit, last, code, uid, strings, reaper, counts)
            }
            let d = decoded!
            (pid, startNs, exitNs, lastActivityNs, exitCode, uid) = (d.pid, d.start, d.exit, d.last, d.code, d.uid)
            (strings, reaperID, counts) = (d.strings, d.reaper, d.counts)
        }

        func row(_ text: [Int64: String]) -> ProcessInstanceRow {
            ProcessInstanceRow(
                id: id, hostName: text[host]!, hostPID: hostPID, pid: pid, startNs: startNs, exitNs: exitNs,
                lastActivityNs: lastActivityNs, exitCode: exitCode, exitSignal: text[strings[0]]!, images: text[strings[1]]!,
                command: text[strings[2]]!, failedExecs: text[strings[3]]!, uid: uid, containerID: text[strings[4]]!,
                podName: text[strings[5]]!, parentID: parentID, reaperID: reaperID, origin: text[strings[6]]!,
                processEvents: counts[0], fileEvents: counts[1], networkEvents: counts[2], capabilitiesEvents: counts[3],
                syscallEvents: counts[4], otherEvents: counts[5])
        }
    }
}

extension StoreIndex {
    /// The `processes` table, its strings, and its watermark (in `meta`).
    ///
    /// Indexed by `(host_pid, host)` (`tree --pid`) and `parent_id` (descendants). Selections by
    /// container, pod or host go through the events' postings instead (so they mean what they mean
    /// for `query`), and so have no index here.
    static func createProcessTable(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE processes(
                id INTEGER PRIMARY KEY, host INTEGER NOT NULL, host_pid INTEGER NOT NULL, parent_id INTEGER,
                details BLOB NOT NULL);
            CREATE TABLE process_strings(
                chunk INTEGER PRIMARY KEY, strings INTEGER NOT NULL, raw_length INTEGER NOT NULL, data BLOB NOT NULL);
            """)
        try db.execute(sql: """
            CREATE INDEX processes_by_host_pid ON processes(host_pid, host);
            CREATE INDEX processes_by_parent ON processes(parent_id);
            """)
    }

    private static let watermarkKey = "processes_watermark"

    func processTableWatermark() throws(StoreError) -> ProcessTableWatermark? {
        guard let text = try meta(Self.watermarkKey) else { return nil }
        let parts = text.split(separator: " ").compactMap { Int64($0) }
        guard parts.count == 4 else { throw StoreError(.damaged, path: path, "malformed process table watermark '\(text)'") }
        return ProcessTableWatermark(lastBlockID: parts[0], blocks: Int(parts[1]), events: Int(parts[2]), latestTimeNs: parts[3])
    }

    /// Empties the table and drops its watermark (in the caller's transaction): its next reader
    /// builds it again from the blocks left, as after a reindex.
    static func dropProcessTable(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM process_chunks; DELETE FROM process_texts; DELETE FROM meta WHERE key = ?", arguments: [watermarkKey])
        try ProcessChunks.bumpGeneration(db)
    }

    /// Whether the index keeps the table in `process_chunks` (else in the `processes` rows of a
    /// store written before migration `v3-process-chunks`, opened read-only).
    private static func hasChunks(_ db: Database) throws -> Bool { try db.tableExists("process_chunks") }

    func processRows(_ selection: ProcessRowSelection) throws(StoreError) -> [ProcessInstanceRow] {
        try wrap("reading processes") {
            try db.read { db in
                if try Self.hasChunks(db) {
                    let keys = try self.processKeys.keys(db)
                    switch selection {
                    case .all:
                        return try ProcessChunks.rows(db, keys, positions: Array(0..<keys.count), path: self.path)
                    case .hostPID(let pid, let host):
                        let positions = keys.hostPIDs.indices.filter { keys.hostPIDs[$0] == Int64(pid) }
                        let rows = try ProcessChunks.rows(db, keys, positions: positions, path: self.path)
                        return host.map { host in rows.filter { $0.hostName == host } } ?? rows
                    }
                }
                guard try db.tableExists("processes") else { return [] }
                let select = "SELECT \(StoredProcessRow.columns) FROM processes"
                switch selection {
                case .all:
                    return try Self.legacyRows(db, select + " ORDER BY id", path: self.path)
                case .hostPID(let pid, let host):
                    let rows = try Self.legacyRows(db, select + " WHERE host_pid = ? ORDER BY id", [Int64(pid)], path: self.path)
                    return host.map { host in rows.filter { $0.hostName == host } } ?? rows
                }
            }
        }
    }

    /// The rows of `ids`, with their ancestors (by `parent_id`) and/or descendants up to `depth`
    /// levels away. Levels are capped at ``maxLevels``, so a damaged table whose parent links form a
    /// cycle cannot make the walk run away.
    func processRows(around ids: [Int64], ancestors: Bool, descendants: Bool, depth: Int?) throws(StoreError) -> [ProcessInstanceRow] {
        let limit = min(depth ?? Self.maxLevels, Self.maxLevels)
        return try wrap("reading process trees") {
            try db.read { db in
                if try Self.hasChunks(db) {
                    let keys = try self.processKeys.keys(db)
                    let positions = ProcessChunks.positions(around: ids, in: keys, ancestors: ancestors, descendants: descendants, limit: limit)
                    return try ProcessChunks.rows(db, keys, positions: positions, path: self.path)
                }
                guard try db.tableExists("processes") else { return [] }
                return try Self.legacyRows(db, """
                    WITH RECURSIVE
                      seed(id) AS (SELECT value FROM json_each(:ids)),
                      up(id, level) AS (
                        SELECT id, 0 FROM seed
                        UNION SELECT p.parent_id, up.level + 1 FROM up JOIN processes p ON p.id = up.id
                          WHERE :ancestors AND p.parent_id IS NOT NULL AND up.level < :limit),
                      down(id, level) AS (
                        SELECT id, 0 FROM seed
                        UNION SELECT p.id, down.level + 1 FROM down JOIN processes p ON p.parent_id = down.id
                          WHERE :descendants AND down.level < :limit)
                    SELECT \(StoredProcessRow.columns) FROM processes
                    WHERE id IN (SELECT id FROM up UNION SELECT id FROM down) ORDER BY id
                    """, ["ids": Self.jsonArray(ids), "ancestors": ancestors, "descendants": descendants, "limit": limit],
                    path: self.path)
            }
        }
    }

    /// Deepest walk of a tree read.
    static let maxLevels = 4096

    /// Rows of the `processes` table (the layout before `v3-process-chunks`).
    private static func legacyRows(_ db: Database, _ sql: String, _ arguments: StatementArguments = [],
                                   path: String) throws -> [ProcessInstanceRow] {
        var decoded: [StoredProcessRow.Decoded] = []
        var ids = Set<Int64>()
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try cursor.next() {
            let stored: StoredProcessRow.Decoded
            do {
                stored = try StoredProcessRow.Decoded(row)
            } catch {
                throw StoreError(.damaged, path: path, "process \(row[0] as Int64): \(error)")
            }
            ids.insert(stored.host)
            ids.formUnion(stored.strings)
            decoded.append(stored)
        }
        let strings = try ProcessStringTable.resolve(db, ids: ids, layout: .legacy, path: path)
        return decoded.map { $0.row(strings) }
    }

    private static func jsonArray(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    /// Migration `v3-process-chunks`: the table moves from `processes` rows (and their two indexes)
    /// to `process_chunks`, its rows carried over (the watermark stays valid).
    static func createProcessChunks(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE process_chunks(
                chunk INTEGER PRIMARY KEY, rows INTEGER NOT NULL, keys BLOB NOT NULL, details BLOB NOT NULL);
            CREATE TABLE process_texts(chunk INTEGER PRIMARY KEY, strings INTEGER NOT NULL, data BLOB NOT NULL);
            """)
        let rows = try legacyRows(db, "SELECT \(StoredProcessRow.columns) FROM processes ORDER BY id", path: "index.sqlite")
        try db.execute(sql: "DROP TABLE processes; DROP TABLE process_strings")
        try writeAll(db, rows)
    }

    /// Puts the table in the layout before `v3-process-chunks` (`processes` rows, v3 not applied):
    /// how tests make a store as an older rearview wrote it.
    static func writeLegacyLayout(_ db: Database, _ rows: [ProcessInstanceRow]) throws {
        try db.execute(sql: "DROP TABLE process_chunks; DROP TABLE process_texts; DELETE FROM grdb_migrations WHERE identifier = 'v3-process-chunks'")
        try db.execute(sql: """
            CREATE TABLE process_strings(
                chunk INTEGER PRIMARY KEY, strings INTEGER NOT NULL, raw_length INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE processes(
                id INTEGER PRIMARY KEY, host INTEGER NOT NULL, host_pid INTEGER NOT NULL, parent_id INTEGER,
                details BLOB NOT NULL);
            CREATE INDEX processes_by_host_pid ON processes(host_pid, host);
            CREATE INDEX processes_by_parent ON processes(parent_id);
            """)
        var strings = ProcessStringTable()
        for row in rows {
            var values: [DatabaseValue] = []
            StoredProcessRow.append(row, to: &values, &strings)
            try db.execute(sql: "INSERT INTO processes(\(StoredProcessRow.columns)) VALUES (?,?,?,?,?)", arguments: StatementArguments(values))
        }
        try strings.write(db, replacingAll: true, layout: .legacy)
    }

    /// ``writeLegacyLayout(_:_:)`` in a transaction of its own.
    func writeLegacyLayout(_ rows: [ProcessInstanceRow]) throws {
        try db.write { db in try Self.writeLegacyLayout(db, rows) }
    }

    func tableExists(_ name: String) throws -> Bool {
        try db.read { db in try db.tableExists(name) }
    }

    /// Replaces the stored table (chunks and strings) with `rows`.
    private static func writeAll(_ db: Database, _ rows: [ProcessInstanceRow]) throws {
        let rows = zip(rows, rows.dropFirst()).allSatisfy({ $0.id < $1.id }) ? rows : rows.sorted { $0.id < $1.id }
        // Strings numbered in sorted order: similar command lines (same binary, same container) end up
        // in the same chunk, which compresses them a quarter smaller than numbering them as met.
        var distinct = ProcessStringTable(capacity: rows.count * 2)
        let met = ProcessChunks.RowTexts(rows, &distinct)
        let order = ProcessStringTable.byteOrder(distinct.strings)
        var rank = [Int64](repeating: 0, count: order.count)
        for (position, id) in order.enumerated() { rank[Int(id)] = Int64(position) }
        let strings = ProcessStringTable(numbering: order.map { distinct.strings[Int($0)] })
        distinct = ProcessStringTable(capacity: 0)
        try db.execute(sql: "DELETE FROM process_chunks")
        try ProcessChunks.write(db, rows, firstChunk: 0, ProcessChunks.RowTexts(ids: met.ids.map { rank[Int($0)] }))
        try strings.write(db, replacingAll: true)
        try ProcessChunks.bumpGeneration(db)
    }

    /// Writes rows and the watermark in one transaction: with `replacingAll` the table becomes exactly
    /// `rows`, otherwise `rows` are added or replace the rows with their ids — appended as chunks
    /// of their own, or, once superseded rows would be more than a third of those stored, by
    /// writing the whole table again (as a full build would).
    func storeProcessRows(_ rows: [ProcessInstanceRow], replacingAll: Bool, watermark: ProcessTableWatermark) throws(StoreError) {
        try wrap("writing processes") {
            try db.write { db in
                if replacingAll {
                    try Self.writeAll(db, rows)
                } else if !rows.isEmpty {
                    let keys = try ProcessChunks.loadKeys(db)
                    let changed = rows.sorted { $0.id < $1.id }
                    let replaced = changed.reduce(0) { $0 + (keys.position(of: $1.id) == nil ? 0 : 1) }
                    let live = keys.count + changed.count - replaced
                    let stored = keys.storedRows + changed.count
                    let chunks = keys.chunkCount + (changed.count + ProcessChunks.rowsPerChunk - 1) / ProcessChunks.rowsPerChunk
                    if stored - live > live / 3 || chunks > live / ProcessChunks.rowsPerChunk * 2 + 16 {
                        var all = try ProcessChunks.rows(db, keys, positions: Array(0..<keys.count), path: self.path)
                        var byID = Dictionary(uniqueKeysWithValues: changed.map { ($0.id, $0) })
                        for i in all.indices { if let new = byID.removeValue(forKey: all[i].id) { all[i] = new } }
                        all += byID.values
                        all.sort { $0.id < $1.id }
                        try Self.writeAll(db, all)
                    } else {
                        var strings = try ProcessStringTable(loading: db, path: self.path)
                        try ProcessChunks.write(db, changed, firstChunk: keys.lastChunk + 1, ProcessChunks.RowTexts(changed, &strings))
                        try strings.write(db, replacingAll: false)
                        try ProcessChunks.bumpGeneration(db)
                    }
                }
                let mark = "\(watermark.lastBlockID) \(watermark.blocks) \(watermark.events) \(watermark.latestTimeNs)"
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [Self.watermarkKey, mark])
            }
        }
    }
}

extension Store {
    /// How far the stored process table reaches, or nil when the index holds none (never built, or
    /// the index was rebuilt since).
    public func processTableWatermark() throws(StoreError) -> ProcessTableWatermark? {
        try index.processTableWatermark()
    }

    /// Rows of the stored process table, ordered by id.
    public func processRows(_ selection: ProcessRowSelection) throws(StoreError) -> [ProcessInstanceRow] {
        try index.processRows(selection)
    }

    /// The rows of `ids` with their ancestors and/or descendants (by parent), at most `depth` levels
    /// away (nil: all), ordered by id.
    public func processRows(around ids: [Int64], ancestors: Bool, descendants: Bool, depth: Int?) throws(StoreError) -> [ProcessInstanceRow] {
        try index.processRows(around: ids, ancestors: ancestors, descendants: descendants, depth: depth)
    }
}

extension StoreWriter {
    /// Stores the process table (all of it with `replacingAll`, else the rows that changed) and the
    /// watermark saying which blocks it was built from, in one transaction. The writer holds the
    /// store's lock, so no other process updates the table meanwhile.
    public func storeProcessRows(_ rows: [ProcessInstanceRow], replacingAll: Bool, watermark: ProcessTableWatermark) throws(StoreError) {
        try store.index.storeProcessRows(rows, replacingAll: replacingAll, watermark: watermark)
    }
}
