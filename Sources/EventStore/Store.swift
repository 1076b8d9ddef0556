import EventModel
import Foundation
import Glibc

/// A rearview store opened for reading: the catalog of segments and blocks, and the events in them.
///
/// Readers never change the store and never block a writer; they see every block the writer has
/// flushed and indexed.
public final class Store: @unchecked Sendable {
    /// The store directory.
    public let path: String
    /// The store directory, held open: every store file is opened relative to it, never through a
    /// symbolic link (see ``DirectoryHandle``).
    public let directory: DirectoryHandle
    /// `segments/`, held open the same way.
    let segmentsDirectory: DirectoryHandle
    let index: StoreIndex
    private let files = FileCache()
    private let importTimes = SegmentImportTimes()

    static func indexPath(_ store: String) -> String { store + "/" + StoreIndex.fileName }
    static func segmentsPath(_ store: String) -> String { store + "/" + segmentsName }
    static let segmentsName = "segments"

    init(directory: DirectoryHandle, segments: DirectoryHandle, index: StoreIndex) {
        path = directory.path
        self.directory = directory
        segmentsDirectory = segments
        self.index = index
    }

    /// Opens an existing store read-only. Its directories must not be writable by group or others
    /// (whoever owns them: a store copied by a colleague can be read).
    public static func open(_ path: String) throws(StoreError) -> Store {
        let directory: DirectoryHandle
        do {
            directory = try DirectoryHandle(path: path, trust: .unshared)
        } catch where error.code == .notAStore {
            throw StoreError(.notAStore, path: path, "no store here (create one with `rearview import` or `rearview record`)")
        }
        let segments = try directory.subdirectory(segmentsName)
        guard try directory.status(StoreIndex.fileName) != nil else {
            if segments != nil {
                throw StoreError(.damaged, path: path, "index.sqlite is missing; rebuild it with `rearview reindex`")
            }
            throw StoreError(.notAStore, path: path, "not a rearview store (no index.sqlite)")
        }
        guard let segments else { throw StoreError(.damaged, path: path, "segments/ is missing") }
        return Store(directory: directory, segments: segments, index: try StoreIndex(directory: directory, readOnly: true))
    }

    /// The store's identity, written into every segment header.
    public func storeID() throws(StoreError) -> String { try index.meta("store_id") ?? "" }

    public func segments() throws(StoreError) -> [IndexedSegment] { try index.segments() }

    /// Blocks whose time range overlaps `[from, through]` (unix ns, inclusive), in storage order.
    public func blocks(from: Int64 = .min, through: Int64 = .max) throws(StoreError) -> [IndexedBlock] {
        try index.blocks(from: from, through: through)
    }

    /// Ids of blocks in which an indexed field takes one of `values` (see ``IndexedFields``).
    public func blockIDs(where field: EventField, in values: [String]) throws(StoreError) -> Set<Int64> {
        precondition(IndexedFields.all.contains(field), "\(field.rawValue) is not indexed")
        return try index.blocks(withTerm: field, values: values)
    }

    /// The distinct values an indexed field takes in the store.
    public func values(of field: EventField) throws(StoreError) -> [String] {
        try index.termValues(field)
    }

    /// Event counts per value of an indexed field, most frequent first.
    public func counts(by field: EventField) throws(StoreError) -> [(value: String, events: Int)] {
        try index.termTotals(field)
    }

    /// Per value of an indexed field (of `values`, or every value the index holds), the blocks
    /// holding it and how many of each block's events have it: what ``postingsAreExact`` says may
    /// answer counts without decoding blocks. Each byte-distinct value comes once.
    public func postings(of field: EventField, values: [String]? = nil) throws(StoreError) -> [FieldPostings] {
        precondition(IndexedFields.all.contains(field), "\(field.rawValue) is not indexed")
        return try index.postings(field, values: values).map { FieldPostings(value: $0.value, blocks: $0.blocks) }
    }

    /// Whether the index's postings count events per byte-distinct value exactly, as a scan would:
    /// true for an index created or rebuilt (`reindex`) by this version; false for one converted
    /// from an earlier layout, whose writers merged canonically equivalent spellings into one term.
    public func postingsAreExact() throws(StoreError) -> Bool { try index.postingsAreExact() }

    /// Decodes one block's events (in time order), checking its checksums.
    public func events(in block: IndexedBlock) throws(StoreError) -> [Event] {
        try batch(in: block).events()
    }

    /// Decodes one block as columns (only `columns` of the optional ones), checking its checksums.
    public func batch(in block: IndexedBlock, columns: BatchColumns = .all) throws(StoreError) -> ColumnBatch {
        let batch = try SegmentFile.readBlock(try files.file(in: segmentsDirectory, segment: block.segment), block.location,
                                              columns: columns)
        batch.importedNs = try importTimes.importedNs(of: block.segment, in: index)
        return batch
    }

