import CLZ4
import CZlib

/// LZ4 block compression and CRC-32 for segment blocks; the C calls stay in this file.
enum BlockCompression {
    /// LZ4-HC at `level` (4: blocks, fast to write; 12, the highest: data written once and kept).
    static func compress(_ input: [UInt8], level: Int32 = 4) -> [UInt8] {
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_compress_HC(s.baseAddress, d.baseAddress, Int32(input.count), Int32(bound), level)
                    }
                }
            }
        }
        precondition(written > 0, "LZ4 compression cannot fail with a bound-sized buffer")
        output.removeSubrange(Int(written)...)
        return output
    }

    /// The most an LZ4 block expands: a match of n bytes costs at least n / 255 bytes of input.
    static let lz4MaxRatio = 255
    /// The most a deflate stream expands (RFC 1951: a 258-byte match per code of at least two bits).
    static let deflateMaxRatio = 1032

    /// Refuses a claimed decoded size that `input` cannot decompress to (more than `maxRatio` times its
    /// size, or beyond what the C APIs count in 32 bits), before anything is allocated for it.
    private static func checkClaim(_ rawLength: Int, of input: UnsafeRawBufferPointer, maxRatio: Int,
                                   _ codec: String) throws(DecodeFailure) {
        guard rawLength >= 0, rawLength <= Int(Int32.max), rawLength <= input.count * maxRatio + 64 else {
            throw DecodeFailure(offset: 0, reason: "\(codec) payload of \(input.count) bytes cannot decompress to the \(rawLength) bytes claimed")
        }
    }

    /// Decompresses into exactly `rawLength` bytes; damaged input, or a length the input cannot
    /// decompress to, throws.
    static func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int) throws(DecodeFailure) -> [UInt8] {
        try checkClaim(rawLength, of: input, maxRatio: lz4MaxRatio, "LZ4")
        var output = [UInt8](repeating: 0, count: rawLength)
        let n = output.withUnsafeMutableBytes { dst in
            LZ4_decompress_safe(input.baseAddress?.assumingMemoryBound(to: CChar.self),
                                dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                                Int32(input.count), Int32(rawLength))
        }
        guard n == rawLength else {
            throw DecodeFailure(offset: 0, reason: "LZ4 payload does not decompress to \(rawLength) bytes")
        }
        return output
    }

    /// zlib (deflate) compression at `level` (column chunks that are written once and read often).
    static func deflate(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        var bound = CZlib.compressBound(UInt(input.count))
        var output = [UInt8](repeating: 0, count: Int(bound))
        let status = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                CZlib.compress2(dst.baseAddress, &bound, src.baseAddress, UInt(input.count), level)
            }
        }
        precondition(status == Z_OK, "zlib compression cannot fail with a bound-sized buffer")
        output.removeSubrange(Int(bound)...)
        return output
    }

    /// Inflates into exactly `rawLength` bytes; damaged input, or a length the input cannot inflate
    /// to, throws.
    static func inflate(_ input: UnsafeRawBufferPointer, rawLength: Int) throws(DecodeFailure) -> [UInt8] {
        try checkClaim(rawLength, of: input, maxRatio: deflateMaxRatio, "zlib")
        var output = [UInt8](repeating: 0, count: rawLength)
        var length = UInt(rawLength)
        let status = output.withUnsafeMutableBufferPointer { dst in
            CZlib.uncompress(dst.baseAddress, &length, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(input.count))
        }
        guard status == Z_OK, length == UInt(rawLength) else {
            throw DecodeFailure(offset: 0, reason: "zlib payload does not inflate to \(rawLength) bytes")
        }
        return output
    }

    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(CZlib.crc32_z(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count))
    }
}
