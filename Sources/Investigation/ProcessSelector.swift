/// Which process instances a tree is about (`rearview tree --pid/--container/--pod/--host`, or the
/// processes of the events an expression matched).
public enum ProcessSelector: Sendable, Equatable {
    /// The instances that had this HostPID (on `hostName` when given). With `at` (unix ns), on each
    /// host the one alive then, else the last one started before then (else the first one, which
    /// logs may show only after it started): the PID may have been reused.
    case hostPID(Int32, hostName: String? = nil, at: Int64? = nil)
    /// The instances of a container, by its full ID or a prefix of at least 12 characters (as `docker ps` shows it).
    case containerID(String)
    case podName(String)
    case hostName(String)
    /// Instances by id (for example those of the events a query matched).
    case instances(Set<Int64>)
    /// Every instance: the whole forest.
    case all

    /// The ids of the instances of `table` this selects.
    public func select(in table: ProcessInstanceTable) -> Set<Int64> {
        switch self {
        case .hostPID(let hostPID, let hostName, let at):
            let candidates = table.instances(hostPID: hostPID, hostName: hostName)
            guard let at else { return Set(candidates.map(\.id)) }
            let byHost = Dictionary(grouping: candidates, by: \.hostName)
            return Set(byHost.values.compactMap { Self.instance(of: $0, at: at)?.id })
        case .containerID(let id):
            let isPrefix = id.utf8.count >= 12 && id.utf8.count < 64
            return Set(table.instances.filter {
                !$0.containerID.isEmpty && ($0.containerID == id || (isPrefix && $0.containerID.hasPrefix(id)))
            }.map(\.id))
        case .podName(let name):
            return Set(table.instances.filter { !name.isEmpty && $0.podName == name }.map(\.id))
        case .hostName(let name):
            return Set(table.instances.filter { $0.hostName == name }.map(\.id))
        case .instances(let ids):
            return ids.filter { table[$0] != nil }
        case .all:
            return Set(table.instances.map(\.id))
        }
    }

    /// Of one host's instances of a PID (ordered by start): the one alive at `at`, else the last to
    /// start before it, else the first.
    private static func instance(of instances: [ProcessInstance], at: Int64) -> ProcessInstance? {
        let started = instances.filter { $0.startNs <= at }
        return started.last { $0.endNs >= at } ?? started.last ?? instances.first
    }
}
