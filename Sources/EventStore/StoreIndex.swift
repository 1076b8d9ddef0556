import EventModel
import GRDB

/// A block as the index knows it: where it is and what it covers.
public struct IndexedBlock: Hashable, Sendable {
    public var id: Int64
    public var segment: UInt64
    public var location: BlockLocation
}

/// A segment as the index knows it.
public struct IndexedSegment: Hashable, Sendable {
    public var number: UInt64
    public var sealed: Bool
    public var hash: [UInt8]?
    public var previousHash: [UInt8]
    public var bytes: Int
    /// The segment's metadata (JSON text), e.g. the recorder's drop counters.
    public var metadata: String

    /// When the import that wrote the segment ran (unix ns; `imported_ns` in its metadata), nil for
    /// a recorded segment: the time given to imported records that carry none.
    public var importedNs: Int64? {
        guard metadata.contains(Self.importedKey),
              let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any] else { return nil }
        return (object[Self.importedKey] as? NSNumber)?.int64Value
    }

    /// The metadata key of ``importedNs``.
    static let importedKey = "imported_ns"

    /// The segment's file name under `segments/` (`000001.rvseg`, `….rvseg.open` while written).
    public var fileName: String { SegmentFile.name(number: number, sealed: sealed) }

    /// The segment's SHA-256 in lowercase hex (as `verify` and reports show it), once sealed.
    public var hashHex: String? { hash.map(StoreWriter.hex) }
}

/// The SQLite catalog of a store (`index.sqlite`): segments, blocks with time ranges, per-block
/// postings of indexed field values, and the process-instance table (``ProcessInstanceRow``).
/// Derived data: ``Store/reindex()`` rebuilds it from the segments.
final class StoreIndex {
    let db: DatabasePool
    let path: String
    /// The process table's key columns as last read (tree queries read them twice).
    let processKeys = ProcessChunks.KeysCache()
    /// Term ids, loaded on the first write (only one writer holds the store at a time).
    private var termIDs: TermIDs?

    /// The index's file name in the store directory.
    static let fileName = "index.sqlite"
    /// The index and the files SQLite keeps beside it.
    static let fileNames = ["", "-wal", "-shm", "-journal"].map { fileName + $0 }

    /// Opens the store's index (creating it for a writer), hardened for a file that may come from
    /// another host (``IndexHardening``). Each of its files must be absent or a regular file. Only a
    /// writer migrates the schema; a reader reads an older one as it is (readers treat the tables
    /// later migrations add as absent), so reading never changes a store.
    init(directory: DirectoryHandle, readOnly: Bool) throws(StoreError) {
        path = directory.pathOf(Self.fileName)
        for name in Self.fileNames { try directory.requireRegularFileIfPresent(name) }
        guard IndexHardening.noFollowVFS else { throw StoreError(.io, path: path, "cannot install SQLite's no-follow VFS") }
        if !readOnly, try directory.status(Self.fileName) == nil { try Self.create(in: directory) }
        do {
            db = try DatabasePool(path: directory.resolvedPath() + "/" + Self.fileName, configuration: Self.configuration(readOnly: readOnly))
            if !readOnly { try Self.migrate(db) }
        } catch {
            throw StoreError(.io, path: path, "cannot open the index: \(error)")
        }
    }

    private static func configuration(readOnly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.label = "rearview-index"
        configuration.prepareDatabase(IndexHardening.prepare)
        return configuration
    }

    /// Makes a new index with the whole schema under a temporary name (mode 0600, which SQLite also
    /// gives `-wal` and `-shm`) and renames it into place, so that a writer killed while creating it
    /// leaves no index rather than one without tables. A killed creation's leftovers go first.
    private static func create(in directory: DirectoryHandle) throws(StoreError) {
        for name in try directory.names() where name.hasPrefix(fileName + ".tmp-") { directory.remove(name) }
        let temporary = try directory.createTemporary(for: fileName)
        do {
            // A queue, not a pool: no write-ahead log is left beside the file once it is closed.
            try migrator.migrate(try DatabaseQueue(path: directory.resolvedPath() + "/" + temporary.name,
                                                   configuration: configuration(readOnly: false)))
            try temporary.file.sync()
            try directory.rename(temporary.name, to: fileName)
            try directory.sync()
        } catch {
            directory.remove(temporary.name)
            throw error as? StoreError ?? StoreError(.io, path: directory.pathOf(fileName), "cannot create the index: \(error)")
        }
    }

    private static let migrator: DatabaseMigrator = {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE segments(
                    number INTEGER PRIMARY KEY, sealed INTEGER NOT NULL, hash BLOB, previous_hash BLOB NOT NULL,
                    bytes INTEGER NOT NULL, metadata TEXT NOT NULL DEFAULT '{}');
                CREATE TABLE blocks(
                    id INTEGER PRIMARY KEY, segment INTEGER NOT NULL REFERENCES segments(number),
                    offset INTEGER NOT NULL, length INTEGER NOT NULL, events INTEGER NOT NULL,
                    min_time INTEGER NOT NULL, max_time INTEGER NOT NULL, first_seq INTEGER NOT NULL,
                    UNIQUE(segment, offset));
                CREATE INDEX blocks_by_time ON blocks(min_time, max_time);
                CREATE TABLE terms(id INTEGER PRIMARY KEY, field TEXT NOT NULL, value TEXT NOT NULL, UNIQUE(field, value));
                CREATE TABLE postings(
                    term INTEGER NOT NULL, block INTEGER NOT NULL, events INTEGER NOT NULL,
                    PRIMARY KEY(term, block)) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v2-processes", migrate: StoreIndex.createProcessTable)
        m.registerMigration("v3-process-chunks", migrate: StoreIndex.createProcessChunks)
        m.registerMigration("v4-term-blocks", migrate: StoreIndex.createTermBlocks)
        return m
    }()

