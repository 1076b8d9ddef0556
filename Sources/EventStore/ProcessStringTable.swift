import EventModel
import Foundation
import GRDB

/// The strings of the `processes` table (host names, exec chains, command lines, container IDs, …),
/// each stored once and referred to by number, in compressed chunks of ``chunkSize(_:)`` strings:
/// the `process_texts` table (zlib, see ``ProcessChunks/pack(_:)``; before migration
/// `v3-process-chunks`, `process_strings`, LZ4, read by ``Layout/legacy``).
///
/// Command lines are most of a process table's bytes and repeat heavily, so a table of plain TEXT
/// columns would make the index several times larger than the segments it describes.
/// String *n* is item `n % size` of chunk `n / size`; a chunk is the compressed block of its
/// strings, each a varint length and UTF-8 bytes.
struct ProcessStringTable {
    /// Strings per chunk (both layouts).
    static func chunkSize(_ layout: Layout) -> Int { 512 }

    /// Where the strings are kept.
    enum Layout {
        /// `process_texts`: chunks packed by ``ProcessChunks/pack(_:)``.
        case current
        /// `process_strings(chunk, strings, raw_length, data)`: LZ4 chunks.
        case legacy
    }

    private var numbers: StringInterner
    /// The first chunk changed since loading (rewritten by ``write(_:)``).
    private var firstChangedChunk: Int

    /// The strings, by number.
    var strings: [String] { numbers.strings }

    /// An empty table (for replacing the stored one), `capacity` strings expected.
    init(capacity: Int = 1024) {
        numbers = StringInterner(capacity: capacity, reservingEmpty: false)
        firstChangedChunk = 0
    }

    /// A new table of `strings`, numbered in their order (they are distinct).
    init(numbering strings: [String]) {
        self.init(capacity: strings.count)
        for text in strings { _ = id(text) }
    }

    /// Every stored string, for adding to.
    init(loading db: Database, path: String) throws {
        let stored = try Self.read(db, chunks: nil, layout: .current, path: path).sorted { $0.key < $1.key }.map(\.value)
        self.init(numbering: stored)
        guard strings.count == stored.count, stored.count == (stored.isEmpty ? 0 : Int(try Self.storedCount(db, layout: .current))) else {
            throw StoreError(.damaged, path: path, "process strings are not numbered 0..<n")
        }
        firstChangedChunk = strings.count / Self.chunkSize(.current)
    }

