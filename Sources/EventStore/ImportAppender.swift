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

    /// Takes the next events in time order.
    mutating func add(_ events: [Event]) throws(StoreError) {
        for event in events {
            if window.count >= windowEvents, event.timeNs != window[window.count - 1].timeNs { try closeWindow() }
            if window.isEmpty { window.reserveCapacity(windowEvents) }
            window.append(event)
        }
    }

    /// Appends what is left; the caller flushes the writer.
    mutating func finish() throws(StoreError) { try closeWindow() }

    private mutating func closeWindow() throws(StoreError) {
        let (kept, copies) = try stored.remove(from: window)
        window = []
        duplicates += copies
        appended += kept.count
        try writer.append(kept)
    }
}
