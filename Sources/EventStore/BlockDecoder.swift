import EventModel

/// The per-row columns a reader may leave undecoded (time, context and verdict are always decoded).
///
/// A column not asked for is passed over in the payload without being decoded, and reads as empty
/// (dictionary id 0, `Timestamp` 0) in the batch: ask for every column a caller will read.
public struct BatchColumns: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let timestamp = BatchColumns(rawValue: 1)
    public static let resource = BatchColumns(rawValue: 2)
    public static let data = BatchColumns(rawValue: 4)
    public static let extras = BatchColumns(rawValue: 8)
    public static let updatedTime = BatchColumns(rawValue: 16)
    public static let all: BatchColumns = [.timestamp, .resource, .data, .extras, .updatedTime]

    /// The columns a reader of `fields` needs (context and verdict fields need none).
    public static func reading(_ fields: some Sequence<EventField>) -> BatchColumns {
        var columns: BatchColumns = []
        for field in fields {
            switch field {
            case .timestamp: columns.insert(.timestamp)
            case .updatedTime: columns.insert(.updatedTime)
            case .resource: columns.insert(.resource)
            case .data: columns.insert(.data)
            default: break
            }
        }
        return columns
    }
}

extension BlockCodec {
    /// Decodes a block's payload (already checked against the header's CRC by the caller) into a batch.
    static func decode(header: BlockHeader, payload: UnsafeRawBufferPointer,
                       columns: BatchColumns = .all) throws(DecodeFailure) -> ColumnBatch {
        let raw = try BlockCompression.decompress(payload, rawLength: header.rawLength)
        return try decodeRaw(header: header, raw, columns: columns)
    }

    /// Decodes a payload already decompressed (`rawLength` bytes); the fuzzer's way in below LZ4.
    /// The batch keeps `raw` as its dictionary's arena.
    static func decodeRaw(header: BlockHeader, _ raw: [UInt8], columns: BatchColumns = .all) throws(DecodeFailure) -> ColumnBatch {
        try raw.decoding { (buffer) throws(DecodeFailure) in
            try decodeRaw(header: header, ByteReader(buffer), arena: raw, columns: columns)
        }
    }

    private static func decodeRaw(header: BlockHeader, _ reader: ByteReader, arena: [UInt8],
                                  columns: BatchColumns) throws(DecodeFailure) -> ColumnBatch {
        var r = reader
        let n = header.eventCount
        let stringCount = try r.count()
        var offsets = [Int32](repeating: 0, count: stringCount + 1)
        var end = 0
        for i in 0..<stringCount {
            end += try r.int()
            guard end <= r.remaining else { throw DecodeFailure(offset: r.offset, reason: "dictionary longer than the payload") }
            offsets[i + 1] = Int32(end)
        }
        let dictionaryStart = r.offset
        _ = try r.bytes(end)
        for i in offsets.indices { offsets[i] += Int32(dictionaryStart) }
        @inline(__always) func stringID() throws(DecodeFailure) -> Int32 {
            let id = try r.varint()
            guard id < UInt64(stringCount) else { throw DecodeFailure(offset: r.offset, reason: "string id \(id) out of range") }
            return Int32(id)
        }
        let layoutCount = try r.count()
        var layouts: [[Int32]] = [[]]
        for _ in 0..<layoutCount {
            let keyCount = try r.count()
            var keys = [Int32]()
            keys.reserveCapacity(keyCount)
            for _ in 0..<keyCount { keys.append(try stringID()) }
            layouts.append(keys)
        }
        let extrasCount = try r.count()
        var extrasSets: [[Int32]] = [[]]
        for _ in 0..<extrasCount {
            let pairCount = try r.count()
            var pairs = [Int32]()
            for _ in 0..<(2 * pairCount) { pairs.append(try stringID()) }
            extrasSets.append(pairs)
        }
        let contextCount = try r.count()
        var contexts = [Int32](repeating: 0, count: contextCount * contextWidth)
        // Column by column, each kind of cell in a loop of its own (the hot loop of a decode).
        try contexts.withUnsafeMutableBufferPointer { (cells) throws(DecodeFailure) in
            for f in 0..<contextStrings.count {
                for c in 0..<contextCount { cells[c * contextWidth + f] = try stringID() }
            }
            for f in contextStrings.count..<(contextWidth - 1) {
                for c in 0..<contextCount { cells[c * contextWidth + f] = Int32(truncatingIfNeeded: try r.zigzag()) }
            }
            for c in 0..<contextCount {
                let id = try r.varint()
                guard id < UInt64(layouts.count) else { throw DecodeFailure(offset: r.offset, reason: "layout id out of range") }
                cells[c * contextWidth + contextWidth - 1] = Int32(id)
            }
        }
        let verdictCount = try r.count()
        let verdictWidth = verdictStrings.count
        var verdicts = [Int32](repeating: 0, count: verdictCount * verdictWidth)
        for f in 0..<verdictWidth {
            for v in 0..<verdictCount { verdicts[v * verdictWidth + f] = try stringID() }
        }
        let times = try r.timeColumn(count: n, unit: Int64(header.timeUnit))
        let timestamps: [Int64]
        if columns.contains(.timestamp) {
            timestamps = try r.column(count: n) { (i, v) throws(DecodeFailure) in
                floorSeconds(times[i]) &+ Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
            }
        } else {
            try r.skipVarints(n)
            timestamps = [Int64](repeating: 0, count: n)
        }
        func column(_ bound: Int, _ what: String, _ wanted: Bool = true) throws(DecodeFailure) -> [Int32] {
            guard wanted else {
                try r.skipVarints(n)
                return [Int32](repeating: 0, count: n)
            }
            return try r.column(count: n) { (_, v) throws(DecodeFailure) in
                guard v < UInt64(bound) else { throw DecodeFailure(offset: 0, reason: "\(what) id \(v) out of range") }
                return Int32(truncatingIfNeeded: v)
            }
        }
        let contextIDs = try column(contextCount, "context")
        let verdictIDs = try column(verdictCount, "verdict")
        let resourceIDs = try column(stringCount, "Resource", columns.contains(.resource))
        let dataIDs = try column(stringCount, "Data", columns.contains(.data))
        let extrasIDs = try column(extrasSets.count, "extras", columns.contains(.extras))
        let updatedIDs = try column(stringCount + 1, "UpdatedTime", columns.contains(.updatedTime))
        guard r.remaining == 0 else { throw DecodeFailure(offset: r.offset, reason: "\(r.remaining) stray bytes after the last column") }
        return ColumnBatch(count: n, columns: columns, firstSeq: header.firstSeq, timeNs: times, timestamps: timestamps,
                           contextIDs: contextIDs, verdictIDs: verdictIDs, resourceIDs: resourceIDs, dataIDs: dataIDs,
                           extrasIDs: extrasIDs, updatedIDs: updatedIDs, arena: arena, offsets: offsets,
                           contexts: contexts, verdicts: verdicts, layouts: layouts, extrasSets: extrasSets)
    }
}