    /// Byte order of UTF-8, a total order that does not depend on Unicode normalisation (the order
    /// strings are numbered in when a table is written whole).
    static func bytesPrecede(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard let p = x.baseAddress, let q = y.baseAddress else { return x.count < y.count }
                let common = memcmp(p, q, min(x.count, y.count))
                return common < 0 || (common == 0 && x.count < y.count)
            }
        }
    }

    /// The positions of `strings` in ``bytesPrecede(_:_:)`` order, sorted on every core: an
    /// import's process table has hundreds of thousands of distinct texts. Each is compared by its
    /// first eight bytes first, which settles most comparisons without reading the strings again.
    static func byteOrder(_ strings: [String]) -> [Int32] {
        let keys = strings.map { text -> UInt64 in
            var text = text
            return text.withUTF8 { bytes in
                var key: UInt64 = 0
                for i in 0..<8 { key = key << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
                return key
            }
        }
        let precedes: @Sendable (Int32, Int32) -> Bool = { a, b in
            let x = keys[Int(a)], y = keys[Int(b)]
            return x != y ? x < y : bytesPrecede(strings[Int(a)], strings[Int(b)])
        }
        let halves = [[Int32]](count: 2, parallel: strings.count > 4096) { half in
            let range = half == 0 ? 0..<strings.count / 2 : strings.count / 2..<strings.count
            return range.map { Int32($0) }.sorted(by: precedes)
        }
        var merged: [Int32] = []
        merged.reserveCapacity(strings.count)
        var i = 0, j = 0
        let (a, b) = (halves[0], halves[1])
        while i < a.count && j < b.count {
            if precedes(b[j], a[i]) { merged.append(b[j]); j += 1 } else { merged.append(a[i]); i += 1 }
        }
        merged += a[i...]
        merged += b[j...]
        return merged
    }

    /// The number of `text`, adding it when new.
    mutating func id(_ text: String) -> Int64 { Int64(numbers.id(text)) }

    /// Writes the chunks that changed (all of them after ``init()``, replacing any stored).
    func write(_ db: Database, replacingAll: Bool, layout: Layout = .current) throws {
        let table = layout == .current ? "process_texts" : "process_strings"
        if replacingAll { try db.execute(sql: "DELETE FROM \(table)") }
        let insert = try db.cachedStatement(sql: layout == .current
            ? "INSERT OR REPLACE INTO process_texts(chunk, strings, data) VALUES (?, ?, ?)"
            : "INSERT OR REPLACE INTO process_strings(chunk, strings, raw_length, data) VALUES (?, ?, ?, ?)")
        let size = Self.chunkSize(layout), strings = strings
        let ranges = stride(from: firstChangedChunk * size, to: strings.count, by: size).map { $0..<min(strings.count, $0 + size) }
        let packed = [(raw: Int, data: Data)](count: ranges.count) { i in
            let items = strings[ranges[i]]
            var writer = ByteWriter(capacity: items.reduce(0) { $0 + $1.utf8.count + 2 })
            for item in items {
                writer.varint(item.utf8.count)
                writer.raw(item.utf8)
            }
            return (writer.bytes.count, layout == .current ? ProcessChunks.pack(writer.bytes) : Data(BlockCompression.compress(writer.bytes)))
        }
        for (i, chunk) in packed.enumerated() {
            let number = firstChangedChunk + i
            try insert.execute(arguments: layout == .current ? [number, ranges[i].count, chunk.data]
                                                             : [number, ranges[i].count, chunk.raw, chunk.data])
        }
    }

    /// The strings with these numbers (reading only their chunks); a number the table lacks throws.
    static func resolve(_ db: Database, ids: Set<Int64>, layout: Layout = .current, path: String) throws -> [Int64: String] {
        let chunks = Set(ids.map { $0 / Int64(chunkSize(layout)) })
        let found = try read(db, chunks: chunks, layout: layout, path: path)
        for id in ids where found[id] == nil {
            throw StoreError(.damaged, path: path, "process string \(id) is missing")
        }
        return found
    }

    private static func storedCount(_ db: Database, layout: Layout) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(strings), 0) FROM \(layout == .current ? "process_texts" : "process_strings")") ?? 0
    }

    /// The strings of `chunks` (all when nil), by number.
    private static func read(_ db: Database, chunks: Set<Int64>?, layout: Layout, path: String) throws -> [Int64: String] {
        let sql = layout == .current ? "SELECT chunk, strings, 0, data FROM process_texts"
            : "SELECT chunk, strings, raw_length, data FROM process_strings"
        let rows = if let chunks {
            try Row.fetchCursor(db, sql: sql + " WHERE chunk IN (SELECT value FROM json_each(?))",
                                arguments: ["[" + chunks.map(String.init).joined(separator: ",") + "]"])
        } else {
            try Row.fetchCursor(db, sql: sql)
        }
        var found: [Int64: String] = [:]
        while let row = try rows.next() {
            let chunk: Int64 = row[0], count: Int = row[1], rawLength: Int = row[2]
            let data: Data = row[3]
            do {
                let raw = layout == .current ? try ProcessChunks.unpack(data)
                    : try data.withUnsafeBytes { try BlockCompression.decompress($0, rawLength: rawLength) }
                try raw.decoding { bytes throws(DecodeFailure) in
                    var reader = ByteReader(bytes)
                    for item in 0..<count {
                        let length = try reader.int()
                        found[chunk * Int64(chunkSize(layout)) + Int64(item)] = String(decoding: try reader.bytes(length), as: UTF8.self)
                    }
                }
            } catch {
                throw StoreError(.damaged, path: path, "process strings, chunk \(chunk): \(error)")
            }
        }
        return found
    }
}
