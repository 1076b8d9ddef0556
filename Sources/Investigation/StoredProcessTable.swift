import EventModel
import EventStore

/// A store's process-instance table as its index keeps it, brought up to date with the store's
/// blocks: the source `tree` and `timeline` read instances from.
///
/// The index holds the table with a ``ProcessTableWatermark`` saying which blocks it was built from.
/// Blocks indexed later (a live recording, an import since) are folded in: the builder resumes from
/// the stored table when the new blocks hold no event older than the table's latest, and builds
/// again from every block otherwise. Writers store the result (``update(_:options:)``); readers open
/// the index read-only, so they fold in memory (``init(store:options:)``).
///
/// When the stored table is current, nothing is loaded up front: ``rows(hostPID:hostName:)`` and
/// ``rows(around:ancestors:descendants:depth:)`` read just the rows a tree needs.
public struct StoredProcessTable: Sendable {
    public let store: Store
    /// The blocks this view covers: the store's blocks when it was made.
    public let blocks: [IndexedBlock]
    /// The whole table when it was built in memory (the stored one was behind); nil when the
    /// index's table is current.
    private let folded: ProcessInstanceTable?

    /// What bringing the table up to date takes.
    enum CatchUp: Equatable {
        case current
        /// The stored table plus these later blocks.
        case extend([IndexedBlock])
        /// A build from every block, and why.
        case rebuild(String)

        init(watermark: ProcessTableWatermark?, blocks: [IndexedBlock]) {
            guard let watermark else {
                self = blocks.isEmpty ? .current : .rebuild("the index holds no process table")
                return
            }
            guard let later = watermark.blocks(after: blocks) else {
                self = .rebuild("blocks the table was built from have changed")
                return
            }
            if later.isEmpty {
                self = .current
            } else if later.contains(where: { $0.location.minTimeNs < watermark.latestTimeNs }) {
                self = .rebuild("new blocks hold events older than the table's latest")
            } else {
                self = .extend(later)
            }
        }
    }

    /// Reads the store's table, folding in memory the blocks the stored table has not consumed.
    public init(store: Store, options: ProcessInstanceBuilder.Options = .init()) throws {
        self.store = store
        blocks = try store.blocks()
        switch CatchUp(watermark: try store.processTableWatermark(), blocks: blocks) {
        case .current:
            folded = nil
        case .extend(let later):
            var builder = try Self.resumed(store, options: options)
            try Self.feed(&builder, store: store, blocks: builder == nil ? blocks : later, options: options)
            folded = builder?.table
        case .rebuild:
            var builder: ProcessInstanceBuilder?
            try Self.feed(&builder, store: store, blocks: blocks, options: options)
            folded = builder?.table
        }
    }

    /// Whether the index's table covers every block (so rows are read from it as needed).
    public var isStoredTableCurrent: Bool { folded == nil }

    /// Every instance.
    public func table() throws -> ProcessInstanceTable {
        if let folded { return folded }
        return try ProcessInstanceTable(rows: store.processRows(.all))
    }

    /// The instances that had `hostPID` (on `hostName` when given): a partial table.
    public func rows(hostPID: Int32, hostName: String? = nil) throws -> ProcessInstanceTable {
        if let folded { return ProcessInstanceTable(folded.instances(hostPID: hostPID, hostName: hostName)) }
        return try ProcessInstanceTable(rows: store.processRows(.hostPID(hostPID, hostName: hostName)))
    }

    /// The instances of `ids` with their ancestors and/or descendants up to `depth` levels away:
    /// what ``ProcessTree`` needs to arrange them (the whole table when it was built in memory).
    public func rows(around ids: Set<Int64>, ancestors: Bool, descendants: Bool, depth: Int?) throws -> ProcessInstanceTable {
        if let folded { return folded }
        return try ProcessInstanceTable(rows: store.processRows(around: ids.sorted(), ancestors: ancestors,
                                                               descendants: descendants, depth: depth))
    }

    // MARK: keeping the stored table