    /// Decodes `blocks` on `threads` threads and hands their events to `body` in time order
    /// (`TimeNs`, then `Seq`), merging blocks whose time ranges overlap. `body` returns false to stop.
    public func scan(_ blocks: [IndexedBlock], threads: Int = 2, _ body: (Event) throws -> Bool) throws {
        try BatchScan(blocks.map { BlockSource(store: self, block: $0) }, threads: threads).events(body)
    }

    /// A summary of what the store holds, for `rearview info`.
    public func summary() throws(StoreError) -> StoreSummary {
        let segments = try index.segments()
        let blocks = try index.blocks()
        var bytes = 0
        for name in [StoreIndex.fileName, StoreIndex.fileName + "-wal"] {
            if let st = try? directory.status(name) { bytes += Int(st.st_size) }
        }
        let segmentBytes = segments.reduce(0) { $0 + $1.bytes }
        return StoreSummary(
            storeID: try storeID(),
            segments: segments.count, sealedSegments: segments.filter(\.sealed).count, blocks: blocks.count,
            events: blocks.reduce(0) { $0 + $1.location.eventCount },
            firstTimeNs: blocks.map(\.location.minTimeNs).min(), lastTimeNs: blocks.map(\.location.maxTimeNs).max(),
            hosts: try index.termTotals(.hostName), operations: try index.termTotals(.operation),
            types: try index.termTotals(.type), segmentBytes: segmentBytes, indexBytes: bytes,
            segmentMetadata: segments.map(\.metadata), retired: try retirementLedger()?.runs ?? [], pinned: try pinnedWindows())
    }
}

/// One value of an indexed field as the index posts it: the blocks holding it (ascending ids,
/// ``IndexedBlock/id``) and how many events of each have it.
public struct FieldPostings: Sendable {
    public var value: String
    public var blocks: [(block: Int64, events: Int)]
}

/// A block of a particular store: the unit a scan reads.
public struct BlockSource: Sendable {
    public var store: Store
    public var block: IndexedBlock

    public init(store: Store, block: IndexedBlock) {
        self.store = store
        self.block = block
    }
}

/// What a store holds: counts, time span, sizes.
public struct StoreSummary: Sendable {
    public var storeID: String
    public var segments: Int
    public var sealedSegments: Int
    public var blocks: Int
    public var events: Int
    public var firstTimeNs: Int64?
    public var lastTimeNs: Int64?
    public var hosts: [(value: String, events: Int)]
    public var operations: [(value: String, events: Int)]
    public var types: [(value: String, events: Int)]
    public var segmentBytes: Int
    public var indexBytes: Int
    /// Each segment's metadata JSON (recorder drop counters and the like).
    public var segmentMetadata: [String]
    /// What retention removed (``RetirementLedger``).
    public var retired: [RetiredRun]
    /// What retention keeps (``PinnedWindow``).
    public var pinned: [PinnedWindow]

    public var bytesPerEvent: Double { events == 0 ? 0 : Double(segmentBytes + indexBytes) / Double(events) }
}

/// Open segment files, shared by readers; a segment is found under its sealed or its open name.
final class FileCache: @unchecked Sendable {
    private var files: [UInt64: PosixFile] = [:]
    private let lock = NSLock()

    func file(in segments: DirectoryHandle, segment: UInt64) throws(StoreError) -> PosixFile {
        lock.lock()
        defer { lock.unlock() }
        if let file = files[segment] { return file }
        let sealed = SegmentFile.name(number: segment, sealed: true)
        let file: PosixFile
        if let f = try? segments.open(sealed) {
            file = f
        } else if let f = try? segments.open(SegmentFile.name(number: segment, sealed: false)) {
            file = f
        } else {
            // A writer may have sealed it between the two attempts.
            file = try segments.open(sealed)
        }
        files[segment] = file
        return file
    }
}

extension Store {
    /// Rebuilds `index.sqlite` from the segments alone (taking the writer's lock), and returns what
    /// recovery found on the way.
    public static func reindex(_ path: String) throws(StoreError) -> RecoveryReport {
        let segments: DirectoryHandle?
        do {
            segments = try DirectoryHandle(path: path, trust: .owned).subdirectory(segmentsName)
        } catch where error.code == .notAStore {
            segments = nil
        }
        guard segments != nil else { throw StoreError(.notAStore, path: path, "not a rearview store (no segments/ directory)") }
        let writer = try StoreWriter(path: path, rebuildingIndex: true)
        try writer.close()
        return writer.recovery
    }
}

/// Each segment's ``IndexedSegment/importedNs``, read from the index once and again only for a
/// segment sealed since.
private final class SegmentImportTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [UInt64: Int64?] = [:]

    func importedNs(of segment: UInt64, in index: StoreIndex) throws(StoreError) -> Int64? {
        lock.lock()
        defer { lock.unlock() }
        if let known = times[segment] { return known }
        for s in try index.segments() where s.sealed || times[s.number] == nil { times[s.number] = s.importedNs }
        if times[segment] == nil { times[segment] = .some(nil) }
        return times[segment] ?? nil
    }
}
