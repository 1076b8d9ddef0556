import EventModel
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Records process, file and network activity on this host with eBPF and hands it, as ``Event``s
/// in KubeArmor's forms, to a sink.
///
/// ``start(_:sink:)`` checks the host, loads and attaches the BPF programs, and starts a thread that
/// drains the kernel's ring buffer every ``RecorderConfiguration/drainInterval``. The sink is called
/// on that thread with each non-empty batch, in kernel order; the first batch is the start-up
/// snapshot of live processes. If the sink throws, recording stops and ``stop()`` rethrows the
/// error. rearview's own process is not recorded (filtered in the kernel).
public final class Recorder: Sendable {
    private let shared: Shared
    private let thread: DrainThread

    private struct State {
        var statistics: RecorderStatistics
        var failure: (any Error)?
        var running = true
        var joined = false
    }

    /// What the caller's thread and the drain thread share.
    private final class Shared: Sendable {
        let state: Mutex<State>
        let stopRequested = Atomic(false)

        init(_ state: State) {
            self.state = Mutex(state)
        }
    }

    /// Starts recording. Throws when this host cannot record (not root, a capability or kernel
    /// feature missing, a program refused: the error names which) or the configuration is invalid.
    public static func start(_ configuration: RecorderConfiguration,
                             sink: @escaping @Sendable ([Event]) throws -> Void) throws(RecorderError) -> Recorder {
        try configuration.validate()
        try HostChecks.requireTracingSupport()
        let decoder = RecordDecoder(
            clusterName: configuration.clusterName,
            hostName: configuration.hostName ?? HostChecks.hostName(),
            deliveredKinds: configuration.eventKinds,
            bootToWallOffsetNs: HostChecks.bootToWallOffsetNs())
        let session = try BPFSession(configuration: configuration, decoder: decoder)
        // Read after attaching, so that no process falls between the snapshot and the first record.
        decoder.addSnapshot(ProcessSnapshot.read(), deliver: configuration.includesStartupSnapshot)
        return try Recorder(session: session, decoder: decoder, configuration: configuration, sink: sink)
    }

    private init(session: BPFSession, decoder: RecordDecoder, configuration: RecorderConfiguration,
                 sink: @escaping @Sendable ([Event]) throws -> Void) throws(RecorderError) {
        var statistics = RecorderStatistics(syscallAttachment: session.syscallAttachment)
        statistics.snapshotProcesses = decoder.trackedProcessCount
        let shared = Shared(State(statistics: statistics))
        self.shared = shared
        let loop = DrainLoop(session: session, decoder: decoder, sink: sink,
                             interval: configuration.drainInterval, shared: shared)
        thread = try DrainThread { loop.run() }
    }

    deinit {
        try? stop()
    }

    /// Counts so far: events delivered and lost per kind, and how system calls are observed.
    public var statistics: RecorderStatistics {
        shared.state.withLock { $0.statistics }
    }

    /// False once recording stopped: after ``stop()``, or because the sink threw.
    public var isRunning: Bool {
        shared.state.withLock { $0.running }
    }

    /// Detaches the programs, delivers what is still in the buffer and stops the drain thread.
    /// Rethrows the sink's error if it failed. Calling it again does nothing.
    public func stop() throws {
        shared.stopRequested.store(true, ordering: .releasing)
        let mustJoin = shared.state.withLock { state in
            defer { state.joined = true }
            return !state.joined
        }
        if mustJoin {
            thread.join()
        }
        if let failure = shared.state.withLock({ $0.failure }) {
            throw failure
        }
    }

    /// The drain thread's work; only that thread touches the session and decoder.
    private final class DrainLoop: @unchecked Sendable {
        let session: BPFSession
        let decoder: RecordDecoder
        let sink: @Sendable ([Event]) throws -> Void
        let intervalMilliseconds: Int32
        let shared: Shared

        init(session: BPFSession, decoder: RecordDecoder, sink: @escaping @Sendable ([Event]) throws -> Void,
             interval: Duration, shared: Shared) {
            self.session = session
            self.decoder = decoder
            self.sink = sink
            let (seconds, attoseconds) = interval.components
            intervalMilliseconds = Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            self.shared = shared
        }

        func run() {
            var healthy = deliver()
            while healthy && !shared.stopRequested.load(ordering: .acquiring) {
                session.waitForWakeup(timeoutMilliseconds: intervalMilliseconds)
                session.consume()
                healthy = deliver()
            }
            session.detach()
            session.consume()
            if healthy {
                _ = deliver()
            }
            shared.state.withLock { $0.running = false }
        }

        /// Hands the decoded batch to the sink and updates the statistics; false if the sink threw.
        private func deliver() -> Bool {
            decoder.bootToWallOffsetNs = HostChecks.bootToWallOffsetNs()
            let batch = decoder.takeBatch()
            var failure: (any Error)?
            if !batch.isEmpty {
                do {
                    try sink(batch)
                } catch {
                    failure = error
                }
            }
            let drops = session.drops()
            shared.state.withLock { state in
                state.statistics.update(decoded: decoder.decoded, dropped: drops, malformed: decoder.malformed,
                                        delivered: failure == nil ? batch.count : 0)
                if let failure {
                    state.failure = failure
                }
            }
            return failure == nil
        }
    }
}

/// What a recorder has seen so far.
public struct RecorderStatistics: Sendable, Equatable {
    /// Events the kernel reported, per kind (also those of kinds not delivered).
    public var events: [EventKind: UInt64] = [:]
    /// Events lost in the kernel per kind: the ring buffer was full (raise its size or drain more
    /// often), or too many system calls were in flight.
    public var drops: [EventKind: UInt64] = [:]
    /// Events handed to the sink, the snapshot included.
    public var delivered: UInt64 = 0
    /// Processes found alive at start.
    public var snapshotProcesses = 0
    /// Records the decoder could not read (a bug if ever non-zero).
    public var malformedRecords: UInt64 = 0
    /// The tracepoints that observe system calls.
    public var syscallAttachment: SyscallAttachment

    public init(syscallAttachment: SyscallAttachment) {
        self.syscallAttachment = syscallAttachment
    }

    mutating func update(decoded: [UInt64], dropped: [UInt64], malformed: UInt64, delivered batch: Int) {
        for kind in EventKind.allCases {
            let index = Int(kind.bpfKind)
            events[kind] = index < decoded.count ? decoded[index] : 0
            drops[kind] = index < dropped.count ? dropped[index] : 0
        }
        malformedRecords = malformed
        delivered += UInt64(batch)
    }
}

/// A POSIX thread that can be joined (Foundation's `Thread` cannot).
final class DrainThread: Sendable {
    private let handle: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) throws(RecorderError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw RecorderError(.systemResource, "could not start the drain thread", errno: result)
        }
        self.handle = handle
    }

    func join() {
        pthread_join(handle, nil)
    }
}
