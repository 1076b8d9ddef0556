import Dispatch
import EventModel
import EventStore
import Synchronization

/// Keeps a store's process table up to date from the events a writer stores, as it stores them, on
/// a thread of its own: when an import ends, its table is ready instead of being built from the new
/// blocks afterwards.
///
/// It follows only when the stored table covers every block at the start (or the store is empty)
/// and the new events are not older than the table's latest; otherwise, or when the blocks at the
/// end are not the ones it saw written, ``finish()`` updates the table as
/// ``StoredProcessTable/update(_:options:)`` does.
public final class ProcessTableFollower: @unchecked Sendable {
    private let writer: StoreWriter
    private let options: ProcessInstanceBuilder.Options
    private let blocksBefore: [IndexedBlock]
    /// Why the table is written whole (an empty store), nil when it is extended.
    private let rebuildReason: String?
    private let latestTimeNs: Int64
    /// Touched only by the worker until ``finish()`` has joined it.
    private var builder: ProcessInstanceBuilder?
    private var fed = 0
    private let pending = Mutex<[ArraySlice<Event>?]>([])
    private let items = DispatchSemaphore(value: 0)
    private let slots = DispatchSemaphore(value: 0)
    private var worker: DedicatedThread?

    /// Blocks of events held for the worker at most; the writer waits beyond.
    private static let window = 32

    /// Starts following `writer` (setting its ``StoreWriter/didWrite``).
    public init(_ writer: StoreWriter, options: ProcessInstanceBuilder.Options = .init()) {
        self.writer = writer
        self.options = options
        let store = writer.store
        let blocks = (try? store.blocks()) ?? []
        let watermark = try? store.processTableWatermark()
        blocksBefore = blocks
        latestTimeNs = watermark?.latestTimeNs ?? .min
        if blocks.isEmpty {
            rebuildReason = "the index holds no process table"
            builder = ProcessInstanceBuilder(options: options)
        } else {
            rebuildReason = nil
            if let watermark, StoredProcessTable.CatchUp(watermark: watermark, blocks: blocks) == .current {
                builder = try? StoredProcessTable.resumed(store, options: options)
            }
        }
        guard builder != nil else { return }
        for _ in 0..<Self.window { slots.signal() }
        worker = DedicatedThread { [self] in work() }
        guard worker != nil else {
            builder = nil
            return
        }
        writer.didWrite = { [self] events in
            slots.wait()
            pending.withLock { $0.append(events) }
            items.signal()
        }
    }

    private func work() {
        while true {
            items.wait()
            guard let events = pending.withLock({ $0.removeFirst() }) else { return }
            slots.signal()
            guard builder != nil, !events.isEmpty else { continue }
            if events[events.startIndex].timeNs < latestTimeNs {
                builder = nil
                continue
            }
            _ = builder!.add(events)
            fed += events.count
        }
    }

    /// Stops following and lets the worker go, storing nothing: for an import that failed (its
    /// thread would otherwise wait for events forever). ``finish()`` begins with it; calling it again
    /// does nothing.
    public func stop() {
        writer.didWrite = nil
        guard let worker else { return }
        pending.withLock { $0.append(nil) }
        items.signal()
        worker.join()
        self.worker = nil
    }

    /// Stops following and stores the table; what the update did.
    public func finish() throws -> ProcessTableUpdate {
        stop()
        let blocks = try writer.store.blocks()
        let known = Set(blocksBefore)
        let new = blocks.filter { !known.contains($0) }
        guard var builder, fed > 0, blocks.count == blocksBefore.count + new.count,
              new.reduce(0, { $0 + $1.location.eventCount }) == fed else {
            return try StoredProcessTable.update(writer, options: options)
        }
        self.builder = nil
        // The builder, then the instances, are let go as soon as the next form exists: at 10 M events
        // each form is hundreds of MB.
        let rows = { () -> [ProcessInstanceRow] in
            let changed = builder.takeChangedInstances()
            builder = ProcessInstanceBuilder(options: options)
            return changed.storedRows
        }()
        let watermark = ProcessTableWatermark(consumed: blocks)
        try writer.storeProcessRows(rows, replacingAll: rebuildReason != nil, watermark: watermark)
        if let rebuildReason { return .rebuilt(reason: rebuildReason, instances: rows.count, events: fed) }
        return .extended(blocks: new.count, events: fed, changedInstances: rows.count)
    }
}