    /// Brings the table in `writer`'s store up to date and stores it: extends it with the blocks
    /// after its watermark, or builds it again from every block. The writer's lock keeps other
    /// writers out meanwhile. (An import keeps it up to date as it writes: ``ProcessTableFollower``.)
    @discardableResult
    public static func update(_ writer: StoreWriter, options: ProcessInstanceBuilder.Options = .init()) throws -> ProcessTableUpdate {
        let store = writer.store
        let blocks = try store.blocks()
        func feed(_ builder: inout ProcessInstanceBuilder, _ blocks: [IndexedBlock]) throws {
            try Self.feed(&builder, store: store, blocks: blocks)
        }
        var catchUp = CatchUp(watermark: try store.processTableWatermark(), blocks: blocks)
        if case .extend(let later) = catchUp {
            if var builder = try resumed(store, options: options) {
                try feed(&builder, later)
                let changed = builder.takeChangedInstances()
                try writer.storeProcessRows(changed.storedRows, replacingAll: false,
                                            watermark: ProcessTableWatermark(consumed: blocks))
                return .extended(blocks: later.count, events: builder.statistics.events, changedInstances: changed.count)
            }
            catchUp = .rebuild("the stored table cannot be resumed")
        }
        guard case .rebuild(let reason) = catchUp else { return .upToDate }
        // A fresh builder hands out every instance, in id order. The builder, then the instances, are
        // let go as soon as the next form exists: at 10 M events each copy is hundreds of MB.
        let (rows, events) = try { () throws -> ([ProcessInstanceRow], Int) in
            var builder = ProcessInstanceBuilder(options: options)
            try feed(&builder, blocks)
            let events = builder.statistics.events
            let instances = builder.takeChangedInstances()
            builder = ProcessInstanceBuilder(options: options)
            return (instances.storedRows, events)
        }()
        try writer.storeProcessRows(rows, replacingAll: true, watermark: ProcessTableWatermark(consumed: blocks))
        return .rebuilt(reason: reason, instances: rows.count, events: events)
    }

    /// Opens the store at `path` for writing just long enough to bring its table up to date.
    @discardableResult
    public static func update(storePath path: String, options: ProcessInstanceBuilder.Options = .init()) throws -> ProcessTableUpdate {
        let writer = try StoreWriter(path: path)
        defer { try? writer.close() }
        let outcome = try update(writer, options: options)
        try writer.close()
        return outcome
    }

    /// A builder continuing from the stored table, or nil when the rows cannot be resumed (then the
    /// table is built again).
    static func resumed(_ store: Store, options: ProcessInstanceBuilder.Options) throws -> ProcessInstanceBuilder? {
        do {
            return try ProcessInstanceBuilder(resuming: ProcessInstanceTable(rows: store.processRows(.all)), options: options)
        } catch is ProcessTableError {
            return nil
        }
    }

    /// Feeds every event of `blocks` to the builder in time order.
    static func feed(_ builder: inout ProcessInstanceBuilder, store: Store, blocks: [IndexedBlock]) throws {
        guard !blocks.isEmpty else { return }
        var scan = BatchScan(blocks.map { BlockSource(store: store, block: $0) })
        scan.columns = ProcessInstanceBuilder.columns
        try scan.ordered { batch, rows in
            builder.add(batch, rows: rows)
            return true
        }
    }

    /// Feeds `blocks` to `builder`, starting a new builder when there is none.
    private static func feed(_ builder: inout ProcessInstanceBuilder?, store: Store, blocks: [IndexedBlock],
                             options: ProcessInstanceBuilder.Options) throws {
        var fed = builder ?? ProcessInstanceBuilder(options: options)
        try feed(&fed, store: store, blocks: blocks)
        builder = fed
    }
}

/// What ``StoredProcessTable/update(_:options:)`` did.
public enum ProcessTableUpdate: Sendable, Equatable, CustomStringConvertible {
    /// The stored table already covered every block.
    case upToDate
    /// The stored table was resumed with the blocks after its watermark.
    case extended(blocks: Int, events: Int, changedInstances: Int)
    /// The table was built again from every block, for `reason`.
    case rebuilt(reason: String, instances: Int, events: Int)

    public var description: String {
        switch self {
        case .upToDate: return "process table up to date"
        case .extended(let blocks, let events, let changed):
            return "process table extended with \(blocks) block(s), \(events) event(s): \(changed) instance(s) new or changed"
        case .rebuilt(let reason, let instances, let events):
            return "process table rebuilt (\(reason)): \(instances) instance(s) from \(events) event(s)"
        }
    }
}
