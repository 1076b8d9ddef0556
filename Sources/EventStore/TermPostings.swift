import EventModel
import GRDB

/// The index's postings: per value of an indexed field, the blocks holding it and how many of each
/// block's events have it.
///
/// Layout since `v4-term-blocks` (about a third of the bytes of the layout before it on the 1M bench
/// store, where nine in ten postings are HostPIDs in a handful of blocks):
///
/// - `term_ids(field, value, id)` WITHOUT ROWID, keyed by (field code, value): one B-tree for the
///   vocabulary, the field an integer (``fieldCodes``) rather than its name, no second UNIQUE index.
/// - `term_blocks(term, chunk, entries)` WITHOUT ROWID: a term's postings for the block ids
///   `chunk * 64 ..< chunk * 64 + 64` in one blob of (block id mod 64: one byte, events: LEB128
///   varint) pairs in ascending block order. Adding a block appends to its chunk's blob, so a write
///   rewrites at most 64 entries of a term, however large the store.
///
/// Values are compared by their UTF-8 bytes everywhere (SQLite's `BINARY`, ``ExactTerm`` in memory):
/// two spellings Swift holds equal (`"K"` and the Kelvin sign) stay two terms.
///
/// Before `v4` the index had `terms(id, field TEXT, value, UNIQUE(field, value))` and one
/// `postings(term, block, events)` row per posting; readers read either, the v4 migration converts.
/// An index that was created in the v4 layout (or rebuilt by `reindex`) is marked `postings_exact`:
/// its postings were counted by bytes, so the counts can answer queries (``StoreIndex/postingsAreExact``).
/// Earlier writers counted by `String` equality, which merges canonically equivalent spellings.
extension StoreIndex {
    /// Stable codes of the indexed fields in `term_ids.field` (never renumbered).
    static let fieldCodes: [EventField: Int] = [
        .hostName: 1, .operation: 2, .type: 3, .policyName: 4, .containerID: 5, .podName: 6,
        .namespaceName: 7, .processName: 8, .hostPID: 9,
    ]
    static let exactPostingsKey = "postings_exact"
    /// Blocks per `term_blocks` chunk.
    static let chunkBlocks: Int64 = 64

    /// A term's value as bytes, so that equality is byte equality.
    struct ExactTerm: Hashable {
        var field: Int
        var bytes: [UInt8]
    }

