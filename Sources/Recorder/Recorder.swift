import EventModel
import Dispatch
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
/// on a delivery thread of its own (so a slow sink does not stall draining) with each non-empty batch,
/// in kernel order; the first batch is the start-up snapshot of live processes. If the sink throws, recording stops and ``stop()`` rethrows the
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
                             interval: configuration.drainInterval, maxQueuedEvents: configuration.maxQueuedEvents,
                             shared: shared)
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

    /// The drain thread's work; only that thread touches the session and decoder. Decoded batches
    /// go to a delivery thread that calls the sink, so a slow sink (compression, fsync) never stalls
    /// draining the kernel's ring buffer.
    private final class DrainLoop: @unchecked Sendable {
        let session: BPFSession
        let decoder: RecordDecoder
        let sink: @Sendable ([Event]) throws -> Void
        let intervalMilliseconds: Int32
        let shared: Shared
        let queue: DeliveryQueue

        init(session: BPFSession, decoder: RecordDecoder, sink: @escaping @Sendable ([Event]) throws -> Void,
             interval: Duration, maxQueuedEvents: Int, shared: Shared) {
            self.session = session
            self.decoder = decoder
            self.sink = sink
            let (seconds, attoseconds) = interval.components
            intervalMilliseconds = Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            self.shared = shared
            queue = DeliveryQueue(maxQueuedEvents: maxQueuedEvents)
        }

        func run() {
            // Draining is what keeps the kernel from dropping events: it runs ahead of the workload and of
            // the sink's compression (a recorder runs as root, so raising its priority is allowed; on
            // Linux, who = 0 means the calling thread).
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10)
            let delivery = try? DrainThread { [queue, sink, shared] in
                while let batch = queue.next() {
                    guard shared.state.withLock({ $0.failure == nil }) else { continue }
                    do {
                        try sink(batch)
                        shared.state.withLock { $0.statistics.delivered += UInt64(batch.count) }
                    } catch {
                        shared.state.withLock { $0.failure = error }
                    }
                }
            }
            if delivery == nil { shared.state.withLock { $0.failure = RecorderError(.systemResource, "could not start the delivery thread") } }
            while healthy && !shared.stopRequested.load(ordering: .acquiring) {
                hand()
                session.waitForWakeup(timeoutMilliseconds: intervalMilliseconds)
                session.consume()
            }
            session.detach()
            session.consume()
            hand()
            queue.close()
            delivery?.join()
            shared.state.withLock { $0.running = false }
        }

        private var healthy: Bool { shared.state.withLock { $0.failure == nil } }

        /// Queues the decoded batch for the sink and updates the statistics.
        private func hand() {
            decoder.bootToWallOffsetNs = HostChecks.bootToWallOffsetNs()
            let batch = decoder.takeBatch()
            if !batch.isEmpty { queue.add(batch) }
            let drops = session.drops()
            shared.state.withLock { state in
                state.statistics.update(decoded: decoder.decoded, dropped: drops, malformed: decoder.malformed)
            }
        }
    }
}

/// Batches on their way from the drain thread to the sink, in order. When the sink falls far behind
/// (`maxQueuedEvents`) the drain thread waits, and the kernel counts what it cannot buffer as drops.
final class DeliveryQueue: Sendable {
    private let maxQueuedEvents: Int
    private let state = Mutex<(batches: [[Event]], events: Int, closed: Bool)>(([], 0, false))
    private let ready = DispatchSemaphore(value: 0)

    init(maxQueuedEvents: Int) { self.maxQueuedEvents = maxQueuedEvents }

    func add(_ batch: [Event]) {
        while state.withLock({ $0.events }) > maxQueuedEvents { usleep(1_000) }
        state.withLock { $0.batches.append(batch); $0.events += batch.count }
        ready.signal()
    }

    /// No more batches: ``next()`` returns nil once the queue is empty.
    func close() {
        state.withLock { $0.closed = true }
        ready.signal()
    }

    /// The oldest batch, waiting for one; nil when closed and empty.
    func next() -> [Event]? {
        while true {
            ready.wait()
            let batch: [Event]? = state.withLock { state in
                guard !state.batches.isEmpty else { return nil }
                let batch = state.batches.removeFirst()
                state.events -= batch.count
                return batch
            }
            if let batch { return batch }
            if state.withLock({ $0.closed }) { return nil }
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

    mutating func update(decoded: [UInt64], dropped: [UInt64], malformed: UInt64) {
        for kind in EventKind.allCases {
            let index = Int(kind.bpfKind)
            events[kind] = index < decoded.count ? decoded[index] : 0
            drops[kind] = index < dropped.count ? dropped[index] : 0
        }
        malformedRecords = malformed
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
