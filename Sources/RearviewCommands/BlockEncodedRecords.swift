import EventStore
import Foundation

/// Writes the records of a scan in time order, each block's records encoded on the decoding threads
/// (by `encode`, which must be safe to run on several at once), at most `limit` of them.
enum BlockEncodedRecords {
    /// A block's encoded records, with the rows they came from for cutting the last block short.
    private struct Encoded: @unchecked Sendable {
        var bytes: [UInt8]
        var batch: ColumnBatch
        var rows: ArraySlice<Int32>
    }

    /// Returns how many records were written.
    static func write(_ scan: BatchScan, limit: Int?,
                      encode: @escaping @Sendable (ColumnBatch, ArraySlice<Int32>, inout [UInt8]) -> Void,
                      to write: ([UInt8]) throws -> Void) throws -> Int {
        if limit == 0 { return 0 }
        // Blocks' records go into buffers written before, so their memory is mapped already.
        let buffers = BufferPool()
        var written = 0
        try scan.orderedMap({ batch, rows in
            var bytes = buffers.take()
            encode(batch, rows, &bytes)
            return Encoded(bytes: bytes, batch: batch, rows: rows)
        }) { encoded in
            guard let limit, written + encoded.rows.count > limit else {
                try write(encoded.bytes)
                buffers.give(encoded.bytes)
                written += encoded.rows.count
                return limit.map { written < $0 } ?? true
            }
            // Only the first records of this block are wanted: encode those again (records may span lines).
            var bytes: [UInt8] = []
            encode(encoded.batch, encoded.rows.prefix(limit - written), &bytes)
            try write(bytes)
            written = limit
            return false
        }
        return written
    }
}

/// Output buffers handed back once written, for the next blocks' records: memory the process has
/// touched already (fresh buffers of many megabytes cost a page fault per page), at most a few.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [[UInt8]] = []

    /// An empty buffer, with the capacity of one given back if there is one.
    func take() -> [UInt8] {
        var buffer = lock.withLock { free.popLast() } ?? []
        buffer.removeAll(keepingCapacity: true)
        return buffer
    }

    /// Keeps `buffer` for ``take()`` (up to eight).
    func give(_ buffer: [UInt8]) {
        lock.withLock { if free.count < 8 { free.append(buffer) } }
    }
}
