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
        guard !events.isEmpty else { return (events, 0) }
        var first = Int64.max, last = Int64.min
        for i in events.indices {
            first = min(first, events[i].timeNs)
            last = max(last, events[i].timeNs)
        }
        let overlapping = try store.blocks(from: first, through: last)
        guard !overlapping.isEmpty else { return (events, 0) }
        let incoming = events.map(\.contentHash)
        let wanted = Set(incoming)
        var stored: [UInt64: Int] = [:]
        for block in overlapping {
            for e in try store.events(in: block) {
                let h = e.contentHash
                if wanted.contains(h) { stored[h, default: 0] += 1 }
            }
        }
        guard !stored.isEmpty else { return (events, 0) }
        var kept: [Event] = []
        kept.reserveCapacity(events.count)
        var duplicates = 0
        for (event, hash) in zip(events, incoming) {
            if let n = stored[hash], n > 0 {
                stored[hash] = n - 1
                duplicates += 1
            } else {
                kept.append(event)
            }
        }
        return (kept, duplicates)
    }
}
