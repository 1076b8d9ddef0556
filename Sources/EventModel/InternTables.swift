#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer reused across records (unescaped strings, compacted JSON values).
final class ByteScratch {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func removeAll() { count = 0 }

    @inline(__always) func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always) func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        if count + n > capacity { grow(to: count + n) }
        (base + count).update(from: p, count: n)
        count += n
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}

/// Interned strings keyed by their UTF-8 bytes, so that repeated values (host names, paths, labels)
/// share one heap string instead of allocating one per record.
///
/// Open addressing over a fixed power-of-two table; when it is three quarters full it is emptied and
/// refilled, which bounds its memory while keeping the values that are still repeating.
final class StringTable {
    /// Strings of up to 15 bytes are stored inline by Swift and need no interning; very long ones
    /// rarely repeat.
    static let smallLength = 15, maxLength = 1024

    private let hashes: UnsafeMutablePointer<UInt64>
    private let values: UnsafeMutablePointer<String>
    private let mask: Int
    private var count = 0

    init(slots: Int = 1 << 14) {
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two")
        mask = slots - 1
        hashes = .allocate(capacity: slots)
        hashes.initialize(repeating: 0, count: slots)
        // Only occupied slots (a non-zero hash) hold an initialized value: a parser is made per
        // input piece, and a small input should not pay for initializing every slot.
        values = .allocate(capacity: slots)
    }

    deinit {
        releaseValues()
        values.deallocate()
        hashes.deallocate()
    }

    /// The string of `count` valid UTF-8 bytes at `p`.
    @inline(__always)
    func string(_ p: UnsafePointer<UInt8>, _ count: Int) -> String {
        if count <= StringTable.smallLength || count > StringTable.maxLength {
            return String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        }
        let h = JSONBytes.hash(p, count)
        var slot = Int(truncatingIfNeeded: h) & mask
        while hashes[slot] != 0 {
            if hashes[slot] == h, StringTable.equal(values[slot], p, count) { return values[slot] }
            slot = (slot + 1) & mask
        }
        let value = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        if self.count >= (mask + 1) / 4 * 3 {
            empty()
            slot = Int(truncatingIfNeeded: h) & mask
        }
        hashes[slot] = h
        (values + slot).initialize(to: value)
        self.count += 1
        return value
    }

    private func empty() {
        releaseValues()
        hashes.update(repeating: 0, count: mask + 1)
        count = 0
    }

    private func releaseValues() {
        guard count > 0 else { return }
        for slot in 0...mask where hashes[slot] != 0 { (values + slot).deinitialize(count: 1) }
    }

    @inline(__always)
    static func equal(_ s: String, _ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { $0.count == count && JSONBytes.equal($0.baseAddress!, p, count) } ?? false
    }
}

/// What rearview does with the value of an input key.
enum KeyRole: Equatable {
    case string(EventField)
    case number(EventField)
    case updatedTime
    case extra
}

/// What a parser knows about one input key: its bytes, its role, the key that followed it last
/// time, and the last value it had (so that a value repeated from the previous record costs one
/// comparison of bytes).
struct KeyState {
    let name: String
    let nameBytes: UnsafeMutablePointer<UInt8>
    let nameLength: Int
    let role: KeyRole
    /// Whether the name can be recognised by comparing input bytes (it needs no escapes).
    let matchable: Bool
    /// The key that followed this one in the last record that had it, or -1.
    var next: Int32 = -1
    /// The last value's bytes as they appeared in the input (not escaped, no whitespace), or
    /// `valueLength` -1 when there is none.
    var valueBytes: UnsafeMutablePointer<UInt8>?
    var valueLength = -1
    var valueCapacity = 0
    /// The last value: the string of a string field, or the compact JSON of an extra.
    var value = ""

    /// Remembers `value`, whose input bytes are `count` bytes at `p`.
    mutating func remember(_ value: String, bytes p: UnsafePointer<UInt8>, _ count: Int) {
        guard count <= KeyState.maxValueLength else {
            valueLength = -1
            return
        }
        if valueBytes == nil || valueCapacity < count {
            valueBytes?.deallocate()
            valueCapacity = max(count, 32)
            valueBytes = .allocate(capacity: valueCapacity)
        }
        valueBytes!.update(from: p, count: count)
        valueLength = count
        self.value = value
    }

    /// Whether the `count` bytes at `p` are the remembered value's bytes.
    @inline(__always)
    func holds(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        count == valueLength && JSONBytes.equal(p, valueBytes!, count)
    }

    static let maxValueLength = 1024
}

