import Foundation

/// The blocks a scan left out because they did not read back intact, so that a reader can go on
/// past a damaged block and say afterwards exactly what it did not show.
public final class DamagedBlocks: @unchecked Sendable {
    /// One block left out, and why.
    public struct Skipped: Sendable, CustomStringConvertible {
        public let source: BlockSource
        public let error: StoreError

        /// `path: offset N: what`, as `verify` prints a problem.
        public var description: String {
            IntegrityProblem(path: error.path ?? source.store.path, offset: error.offset, message: error.message).description
        }
    }

    private let lock = NSLock()
    private var skipped: [Skipped] = []

    public init() {}

    func add(_ source: BlockSource, _ error: StoreError) {
        lock.lock()
        skipped.append(Skipped(source: source, error: error))
        lock.unlock()
    }

    /// The blocks left out, in the order the scan reached them.
    public var all: [Skipped] {
        lock.lock()
        defer { lock.unlock() }
        return skipped
    }
}
