/// An open-addressing hash table from byte strings (paths, directory prefixes, file names) to rule lists,
/// probed with a hash the caller computes incrementally.
///
/// Lookups take an FNV-1a hash and the subject bytes, so that one pass over a path can probe every
/// directory prefix (`/`, `/usr/`, `/usr/bin/`) and the whole path without slicing or rehashing.
struct PathTable<Payload: Sendable>: Sendable {
    private var slots: [Int32]
    private var mask: Int
    private var hashes: [UInt64] = []
    private var keyStarts: [Int] = []
    private var keyBytes: [UInt8] = []
    private(set) var payloads: [Payload] = []

    var isEmpty: Bool { payloads.isEmpty }

    /// A table of `entries`; payloads of equal keys are combined with `merge`.
    init(_ entries: [(key: [UInt8], payload: Payload)], merge: (inout Payload, Payload) -> Void) {
        var capacity = 8
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = Array(repeating: -1, count: capacity)
        mask = capacity - 1
        keyStarts = [0]
        for (key, payload) in entries {
            let hash = key.withUnsafeBufferPointer { PathHash.of($0) }
            if let existing = key.withUnsafeBufferPointer({ find(hash: hash, key: $0) }) {
                merge(&payloads[existing], payload)
                continue
            }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(payloads.count)
            hashes.append(hash)
            keyBytes += key
            keyStarts.append(keyBytes.count)
            payloads.append(payload)
        }
    }

    /// The entry whose key is `key` (whose hash is `hash`), if any; with `trailingSlash`, the entry
    /// whose key is `key` followed by `/`.
    @inline(__always)
    func find(hash: UInt64, key: UnsafeBufferPointer<UInt8>, trailingSlash: Bool = false) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == hash, keyEquals(entry, key, trailingSlash) { return entry }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private func keyEquals(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>, _ trailingSlash: Bool) -> Bool {
        let start = keyStarts[entry], end = keyStarts[entry + 1]
        guard end - start == key.count + (trailingSlash ? 1 : 0) else { return false }
        return keyBytes.withUnsafeBufferPointer { stored in
            for i in 0..<key.count where stored[start + i] != key[i] { return false }
            return !trailingSlash || stored[end - 1] == UInt8(ascii: "/")
        }
    }
}

/// 64-bit FNV-1a, the incremental hash ``PathTable`` is probed with.
enum PathHash {
    static let seed: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    @inline(__always)
    static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 { (hash ^ UInt64(byte)) &* prime }

    static func of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash = seed
        for byte in bytes { hash = step(hash, byte) }
        return hash
    }
}
