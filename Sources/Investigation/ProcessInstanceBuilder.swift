import EventModel
import EventStore

/// Builds the process-instance table from events fed in time order, and says which instance each
/// event belongs to.
///
/// **Recordings** carry the lifecycle: a fork (`syscall=SYS_CLONE`) starts an instance with its true
/// parent, an exec (`SYS_EXECVE`/`SYS_EXECVEAT`) adds an image to it, an exit (`SYS_EXIT`) ends it
/// and its live children are handed to the host's PID 1 until their own events show the real reaper
/// (a new `HostPPID`). The /proc snapshot at the start of a recording gives the processes already alive.
///
/// **Imported KubeArmor logs** have no fork or exit, so instances are inferred per `(HostName,
/// HostPID)`: an event continues the known instance unless it contradicts it, and then a new
/// instance starts (the PID was reused), recording why in ``ProcessInstance/Origin``:
/// - another namespace `PID` (a process never changes pid namespace);
/// - another `HostPPID` that cannot be a reaper: reparenting goes to PID 1, to the container's init
///   (`PPID` 1 in a container), or to an ancestor (a subreaper); else a new parent means a new process;
/// - another `ProcessName` without an exec (a forked child runs its parent's image until it execs);
/// - an exec after the instance was idle longer than ``Options/execIdleGapNs`` (chains such as
///   `sh -c x` → `x` exec within moments; a late exec is a new process that got the PID);
/// - optionally, any event after ``Options/reappearanceGapNs`` of silence.
/// A child's event also shows its parent alive (its activity), so a quiet parent whose children are
/// busy is not mistaken for a reused PID.
///
/// Parents never seen get placeholder instances named from `ParentProcessName`; a parent known under
/// another image than the child names is a reused PID and gets a new placeholder. A parent link that
/// would make a process its own ancestor is refused (counted in ``Statistics/rejectedParentLinks``).
///
/// Events must come in time order per host (out-of-order ones are counted). Per event the builder
/// does one hash lookup and a few comparisons; it allocates only when an instance starts.
public struct ProcessInstanceBuilder: Sendable {
    /// Tuning of the inference from logs.
    public struct Options: Sendable, Equatable {
        /// An exec by an instance idle longer than this starts a new instance (default 30 s).
        public var execIdleGapNs: Int64
        /// When set, any event of an inferred instance idle longer than this starts a new instance.
        /// Off by default: daemons can be silent for hours.
        public var reappearanceGapNs: Int64?

        public init(execIdleGapNs: Int64 = 30_000_000_000, reappearanceGapNs: Int64? = nil) {
            self.execIdleGapNs = execIdleGapNs
            self.reappearanceGapNs = reappearanceGapNs
        }
    }

    /// Counts of what the builder saw.
    public struct Statistics: Sendable, Equatable {
        public var events = 0
        /// Events earlier than an event already seen on their host (inference assumes time order).
        public var outOfOrderEvents = 0
        /// Parent claims refused because they would have made a process its own ancestor.
        public var rejectedParentLinks = 0
    }

    public let options: Options
    public private(set) var statistics = Statistics()

    private var instances: [ProcessInstance] = []
    private var states: [InstanceState] = []
    /// The live instance of each `(host number, HostPID)`.
    private var current: [UInt64: Int32] = [:]
    private var hosts: [HostState] = []
    private var hostNumbers: [String: UInt32] = [:]
    private var lastHost: (name: String, number: UInt32)?
    private var changed: [Int32] = []

    /// What the builder keeps about an instance besides the instance itself.
    private struct InstanceState {
        var host: UInt32
        /// The `HostPPID` its events show now.
        var hostPPID: Int32 = 0
        /// The instance that `hostPPID` stands for (the reaper once reparented); -1 for none.
        var referencedParent: Int32 = -1
        /// Children started by a recorded fork, for handing them to PID 1 when it exits.
        var recordedChildren: [Int32] = []
        var isChanged = false
    }

