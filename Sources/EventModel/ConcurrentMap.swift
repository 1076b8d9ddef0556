import Dispatch

extension Array where Element: Sendable {
    /// The results of `work` for `0..<count`, in that order, computed on the cores of the machine
    /// (on the calling thread alone when `parallel` is false or there is one job).
    package init(count: Int, parallel: Bool = true, concurrently work: @Sendable (Int) -> Element) {
        guard parallel, count > 1 else {
            self = (0..<count).map(work)
            return
        }
        self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            nonisolated(unsafe) let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: count) { (base + $0).initialize(to: work($0)) }
            initialized = count
        }
    }
}
