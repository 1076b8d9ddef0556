import Foundation
import GRDB

/// The process table as compressed column chunks: the `process_chunks` table of `index.sqlite`
/// (since migration `v3-process-chunks`; before it, one SQL row per instance in `processes`).
///
/// A chunk holds up to ``rowsPerChunk`` rows in id order, as two blobs:
/// - `keys`: what lookups need for every row — ids (zigzag deltas), host string numbers,
///   HostPIDs (zigzag deltas from the host's previous row) and parent ids (0 for none, else zigzag(id − parent) + 1);
/// - `details`: everything else, column by column — flags (1 exit, 2 exit code, 4 uid, 8 reaper),
///   pid − HostPID, start (deltas), [exit − start], last activity − start, [exit code], [uid], the
///   string numbers of exit signal, images, command, failed execs, container, pod and origin
///   (deltas within each column), [id − reaper], and the six event counts.
///
/// Each blob is a codec byte (``Codec``), the raw length (varint) and the compressed columns. Readers
/// load every chunk's keys (small), answer lookups by HostPID and walks by parent in memory, and
/// decode the details of just the chunks holding the rows they return. Incremental updates append
/// chunks of the changed rows: when an id is in several chunks the latest chunk's row wins, and the
/// whole table is rewritten once superseded rows make up too large a share.
enum ProcessChunks {
    static let rowsPerChunk = 8192

    enum Codec: UInt8 {
        case lz4 = 1
        case zlib = 2
    }

    /// Compresses `raw`: zlib (level 9) by default, a quarter smaller than LZ4-HC on these columns
    /// and strings (LZ4-HC inflates faster, and readers take either).
    static func pack(_ raw: [UInt8], codec: Codec = .zlib, level: Int32 = 9) -> Data {
        var out = ByteWriter(capacity: raw.count / 3 + 16)
        out.bytes.append(codec.rawValue)
        out.varint(raw.count)
        switch codec {
        case .lz4: out.raw(BlockCompression.compress(raw, level: 12))
        case .zlib: out.raw(BlockCompression.deflate(raw, level: level))
        }
        return Data(out.bytes)
    }

    static func unpack(_ data: Data) throws(DecodeFailure) -> [UInt8] {
        let bytes = [UInt8](data)
        return try bytes.decoding { raw throws(DecodeFailure) in
            var reader = ByteReader(raw)
            let codec = try reader.fixed(UInt8.self)
            let length = try reader.int()
            let payload = UnsafeRawBufferPointer(rebasing: raw[reader.offset...])
            switch Codec(rawValue: codec) {
            case .lz4: return try BlockCompression.decompress(payload, rawLength: length)
            case .zlib: return try BlockCompression.inflate(payload, rawLength: length)
            case nil: throw DecodeFailure(offset: 0, reason: "unknown codec \(codec)")
            }
        }
    }

    // MARK: keys

    /// The last value seen per host (a store has few hosts: a short list beats hashing).
    struct HostValues {
        private var hosts: [Int64] = []
        private var values: [Int64] = []

        func value(_ host: Int64) -> Int64 {
            if let i = hosts.firstIndex(of: host) { return values[i] }
            return 0
        }

        /// Sets `host`'s value, returning the one before (0 at first).
        mutating func swap(_ host: Int64, _ value: Int64) -> Int64 {
            if let i = hosts.firstIndex(of: host) {
                defer { values[i] = value }
                return values[i]
            }
            hosts.append(host)
            values.append(value)
            return 0
        }
    }

    /// The key columns of every live row (newest version of each id), sorted by id.
    struct Keys {
        var ids: [Int64] = []
        var hosts: [Int64] = []
        var hostPIDs: [Int64] = []
        /// `Int64.min` for none.
        var parents: [Int64] = []
        /// The chunk and the row within it holding each row's newest version.
        var chunks: [Int64] = []
        var slots: [Int32] = []
        /// Rows stored in all chunks (superseded versions included).
        var storedRows = 0
        var chunkCount = 0
        var lastChunk: Int64 = -1