    private struct HostState {
        var name: String
        /// Whether lifecycle events (fork, exit, snapshot) were seen: then nothing is inferred here.
        var isRecorded = false
        var lastTimeNs = Int64.min
    }

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Continues from a stored table (ids `0..<n`, as this builder numbered them), so that events
    /// appended later extend the instances still alive.
    public init(resuming table: ProcessInstanceTable, options: Options = Options()) throws(ProcessTableError) {
        self.options = options
        let stored = table.instances
        for (position, instance) in stored.enumerated() {
            guard instance.id == Int64(position) else {
                throw ProcessTableError(reason: .idsNotDense(expected: Int64(position), found: instance.id))
            }
            for (field, link) in [("parent", instance.parentID), ("reaper", instance.reaperID)] {
                if let link, link < 0 || link >= Int64(stored.count) {
                    throw ProcessTableError(reason: .missingInstance(id: instance.id, field: field, target: link))
                }
            }
        }
        instances = stored
        states.reserveCapacity(stored.count)
        for (index, instance) in stored.enumerated() {
            let host = hostNumber(instance.hostName)
            var state = InstanceState(host: host)
            if let parent = instance.reaperID ?? instance.parentID {
                state.referencedParent = Int32(parent)
                state.hostPPID = stored[Int(parent)].hostPID
            }
            states.append(state)
            if instance.exitNs == nil {
                current[Self.key(host, instance.hostPID)] = Int32(index)
            }
            if instance.origin.isRecorded { hosts[Int(host)].isRecorded = true }
            hosts[Int(host)].lastTimeNs = max(hosts[Int(host)].lastTimeNs, instance.lastActivityNs)
        }
        for (index, instance) in stored.enumerated() where instance.origin == .recorded && instance.reaperID == nil {
            if let parent = instance.parentID, stored[Int(parent)].origin.isRecorded {
                states[Int(parent)].recordedChildren.append(Int32(index))
            }
        }
    }

    // MARK: feeding

    /// Consumes one event (in time order per host) and returns the id of its instance.
    @discardableResult
    public mutating func add(_ event: borrowing Event) -> Int64 {
        withUnsafePointer(to: event) { add(at: $0) }
    }

    /// Consumes the rows of a batch in order (in time order per host, as ``add(_:)-(Event)``),
    /// reading only the fields it needs: the batch may be decoded with just `Resource` and `Data`.
    public mutating func add(_ batch: ColumnBatch, rows: some Sequence<Int32>) {
        for row in rows {
            _ = withUnsafePointer(to: BatchRow(batch, row: Int(row))) { add(at: $0) }
        }
    }

    /// The optional columns ``add(_:rows:)`` reads.
    public static let columns: BatchColumns = [.resource, .data]

    /// Consumes events in order and returns the instance id of each.
    public mutating func add(_ events: some RandomAccessCollection<Event>) -> [Int64] {
        var ids: [Int64] = []
        ids.reserveCapacity(events.count)
        let inPlace: Void? = events.withContiguousStorageIfAvailable { buffer in
            guard let base = buffer.baseAddress else { return }
            for offset in 0..<buffer.count {
                ids.append(add(at: base + offset))
            }
        }
        if inPlace == nil { for event in events { ids.append(add(event)) } }
        return ids
    }

    /// The work of the public `add`s, reading the event where it is: passing an `Event` (thirty-odd
    /// strings) by value to a mutating method would copy it.
    private mutating func add<E: ProcessEventFields>(at event: UnsafePointer<E>) -> Int64 {
        statistics.events += 1
        let host = hostNumber(event.pointee.hostName)
        if event.pointee.timeNs < hosts[Int(host)].lastTimeNs {
            statistics.outOfOrderEvents += 1
        } else {
            hosts[Int(host)].lastTimeNs = event.pointee.timeNs
        }
        let lifecycle = ProcessLifecycleEvent(event)
        let index = instance(for: event, lifecycle, host: host)
        record(event, lifecycle, in: index)
        return Int64(index)
    }

    /// The table as it stands (a copy with its lookups built: O(instances)).
    public var table: ProcessInstanceTable { ProcessInstanceTable(instances) }

    /// The instances created or changed since the last call (for updating a stored table), by id.
    public mutating func takeChangedInstances() -> [ProcessInstance] {
        changed.sort()
        defer { changed.removeAll(keepingCapacity: true) }
        return changed.map { index in
            states[Int(index)].isChanged = false
            return instances[Int(index)]
        }
    }

    // MARK: which instance