/// The keys seen in an input, numbered in order of first appearance, with their roles and last
/// values; and the key layouts (sequences of key numbers) seen, each interned as one ``KeyLayout``.
final class KeyTable {
    /// More distinct keys than this (only in odd inputs) empties both tables between records.
    static let maxKeys = 4096
    private static let keySlotCount = 1 << 14, layoutSlotCount = 1 << 10

    /// The key states, indexed by key number; room for `maxKeys` plus one record's worth of members.
    let states: UnsafeMutablePointer<KeyState>
    private(set) var count = 0
    /// The first key of the last record.
    var first: Int32 = -1
    private let keySlots: UnsafeMutablePointer<(hash: UInt64, id: Int32)>
    private var layoutSlots: [(hash: UInt64, ids: [Int32], layout: KeyLayout?)]
    private var layoutCount = 0

    init() {
        states = .allocate(capacity: KeyTable.maxKeys + KubeArmorRecordParser.maxMembers)
        keySlots = .allocate(capacity: KeyTable.keySlotCount)
        layoutSlots = Array(repeating: (0, [], nil), count: KeyTable.layoutSlotCount)
        clearKeySlots()
    }

    deinit {
        releaseKeys()
        states.deallocate()
        keySlots.deallocate()
    }

    /// Empties the tables when they are full; call only between records (ids would change).
    func makeRoom() {
        if count >= KeyTable.maxKeys {
            emptyKeys()
            emptyLayouts()
        }
        if layoutCount >= KeyTable.layoutSlotCount / 2 { emptyLayouts() }
    }

    /// The number of the key whose (already decoded) bytes are at `p`.
    func id(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        let h = JSONBytes.hash(p, length)
        let mask = KeyTable.keySlotCount - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while keySlots[slot].hash != 0 {
            let id = keySlots[slot].id
            if keySlots[slot].hash == h, states[Int(id)].nameLength == length, JSONBytes.equal(states[Int(id)].nameBytes, p, length) {
                return id
            }
            slot = (slot + 1) & mask
        }
        let name = String(decoding: UnsafeBufferPointer(start: p, count: length), as: UTF8.self)
        let role: KeyRole
        if let field = EventField(key: name) {
            role = field == .updatedTime ? .updatedTime : field.isNumeric ? .number(field) : .string(field)
        } else {
            role = .extra
        }
        let nameBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(length, 1))
        nameBytes.update(from: p, count: length)
        let id = Int32(count)
        let matchable = !UnsafeBufferPointer(start: p, count: length).contains { $0 < 0x20 || $0 == JSONBytes.quote || $0 == JSONBytes.backslash }
        (states + count).initialize(to: KeyState(name: name, nameBytes: nameBytes, nameLength: length, role: role, matchable: matchable))
        count += 1
        keySlots[slot] = (h, id)
        return id
    }

    /// The interned layout of a record whose keys were `ids` (with `hash` folded from them).
    func layout(_ ids: UnsafeBufferPointer<Int32>, hash: UInt64) -> KeyLayout {
        let h = hash | 1
        let mask = KeyTable.layoutSlotCount - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while layoutSlots[slot].hash != 0 {
            if layoutSlots[slot].hash == h, layoutSlots[slot].ids.count == ids.count,
               layoutSlots[slot].ids.withUnsafeBytes({ stored in
                   JSONBytes.equal(stored.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                   UnsafeRawPointer(ids.baseAddress!).assumingMemoryBound(to: UInt8.self), stored.count)
               }) {
                return layoutSlots[slot].layout!
            }
            slot = (slot + 1) & mask
        }
        let layout = KeyLayout(keys: ids.map { states[Int($0)].name })
        layoutSlots[slot] = (h, Array(ids), layout)
        layoutCount += 1
        return layout
    }

    private func emptyKeys() {
        releaseKeys()
        count = 0
        first = -1
        clearKeySlots()
    }

    private func releaseKeys() {
        for id in 0..<count {
            states[id].nameBytes.deallocate()
            states[id].valueBytes?.deallocate()
        }
        states.deinitialize(count: count)
    }

    /// Marks every key slot empty (a zero hash) with one memset: a parser is made per input, and
    /// small inputs should not pay a slot-by-slot loop over the whole table.
    private func clearKeySlots() {
        memset(keySlots, 0, KeyTable.keySlotCount * MemoryLayout<(hash: UInt64, id: Int32)>.stride)
    }

    private func emptyLayouts() {
        for i in layoutSlots.indices { layoutSlots[i] = (0, [], nil) }
        layoutCount = 0
    }
}