        var count: Int { ids.count }
        /// Whether the ids are consecutive (then a position is an offset from the first).
        var dense = false

        /// The position of `id`, if present.
        func position(of id: Int64) -> Int? {
            if dense {
                guard let first = ids.first, id >= first, id - first < Int64(ids.count) else { return nil }
                return Int(id - first)
            }
            var low = 0, high = ids.count
            while low < high {
                let mid = (low + high) / 2
                if ids[mid] < id { low = mid + 1 } else { high = mid }
            }
            return low < ids.count && ids[low] == id ? low : nil
        }
    }

    /// The texts of a row that are stored as string numbers, in the order ``RowTexts`` keeps them:
    /// the host name, then the seven detail texts (``detailText(_:of:)``).
    static let textsPerRow = 8

    /// Text `k` of a row (0 the host name, then the detail texts).
    static func text(_ k: Int, of r: borrowing ProcessInstanceRow) -> String {
        k == 0 ? r.hostName : detailText(k - 1, of: r)
    }

    /// The string numbers of some rows' texts, ``textsPerRow`` per row in row order: worked out
    /// once, before the chunks are encoded on every core.
    struct RowTexts: Sendable {
        var ids: [Int64]

        /// Numbers from `strings`, adding the texts it lacks.
        init(_ rows: [ProcessInstanceRow], _ strings: inout ProcessStringTable) {
            ids = []
            ids.reserveCapacity(rows.count * textsPerRow)
            for i in rows.indices {
                for k in 0..<textsPerRow { ids.append(strings.id(text(k, of: rows[i]))) }
            }
        }

        init(ids: [Int64]) { self.ids = ids }

        subscript(row: Int, text: Int) -> Int64 { ids[row * textsPerRow + text] }
    }

    static func encodeKeys(_ rows: ArraySlice<ProcessInstanceRow>, _ texts: RowTexts) -> [UInt8] {
        var w = ByteWriter(capacity: rows.count * 8)
        w.varint(rows.count)
        var prev: Int64 = 0
        for i in rows.indices { w.zigzag(rows[i].id &- prev); prev = rows[i].id }
        let hosts = rows.indices.map { texts[$0, 0] }
        for host in hosts { w.varint(UInt64(host)) }
        var previous = HostValues()
        for (host, i) in zip(hosts, rows.indices) { w.zigzag(rows[i].hostPID &- previous.swap(host, rows[i].hostPID)) }
        for i in rows.indices {
            if let parent = rows[i].parentID {
                let d = rows[i].id &- parent
                w.varint(UInt64(bitPattern: (d << 1) ^ (d >> 63)) &+ 1)
            } else {
                w.varint(0)
            }
        }
        return w.bytes
    }

    /// Keys as read under a generation (a value in `meta` every write of the table changes).
    final class KeysCache: @unchecked Sendable {
        private let lock = NSLock()
        private var cached: (generation: String, keys: Keys)?

