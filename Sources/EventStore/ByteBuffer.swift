/// Appends the primitive encodings rearview's on-disk formats are made of.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always) mutating func varint(_ value: Int) { varint(UInt64(value)) }

    /// Signed values as zigzag varints, so small negative numbers stay small.
    @inline(__always) mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func fixed<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }
}

/// Why bytes could not be decoded: what was expected, and where.
struct DecodeFailure: Error, CustomStringConvertible {
    var offset: Int
    var reason: String
    var description: String { "at byte \(offset): \(reason)" }
}

/// Reads what ``ByteWriter`` wrote, bounds-checked: damaged input throws, it never traps.
struct ByteReader {
    let base: UnsafeRawBufferPointer
    var offset: Int

    init(_ base: UnsafeRawBufferPointer, offset: Int = 0) {
        self.base = base
        self.offset = offset
    }

    var remaining: Int { base.count - offset }

    @inline(__always) mutating func varint() throws(DecodeFailure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < base.count else { throw DecodeFailure(offset: offset, reason: "truncated varint") }
            let byte = base[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            guard shift < 64 else { throw DecodeFailure(offset: offset, reason: "varint too long") }
        }
    }

    @inline(__always) mutating func int() throws(DecodeFailure) -> Int {
        let v = try varint()
        guard v <= UInt64(Int32.max) else { throw DecodeFailure(offset: offset, reason: "count \(v) out of range") }
        return Int(v)
    }

    /// A count of entries that take at least a byte each: one larger than the bytes left is damage,
    /// and is refused before anything is allocated for it.
    @inline(__always) mutating func count() throws(DecodeFailure) -> Int {
        let v = try varint()
        guard v <= UInt64(remaining) else { throw DecodeFailure(offset: offset, reason: "count \(v) exceeds the \(remaining) bytes left") }
        return Int(v)
    }

    @inline(__always) mutating func zigzag() throws(DecodeFailure) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// `count` varints, each turned into a column value by `make` (given its index), which may
    /// reject it; a rejection's offset is set to where the varint ended.
    @inline(__always) mutating func column<T>(count: Int, _ make: (Int, UInt64) throws(DecodeFailure) -> T) throws(DecodeFailure) -> [T] {
        var failure: DecodeFailure?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            do throws(DecodeFailure) {
                for i in 0..<count {
                    (buffer.baseAddress! + i).initialize(to: try make(i, try varint()))
                    initialized = i + 1
                }
            } catch {
                failure = DecodeFailure(offset: offset, reason: error.reason)
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Passes over `count` varints without decoding them (a column a reader does not need).
    mutating func skipVarints(_ count: Int) throws(DecodeFailure) {
        var left = count
        var at = offset
        let end = base.count
        while left > 0 {
            guard at < end else { throw DecodeFailure(offset: at, reason: "truncated varint") }
            if base[at] < 0x80 { left -= 1 }
            at += 1
        }
        offset = at
    }

    /// A time column: the first time (zigzag), then deltas in `unit`s (zigzag).
    mutating func timeColumn(count: Int, unit: Int64) throws(DecodeFailure) -> [Int64] {
        var t: Int64 = 0
        return try column(count: count) { (i, v) throws(DecodeFailure) in
            let delta = Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
            t = i == 0 ? delta : t &+ delta &* unit
            return t
        }
    }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(DecodeFailure) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw DecodeFailure(offset: offset, reason: "truncated \(T.self)") }
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: v)
    }

    mutating func bytes(_ count: Int) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else {
            throw DecodeFailure(offset: offset, reason: "need \(count) bytes, \(remaining) left")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for decoders that throw ``DecodeFailure`` (keeps the error type).
    func decoding<R>(_ body: (UnsafeRawBufferPointer) throws(DecodeFailure) -> R) throws(DecodeFailure) -> R {
        let result: Result<R, DecodeFailure> = withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) -> R in try body(raw) }
        }
        return try result.get()
    }
}
