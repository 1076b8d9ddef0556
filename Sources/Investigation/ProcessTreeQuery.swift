import EventModel
import EventStore

/// Which processes `rearview tree` draws.
public enum ProcessTreeSelection: Sendable {
    /// Every instance: the whole forest.
    case all
    /// The instances that had this HostPID; with `at` (unix ns), on each host the one alive then
    /// (see ``ProcessSelector/hostPID(_:hostName:at:)``).
    case hostPID(Int32, at: Int64?)
    /// The instances of the events `filter` matches; with `at`, on each host the instance of
    /// `hostPID` alive then among them.
    case events(EventFilter, hostPID: Int32?, at: Int64?)
}

/// Process trees over the stored process tables of one or more stores (one store per host is how
/// fleets arrive).
///
/// Reads only the rows a tree needs when a store's table is current: the instances of a HostPID by
/// the index on `(host_name, host_pid)`, then their ancestors and descendants in one recursive
/// query. Instances of different stores get distinct ids (store *k* > 0 adds *k*·2⁴⁰), so their
/// trees are drawn side by side.
public enum ProcessTreeQuery {
    /// The trees around what `selection` chooses, with ancestors and/or descendants up to `depth`
    /// levels away (nil: all).
    public static func tree(_ tables: [StoredProcessTable], selecting selection: ProcessTreeSelection,
                            ancestors: Bool = true, descendants: Bool = true, depth: Int? = nil) throws -> ProcessTree {
        if case .all = selection {
            let merged = ProcessInstanceTable.merging(try tables.map { try $0.table() })
            return ProcessTree(table: merged, selecting: .all, ancestors: ancestors, descendants: descendants, depth: depth)
        }
        var parts: [ProcessInstanceTable] = []
        var seeds: [Set<Int64>] = []
        for table in tables {
            let chosen = try self.seeds(in: table, selection)
            seeds.append(chosen)
            parts.append(chosen.isEmpty ? ProcessInstanceTable([])
                         : try table.rows(around: chosen, ancestors: ancestors, descendants: descendants, depth: depth))
        }
        var selected = Set<Int64>()
        for (store, ids) in seeds.enumerated() {
            selected.formUnion(ids.map { ProcessInstanceTable.mergedID($0, store: store) })
        }
        return ProcessTree(table: ProcessInstanceTable.merging(parts), selecting: .instances(selected),
                           ancestors: ancestors, descendants: descendants, depth: depth)
    }

    /// The ids (in `table`'s own numbering) of the instances `selection` chooses there.
    private static func seeds(in table: StoredProcessTable, _ selection: ProcessTreeSelection) throws -> Set<Int64> {
        switch selection {
        case .all:
            return Set(try table.table().instances.map(\.id))
        case .hostPID(let pid, let at):
            return ProcessSelector.hostPID(pid, at: at).select(in: try table.rows(hostPID: pid))
        case .events(let filter, let pid, let at):
            let ids = try instanceIDs(ofEventsMatching: filter, in: table)
            guard let pid, at != nil else { return ids }
            let candidates = try table.rows(hostPID: pid)
            return ProcessSelector.hostPID(pid, at: at).select(in: ProcessInstanceTable(ids.compactMap { candidates[$0] }))
        }
    }

    /// Beyond this many distinct processes among the matched events, the whole table is read
    /// rather than one query per process.
    private static let perProcessReadLimit = 256

    /// The instances the events `filter` matches in `table`'s store belong to.
    static func instanceIDs(ofEventsMatching filter: EventFilter, in table: StoredProcessTable) throws -> Set<Int64> {
        var times: [HostProcess: [Int64]] = [:]
        try QueryPlan(stores: [table.store], filter: filter).scan(filter: filter) { event in
            let key = HostProcess(hostName: event.hostName, hostPID: event.hostPID)
            if times[key]?.last != event.timeNs { times[key, default: []].append(event.timeNs) }
            return true
        }
        let candidates: ProcessInstanceTable
        if times.count > perProcessReadLimit || !table.isStoredTableCurrent {
            candidates = try table.table()
        } else {
            var instances: [ProcessInstance] = []
            for key in times.keys {
                instances += try table.rows(hostPID: key.hostPID, hostName: key.hostName).instances
            }
            candidates = ProcessInstanceTable(instances)
        }
        var ids = Set<Int64>()
        for (key, moments) in times {
            for time in moments {
                if let id = candidates.instanceID(hostName: key.hostName, hostPID: key.hostPID, at: time) { ids.insert(id) }
            }
        }
        return ids
    }

