import EventModel

/// The fields the store indexes per block, so a selective query decompresses only blocks that can match.
public enum IndexedFields {
    public static let all: [EventField] = [
        .hostName, .operation, .type, .policyName, .containerID, .podName, .namespaceName, .processName, .hostPID,
    ]
}

/// A value of an indexed field in one block, and how many of the block's events have it.
public struct TermCount: Hashable, Sendable {
    public var field: EventField
    public var value: String
    public var count: Int

    /// The order terms are indexed in: by field, then by the value's bytes (cheap and deterministic).
    static func storageOrder(_ a: TermCount, _ b: TermCount) -> Bool {
        a.field != b.field ? a.field.ordinal < b.field.ordinal : a.value.utf8.lexicographicallyPrecedes(b.value.utf8)
    }
}

/// The fixed-size header in front of every block's compressed payload.
///
/// Layout (little-endian, 64 bytes): magic `RVBK`, version u16, flags u16, event count u32,
/// raw length u32, compressed length u32, time unit u32, min time i64, max time i64, first seq u64,
/// payload CRC-32 u32, reserved u64, header CRC-32 u32 (over the 60 bytes before it).
struct BlockHeader: Equatable {
    static let size = 64
    static let magic: UInt32 = 0x4B42_5652  // "RVBK"
    static let version: UInt16 = 1

    var eventCount: Int
    var rawLength: Int
    var compressedLength: Int
    var timeUnit: UInt32
    var minTimeNs: Int64
    var maxTimeNs: Int64
    var firstSeq: UInt64
    var payloadCRC: UInt32

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.fixed(Self.magic)
        w.fixed(Self.version)
        w.fixed(UInt16(0))
        w.fixed(UInt32(eventCount))
        w.fixed(UInt32(rawLength))
        w.fixed(UInt32(compressedLength))
        w.fixed(timeUnit)
        w.fixed(minTimeNs)
        w.fixed(maxTimeNs)
        w.fixed(firstSeq)
        w.fixed(payloadCRC)
        w.fixed(UInt64(0))
        let crc = w.bytes.withUnsafeBytes { BlockCompression.crc32($0) }
        w.fixed(crc)
        return w.bytes
    }

    /// Parses and checks a header; throws with the reason when it is not an intact block header.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeFailure) -> BlockHeader {
        guard bytes.count >= size else { throw DecodeFailure(offset: 0, reason: "block header truncated") }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<size]))
        guard try r.fixed(UInt32.self) == magic else { throw DecodeFailure(offset: 0, reason: "no block magic") }
        let version = try r.fixed(UInt16.self)
        guard version == Self.version else { throw DecodeFailure(offset: 4, reason: "block version \(version) unknown") }
        _ = try r.fixed(UInt16.self)
        let count = Int(try r.fixed(UInt32.self))
        let raw = Int(try r.fixed(UInt32.self))
        let compressed = Int(try r.fixed(UInt32.self))
        let unit = try r.fixed(UInt32.self)
        let minTime = try r.fixed(Int64.self)
        let maxTime = try r.fixed(Int64.self)
        let firstSeq = try r.fixed(UInt64.self)
        let payloadCRC = try r.fixed(UInt32.self)
        _ = try r.fixed(UInt64.self)
        let headerCRC = try r.fixed(UInt32.self)
        guard headerCRC == BlockCompression.crc32(UnsafeRawBufferPointer(rebasing: bytes[0..<(size - 4)])) else {
            throw DecodeFailure(offset: size - 4, reason: "block header checksum mismatch")
        }
        guard unit > 0, count > 0, raw > 0, compressed > 0 else {
            throw DecodeFailure(offset: 0, reason: "block header has impossible sizes")
        }
        return BlockHeader(eventCount: count, rawLength: raw, compressedLength: compressed, timeUnit: unit,
                           minTimeNs: minTime, maxTimeNs: maxTime, firstSeq: firstSeq, payloadCRC: payloadCRC)
    }
}