    /// Migrates a writer's index; an index converted from the term rows of before v4 is vacuumed
    /// after, so that the pages the old layout took are given back.
    private static func migrate(_ db: DatabasePool) throws {
        let converting = try db.read { db in try db.tableExists("terms") && Int.fetchOne(db, sql: "SELECT count(*) FROM terms")! > 0 }
        try migrator.migrate(db)
        if converting { try db.vacuum() }
    }

    func wrap<T>(_ what: String, _ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch let error as StoreError { throw error } catch {
            throw StoreError(.io, path: path, "\(what): \(error)")
        }
    }

    // MARK: reading

    func segments() throws(StoreError) -> [IndexedSegment] {
        try wrap("reading segments") {
            try db.read { db in
                try Row.fetchAll(db, sql: "SELECT number, sealed, hash, previous_hash, bytes, metadata FROM segments ORDER BY number")
                    .map { row in
                        IndexedSegment(number: UInt64(row["number"] as Int64), sealed: row["sealed"],
                                       hash: (row["hash"] as Data?).map { Array($0) },
                                       previousHash: Array(row["previous_hash"] as Data),
                                       bytes: row["bytes"], metadata: row["metadata"])
                    }
            }
        }
    }

    /// Blocks overlapping the time window (inclusive), in (segment, offset) order.
    func blocks(from: Int64 = .min, through: Int64 = .max) throws(StoreError) -> [IndexedBlock] {
        try wrap("reading blocks") {
            try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, segment, offset, length, events, min_time, max_time, first_seq FROM blocks
                    WHERE max_time >= ? AND min_time <= ? ORDER BY segment, offset
                    """, arguments: [from, through]).map(Self.block)
            }
        }
    }

    private static func block(_ row: Row) -> IndexedBlock {
        IndexedBlock(id: row["id"], segment: UInt64(row["segment"] as Int64),
                     location: BlockLocation(offset: row["offset"], length: row["length"], eventCount: row["events"],
                                             minTimeNs: row["min_time"], maxTimeNs: row["max_time"],
                                             firstSeq: UInt64(row["first_seq"] as Int64)))
    }

    func meta(_ key: String) throws(StoreError) -> String? {
        try wrap("reading metadata") {
            try db.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
        }
    }

    // MARK: writing

    func setMeta(_ key: String, _ value: String) throws(StoreError) {
        try wrap("writing metadata") {
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
            }
        }
    }

    func upsertSegment(_ s: IndexedSegment) throws(StoreError) {
        try wrap("writing segment") {
            try db.write { db in try Self.upsertSegment(s, db) }
        }
    }

    private static func upsertSegment(_ s: IndexedSegment, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO segments(number, sealed, hash, previous_hash, bytes, metadata) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(number) DO UPDATE SET sealed = excluded.sealed, hash = excluded.hash,
                previous_hash = excluded.previous_hash, bytes = excluded.bytes, metadata = excluded.metadata
            """, arguments: [Int64(s.number), s.sealed, s.hash.map { Data($0) }, Data(s.previousHash), s.bytes, s.metadata])
    }

    /// Adds blocks and their postings, and updates their segment's row, in one transaction.
    func add(blocks: [(location: BlockLocation, terms: [TermCount])], segment: IndexedSegment) throws(StoreError) {
        try wrap("indexing blocks") {
            try db.write { db in
                try Self.upsertSegment(segment, db)
                let insertBlock = try db.cachedStatement(sql: """
                    INSERT INTO blocks(segment, offset, length, events, min_time, max_time, first_seq) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                var termIDs = try self.termIDs ?? Self.loadTermIDs(db)
                var pending: [TermChunk: [UInt8]] = [:]
                for (location, terms) in blocks {
                    try insertBlock.execute(arguments: [Int64(segment.number), location.offset, location.length, location.eventCount,
                                                        location.minTimeNs, location.maxTimeNs, Int64(location.firstSeq)])
                    try Self.addPostings(terms, block: db.lastInsertedRowID, db, &termIDs, to: &pending)
                }
                try Self.writePostings(pending, db)
                self.termIDs = termIDs
            }
        }
    }

    /// Removes blocks (and their postings) from the index.
    func remove(blocks ids: [Int64]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try wrap("removing blocks") {
            try db.write { db in
                try Self.removePostings(blocks: Set(ids), db)
                for id in ids { try db.execute(sql: "DELETE FROM blocks WHERE id = ?", arguments: [id]) }
            }
        }
    }

    /// Every row of every table, in a stable order: what `reindex` must reproduce.
    func dump() throws(StoreError) -> [String] {
        try wrap("dumping the index") {
            try db.read { db in
                var lines: [String] = []
                let terms = try Self.hasTermBlocks(db) ? [("term_ids", "field, value"), ("term_blocks", "term, chunk")]
                    : [("terms", "id"), ("postings", "term, block")]
                for (table, order) in [("meta", "key"), ("segments", "number"), ("blocks", "id")] + terms {
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY \(order)") {
                        lines.append("\(table) \(row.description)")
                    }
                }
                return lines
            }
        }
    }
}

import Foundation
