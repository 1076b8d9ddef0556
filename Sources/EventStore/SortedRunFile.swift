import Dispatch
import EventModel
import Glibc

/// The directory an import spills its sorted runs into, `STORE/tmp-import-<pid>/`, made (mode 0700)
/// when the first run is spilled and removed when the import ends.
///
/// Only the import holding the store's lock uses it, so any other `tmp-import-*` directory is what
/// a killed import left behind: ``removeLeftovers(store:)`` clears them. Readers never look there.
final class ImportSpillDirectory {
    static let prefix = "tmp-import-"
    private let store: DirectoryHandle
    private let name: String
    private var directory: DirectoryHandle?

    init(store: DirectoryHandle) {
        self.store = store
        name = "\(Self.prefix)\(getpid())"
    }

    /// Removes every spill directory in `store` (call while holding the store's lock).
    static func removeLeftovers(store: DirectoryHandle) {
        for name in (try? store.names()) ?? [] where name.hasPrefix(prefix) { store.removeTree(name) }
    }

    /// Creates the file of run `number`, making the directory when needed.
    func createRun(_ number: Int) throws(StoreError) -> PosixFile {
        let directory: DirectoryHandle
        if let made = self.directory { directory = made } else { directory = try store.makeSubdirectory(name) }
        self.directory = directory
        return try directory.create("run-\(number)", flags: O_WRONLY)
    }

    /// Opens the file of run `number` for reading.
    func openRun(_ number: Int) throws(StoreError) -> PosixFile {
        guard let directory else { throw StoreError(.io, path: store.pathOf(name), "no run \(number) was spilled") }
        return try directory.open("run-\(number)")
    }

    func remove() {
        directory = nil
        store.removeTree(name)
    }
}

/// A run of time-ordered events spilled to a file: blocks in the store's block format
/// (``BlockCodec``), one after another, each numbered from 1 (the run's order is the file's order).
enum SortedRunFile {
    /// Writes `events` in the order `order` gives (indices into `events`) to a new, empty `file`,
    /// encoding blocks of `blockEvents` on `threads` threads.
    static func write(_ events: [Event], order: [Int], to file: PosixFile, blockEvents: Int, threads: Int) throws(StoreError) {
        var offset = 0
        let ranges = stride(from: 0, to: order.count, by: blockEvents).map { $0..<min($0 + blockEvents, order.count) }
        let group = max(1, threads) * 2
        for first in stride(from: 0, to: ranges.count, by: group) {
            let batch = Array(ranges[first..<min(first + group, ranges.count)])
            for bytes in encode(events, order: order, batch, threads: threads) {
                try file.write(bytes, at: offset)
                offset += bytes.count
            }
        }
    }

    /// The blocks of `ranges` of `order`, each as header and payload bytes.
    private static func encode(_ events: [Event], order: [Int], _ ranges: [Range<Int>], threads: Int) -> [[UInt8]] {
        [[UInt8]](count: ranges.count, parallel: threads > 1) { i in
            let encoded = BlockCodec.encode(ranges[i].map { events[order[$0]] }[...], firstSeq: 1)
            return encoded.header.encoded() + encoded.payload
        }
    }
}

/// Reads a ``SortedRunFile`` back one block at a time.
final class SortedRunReader {
    private let file: PosixFile
    private let size: Int
    private var offset = 0

    init(file: PosixFile) throws(StoreError) {
        self.file = file
        size = try file.size()
    }

    /// The next block's events in run order, or nil after the last.
    func nextBlock() throws(StoreError) -> [Event]? {
        guard offset < size else { return nil }
        let headerBytes = try file.read(count: BlockHeader.size, at: offset)
        let header = try damaged { () throws(DecodeFailure) in
            try headerBytes.decoding { (raw) throws(DecodeFailure) in try BlockHeader.decode(raw) }
        }
        let payload = try file.read(count: header.compressedLength, at: offset + BlockHeader.size)
        let events = try damaged { () throws(DecodeFailure) in
            try payload.decoding { (raw) throws(DecodeFailure) in try BlockCodec.decode(header: header, payload: raw).events() }
        }
        offset += BlockHeader.size + header.compressedLength
        return events
    }

    /// Runs a decoder, reporting its failure as damage at the current block.
    private func damaged<R>(_ decode: () throws(DecodeFailure) -> R) throws(StoreError) -> R {
        do {
            return try decode()
        } catch {
            throw StoreError(.damaged, path: file.path, offset: offset + error.offset, "spilled run unreadable: \(error.reason)")
        }
    }
}