    private mutating func instance<E: ProcessEventFields>(for event: UnsafePointer<E>, _ lifecycle: ProcessLifecycleEvent, host: UInt32) -> Int32 {
        let key = Self.key(host, event.pointee.hostPID)
        let known = current[key]
        switch lifecycle {
        case .fork:
            hosts[Int(host)].isRecorded = true
            return start(event, host: host, key: key, origin: .recorded, images: [event.pointee.processName])
        case .snapshot:
            hosts[Int(host)].isRecorded = true
            if let known, instances[Int(known)].startNs >= event.pointee.timeNs - Self.snapshotClockSlackNs {
                instances[Int(known)].startNs = min(instances[Int(known)].startNs, event.pointee.timeNs)
                return known
            }
            return start(event, host: host, key: key, origin: .snapshot, images: [event.pointee.processName])
        case .exit:
            hosts[Int(host)].isRecorded = true
            if let known { return known }
            return start(event, host: host, key: key, origin: .recordedWithoutFork, images: [event.pointee.processName])
        case .exec, .activity:
            if let known {
                guard let reason = contradiction(event, lifecycle, instance: known) else { return known }
                return start(event, host: host, key: key, origin: reason, images: inferredImages(event, lifecycle))
            }
            if hosts[Int(host)].isRecorded {
                let images = event.pointee.processName.isEmpty || lifecycle.isExec ? [] : [event.pointee.processName]
                return start(event, host: host, key: key, origin: .recordedWithoutFork, images: images)
            }
            return start(event, host: host, key: key, origin: .inferredFirstSeen, images: inferredImages(event, lifecycle))
        }
    }

    /// /proc start times have clock-tick precision (10 ms), and a snapshot follows the fork it repeats.
    private static let snapshotClockSlackNs: Int64 = 20_000_000

    /// Why `event` cannot belong to the known instance `index` (so the PID was reused), or nil.
    private func contradiction<E: ProcessEventFields>(_ event: UnsafePointer<E>, _ lifecycle: ProcessLifecycleEvent, instance index: Int32) -> ProcessInstance.Origin? {
        let i = Int(index)
        if instances[i].origin.isRecorded || hosts[Int(states[i].host)].isRecorded { return nil }
        let idle = event.pointee.timeNs - instances[i].lastActivityNs
        if lifecycle.isExec && idle > options.execIdleGapNs { return .inferredExecAfterIdle }
        let runsOtherImage = !lifecycle.isExec && !event.pointee.processName.isEmpty && !instances[i].images.isEmpty
            && event.pointee.processName != instances[i].images[instances[i].images.count - 1]
        if instances[i].origin == .placeholder {
            return runsOtherImage ? .inferredNewImage : nil
        }
        if event.pointee.pid != instances[i].pid && event.pointee.pid != 0 && instances[i].pid != 0 { return .inferredNewNamespacePID }
        if event.pointee.hostPPID != states[i].hostPPID {
            return runsOtherImage || !isPlausibleReaper(event, of: index) ? .inferredNewParent : nil
        }
        if runsOtherImage { return .inferredNewImage }
        if let gap = options.reappearanceGapNs, idle > gap { return .inferredAfterGap }
        return nil
    }

    /// Whether `event`'s parent can be one the kernel handed instance `index` to: PID 1, the
    /// container's init (namespace PPID 1), or an ancestor of its present parent (a subreaper).
    private func isPlausibleReaper<E: ProcessEventFields>(_ event: UnsafePointer<E>, of index: Int32) -> Bool {
        if event.pointee.hostPPID == 1 || (event.pointee.ppid == 1 && !event.pointee.containerID.isEmpty) { return true }
        guard let reaper = current[Self.key(states[Int(index)].host, event.pointee.hostPPID)] else { return false }
        var ancestor = states[Int(index)].referencedParent
        var steps = 0
        while ancestor >= 0 && steps < Self.maxAncestorWalk {
            if ancestor == reaper { return true }
            ancestor = states[Int(ancestor)].referencedParent
            steps += 1
        }
        return false
    }

    /// Bound on walks up the tree (real trees are a few dozen deep; bad input may be deeper).
    private static let maxAncestorWalk = 4096

    /// The image an instance first seen in logs ran before its event: a process whose first event is
    /// an exec was forked from its parent and so ran the parent's image (the exec's own image is added
    /// when the event is recorded).
    private func inferredImages<E: ProcessEventFields>(_ event: UnsafePointer<E>, _ lifecycle: ProcessLifecycleEvent) -> [String] {
        let image = lifecycle.isExec ? event.pointee.parentProcessName : event.pointee.processName
        return image.isEmpty ? [] : [image]
    }

