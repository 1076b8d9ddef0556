import EventModel

/// Puts an import's events into time order in bounded memory; equal times keep their input order.
///
/// Events are gathered up to ``spillEvents``. Beyond that the gathered events are sorted and spilled
/// to a ``SortedRunFile`` in the import's ``ImportSpillDirectory``, and gathering starts again.
/// ``drain(_:)`` merges the runs and the events still gathered, holding one block per run: the same
/// order as one stable sort of the whole input. An input that fits is never spilled.
struct SpillingEventSorter {
    let spillEvents: Int
    let directory: ImportSpillDirectory
    /// Events per block, in the runs and in the batches ``drain(_:)`` hands over.
    let blockEvents: Int
    let threads: Int
    private var gathered: [Event] = []
    /// How many runs were spilled so far (run files are numbered from 1, in input order).
    private(set) var runs = 0
    /// Events added so far.
    private(set) var count = 0

    init(spillEvents: Int, directory: ImportSpillDirectory, blockEvents: Int, threads: Int) {
        self.spillEvents = max(1, spillEvents)
        self.directory = directory
        self.blockEvents = max(1, blockEvents)
        self.threads = threads
    }

    mutating func add(_ event: Event) throws(StoreError) {
        // Spilled only when one more arrives, so an input of exactly `spillEvents` is never written twice.
        if gathered.count >= spillEvents { try spill() }
        // Reserved whole: untouched capacity costs no memory, and growing by copying would double it.
        if gathered.isEmpty { gathered.reserveCapacity(spillEvents) }
        gathered.append(event)
        count += 1
    }

    private mutating func spill() throws(StoreError) {
        let file = try directory.createRun(runs + 1)
        try SortedRunFile.write(gathered, order: Self.timeOrder(gathered), to: file, blockEvents: blockEvents, threads: threads)
        runs += 1
        // Kept for the next run: a fresh reservation would fault its pages in again.
        gathered.removeAll(keepingCapacity: true)
    }

    /// The indices of `events` in stable time order.
    static func timeOrder(_ events: [Event]) -> [Int] {
        var sorted = true
        for i in events.indices.dropFirst() where events[i].timeNs < events[i - 1].timeNs {
            sorted = false
            break
        }
        if sorted { return Array(events.indices) }
        return events.indices.map { (time: events[$0].timeNs, index: $0) }.sorted { ($0.time, $0.index) < ($1.time, $1.index) }.map(\.index)
    }

    /// Hands every event to `body` in time order, in runs: of at most ``blockEvents`` when runs were
    /// spilled, else slices of the gathered events themselves (sorted in one piece when needed).
    /// Leaves the sorter empty.
    mutating func drain(_ body: (ArraySlice<Event>) throws(StoreError) -> Void) throws(StoreError) {
        let order = Self.timeOrder(gathered)
        let isOrdered = order.indices.elementsEqual(order)
        if runs == 0 {
            // Taken, not copied: the permutation must find the only reference to the events.
            var events: [Event] = []
            swap(&events, &gathered)
            if !isOrdered { Self.permute(&events, into: order) }
            for start in stride(from: 0, to: events.count, by: Self.memoryRun) {
                try body(events[start..<min(events.count, start + Self.memoryRun)])
            }
            return
        }
        var cursors: [MergeCursor] = []
        for number in stride(from: 1, through: runs, by: 1) {
            let reader = try SortedRunReader(file: try directory.openRun(number))
            if let cursor = try MergeCursor(next: { () throws(StoreError) in try reader.nextBlock() }) { cursors.append(cursor) }
        }
        var events: [Event] = []
        swap(&events, &gathered)
        let size = blockEvents
        var taken = 0
        let inMemory = try MergeCursor { () -> [Event]? in
            guard taken < order.count else { return nil }
            defer { taken = min(order.count, taken + size) }
            return order[taken..<min(order.count, taken + size)].map { events[$0] }
        }
        if let inMemory { cursors.append(inMemory) }
        try Self.merge(cursors, blockEvents: blockEvents, body)
    }

    /// Puts `events[order[k]]` at position `k`, in place: events are swapped along the permutation's
    /// cycles, never copied (a copy costs a reference count per string, and a second array would
    /// double the memory an import holds).
    private static func permute(_ events: inout [Event], into order: [Int]) {
        var placed = [Bool](repeating: false, count: events.count)
        for start in events.indices where !placed[start] {
            placed[start] = true
            var k = start
            while order[k] != start {
                let source = order[k]
                events.swapAt(k, source)
                placed[source] = true
                k = source
            }
        }
    }

    /// Events per run ``drain(_:)`` hands over from memory (the importer reports progress per run).
    private static let memoryRun = 1 << 20

    /// Merges cursors by time; ties go to the earlier cursor (the earlier input).
    private static func merge(_ cursors: [MergeCursor], blockEvents: Int, _ body: (ArraySlice<Event>) throws(StoreError) -> Void) throws(StoreError) {
        var cursors = cursors
        if cursors.count == 1 {
            repeat { try body(cursors[0].block[...]) } while try cursors[0].nextBlock()
            return
        }
        var batch: [Event] = []
        batch.reserveCapacity(blockEvents)
        while !cursors.isEmpty {
            var best = 0
            for i in cursors.indices.dropFirst() where cursors[i].headTime < cursors[best].headTime { best = i }
            // Take from the best cursor while it stays ahead of every other one.
            var bound = (Int64.max, Int.max)
            for i in cursors.indices where i != best && (cursors[i].headTime, i) < bound { bound = (cursors[i].headTime, i) }
            var more = true
            repeat {
                batch.append(cursors[best].head)
                if batch.count == blockEvents {
                    try body(batch[...])
                    batch.removeAll(keepingCapacity: true)
                }
                more = try cursors[best].advance()
            } while more && (cursors[best].headTime, best) < bound
            if !more { cursors.remove(at: best) }
        }
        if !batch.isEmpty { try body(batch[...]) }
    }
}

/// A position in a time-ordered source of events that comes block by block.
private struct MergeCursor {
    private let next: () throws(StoreError) -> [Event]?
    /// The current block; its events before ``position`` are consumed.
    private(set) var block: [Event]
    private var position = 0

    /// Nil when the source has no event.
    init?(next: @escaping () throws(StoreError) -> [Event]?) throws(StoreError) {
        self.next = next
        block = []
        guard try nextBlock() else { return nil }
    }

    var head: Event { block[position] }
    var headTime: Int64 { block[position].timeNs }

    /// Moves past the head; false when the source is exhausted.
    mutating func advance() throws(StoreError) -> Bool {
        position += 1
        return position < block.count ? true : try nextBlock()
    }

    /// Moves to the start of the next non-empty block; false when there is none.
    mutating func nextBlock() throws(StoreError) -> Bool {
        position = 0
        while let events = try next() {
            block = events
            if !events.isEmpty { return true }
        }
        block = []
        return false
    }
}

