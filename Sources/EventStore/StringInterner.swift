import Glibc
import EventModel

/// Gives each distinct string a small dense id, fast: the block encoder's dictionary and the
/// process table's strings.
///
/// Two tables: one keyed by the string's raw 16 bytes (equal bits mean an equal string, and the
/// importer hands over the same String instance for repeated values, so this hit is the common case),
/// and one keyed by the UTF-8 content. With `reservingEmpty` (the block dictionary's convention) id 0
/// is always the empty string; otherwise ids are given in the order strings are first met.
struct StringInterner {
    private(set) var strings: [String]
    private var byBits: [BitsSlot]
    private var byContent: [Int32]  // index into strings + 1, 0 = empty slot
    private var contentHashes: [UInt64]
    private var bitsMask: Int
    private var contentMask: Int

    private struct BitsSlot {
        var w0: UInt64 = 0
        var w1: UInt64 = 0
        var id: Int32 = -1
    }

    init(capacity: Int = 1024, reservingEmpty: Bool = true) {
        var size = 64
        while size < capacity * 2 { size <<= 1 }
        byBits = Array(repeating: BitsSlot(), count: size)
        byContent = Array(repeating: 0, count: size)
        bitsMask = size - 1
        contentMask = size - 1
        strings = []
        contentHashes = []
        strings.reserveCapacity(capacity)
        contentHashes.reserveCapacity(capacity)
        if reservingEmpty { _ = contentID("") }
    }

    var count: Int { strings.count }

    /// The id of `string`, adding it if new.
    @inline(__always) mutating func id(_ string: String) -> Int32 {
        let bits = unsafeBitCast(string, to: (UInt64, UInt64).self)
        let bitsHash = Int(truncatingIfNeeded: (bits.0 &* 0x9E37_79B9_7F4A_7C15) ^ (bits.1 &* 0xC2B2_AE3D_27D4_EB4F) >> 17)
        var slot = bitsHash & bitsMask
        while true {
            let entry = byBits[slot]
            if entry.id < 0 { break }
            if entry.w0 == bits.0 && entry.w1 == bits.1 { return entry.id }
            slot = (slot + 1) & bitsMask
        }
        let id = contentID(string)
        byBits[slot] = BitsSlot(w0: bits.0, w1: bits.1, id: id)
        // The bits table only caches; keep it sparse by clearing it when it fills.
        bitsUsed += 1
        if bitsUsed * 2 > byBits.count { growBits() }
        return id
    }

    private var bitsUsed = 0

    private mutating func growBits() {
        let size = byBits.count * 2
        byBits = Array(repeating: BitsSlot(), count: size)
        bitsMask = size - 1
        bitsUsed = 0
    }

    private mutating func contentID(_ string: String) -> Int32 {
        var s = string
        return s.withUTF8 { utf8 -> Int32 in
            let raw = UnsafeRawBufferPointer(utf8)
            let hash = FastHash.bytes(raw)
            var slot = Int(truncatingIfNeeded: hash) & contentMask
            while true {
                let entry = byContent[slot]
                if entry == 0 { break }
                let candidate = Int(entry - 1)
                if contentHashes[candidate] == hash && Self.equal(strings[candidate], raw) { return Int32(candidate) }
                slot = (slot + 1) & contentMask
            }
            let id = Int32(strings.count)
            strings.append(string)
            contentHashes.append(hash)
            byContent[slot] = id + 1
            if strings.count * 2 > byContent.count { growContent() }
            return id
        }
    }

    private static func equal(_ a: String, _ b: UnsafeRawBufferPointer) -> Bool {
        var a = a
        return a.withUTF8 { au in
            au.count == b.count && (au.count == 0 || memcmp(au.baseAddress!, b.baseAddress!, au.count) == 0)
        }
    }

    private mutating func growContent() {
        let size = byContent.count * 2
        byContent = Array(repeating: 0, count: size)
        contentMask = size - 1
        for (index, hash) in contentHashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & contentMask
            while byContent[slot] != 0 { slot = (slot + 1) & contentMask }
            byContent[slot] = Int32(index + 1)
        }
    }
}
