import EventModel

/// Appends an import's time-ordered events to the store window by window, leaving out the records
/// the store held before the import (as a multiset, see ``StoredCopies``).
///
/// A window closes once it holds ``windowEvents`` and the next event has a later time, so a record
/// and all its copies fall in one window. Appending window by window writes the same blocks, in the
/// same order and with the same `Seq`, as appending all kept events at once.
struct ImportAppender {
    let writer: StoreWriter
    let windowEvents: Int
    private var stored: StoredCopies
    /// The window still open at the end of the last run handed over (copied out of it).
    private var window: [Event] = []
    /// Events appended so far.
    private(set) var appended = 0
    /// Events left out because the store already held them.
    private(set) var duplicates = 0

    init(writer: StoreWriter, windowEvents: Int) {
        self.writer = writer
        self.windowEvents = max(1, windowEvents)
        stored = StoredCopies(store: writer.store, storedBefore: writer.nextSeq)
    }

    /// Takes the next run of events in time order. Windows that lie within the run are appended from
    /// it without copying; only the window still open at its end is kept aside.
    mutating func add(_ events: ArraySlice<Event>) throws(StoreError) {
        var start = events.startIndex
        while !window.isEmpty, start < events.endIndex {
            if window.count >= windowEvents, events[start].timeNs != window[window.count - 1].timeNs {
                try append(window[...])
                window = []
            } else {
                window.append(events[start])
                start += 1
            }
        }
        while start < events.endIndex {
            var end = start + windowEvents
            while end < events.endIndex, events[end].timeNs == events[end - 1].timeNs { end += 1 }
            guard end < events.endIndex else {
                window = Array(events[start...])
                return
            }
            try append(events[start..<end])
            start = end
        }
    }

    /// Appends what is left; the caller flushes the writer.
    mutating func finish() throws(StoreError) {
        if !window.isEmpty { try append(window[...]) }
        window = []
    }

    private mutating func append(_ window: ArraySlice<Event>) throws(StoreError) {
        let (kept, copies) = try stored.remove(from: window)
        duplicates += copies
        appended += kept.count
        try writer.append(kept)
    }
}
