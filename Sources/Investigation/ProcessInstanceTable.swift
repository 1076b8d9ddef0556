/// The process instances of a store (or a part of them), with lookups by id, by PID at a time, and
/// by parent.
///
/// Built by ``ProcessInstanceBuilder``, or from stored rows (``ProcessInstanceRow``). It may hold
/// just a part of a store's instances (say those an index query returned): links to instances it
/// does not hold are then treated as absent.
public struct ProcessInstanceTable: Sendable {
    /// The instances, ordered by id.
    public let instances: [ProcessInstance]
    /// Positions in `instances` by id (nil when ids are exactly `0..<n`, the builder's numbering).
    private let positionsByID: [Int64: Int]?
    /// Positions of the instances of each HostPID, ordered by start (then id).
    private let positionsByHostPID: [Int32: [Int]]
    /// Positions of the children of each instance (by ``ProcessInstance/parentID``), ordered by start.
    private let childPositions: [Int64: [Int]]

    public init(_ instances: [ProcessInstance]) {
        let isDense = instances.indices.allSatisfy { instances[$0].id == Int64($0) }
        let sorted = isDense ? instances : instances.sorted { $0.id < $1.id }
        self.instances = sorted
        positionsByID = isDense ? nil : Dictionary(sorted.indices.map { (sorted[$0].id, $0) }, uniquingKeysWith: { first, _ in first })
        var byHostPID: [Int32: [Int]] = [:]
        var children: [Int64: [Int]] = [:]
        for position in sorted.indices {
            byHostPID[sorted[position].hostPID, default: []].append(position)
            if let parent = sorted[position].parentID { children[parent, default: []].append(position) }
        }
        let byStart: (Int, Int) -> Bool = { (sorted[$0].startNs, sorted[$0].id) < (sorted[$1].startNs, sorted[$1].id) }
        positionsByHostPID = byHostPID.mapValues { $0.sorted(by: byStart) }
        childPositions = children.mapValues { $0.sorted(by: byStart) }
    }

    public var count: Int { instances.count }

    /// The instance with this id, if the table holds it.
    public subscript(id: Int64) -> ProcessInstance? {
        position(of: id).map { instances[$0] }
    }

    /// Every instance that had this HostPID (on `hostName`, or on any host when nil), ordered by start.
    public func instances(hostPID: Int32, hostName: String? = nil) -> [ProcessInstance] {
        (positionsByHostPID[hostPID] ?? []).map { instances[$0] }.filter { hostName == nil || $0.hostName == hostName }
    }

    /// The instance an event of `hostName`/`hostPID` at `timeNs` belongs to: the last one to start at
    /// or before that time (the builder starts a new instance at the first event of a reused PID).
    /// A binary search over the PID's instances.
    public func instanceID(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? {
        position(hostName: hostName, hostPID: hostPID, at: timeNs).map { instances[$0].id }
    }

    /// The start (ns) of the instance ``instanceID(hostName:hostPID:at:)`` finds (without copying it).
    public func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? {
        position(hostName: hostName, hostPID: hostPID, at: timeNs).map { instances[$0].startNs }
    }

    /// ``startNs(hostName:hostPID:at:)``, and the times that give the same answer: `from..<until`
    /// (from the instance's start, or from the beginning when there is none, to the start of the
    /// PID's next instance on that host, or the end), for callers that look up many times in order.
    public func startSpan(hostName: String, hostPID: Int32, at timeNs: Int64) -> (startNs: Int64?, from: Int64, until: Int64) {
        guard let positions = positionsByHostPID[hostPID] else { return (nil, .min, .max) }
        let after = firstStarting(after: timeNs, in: positions)
        let found = lastPosition(of: hostName, in: positions[..<after])
        let next = positions[after...].first { instances[$0].hostName == hostName }
        return (found.map { instances[$0].startNs }, found.map { instances[$0].startNs } ?? .min, next.map { instances[$0].startNs } ?? .max)
    }

    private func position(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int? {
        guard let positions = positionsByHostPID[hostPID] else { return nil }
        return lastPosition(of: hostName, in: positions[..<firstStarting(after: timeNs, in: positions)])
    }

    /// The index in `positions` (ordered by start) of the first instance that starts after `timeNs`.
    private func firstStarting(after timeNs: Int64, in positions: [Int]) -> Int {
        var low = 0, high = positions.count
        while low < high {
            let middle = (low + high) / 2
            if instances[positions[middle]].startNs <= timeNs { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func lastPosition(of hostName: String, in positions: ArraySlice<Int>) -> Int? {
        positions.last { instances[$0].hostName == hostName }
    }

    /// The instances `id` started, ordered by start.
    public func children(of id: Int64) -> [ProcessInstance] {
        (childPositions[id] ?? []).map { instances[$0] }
    }

    /// The ids of the instances `id` started, ordered by start (without copying the instances).
    public func childIDs(of id: Int64) -> [Int64] {
        (childPositions[id] ?? []).map { instances[$0].id }
    }

    /// The instance's parent, if the table holds it.
    public func parent(of instance: ProcessInstance) -> ProcessInstance? {
        instance.parentID.flatMap { self[$0] }
    }

    /// The chain from the root down to `id` (itself last), following parents the table holds. Stops
    /// at a repeated instance, so a damaged table with a cycle cannot make it loop.
    public func lineage(of id: Int64) -> [ProcessInstance] {
        var chain: [ProcessInstance] = []
        var seen = Set<Int64>()
        var next = self[id]
        while let instance = next, seen.insert(instance.id).inserted {
            chain.append(instance)
            next = parent(of: instance)
        }
        return chain.reversed()
    }

    private func position(of id: Int64) -> Int? {
        if let positionsByID { return positionsByID[id] }
        return id >= 0 && id < Int64(instances.count) ? Int(id) : nil
    }
}
