/// A fast, non-cryptographic 64-bit hash for dictionaries and duplicate detection (not for integrity:
/// integrity uses CRC-32 per block and SHA-256 per segment).
package enum FastHash {
    private static let k0: UInt64 = 0xA076_1D64_78BD_642F
    private static let k1: UInt64 = 0xE703_7ED1_A0B4_28DB

    @inline(__always) package static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    package static func bytes(_ data: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = seed ^ k0 ^ UInt64(data.count)
        var i = 0
        let n = data.count
        while i + 8 <= n {
            let word = data.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = mix(h ^ word, k1)
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(data[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ tail, k1 ^ 0x5555)
        }
        return mix(h, k0)
    }

    @inline(__always) package static func combine(_ h: UInt64, _ value: UInt64) -> UInt64 {
        mix(h ^ value, k1)
    }
}