/// A block ready to be written: header, compressed payload, and the index terms it holds.
struct EncodedBlock {
    var header: BlockHeader
    var payload: [UInt8]
    var terms: [TermCount]

    var byteCount: Int { BlockHeader.size + payload.count }
}

/// Fixed-width rows of ids, deduplicated: the block's tables of process contexts, verdicts and extras.
private struct RowTable {
    let width: Int
    private(set) var cells: [Int32] = []
    private var slots: [Int32]
    private var mask: Int
    private(set) var rowCount = 0

    init(width: Int) {
        self.width = width
        slots = Array(repeating: -1, count: 256)
        mask = 255
    }

    @inline(__always) private func hash(_ row: UnsafeBufferPointer<Int32>) -> Int {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in row { h = FastHash.combine(h, UInt64(UInt32(bitPattern: v))) }
        return Int(truncatingIfNeeded: h)
    }

    mutating func id(_ row: UnsafeBufferPointer<Int32>) -> Int32 {
        var slot = hash(row) & mask
        while true {
            let candidate = Int(slots[slot])
            if candidate < 0 { break }
            if cells.withUnsafeBufferPointer({ c in
                let start = candidate * width
                for k in 0..<width where c[start + k] != row[k] { return false }
                return true
            }) { return Int32(candidate) }
            slot = (slot + 1) & mask
        }
        let id = Int32(rowCount)
        cells.append(contentsOf: row)
        rowCount += 1
        slots[slot] = id
        if rowCount * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for r in 0..<rowCount {
            let h = cells.withUnsafeBufferPointer { hash(UnsafeBufferPointer(rebasing: $0[(r * width)..<((r + 1) * width)])) }
            var slot = h & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(r)
        }
    }
}

/// Encodes and decodes blocks: a few thousand events, columnar and dictionary-coded, LZ4-compressed.
///
/// Payload layout before compression (all integers varints unless said):
/// dictionary (count, lengths, bytes; id 0 is ""), key layouts (count; per layout: key count, key ids),
/// extras sets (count; per set: pair count, key/value ids), process contexts (count; rows of
/// ``contextStrings`` ids, zigzag HostPPID/HostPID/PPID/PID/UID, layout id + 1 or 0),
/// verdicts (count; rows of ``verdictStrings`` ids), then one column per per-event value:
/// time deltas in `timeUnit`s (zigzag), Timestamp minus the time's second (zigzag), context id,
/// verdict id, Resource id, Data id, extras id, UpdatedTime id + 1 (0: derived from the time).
enum BlockCodec {
    static let contextStrings: [EventField] = [
        .clusterName, .hostName, .namespaceName, .podName, .labels, .containerID, .containerName, .containerImage,
        .parentProcessName, .processName, .source, .cwd, .tty,
    ]
    static let contextNumbers: [EventField] = [.hostPPID, .hostPID, .ppid, .pid, .uid]
    static let verdictStrings: [EventField] = [
        .operation, .result, .type, .policyName, .severity, .tags, .message, .action, .enforcer,
    ]
    static let contextWidth = contextStrings.count + contextNumbers.count + 1

    /// Encodes `events` (in time order) as the block whose first event has sequence number
    /// `firstSeq` (the events' own `seq` is not read: the block's events are numbered from it).
    static func encode(_ events: ArraySlice<Event>, firstSeq: UInt64) -> EncodedBlock {
        events.withUnsafeBufferPointer { encode($0, firstSeq: firstSeq) }
    }

