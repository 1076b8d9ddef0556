import CBPF

/// What a recorder captures and how it drains the kernel's buffer.
///
/// The defaults record everything with an 8 MiB ring buffer drained every 100 ms, which holds a
/// burst of roughly 50 000 events between drains; the kernel also wakes the reader early when the
/// buffer is a quarter full. (A larger buffer costs the kernel side more cache misses per event.)
public struct RecorderConfiguration: Sendable, Equatable {
    /// The kinds of event delivered to the sink. Process lifecycle is captured in any case (it names
    /// the processes of file and network events), but delivered only when `.process` is selected.
    public var eventKinds: Set<EventKind> = Set(EventKind.allCases)
    /// Absolute path prefixes whose file events the kernel drops (`/proc/`, `/sys/`); at most
    /// ``maximumIgnoredPathPrefixes``, each at most ``maximumIgnoredPathPrefixBytes`` bytes.
    public var ignoredPathPrefixes: [String] = []
    /// Bytes of the kernel ring buffer: a power of two, at least 64 KiB.
    public var ringBufferBytes: Int = 8 << 20
    /// How often the buffer is drained and a batch handed to the sink.
    public var drainInterval: Duration = .milliseconds(100)
    /// Decoded events that may wait for a slow sink; beyond this the recorder stops draining and the
    /// kernel counts what its ring buffer cannot hold as drops.
    public var maxQueuedEvents: Int = 4 << 20
    /// `ClusterName` of every event.
    public var clusterName: String = ""
    /// `HostName` of every event; nil for this host's name.
    public var hostName: String?
    /// Whether the processes alive at start are delivered first (from /proc, with their ancestry).
    public var includesStartupSnapshot = true
    /// Which tracepoints observe system calls.
    public var syscallAttachment: SyscallAttachment = .automatic

    public static let maximumIgnoredPathPrefixes = Int(RV_IGNORE_PREFIXES)
    public static let maximumIgnoredPathPrefixBytes = Int(RV_IGNORE_PREFIX_MAX)

    public init() {}

    /// Checks the limits above; the recorder calls it before loading anything.
    public func validate() throws(RecorderError) {
        guard ringBufferBytes >= 1 << 16, ringBufferBytes & (ringBufferBytes - 1) == 0 else {
            throw RecorderError(.invalidConfiguration,
                                "ring buffer size \(ringBufferBytes) is not a power of two of at least 65536 bytes")
        }
        guard ringBufferBytes <= 1 << 30 else {
            throw RecorderError(.invalidConfiguration, "ring buffer size \(ringBufferBytes) is over 1 GiB")
        }
        guard ignoredPathPrefixes.count <= Self.maximumIgnoredPathPrefixes else {
            throw RecorderError(.invalidConfiguration,
                                "\(ignoredPathPrefixes.count) ignored path prefixes; at most \(Self.maximumIgnoredPathPrefixes)")
        }
        for prefix in ignoredPathPrefixes {
            guard prefix.hasPrefix("/"), !prefix.utf8.isEmpty, prefix.utf8.count <= Self.maximumIgnoredPathPrefixBytes else {
                throw RecorderError(.invalidConfiguration,
                                    "ignored path prefix '\(prefix)' must be absolute and at most \(Self.maximumIgnoredPathPrefixBytes) bytes")
            }
        }
        guard drainInterval >= .milliseconds(1), drainInterval <= .seconds(10) else {
            throw RecorderError(.invalidConfiguration, "drain interval \(drainInterval) is not between 1 ms and 10 s")
        }
    }
}

/// A family of recorded events, as `--events process,file,network` names them.
public enum EventKind: String, CaseIterable, Sendable, Hashable {
    /// fork/clone, exec (and failed execs), exit; `Operation` `Process`.
    case process
    /// open, unlink, rename, chmod; `Operation` `File`.
    case file
    /// socket, connect, accept, bind, listen; `Operation` `Network`.
    case network

    var bpfKind: UInt32 {
        switch self {
        case .process: return UInt32(RV_KIND_PROCESS.rawValue)
        case .file: return UInt32(RV_KIND_FILE.rawValue)
        case .network: return UInt32(RV_KIND_NETWORK.rawValue)
        }
    }
}

/// The tracepoints that observe system calls (process lifecycle always uses `tp_btf/sched_*`).
public enum SyscallAttachment: String, Sendable, Hashable {
    /// The per-syscall tracepoints when tracefs is mounted, else the raw ones.
    case automatic
    /// `tracepoint/syscalls/sys_{enter,exit}_*`: run only for the recorded calls; need tracefs at
    /// /sys/kernel/tracing (or /sys/kernel/debug/tracing).
    case syscallTracepoints
    /// `tp_btf/sys_{enter,exit}`: run for every system call and filter by number; need only BTF.
    case rawTracepoints
}
