#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Runs numbered jobs on several threads and hands their results over in job order.
///
/// Each worker thread has its own state (a parser with its interning tables). At most `window`
/// results are ahead of the consumer, which bounds memory however slow the consumer is. Results are
/// delivered on the calling thread.
package enum OrderedParallelMap {
    package static func run<State, Result: Sendable, E: Error>(
        jobs: Int, threads: Int, window: Int,
        makeState: @escaping @Sendable () -> State,
        work: @escaping @Sendable (inout State, Int) -> Result,
        finish: (@Sendable (inout State) -> Void)? = nil,
        deliver: (Result) throws(E) -> Void
    ) throws(E) {
        let shared = Shared<Result>(jobs: jobs)
        // Created empty and filled by signals: libdispatch traps when a semaphore is freed holding fewer
        // than its initial value, which a reader stopped early (its deliver threw) can leave it with.
        let permits = DispatchSemaphore(value: 0)
        for _ in 0..<window { permits.signal() }
        // Dedicated threads rather than a shared pool: the caller may itself be running on one, and
        // it blocks until the workers deliver.
        let workers = (0..<threads).compactMap { _ in
            DedicatedThread {
                var state = makeState()
                while true {
                    permits.wait()
                    guard let job = shared.claim() else {
                        permits.signal()
                        finish?(&state)
                        return
                    }
                    shared.finish(job, work(&state, job))
                }
            }
        }
        guard !workers.isEmpty else {
            // No thread could be started: do the work here.
            var state = makeState()
            defer { finish?(&state) }
            for job in 0..<jobs { try deliver(work(&state, job)) }
            return
        }
        defer {
            shared.cancel()
            for _ in workers { permits.signal() }
            for worker in workers { worker.join() }
        }
        for job in 0..<jobs {
            let result = shared.take(job)
            permits.signal()
            try deliver(result)
        }
    }

    /// The job counter and the finished results, shared by the workers and the consumer.
    private final class Shared<Result: Sendable>: Sendable {
        private struct State {
            var next = 0
            var cancelled = false
            var results: [Result?]
        }

        private let state: Mutex<State>
        private let ready: [DispatchSemaphore]

        init(jobs: Int) {
            state = Mutex(State(results: Array(repeating: nil, count: jobs)))
            ready = (0..<jobs).map { _ in DispatchSemaphore(value: 0) }
        }

        func claim() -> Int? {
            state.withLock { s in
                guard !s.cancelled, s.next < s.results.count else { return nil }
                defer { s.next += 1 }
                return s.next
            }
        }

        func finish(_ job: Int, _ result: sending Result) {
            state.withLock { $0.results[job] = result }
            ready[job].signal()
        }

        func take(_ job: Int) -> Result {
            ready[job].wait()
            return state.withLock { s in
                defer { s.results[job] = nil }
                return s.results[job]!
            }
        }

        func cancel() { state.withLock { $0.cancelled = true } }
    }
}

/// A thread of its own running one closure (not one of a shared pool, whose threads may all be
/// blocked waiting for it); `join` waits for it to return.
package final class DedicatedThread {
    private var thread = pthread_t()

    /// Starts `body` on a new thread, or returns nil when the system refuses one.
    package init?(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if status != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
    }

    package func join() { pthread_join(thread, nil) }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