    /// Events are read in place through the pointer: a copy of an ``Event`` costs a reference count
    /// per string, which was most of an import's block encoding.
    private static func encode(_ events: UnsafeBufferPointer<Event>, firstSeq: UInt64) -> EncodedBlock {
        precondition(!events.isEmpty)
        var strings = StringInterner(capacity: events.count)
        var layoutKeys: [[Int32]] = []
        var layoutByKeys: [[Int32]: Int32] = [:]
        var layoutByAddress: [UnsafeRawPointer: Int32] = [:]
        var extrasRows: [[Int32]] = []
        var extrasByPairs: [[Int32]: Int32] = [:]
        let extrasWidth = 8
        var extrasTable = RowTable(width: extrasWidth)
        var extrasRowIDs: [Int32] = []
        var pairs: [Int32] = []
        var contexts = RowTable(width: contextWidth)
        var verdicts = RowTable(width: verdictStrings.count)

        let n = events.count
        var contextColumn = [Int32](repeating: 0, count: n)
        var verdictColumn = [Int32](repeating: 0, count: n)
        var resourceColumn = [Int32](repeating: 0, count: n)
        var dataColumn = [Int32](repeating: 0, count: n)
        var extrasColumn = [Int32](repeating: 0, count: n)
        var updatedColumn = [Int32](repeating: 0, count: n)
        var contextRow = [Int32](repeating: 0, count: contextWidth)
        var verdictRow = [Int32](repeating: 0, count: verdictStrings.count)

        var minTime = Int64.max, maxTime = Int64.min
        var unit: UInt64 = 0
        var previousTime = events[0].timeNs
        for i in 0..<n {
            let e = events.baseAddress! + i
            minTime = min(minTime, e.pointee.timeNs)
            maxTime = max(maxTime, e.pointee.timeNs)
            unit = gcd(unit, (e.pointee.timeNs &- previousTime).magnitude)
            previousTime = e.pointee.timeNs

            var layoutID: Int32 = 0
            if let layout = e.pointee.layout {
                // Readers share one keys array per distinct layout, so its address identifies it.
                let address = layout.keys.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
                if let address, let known = layoutByAddress[address] {
                    layoutID = known
                } else {
                    let keys = layout.keys.map { strings.id($0) }
                    if let known = layoutByKeys[keys] {
                        layoutID = known
                    } else {
                        layoutKeys.append(keys)
                        layoutID = Int32(layoutKeys.count)
                        layoutByKeys[keys] = layoutID
                    }
                    if let address { layoutByAddress[address] = layoutID }
                }
            }
            contextRow[0] = strings.id(e.pointee.clusterName)
            contextRow[1] = strings.id(e.pointee.hostName)
            contextRow[2] = strings.id(e.pointee.namespaceName)
            contextRow[3] = strings.id(e.pointee.podName)
            contextRow[4] = strings.id(e.pointee.labels)
            contextRow[5] = strings.id(e.pointee.containerID)
            contextRow[6] = strings.id(e.pointee.containerName)
            contextRow[7] = strings.id(e.pointee.containerImage)
            contextRow[8] = strings.id(e.pointee.parentProcessName)
            contextRow[9] = strings.id(e.pointee.processName)
            contextRow[10] = strings.id(e.pointee.source)
            contextRow[11] = strings.id(e.pointee.cwd)
            contextRow[12] = strings.id(e.pointee.tty)
            contextRow[13] = e.pointee.hostPPID
            contextRow[14] = e.pointee.hostPID
            contextRow[15] = e.pointee.ppid
            contextRow[16] = e.pointee.pid
            contextRow[17] = e.pointee.uid
            contextRow[18] = layoutID
            contextColumn[i] = contextRow.withUnsafeBufferPointer { contexts.id($0) }

            verdictRow[0] = strings.id(e.pointee.operation)
            verdictRow[1] = strings.id(e.pointee.result)
            verdictRow[2] = strings.id(e.pointee.type)
            verdictRow[3] = strings.id(e.pointee.policyName)
            verdictRow[4] = strings.id(e.pointee.severity)
            verdictRow[5] = strings.id(e.pointee.tags)
            verdictRow[6] = strings.id(e.pointee.message)
            verdictRow[7] = strings.id(e.pointee.action)
            verdictRow[8] = strings.id(e.pointee.enforcer)
            verdictColumn[i] = verdictRow.withUnsafeBufferPointer { verdicts.id($0) }

            resourceColumn[i] = strings.id(e.pointee.resource)
            dataColumn[i] = strings.id(e.pointee.data)
            if !e.pointee.extras.isEmpty {
                // Up to `extrasWidth / 2` pairs go through the fast fixed-width table; more through a dictionary.
                pairs.removeAll(keepingCapacity: true)
                for extra in e.pointee.extras { pairs += [strings.id(extra.key), strings.id(extra.json)] }
                let id: Int32
                if pairs.count <= extrasWidth {
                    while pairs.count < extrasWidth { pairs.append(-1) }
                    let row = pairs.withUnsafeBufferPointer { extrasTable.id($0) }
                    if Int(row) < extrasRowIDs.count {
                        id = extrasRowIDs[Int(row)]
                    } else {
                        extrasRows.append(pairs.filter { $0 >= 0 })
                        id = Int32(extrasRows.count)
                        extrasRowIDs.append(id)
                    }
                } else if let known = extrasByPairs[pairs] {
                    id = known
                } else {
                    extrasRows.append(pairs)
                    id = Int32(extrasRows.count)
                    extrasByPairs[pairs] = id
                }
                extrasColumn[i] = id
            }
            if let given = e.pointee.updatedTimeAsGiven { updatedColumn[i] = strings.id(given) + 1 }
        }
        if unit == 0 { unit = 1 }
        if unit > UInt64(UInt32.max) { unit = 1 }

        var w = ByteWriter(capacity: n * 16 + 4096)
        w.varint(strings.count)
        for s in strings.strings { w.varint(s.utf8.count) }
        for s in strings.strings { w.raw(s.utf8) }
        w.varint(layoutKeys.count)
        for keys in layoutKeys {
            w.varint(keys.count)
            for k in keys { w.varint(Int(k)) }
        }
        w.varint(extrasRows.count)
        for pairs in extrasRows {
            w.varint(pairs.count / 2)
            for v in pairs { w.varint(Int(v)) }
        }
        w.varint(contexts.rowCount)
        let stringColumns = contextStrings.count
        // Contexts column by column: each field's ids sit together, which compresses better.
        for f in 0..<contextWidth {
            for r in 0..<contexts.rowCount {
                let v = contexts.cells[r * contextWidth + f]
                if f >= stringColumns && f < contextWidth - 1 { w.zigzag(Int64(v)) } else { w.varint(Int(v)) }
            }
        }
        w.varint(verdicts.rowCount)
        for f in 0..<verdictStrings.count {
            for r in 0..<verdicts.rowCount { w.varint(Int(verdicts.cells[r * verdictStrings.count + f])) }
        }
        previousTime = events[0].timeNs
        w.zigzag(previousTime)
        for i in 1..<n {
            w.zigzag((events[i].timeNs &- previousTime) / Int64(unit))
            previousTime = events[i].timeNs
        }
        for i in 0..<n { w.zigzag(events[i].timestamp &- floorSeconds(events[i].timeNs)) }
        for column in [contextColumn, verdictColumn, resourceColumn, dataColumn, extrasColumn, updatedColumn] {
            for v in column { w.varint(Int(v)) }
        }

        let compressed = BlockCompression.compress(w.bytes)
        let crc = compressed.withUnsafeBytes { BlockCompression.crc32($0) }
        let header = BlockHeader(eventCount: n, rawLength: w.bytes.count, compressedLength: compressed.count,
                                 timeUnit: UInt32(unit), minTimeNs: minTime, maxTimeNs: maxTime,
                                 firstSeq: firstSeq, payloadCRC: crc)
        return EncodedBlock(header: header, payload: compressed,
                            terms: terms(strings: strings.strings, contexts: contexts, contextColumn: contextColumn,
                                         verdicts: verdicts, verdictColumn: verdictColumn))
    }