    /// `v4-term-blocks`: the layout above, with the rows of the earlier one carried over.
    static func createTermBlocks(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE term_ids(field INTEGER NOT NULL, value TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY(field, value)) WITHOUT ROWID;
            CREATE TABLE term_blocks(term INTEGER NOT NULL, chunk INTEGER NOT NULL, entries BLOB NOT NULL, PRIMARY KEY(term, chunk)) WITHOUT ROWID;
            """)
        let carried = try Int.fetchOne(db, sql: "SELECT count(*) FROM terms") ?? 0
        let insertTerm = try db.makeStatement(sql: "INSERT INTO term_ids(field, value, id) VALUES (?, ?, ?)")
        for row in try Row.fetchAll(db, sql: "SELECT id, field, value FROM terms ORDER BY id") {
            guard let code = EventField(rawValue: row["field"]).flatMap({ fieldCodes[$0] }) else { continue }
            try insertTerm.execute(arguments: [code, row["value"] as String, row["id"] as Int64])
        }
        var chunk: (term: Int64, chunk: Int64, entries: [UInt8])?
        let insertChunk = try db.makeStatement(sql: "INSERT INTO term_blocks(term, chunk, entries) VALUES (?, ?, ?)")
        let cursor = try Row.fetchCursor(db, sql: "SELECT term, block, events FROM postings ORDER BY term, block")
        while let row = try cursor.next() {
            let term: Int64 = row[0], block: Int64 = row[1], events: Int = row[2]
            if let open = chunk, open.term != term || open.chunk != block / chunkBlocks {
                try insertChunk.execute(arguments: [open.term, open.chunk, Data(open.entries)])
                chunk = nil
            }
            if chunk == nil { chunk = (term, block / chunkBlocks, []) }
            appendEntry(block: block, events: events, to: &chunk!.entries)
        }
        if let open = chunk { try insertChunk.execute(arguments: [open.term, open.chunk, Data(open.entries)]) }
        try db.execute(sql: "DROP TABLE postings; DROP TABLE terms")
        if carried == 0 {
            try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", arguments: [exactPostingsKey])
        }
    }

    /// Puts the postings in the layout before `v4-term-blocks` (v4 not applied), as String-keyed
    /// writers left them: how tests make an index as an older rearview wrote it.
    func writeLegacyTermLayout() throws {
        try db.write { db in
            let terms = try Row.fetchAll(db, sql: "SELECT field, value, id FROM term_ids ORDER BY id")
            let chunks = try Row.fetchAll(db, sql: "SELECT term, chunk, entries FROM term_blocks ORDER BY term, chunk")
            let names = Dictionary(uniqueKeysWithValues: Self.fieldCodes.map { ($0.value, $0.key.rawValue) })
            try db.execute(sql: """
                DROP TABLE term_ids; DROP TABLE term_blocks;
                DELETE FROM grdb_migrations WHERE identifier = 'v4-term-blocks';
                DELETE FROM meta WHERE key = '\(Self.exactPostingsKey)';
                CREATE TABLE terms(id INTEGER PRIMARY KEY, field TEXT NOT NULL, value TEXT NOT NULL, UNIQUE(field, value));
                CREATE TABLE postings(
                    term INTEGER NOT NULL, block INTEGER NOT NULL, events INTEGER NOT NULL,
                    PRIMARY KEY(term, block)) WITHOUT ROWID;
                """)
            for row in terms {
                try db.execute(sql: "INSERT INTO terms(id, field, value) VALUES (?, ?, ?)",
                               arguments: [row["id"] as Int64, names[row["field"] as Int]!, row["value"] as String])
            }
            for row in chunks {
                for (block, events) in Self.entries(Array(row["entries"] as Data), chunk: row["chunk"]) {
                    try db.execute(sql: "INSERT INTO postings(term, block, events) VALUES (?, ?, ?)",
                                   arguments: [row["term"] as Int64, block, events])
                }
            }
        }
    }

    // MARK: entries

    static func appendEntry(block: Int64, events: Int, to entries: inout [UInt8]) {
        entries.append(UInt8(block % chunkBlocks))
        var n = UInt64(events)
        while n >= 0x80 {
            entries.append(UInt8(n & 0x7F) | 0x80)
            n >>= 7
        }
        entries.append(UInt8(n))
    }

    /// The (block id, events) pairs of a chunk's blob; a truncated or overlong entry ends it.
    static func entries(_ bytes: [UInt8], chunk: Int64) -> [(block: Int64, events: Int)] {
        var out: [(block: Int64, events: Int)] = []
        var i = 0
        while i < bytes.count {
            let block = chunk * chunkBlocks + Int64(bytes[i])
            i += 1
            var n = 0, shift = 0
            while i < bytes.count, shift < 63 {
                let b = bytes[i]
                i += 1
                n |= Int(b & 0x7F) << shift
                shift += 7
                if b < 0x80 { break }
            }
            out.append((block, n))
        }
        return out
    }

    // MARK: reading

    /// Whether the index is in the v4 layout (a reader reads an older index as it is).
    static func hasTermBlocks(_ db: Database) throws -> Bool { try db.tableExists("term_blocks") }

    /// Whether the postings' counts are exact per byte-distinct value (see the type's notes).
    func postingsAreExact() throws(StoreError) -> Bool {
        try wrap("reading postings") {
            try db.read { db in
                try Self.hasTermBlocks(db)
                    && String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.exactPostingsKey]) == "1"
            }
        }
    }

    /// Ids of the blocks holding a value of an indexed field.
    func blocks(withTerm field: EventField, values: [String]) throws(StoreError) -> Set<Int64> {
        var result = Set<Int64>()
        for (_, blocks) in try postings(field, values: values) { result.formUnion(blocks.lazy.map(\.block)) }
        return result
    }

    func termValues(_ field: EventField) throws(StoreError) -> [String] {
        try wrap("reading terms") {
            try db.read { db in
                if try Self.hasTermBlocks(db) {
                    return try String.fetchAll(db, sql: "SELECT value FROM term_ids WHERE field = ?", arguments: [Self.fieldCodes[field]])
                }
                return try String.fetchAll(db, sql: "SELECT value FROM terms WHERE field = ?", arguments: [field.rawValue])
            }
        }
    }

    /// Event counts per value of an indexed field, over the whole store, most first (ties by bytes).
    func termTotals(_ field: EventField) throws(StoreError) -> [(value: String, events: Int)] {
        try postings(field, values: nil)
            .map { (value: $0.value, events: $0.blocks.reduce(0) { $0 + $1.events }) }
            .filter { $0.events > 0 }
            .sorted { $0.events != $1.events ? $0.events > $1.events : $0.value.utf8.lexicographicallyPrecedes($1.value.utf8) }
    }

    /// The postings of `values` of an indexed field (every value the index holds when nil), each
    /// byte-distinct value once, with its (block id, events) pairs in ascending block order.
    func postings(_ field: EventField, values: [String]?) throws(StoreError) -> [(value: String, blocks: [(block: Int64, events: Int)])] {
        try wrap("reading postings") {
            try db.read { db in
                try Self.hasTermBlocks(db) ? Self.chunkedPostings(db, field, values) : Self.rowPostings(db, field, values)
            }
        }
    }

    private typealias Postings = [(value: String, blocks: [(block: Int64, events: Int)])]

    /// Runs `sql` (selecting the term id, the value and then the layout's posting columns, ordered by
    /// term id) once per value, or once with every value, and groups its rows by term id.
    private static func collect(_ db: Database, _ sql: String, field: DatabaseValueConvertible, values: [String]?,
                                _ add: (Row, inout [(block: Int64, events: Int)]) -> Void) throws -> Postings {
        var out: Postings = []
        for value in values.map({ $0.map(Optional.some) }) ?? [nil] {
            let cursor = try Row.fetchCursor(db, sql: sql.replacingOccurrences(of: "%@", with: value == nil ? "" : "AND t.value = ?"),
                                             arguments: value.map { [field, $0] } ?? [field])
            var lastTerm: Int64?
            while let row = try cursor.next() {
                let term: Int64 = row[0]
                if term != lastTerm { out.append((row[1], [])) }
                lastTerm = term
                add(row, &out[out.count - 1].blocks)
            }
        }
        return out
    }

    private static func chunkedPostings(_ db: Database, _ field: EventField, _ values: [String]?) throws -> Postings {
        try collect(db, """
            SELECT t.id, t.value, b.chunk, b.entries FROM term_ids t JOIN term_blocks b ON b.term = t.id
            WHERE t.field = ? %@ ORDER BY t.id, b.chunk
            """, field: fieldCodes[field]!, values: values) { row, blocks in
            blocks += entries(Array(row[3] as Data), chunk: row[2])
        }
    }

    private static func rowPostings(_ db: Database, _ field: EventField, _ values: [String]?) throws -> Postings {
        try collect(db, """
            SELECT t.id, t.value, p.block, p.events FROM terms t JOIN postings p ON p.term = t.id
            WHERE t.field = ? %@ ORDER BY t.id, p.block
            """, field: field.rawValue, values: values) { row, blocks in
            blocks.append((row[2], row[3]))
        }
    }

    // MARK: writing

    /// The term ids of the index by exact value, and the next free id.
    struct TermIDs {
        var ids: [ExactTerm: Int64]
        var next: Int64
    }

    static func loadTermIDs(_ db: Database) throws -> TermIDs {
        var ids: [ExactTerm: Int64] = [:]
        var next: Int64 = 1
        let cursor = try Row.fetchCursor(db, sql: "SELECT field, value, id FROM term_ids")
        while let row = try cursor.next() {
            let id: Int64 = row[2]
            ids[ExactTerm(field: row[0], bytes: Array((row[1] as String).utf8))] = id
            next = max(next, id + 1)
        }
        return TermIDs(ids: ids, next: next)
    }

    /// A term's chunk of postings.
    struct TermChunk: Hashable {
        var term: Int64
        var chunk: Int64
    }

    /// Adds one block's postings to `pending` (the term ids found or made in `termIDs`); the
    /// postings of several blocks are then written at once by ``writePostings(_:_:)``.
    static func addPostings(_ terms: [TermCount], block: Int64, _ db: Database, _ termIDs: inout TermIDs,
                            to pending: inout [TermChunk: [UInt8]]) throws {
        let insertTerm = try db.cachedStatement(sql: "INSERT INTO term_ids(field, value, id) VALUES (?, ?, ?)")
        for term in terms {
            guard let code = fieldCodes[term.field] else { continue }
            let key = ExactTerm(field: code, bytes: Array(term.value.utf8))
            let id: Int64
            if let known = termIDs.ids[key] {
                id = known
            } else {
                id = termIDs.next
                termIDs.next += 1
                try insertTerm.execute(arguments: [code, term.value, id])
                termIDs.ids[key] = id
            }
            appendEntry(block: block, events: term.count, to: &pending[TermChunk(term: id, chunk: block / chunkBlocks), default: []])
        }
    }

    /// Appends the pending entries to their chunks: each chunk read, extended and written once.
    static func writePostings(_ pending: [TermChunk: [UInt8]], _ db: Database) throws {
        // Read, append, write: SQL's `||` makes text of blobs, which is not safe for their bytes.
        let readChunk = try db.cachedStatement(sql: "SELECT entries FROM term_blocks WHERE term = ? AND chunk = ?")
        let writeChunk = try db.cachedStatement(sql: "INSERT OR REPLACE INTO term_blocks(term, chunk, entries) VALUES (?, ?, ?)")
        for (key, added) in pending {
            let stored = try Data.fetchOne(readChunk, arguments: [key.term, key.chunk]).map { Array($0) } ?? []
            try writeChunk.execute(arguments: [key.term, key.chunk, Data(stored + added)])
        }
    }

    /// Removes the postings of blocks `ids` (their chunks rewritten without them).
    static func removePostings(blocks ids: Set<Int64>, _ db: Database) throws {
        for chunk in Set(ids.map { $0 / chunkBlocks }) {
            for row in try Row.fetchAll(db, sql: "SELECT term, entries FROM term_blocks WHERE chunk = ?", arguments: [chunk]) {
                let term: Int64 = row["term"]
                let kept = entries(Array(row["entries"] as Data), chunk: chunk).filter { !ids.contains($0.block) }
                if kept.isEmpty {
                    try db.execute(sql: "DELETE FROM term_blocks WHERE term = ? AND chunk = ?", arguments: [term, chunk])
                } else {
                    var bytes: [UInt8] = []
                    for entry in kept { appendEntry(block: entry.block, events: entry.events, to: &bytes) }
                    try db.execute(sql: "UPDATE term_blocks SET entries = ? WHERE term = ? AND chunk = ?", arguments: [Data(bytes), term, chunk])
                }
            }
        }
    }
}

import Foundation