    private struct HostProcess: Hashable {
        var hostName: String
        var hostPID: Int32
    }
}

extension ProcessInstanceTable {
    /// How far apart the ids of different stores' instances are put when their tables are merged.
    static let storeIDStride: Int64 = 1 << 40

    /// The id the instance `id` of store number `store` has in a merged table.
    static func mergedID(_ id: Int64, store: Int) -> Int64 {
        id + Int64(store) * storeIDStride
    }

    /// One table of the tables of several stores, the ids of store *k* (and its parent and reaper
    /// links) moved up by *k*·2⁴⁰ so they stay distinct. A single table is returned as it is.
    public static func merging(_ tables: [ProcessInstanceTable]) -> ProcessInstanceTable {
        guard tables.count > 1 else { return tables.first ?? ProcessInstanceTable([]) }
        var instances: [ProcessInstance] = []
        instances.reserveCapacity(tables.reduce(0) { $0 + $1.count })
        for (store, table) in tables.enumerated() {
            for var instance in table.instances {
                instance.id = mergedID(instance.id, store: store)
                instance.parentID = instance.parentID.map { mergedID($0, store: store) }
                instance.reaperID = instance.reaperID.map { mergedID($0, store: store) }
                instances.append(instance)
            }
        }
        return ProcessInstanceTable(instances)
    }
}

/// The process instances of several stores as one table that keeps up with the blocks their
/// writers add: the lineage source of `timeline --follow`.
///
/// Each store's builder resumes from its table and is fed the blocks indexed since, whether or not
/// a filter selects their events (lineage needs every process). Blocks holding events older than
/// those already fed (an import of older logs while following) are still fed, in arrival order.
public struct FollowedProcessTables: Sendable {
    private let stores: [Store]
    private var builders: [ProcessInstanceBuilder]
    private var consumed: [Set<Int64>]
    /// All stores' instances (ids made distinct per store as ``ProcessTreeQuery`` does).
    public private(set) var table: ProcessInstanceTable

    public init(_ tables: [StoredProcessTable]) throws {
        stores = tables.map(\.store)
        builders = try tables.map { try ProcessInstanceBuilder(resuming: $0.table()) }
        consumed = tables.map { Set($0.blocks.map(\.id)) }
        table = ProcessInstanceTable.merging(builders.map(\.table))
    }

    /// Feeds the blocks indexed since the last call; returns whether there were any.
    @discardableResult
    public mutating func catchUp() throws -> Bool {
        var changed = false
        for (n, store) in stores.enumerated() {
            let later = try store.blocks().filter { !consumed[n].contains($0.id) }
            guard !later.isEmpty else { continue }
            try StoredProcessTable.feed(&builders[n], store: store, blocks: later)
            consumed[n].formUnion(later.map(\.id))
            changed = true
        }
        if changed { table = ProcessInstanceTable.merging(builders.map(\.table)) }
        return changed
    }
}

/// The blocks that stores gain while they are read (a live `record`, an `import`): what
/// `timeline --follow` polls the indexes for.
public struct NewBlockWatch: Sendable {
    private let stores: [Store]
    private var seen: [Set<Int64>]

    /// Watches `stores`, of which the blocks in `seen` (one set per store) are already handled.
    public init(stores: [Store], seen: [Set<Int64>]) {
        precondition(stores.count == seen.count, "one set of seen blocks per store")
        self.stores = stores
        self.seen = seen
    }

    /// The blocks indexed since the last call (or since the watch began).
    public mutating func poll() throws(StoreError) -> [BlockSource] {
        var sources: [BlockSource] = []
        for (n, store) in stores.enumerated() {
            for block in try store.blocks() where seen[n].insert(block.id).inserted {
                sources.append(BlockSource(store: store, block: block))
            }
        }
        return sources
    }
}