    private static func terms(strings: [String], contexts: RowTable, contextColumn: [Int32],
                              verdicts: RowTable, verdictColumn: [Int32]) -> [TermCount] {
        var contextUse = [Int](repeating: 0, count: contexts.rowCount)
        for c in contextColumn { contextUse[Int(c)] += 1 }
        var verdictUse = [Int](repeating: 0, count: verdicts.rowCount)
        for v in verdictColumn { verdictUse[Int(v)] += 1 }
        var counts: [TermKey: Int] = [:]
        func add(_ field: EventField, _ value: String, _ n: Int) {
            counts[TermKey(field: field, value: value), default: 0] += n
        }
        for field in IndexedFields.all {
            if let column = contextStrings.firstIndex(of: field) {
                for r in 0..<contexts.rowCount where contextUse[r] > 0 {
                    add(field, strings[Int(contexts.cells[r * contextWidth + column])], contextUse[r])
                }
            } else if let column = contextNumbers.firstIndex(of: field) {
                for r in 0..<contexts.rowCount where contextUse[r] > 0 {
                    add(field, String(contexts.cells[r * contextWidth + contextStrings.count + column]), contextUse[r])
                }
            } else if let column = verdictStrings.firstIndex(of: field) {
                for r in 0..<verdicts.rowCount where verdictUse[r] > 0 {
                    add(field, strings[Int(verdicts.cells[r * verdictStrings.count + column])], verdictUse[r])
                }
            }
        }
        return counts.map { TermCount(field: $0.key.field, value: $0.key.value, count: $0.value) }
            .sorted(by: TermCount.storageOrder)
    }

