/// One process instance: a `(HostName, HostPID, start)` with its exec chain, parent, exit and activity.
///
/// A PID that the kernel reused is a new instance. Instances are made by ``ProcessInstanceBuilder``
/// from events and kept in a ``ProcessInstanceTable``; ``ProcessInstanceRow`` is their stored form.
/// `parentID` is the parent that started the process (where it came from); when that parent exited
/// first, `reaperID` is the process the kernel handed it to (the init of the host or container, or a
/// subreaper).
public struct ProcessInstance: Sendable, Equatable {
    /// Stable number of the instance in its table (the builder numbers them 0, 1, 2, … in order of creation).
    public var id: Int64
    public var hostName: String
    public var hostPID: Int32
    /// The PID in the process's own pid namespace (equal to `hostPID` outside containers; for a
    /// placeholder, the PPID its child reported).
    public var pid: Int32
    /// Unix ns: the fork (recordings), the start time /proc gave (snapshots), else the first event
    /// that showed the process (its own, or a child's naming it as parent).
    public var startNs: Int64
    /// Unix ns of the exit, when a recording saw it.
    public var exitNs: Int64?
    /// Unix ns of the last event that showed the process alive (its own, or a child's naming it as parent).
    public var lastActivityNs: Int64
    /// The exit status when the process called exit; nil when it was killed or its exit is unknown.
    public var exitCode: Int32?
    /// The signal that ended it (`SIGKILL`), when one did; `core=dumped` is noted as `SIGSEGV (core dumped)`.
    public var exitSignal: String?
    /// The exec chain, oldest first: the image at fork (the parent's), then one per successful exec.
    public var images: [String]
    /// The last command line seen (`Resource` of its last exec, else `Source` of its first event).
    public var command: String
    /// The command lines of execs that failed (a policy blocked them, or the file was missing),
    /// oldest first, at most ``maxFailedExecs``: the process kept its image.
    public var failedExecs: [String]
    /// The last UID seen; nil for a placeholder.
    public var uid: Int32?
    public var containerID: String
    public var podName: String
    /// The instance that started this one (nil for a root, or when bad input claimed a cycle).
    public var parentID: Int64?
    /// The instance that adopted this one after its parent exited (nil when never reparented).
    public var reaperID: Int64?
    public var origin: Origin
    public var events: OperationCounts

    public init(id: Int64, hostName: String, hostPID: Int32, pid: Int32, startNs: Int64, exitNs: Int64? = nil,
                lastActivityNs: Int64, exitCode: Int32? = nil, exitSignal: String? = nil, images: [String],
                command: String = "", failedExecs: [String] = [], uid: Int32?, containerID: String = "", podName: String = "",
                parentID: Int64? = nil, reaperID: Int64? = nil, origin: Origin, events: OperationCounts = OperationCounts()) {
        self.id = id
        self.hostName = hostName
        self.hostPID = hostPID
        self.pid = pid
        self.startNs = startNs
        self.exitNs = exitNs
        self.lastActivityNs = lastActivityNs
        self.exitCode = exitCode
        self.exitSignal = exitSignal
        self.images = images
        self.command = command
        self.failedExecs = failedExecs
        self.uid = uid
        self.containerID = containerID
        self.podName = podName
        self.parentID = parentID
        self.reaperID = reaperID
        self.origin = origin
        self.events = events
    }

    /// How many failed execs an instance keeps (a process retrying a blocked exec in a loop stays small).
    public static let maxFailedExecs = 4

    /// Whether this is a parent that no event of its own showed (only a child's `HostPPID`).
    public var isPlaceholder: Bool { origin == .placeholder }

    /// The image it runs now (the last of the exec chain); empty when unknown.
    public var currentImage: String { images.last ?? "" }

    /// The end of what is known about it: the exit, else the last activity.
    public var endNs: Int64 { exitNs ?? lastActivityNs }

    /// How an instance was established: from a recording's lifecycle events, or inferred from logs
    /// that have none (imported KubeArmor records), and then why.
    public enum Origin: String, Sendable, CaseIterable {
        /// A recorded fork/clone gave its start and parent.
        case recorded
        /// The /proc snapshot taken when a recording started.
        case snapshot
        /// A recording showed it without its fork (it started before the recording, or the fork was lost).
        case recordedWithoutFork = "recorded-without-fork"
        /// Logs showed the PID for the first time.
        case inferredFirstSeen = "inferred-from-logs"
        /// Logs showed the PID again with a parent it cannot have been handed to (PID reused).
        case inferredNewParent = "inferred-from-logs:new-parent"
        /// Logs showed the PID again running another program without an exec (PID reused).
        case inferredNewImage = "inferred-from-logs:new-image"
        /// Logs showed the PID again in another pid namespace (another `PID`: PID reused).
        case inferredNewNamespacePID = "inferred-from-logs:new-namespace-pid"
        /// Logs showed the PID exec after being idle longer than a process lingers before an exec.
        case inferredExecAfterIdle = "inferred-from-logs:exec-after-idle"
        /// Logs showed the PID again after more than the configured reappearance gap.
        case inferredAfterGap = "inferred-from-logs:after-gap"
        /// A parent no event of its own showed, named from its child's `ParentProcessName`.
        case placeholder

        /// Whether a recording's fork/exit events define the instance (so logs-based inference leaves it alone).
        public var isRecorded: Bool {
            self == .recorded || self == .snapshot || self == .recordedWithoutFork
        }
    }
}

/// Counts of a process's events by `Operation`.
public struct OperationCounts: Sendable, Equatable {
    public var process = 0
    public var file = 0
    public var network = 0
    public var capabilities = 0
    public var syscall = 0
    /// Events with any other `Operation`.
    public var other = 0

    public init(process: Int = 0, file: Int = 0, network: Int = 0, capabilities: Int = 0, syscall: Int = 0, other: Int = 0) {
        self.process = process
        self.file = file
        self.network = network
        self.capabilities = capabilities
        self.syscall = syscall
        self.other = other
    }

    /// The non-zero counts under KubeArmor's operation names (`Process`, `File`, `Network`,
    /// `Capabilities`, `Syscall`, then `Other`), in that order.
    public var named: [(operation: String, count: Int)] {
        [("Process", process), ("File", file), ("Network", network), ("Capabilities", capabilities),
         ("Syscall", syscall), ("Other", other)].filter { $0.1 != 0 }
    }

    public var total: Int { process + file + network + capabilities + syscall + other }

    /// Counts one event of `operation`.
    mutating func count(_ operation: String) {
        switch operation {
        case "File": file += 1
        case "Network": network += 1
        case "Process": process += 1
        case "Capabilities": capabilities += 1
        case "Syscall": syscall += 1
        default: other += 1
        }
    }
}
