import Dispatch
import Synchronization

/// Runs numbered jobs on several threads and hands their results over in job order.
///
/// Each worker thread has its own state (a parser with its interning tables). At most `window`
/// results are ahead of the consumer, which bounds memory however slow the consumer is.
enum OrderedParallelMap {
    static func run<State, Result: Sendable, E: Error>(
        jobs: Int, threads: Int, window: Int,
        makeState: @escaping @Sendable () -> State,
        work: @escaping @Sendable (inout State, Int) -> Result,
        deliver: (Result) throws(E) -> Void
    ) throws(E) {
        let shared = Shared<Result>(jobs: jobs)
        let permits = DispatchSemaphore(value: window)
        let group = DispatchGroup()
        for _ in 0..<threads {
            DispatchQueue.global().async(group: group) {
                var state = makeState()
                while true {
                    permits.wait()
                    guard let job = shared.claim() else {
                        permits.signal()
                        return
                    }
                    shared.finish(job, work(&state, job))
                }
            }
        }
        defer {
            shared.cancel()
            for _ in 0..<threads { permits.signal() }
            group.wait()
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