        func keys(_ db: Database) throws -> Keys {
            guard let generation = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [generationKey]) else {
                return try loadKeys(db)
            }
            if let hit = lock.withLock({ cached }), hit.generation == generation { return hit.keys }
            let keys = try loadKeys(db)
            lock.withLock { cached = (generation, keys) }
            return keys
        }
    }

    static let generationKey = "process_chunks_generation"

    /// Marks the table as changed (in the writing transaction).
    /// The first three key columns of a chunk: ids (deltas), hosts, HostPIDs (deltas per host).
    static func keyColumns(_ r: inout ByteReader) throws(DecodeFailure) -> (ids: [Int64], hosts: [Int64], pids: [Int64]) {
        let n = try r.count()
        var prev: Int64 = 0
        let ids = try r.column(count: n) { (_, v) throws(DecodeFailure) in
            prev = prev &+ Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))); return prev
        }
        let hosts = try r.column(count: n) { (_, v) throws(DecodeFailure) in Int64(bitPattern: v) }
        var previous = HostValues()
        let pids = try r.column(count: n) { (i, v) throws(DecodeFailure) in
            let pid = previous.value(hosts[i]) &+ Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
            _ = previous.swap(hosts[i], pid)
            return pid
        }
        return (ids, hosts, pids)
    }

    static func bumpGeneration(_ db: Database) throws {
        let previous = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [generationKey]).flatMap { Int($0) } ?? 0
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [generationKey, String(previous + 1)])
    }

    /// Reads every chunk's keys.
    static func loadKeys(_ db: Database) throws -> Keys {
        var all = Keys()
        let total = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(rows), 0) FROM process_chunks") ?? 0
        all.ids.reserveCapacity(total)
        all.hosts.reserveCapacity(total)
        all.hostPIDs.reserveCapacity(total)
        all.parents.reserveCapacity(total)
        all.chunks.reserveCapacity(total)
        all.slots.reserveCapacity(total)
        var ordered = true
        let cursor = try Row.fetchCursor(db, sql: "SELECT chunk, keys FROM process_chunks ORDER BY chunk")
        while let row = try cursor.next() {
            let chunk: Int64 = row[0]
            let data: Data = row[1]
            do {
                let raw = try unpack(data)
                try raw.decoding { bytes throws(DecodeFailure) in
                    var r = ByteReader(bytes)
                    let (ids, hosts, pids) = try keyColumns(&r)
                    let n = ids.count
                    let parents = try r.column(count: n) { (i, v) throws(DecodeFailure) in
                        guard v != 0 else { return Int64.min }
                        let z = v &- 1
                        return ids[i] &- Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
                    }
                    if let first = ids.first, let last = all.ids.last, first <= last { ordered = false }
                    all.ids += ids
                    all.hosts += hosts
                    all.hostPIDs += pids
                    all.parents += parents
                    all.chunks += repeatElement(chunk, count: n)
                    all.slots += (0..<Int32(n))
                    all.storedRows += n
                }
            } catch {
                throw StoreError(.damaged, path: db.configuration.label ?? "index", "process chunk \(chunk): \(error)")
            }
            all.chunkCount += 1
            all.lastChunk = chunk
        }
        if ordered {
            all.dense = all.ids.last.map { $0 &- all.ids[0] == Int64(all.ids.count - 1) } ?? true
            return all
        }
        // Later chunks supersede: keep each id's last version, sorted by id.
        let order = all.ids.indices.sorted { (all.ids[$0], $0) < (all.ids[$1], $1) }
        var live = Keys()
        live.storedRows = all.storedRows
        live.chunkCount = all.chunkCount
        live.lastChunk = all.lastChunk
        for (k, i) in order.enumerated() where k + 1 == order.count || all.ids[order[k + 1]] != all.ids[i] {
            live.ids.append(all.ids[i])
            live.hosts.append(all.hosts[i])
            live.hostPIDs.append(all.hostPIDs[i])
            live.parents.append(all.parents[i])
            live.chunks.append(all.chunks[i])
            live.slots.append(all.slots[i])
        }
        live.dense = live.ids.last.map { $0 &- live.ids[0] == Int64(live.ids.count - 1) } ?? true
        return live
    }

    // MARK: details

    /// The text columns of the details, in their stored order: exit signal, images, command,
    /// failed execs, container, pod, origin. (A switch, not key paths: no row is copied.)
    static func detailText(_ column: Int, of r: borrowing ProcessInstanceRow) -> String {
        switch column {
        case 0: r.exitSignal
        case 1: r.images
        case 2: r.command
        case 3: r.failedExecs
        case 4: r.containerID
        case 5: r.podName
        default: r.origin
        }
    }

    /// The event counts of the details, in their stored order.
    private static func detailCount(_ column: Int, of r: borrowing ProcessInstanceRow) -> Int64 {
        switch column {
        case 0: r.processEvents
        case 1: r.fileEvents
        case 2: r.networkEvents
        case 3: r.capabilitiesEvents
        case 4: r.syscallEvents
        default: r.otherEvents
        }
    }

    static func encodeDetails(_ rows: ArraySlice<ProcessInstanceRow>, _ texts: RowTexts) -> [UInt8] {
        var w = ByteWriter(capacity: rows.count * 24)
        // Times are kept in units of the largest step dividing them all (KubeArmor logs microseconds).
        var unit: Int64 = 0
        func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }
        var previous: Int64 = 0
        func size(_ x: Int64) -> Int64 { x == .min ? 1 : abs(x) }
        for i in rows.indices {
            unit = gcd(unit, size(rows[i].startNs &- previous))
            previous = rows[i].startNs
            if let exit = rows[i].exitNs { unit = gcd(unit, size(exit &- rows[i].startNs)) }
            unit = gcd(unit, size(rows[i].lastActivityNs &- rows[i].startNs))
            if unit == 1 { break }
        }
        if unit <= 0 { unit = 1 }
        w.varint(UInt64(unit))
        for i in rows.indices {
            w.varint((rows[i].exitNs == nil ? 0 : 1) | (rows[i].exitCode == nil ? 0 : 2) | (rows[i].uid == nil ? 0 : 4) | (rows[i].reaperID == nil ? 0 : 8))
        }
        for i in rows.indices { w.zigzag(rows[i].pid &- rows[i].hostPID) }
        var prev: Int64 = 0
        for i in rows.indices { w.zigzag((rows[i].startNs &- prev) / unit); prev = rows[i].startNs }
        for i in rows.indices { if let exit = rows[i].exitNs { w.zigzag((exit &- rows[i].startNs) / unit) } }
        for i in rows.indices { w.zigzag((rows[i].lastActivityNs &- rows[i].startNs) / unit) }
        for i in rows.indices { if let code = rows[i].exitCode { w.zigzag(code) } }
        for i in rows.indices { if let uid = rows[i].uid { w.zigzag(uid) } }
        for column in 0..<7 {
            prev = 0
            for i in rows.indices {
                let id = texts[i, 1 + column]
                w.zigzag(id &- prev)
                prev = id
            }
        }
        for i in rows.indices { if let reaper = rows[i].reaperID { w.zigzag(rows[i].id &- reaper) } }
        for column in 0..<6 {
            for i in rows.indices { w.zigzag(detailCount(column, of: rows[i])) }
        }
        return w.bytes
    }

    /// Some rows of a chunk, their strings still numbers (the keys come from its `keys` blob):
    /// every column is walked, only the wanted rows are kept.
    struct Details {
        /// The row kept for each slot of the chunk (-1: not wanted).
        var index: [Int]
        var pid: [Int64], start: [Int64], exit: [Int64?], last: [Int64], code: [Int64?], uid: [Int64?]
        /// Exit signal, images, command, failed execs, container, pod, origin.
        var strings: [[Int64]]
        var reaper: [Int64?]
        var counts: [[Int64]]

        init(_ bytes: UnsafeRawBufferPointer, ids: [Int64], hostPIDs: [Int64], slots: [Int]) throws(DecodeFailure) {
            let n = ids.count, m = slots.count
            var want = [Int](repeating: -1, count: n)
            for (k, slot) in slots.enumerated() where slot < n { want[slot] = k }
            var r = ByteReader(bytes)
            func zz(_ v: UInt64) -> Int64 { Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))) }
            let unit = Int64(bitPattern: try r.varint())
            let flags = try r.column(count: n) { (_, v) throws(DecodeFailure) in v }
            func plain(_ r: inout ByteReader, _ make: (Int, Int64) -> Int64) throws(DecodeFailure) -> [Int64] {
                var out = [Int64](repeating: 0, count: m)
                for i in 0..<n {
                    let v = try r.varint()
                    if want[i] >= 0 { out[want[i]] = make(i, zz(v)) }
                }
                return out
            }
            func deltas(_ r: inout ByteReader, _ scale: Int64) throws(DecodeFailure) -> [Int64] {
                var out = [Int64](repeating: 0, count: m)
                var acc: Int64 = 0
                for i in 0..<n {
                    acc = acc &+ zz(try r.varint()) &* scale
                    if want[i] >= 0 { out[want[i]] = acc }
                }
                return out
            }
            func optional(_ bit: UInt64, _ r: inout ByteReader, _ make: (Int, Int64) -> Int64) throws(DecodeFailure) -> [Int64?] {
                var out = [Int64?](repeating: nil, count: m)
                for i in 0..<n where flags[i] & bit != 0 {
                    let v = try r.varint()
                    if want[i] >= 0 { out[want[i]] = make(i, zz(v)) }
                }
                return out
            }
            let pid = try plain(&r) { hostPIDs[$0] &+ $1 }
            let start = try deltas(&r, unit)
            let exit = try optional(1, &r) { start[want[$0]] &+ $1 &* unit }
            let last = try plain(&r) { start[want[$0]] &+ $1 &* unit }
            let code = try optional(2, &r) { $1 }
            let uid = try optional(4, &r) { $1 }
            var strings: [[Int64]] = []
            for _ in 0..<7 { strings.append(try deltas(&r, 1)) }
            let reaper = try optional(8, &r) { ids[$0] &- $1 }
            var counts: [[Int64]] = []
            for _ in 0..<6 { counts.append(try plain(&r) { $1 }) }
            (index, self.pid, self.start, self.exit, self.last, self.code, self.uid) = (want, pid, start, exit, last, code, uid)
            (self.strings, self.reaper, self.counts) = (strings, reaper, counts)
            guard r.remaining == 0 else { throw DecodeFailure(offset: r.offset, reason: "\(r.remaining) bytes after the columns") }
        }
    }

    // MARK: reading

    /// The rows at `positions` of `keys` (sorted by id), decoding the details of just their chunks.
    static func rows(_ db: Database, _ keys: Keys, positions: [Int], path: String) throws -> [ProcessInstanceRow] {
        guard !positions.isEmpty else { return [] }
        var slotsByChunk: [Int64: [Int]] = [:]
        for p in positions { slotsByChunk[keys.chunks[p], default: []].append(Int(keys.slots[p])) }
        let wanted = slotsByChunk.keys
        // Each chunk's own key columns (ids, HostPIDs, in stored order) are needed to decode its details.
        var chunkKeys: [Int64: (ids: [Int64], pids: [Int64])] = [:]
        let sql = "SELECT chunk, keys, details FROM process_chunks WHERE chunk IN (SELECT value FROM json_each(?))"
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: ["[" + wanted.map(String.init).joined(separator: ",") + "]"])
        var details: [Int64: Details] = [:]
        while let row = try cursor.next() {
            let chunk: Int64 = row[0]
            let keyData: Data = row[1], detailData: Data = row[2]
            do {
                let rawKeys = try unpack(keyData)
                let (ids, pids) = try rawKeys.decoding { bytes throws(DecodeFailure) in
                    var r = ByteReader(bytes)
                    let (ids, _, pids) = try keyColumns(&r)
                    return (ids, pids)
                }
                chunkKeys[chunk] = (ids, pids)
                let raw = try unpack(detailData)
                details[chunk] = try raw.decoding { bytes throws(DecodeFailure) in
                    try Details(bytes, ids: ids, hostPIDs: pids, slots: slotsByChunk[chunk] ?? [])
                }
            } catch {
                throw StoreError(.damaged, path: path, "process chunk \(chunk): \(error)")
            }
        }
        var stringIDs = Set<Int64>()
        for p in positions {
            guard let d = details[keys.chunks[p]] else { throw StoreError(.damaged, path: path, "process chunk \(keys.chunks[p]) is missing") }
            let slot = d.index[Int(keys.slots[p])]
            stringIDs.insert(keys.hosts[p])
            for column in d.strings { stringIDs.insert(column[slot]) }
        }
        let text = try ProcessStringTable.resolve(db, ids: stringIDs, path: path)
        return positions.map { p in
            let d = details[keys.chunks[p]]!, s = d.index[Int(keys.slots[p])]
            return ProcessInstanceRow(
                id: keys.ids[p], hostName: text[keys.hosts[p]]!, hostPID: keys.hostPIDs[p], pid: d.pid[s], startNs: d.start[s],
                exitNs: d.exit[s], lastActivityNs: d.last[s], exitCode: d.code[s], exitSignal: text[d.strings[0][s]]!,
                images: text[d.strings[1][s]]!, command: text[d.strings[2][s]]!, failedExecs: text[d.strings[3][s]]!,
                uid: d.uid[s], containerID: text[d.strings[4][s]]!, podName: text[d.strings[5][s]]!,
                parentID: keys.parents[p] == .min ? nil : keys.parents[p], reaperID: d.reaper[s], origin: text[d.strings[6][s]]!,
                processEvents: d.counts[0][s], fileEvents: d.counts[1][s], networkEvents: d.counts[2][s],
                capabilitiesEvents: d.counts[3][s], syscallEvents: d.counts[4][s], otherEvents: d.counts[5][s])
        }
    }

    /// Positions (in `keys`) of `ids` with their ancestors and/or descendants up to `limit` levels
    /// away: what the recursive query over `processes` returned, walked in memory.
    static func positions(around ids: [Int64], in keys: Keys, ancestors: Bool, descendants: Bool, limit: Int) -> [Int] {
        var found = Set<Int>()
        let seeds = ids.compactMap { keys.position(of: $0) }
        found.formUnion(seeds)
        if ancestors {
            for seed in seeds {
                var at = seed, level = 0
                while level < limit, keys.parents[at] != .min, let parent = keys.position(of: keys.parents[at]) {
                    level += 1
                    found.insert(parent)
                    at = parent
                }
            }
        }
        if descendants {
            // Children of each position, by parent position (counting sort).
            let n = keys.count
            var parentPosition = [Int](repeating: -1, count: n)
            var starts = [Int](repeating: 0, count: n + 1)
            for i in 0..<n where keys.parents[i] != .min {
                if let p = keys.position(of: keys.parents[i]) { parentPosition[i] = p; starts[p + 1] += 1 }
            }
            for i in 0..<n { starts[i + 1] += starts[i] }
            var fill = starts
            var children = [Int](repeating: 0, count: starts[n])
            for i in 0..<n where parentPosition[i] >= 0 {
                children[fill[parentPosition[i]]] = i
                fill[parentPosition[i]] += 1
            }
            var seen = Set(seeds)
            var frontier = seeds
            var level = 0
            while !frontier.isEmpty, level < limit {
                level += 1
                var next: [Int] = []
                for p in frontier {
                    for c in children[starts[p]..<starts[p + 1]] where seen.insert(c).inserted { next.append(c) }
                }
                found.formUnion(next)
                frontier = next
            }
        }
        return found.sorted()
    }

    // MARK: writing

    /// Writes `rows` (sorted by id) as chunks numbered from `firstChunk`.
    /// Writes `rows` as chunks numbered from `firstChunk`, their texts numbered by `texts`; the
    /// chunks are encoded and compressed on every core.
    static func write(_ db: Database, _ rows: [ProcessInstanceRow], firstChunk: Int64, _ texts: RowTexts) throws {
        let ranges = stride(from: 0, to: rows.count, by: rowsPerChunk).map { $0..<min(rows.count, $0 + rowsPerChunk) }
        let packed = [(keys: Data, details: Data)](count: ranges.count) {
            (pack(encodeKeys(rows[ranges[$0]], texts), level: 6), pack(encodeDetails(rows[ranges[$0]], texts), level: 6))
        }
        let insert = try db.cachedStatement(sql: "INSERT INTO process_chunks(chunk, rows, keys, details) VALUES (?, ?, ?, ?)")
        for (i, chunk) in packed.enumerated() {
            try insert.execute(arguments: [firstChunk + Int64(i), ranges[i].count, chunk.keys, chunk.details])
        }
    }
}