    private mutating func start<E: ProcessEventFields>(_ event: UnsafePointer<E>, host: UInt32, key: UInt64, origin: ProcessInstance.Origin,
                                images: [String]) -> Int32 {
        let index = Int32(instances.count)
        instances.append(ProcessInstance(
            id: Int64(index), hostName: hosts[Int(host)].name, hostPID: event.pointee.hostPID, pid: event.pointee.pid,
            startNs: event.pointee.timeNs, lastActivityNs: event.pointee.timeNs, images: images, uid: event.pointee.uid,
            containerID: event.pointee.containerID, podName: event.pointee.podName, origin: origin))
        states.append(InstanceState(host: host, hostPPID: -1))
        current[key] = index
        return index
    }

    // MARK: what the event adds

    private mutating func record<E: ProcessEventFields>(_ event: UnsafePointer<E>, _ lifecycle: ProcessLifecycleEvent, in index: Int32) {
        let i = Int(index)
        markChanged(index)
        instances[i].events.count(event.pointee.operation)
        instances[i].lastActivityNs = max(instances[i].lastActivityNs, event.pointee.timeNs)
        if instances[i].origin == .placeholder {
            instances[i].origin = lifecycle == .snapshot ? .snapshot
                : hosts[Int(states[i].host)].isRecorded ? .recordedWithoutFork : .inferredFirstSeen
            instances[i].pid = event.pointee.pid
        }
        instances[i].uid = event.pointee.uid
        if instances[i].containerID.isEmpty && !event.pointee.containerID.isEmpty {
            instances[i].containerID = event.pointee.containerID
            instances[i].podName = event.pointee.podName
        }
        switch lifecycle {
        case .exec(succeeded: true):
            instances[i].images.append(event.pointee.processName)
            instances[i].command = event.pointee.resource
        case .exec(succeeded: false):
            // The process keeps its image and command line; the attempt is kept apart.
            if instances[i].failedExecs.count < ProcessInstance.maxFailedExecs {
                instances[i].failedExecs.append(event.pointee.resource)
            }
        case .snapshot:
            if instances[i].images.isEmpty { instances[i].images = [event.pointee.processName] }
            instances[i].command = event.pointee.resource
        case .exit(let code, let signal):
            instances[i].exitNs = event.pointee.timeNs
            instances[i].exitCode = code
            instances[i].exitSignal = signal
        default:
            if instances[i].images.isEmpty && !event.pointee.processName.isEmpty {
                instances[i].images = [event.pointee.processName]
            }
            if instances[i].command.isEmpty {
                instances[i].command = event.pointee.operation == "Process" ? event.pointee.resource : event.pointee.source
            }
        }
        followParent(event, of: index)
        if case .exit = lifecycle { end(index) }
    }

    /// Links the instance to the parent its event names, or notes the parent alive.
    private mutating func followParent<E: ProcessEventFields>(_ event: UnsafePointer<E>, of index: Int32) {
        let i = Int(index)
        let hostPPID = event.pointee.hostPPID
        if hostPPID == states[i].hostPPID {
            let parent = states[i].referencedParent
            if parent >= 0 && instances[Int(parent)].lastActivityNs < event.pointee.timeNs {
                instances[Int(parent)].lastActivityNs = event.pointee.timeNs
                markChanged(parent)
            }
            return
        }
        let isFirstLink = states[i].hostPPID == -1 || (states[i].referencedParent < 0 && instances[i].parentID == nil)
        states[i].hostPPID = hostPPID
        guard hostPPID > 0 else { return }
        guard hostPPID != event.pointee.hostPID else {
            statistics.rejectedParentLinks += 1
            return
        }
        let parent = parentInstance(named: event.pointee.parentProcessName, hostPPID: hostPPID, for: event, host: states[i].host)
        if isFirstLink {
            guard !isAncestor(index, of: parent) else {
                statistics.rejectedParentLinks += 1
                return
            }
            instances[i].parentID = Int64(parent)
            if instances[i].origin == .recorded && instances[Int(parent)].origin.isRecorded {
                states[Int(parent)].recordedChildren.append(index)
            }
        } else {
            instances[i].reaperID = Int64(parent)
        }
        states[i].referencedParent = parent
    }