    /// The index terms of a decoded block: the same as ``encode(_:)`` reports, for rebuilding the index.
    static func terms(of batch: ColumnBatch) -> [TermCount] {
        var contextUse = [Int](repeating: 0, count: batch.contextCount)
        for c in batch.contextIDs { contextUse[Int(c)] += 1 }
        var verdictUse = [Int](repeating: 0, count: batch.verdictCount)
        for v in batch.verdictIDs { verdictUse[Int(v)] += 1 }
        var counts: [TermKey: Int] = [:]
        for field in IndexedFields.all {
            switch ColumnBatch.place(of: field) {
            case .contextString(let column):
                for c in contextUse.indices where contextUse[c] > 0 {
                    counts[TermKey(field: field, value: batch.string(batch.stringID(column, context: c))), default: 0] += contextUse[c]
                }
            case .contextNumber(let column):
                for c in contextUse.indices where contextUse[c] > 0 {
                    counts[TermKey(field: field, value: String(batch.number(column, context: c))), default: 0] += contextUse[c]
                }
            case .verdictString(let column):
                for v in verdictUse.indices where verdictUse[v] > 0 {
                    counts[TermKey(field: field, value: batch.string(batch.stringID(column, verdict: v))), default: 0] += verdictUse[v]
                }
            case .rowString, .timestamp, .updatedTime:
                preconditionFailure("\(field.rawValue) is not indexed per context or verdict")
            }
        }
        return counts.map { TermCount(field: $0.key.field, value: $0.key.value, count: $0.value) }
            .sorted(by: TermCount.storageOrder)
    }

    /// A term compared by its bytes: Swift's `String` equality would merge canonically equivalent
    /// spellings (`"K"` and the Kelvin sign), posting one under the other's name.
    private struct TermKey: Hashable {
        var field: EventField
        var value: String

        static func == (a: TermKey, b: TermKey) -> Bool { a.field == b.field && a.value.utf8.elementsEqual(b.value.utf8) }

        func hash(into hasher: inout Hasher) {
            hasher.combine(field)
            var value = value
            value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    @inline(__always) static func floorSeconds(_ ns: Int64) -> Int64 {
        ns >= 0 ? ns / 1_000_000_000 : (ns + 1) / 1_000_000_000 - 1
    }

    private static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }
}

/// The block encoder on its own, for benchmarks: how many bytes a block of these events takes.
public enum BlockEncoding {
    public static func encodedSize(of events: [Event]) -> Int {
        BlockCodec.encode(events[...], firstSeq: 1).byteCount
    }
}
