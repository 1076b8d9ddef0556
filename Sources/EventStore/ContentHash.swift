import EventModel

extension Event {
    /// A 64-bit hash of everything the event says (all fields and extras), ignoring where it is stored
    /// (`Seq`) and how its keys were laid out: two imports of the same record hash alike.
    var contentHash: UInt64 {
        var h = FastHash.combine(UInt64(bitPattern: timeNs), UInt64(bitPattern: timestamp))
        func add(_ s: String) {
            var s = s
            h = FastHash.combine(h, s.withUTF8 { FastHash.bytes(UnsafeRawBufferPointer($0)) })
        }
        for field in EventField.allCases where !field.isNumeric { add(string(field)) }
        h = FastHash.combine(h, UInt64(UInt32(bitPattern: hostPID)) << 32 | UInt64(UInt32(bitPattern: hostPPID)))
        h = FastHash.combine(h, UInt64(UInt32(bitPattern: pid)) << 32 | UInt64(UInt32(bitPattern: ppid)))
        h = FastHash.combine(h, UInt64(UInt32(bitPattern: uid)))
        for extra in extras {
            add(extra.key)
            add(extra.json)
        }
        return h
    }
}

/// Drops from a batch of incoming events those the store already holds, counting multiplicity: a record
/// that occurs k times in the input and j times in the store is added max(0, k − j) times.
public enum DuplicateFilter {
    /// Returns the events to add (in their original order) and how many were already stored.
    public static func removeStored(from events: [Event], store: Store) throws(StoreError) -> (kept: [Event], duplicates: Int) {
        var stored = StoredCopies(store: store, storedBefore: .max)
        let (kept, duplicates) = try stored.remove(from: events[...])
        return (Array(kept), duplicates)
    }
}

/// Removes from an import's events, window after window of time, the copies the store held before
/// the import, as a multiset (see ``DuplicateFilter``).
///
/// A window is compared with the stored events whose time falls inside it, so windows must not share
/// a time (a record and its copies then fall in one window). Blocks this import wrote (`Seq` from
/// ``storedBefore`` on) never count; blocks that reach past a window are kept, hashed, for the next.
struct StoredCopies {
    let store: Store
    /// The first `Seq` this import wrote.
    let storedBefore: UInt64
    /// Times and hashes of the events of blocks that reach past the last window, by block id.
    private var carried: [Int64: [(time: Int64, hash: UInt64)]] = [:]

    init(store: Store, storedBefore: UInt64) {
        self.store = store
        self.storedBefore = storedBefore
    }

    /// Returns the events of `window` to add (in their order) and how many were already stored.
    mutating func remove(from window: ArraySlice<Event>) throws(StoreError) -> (kept: ArraySlice<Event>, duplicates: Int) {
        guard !window.isEmpty else { return (window, 0) }
        var first = Int64.max, last = Int64.min
        for i in window.indices {
            first = min(first, window[i].timeNs)
            last = max(last, window[i].timeNs)
        }
        let overlapping = try store.blocks(from: first, through: last).filter { $0.location.firstSeq < storedBefore }
        var reaching: [Int64: [(time: Int64, hash: UInt64)]] = [:]
        defer { carried = reaching }
        guard !overlapping.isEmpty else { return (window, 0) }
        let incoming = window.map(\.contentHash)
        let wanted = Set(incoming)
        var stored: [UInt64: Int] = [:]
        for block in overlapping {
            var hashed = carried[block.id] ?? []
            if hashed.isEmpty { hashed = try store.events(in: block).map { (time: $0.timeNs, hash: $0.contentHash) } }
            if block.location.maxTimeNs > last { reaching[block.id] = hashed }
            for entry in hashed where entry.time >= first && entry.time <= last && wanted.contains(entry.hash) {
                stored[entry.hash, default: 0] += 1
            }
        }
        guard !stored.isEmpty else { return (window, 0) }
        var kept: [Event] = []
        kept.reserveCapacity(window.count)
        var duplicates = 0
        for (event, hash) in zip(window, incoming) {
            if let n = stored[hash], n > 0 {
                stored[hash] = n - 1
                duplicates += 1
            } else {
                kept.append(event)
            }
        }
        return (kept[...], duplicates)
    }
}