    /// The instance `hostPPID` stands for at the time of `event`: the live one, unless logs name it
    /// with another image (then the PID was reused and a placeholder stands for the new one).
    private mutating func parentInstance<E: ProcessEventFields>(named name: String, hostPPID: Int32, for event: UnsafePointer<E>, host: UInt32) -> Int32 {
        let key = Self.key(host, hostPPID)
        if let known = current[key] {
            let k = Int(known)
            let isContradicted = !name.isEmpty && instances[k].origin != .placeholder && !instances[k].origin.isRecorded
                && !hosts[Int(host)].isRecorded && !instances[k].images.isEmpty && instances[k].images[instances[k].images.count - 1] != name
            if !isContradicted {
                if instances[k].lastActivityNs < event.pointee.timeNs {
                    instances[Int(known)].lastActivityNs = event.pointee.timeNs
                    markChanged(known)
                }
                return known
            }
        }
        let index = Int32(instances.count)
        let sharesNamespace = !event.pointee.containerID.isEmpty && event.pointee.ppid != hostPPID
        instances.append(ProcessInstance(
            id: Int64(index), hostName: hosts[Int(host)].name, hostPID: hostPPID, pid: event.pointee.ppid,
            startNs: event.pointee.timeNs, lastActivityNs: event.pointee.timeNs, images: name.isEmpty ? [] : [name], uid: nil,
            containerID: sharesNamespace ? event.pointee.containerID : "", podName: sharesNamespace ? event.pointee.podName : "",
            origin: .placeholder))
        states.append(InstanceState(host: host))
        current[key] = index
        markChanged(index)
        return index
    }

    /// Whether `ancestor` is `index` or one of its ancestors by parent links.
    private func isAncestor(_ ancestor: Int32, of index: Int32) -> Bool {
        var node = index
        var steps = 0
        while steps <= Self.maxAncestorWalk {
            if node == ancestor { return true }
            guard let parent = instances[Int(node)].parentID else { return false }
            node = Int32(parent)
            steps += 1
        }
        return true
    }

    /// A recorded exit: the PID is free again, and live children go to PID 1 until their events
    /// show another reaper.
    private mutating func end(_ index: Int32) {
        let state = states[Int(index)]
        let key = Self.key(state.host, instances[Int(index)].hostPID)
        if current[key] == index { current.removeValue(forKey: key) }
        guard !state.recordedChildren.isEmpty else { return }
        var initProcess: Int32?
        for child in state.recordedChildren
        where instances[Int(child)].exitNs == nil && states[Int(child)].referencedParent == index {
            let reaper = initProcess ?? hostInit(host: state.host, at: instances[Int(index)].exitNs ?? 0)
            initProcess = reaper
            instances[Int(child)].reaperID = Int64(reaper)
            states[Int(child)].referencedParent = reaper
            states[Int(child)].hostPPID = 1
            markChanged(child)
        }
        states[Int(index)].recordedChildren = []
    }

    /// The host's PID 1, as a placeholder if no event showed it.
    private mutating func hostInit(host: UInt32, at timeNs: Int64) -> Int32 {
        let key = Self.key(host, 1)
        if let known = current[key] { return known }
        let index = Int32(instances.count)
        instances.append(ProcessInstance(
            id: Int64(index), hostName: hosts[Int(host)].name, hostPID: 1, pid: 1, startNs: timeNs,
            lastActivityNs: timeNs, images: [], uid: nil, origin: .placeholder))
        states.append(InstanceState(host: host))
        current[key] = index
        markChanged(index)
        return index
    }

    // MARK: bookkeeping

    private mutating func markChanged(_ index: Int32) {
        guard !states[Int(index)].isChanged else { return }
        states[Int(index)].isChanged = true
        changed.append(index)
    }

    private mutating func hostNumber(_ name: String) -> UInt32 {
        if let last = lastHost, last.name == name { return last.number }
        let number: UInt32
        if let known = hostNumbers[name] {
            number = known
        } else {
            number = UInt32(hosts.count)
            hosts.append(HostState(name: name))
            hostNumbers[name] = number
        }
        lastHost = (name, number)
        return number
    }

    private static func key(_ host: UInt32, _ pid: Int32) -> UInt64 {
        UInt64(host) << 32 | UInt64(UInt32(bitPattern: pid))
    }
}
