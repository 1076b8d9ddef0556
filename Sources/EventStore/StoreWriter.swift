import Crypto
import Dispatch
import EventModel
import Foundation
import Glibc

/// How a writer lays events out: block and segment sizes.
public struct WriterOptions: Sendable {
    /// Events per block at most (a flush may write a smaller one).
    public var blockEvents = 8192
    /// A segment is sealed and a new one started once it reaches this size.
    public var maxSegmentBytes = 256 << 20
    /// Threads encoding blocks in parallel.
    public var threads = 2
    /// Signs each segment's hash as it is sealed (including segments recovery seals), and the chain
    /// head after each seal (``SignedChainHead``); nil: unsigned.
    public var signer: SegmentSigner?

    public init() {}
}

/// What opening a store for writing found and repaired.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    /// Open segments left by a killed writer, sealed now, with the torn bytes dropped from their tail.
    public var recovered: [(segment: String, keptBlocks: Int, droppedBytes: Int, reason: String?)] = []
    /// Blocks found in segments but missing from the index (a writer killed between the two), indexed now.
    public var reindexedBlocks = 0
    /// Blocks the index listed that their segment no longer holds (lost with a torn tail), removed from it.
    public var unindexedBlocks = 0
    /// Segments the retirement ledger lists that a killed writer had not finished removing, removed now.
    public var finishedRetirements = 0

    public var isEmpty: Bool { recovered.isEmpty && reindexedBlocks == 0 && unindexedBlocks == 0 && finishedRetirements == 0 }

    public var description: String {
        var lines: [String] = []
        for r in recovered {
            var line = "recovered \(r.segment): kept \(r.keptBlocks) complete block(s)"
            if r.droppedBytes > 0 { line += ", dropped \(r.droppedBytes) byte(s) of torn tail (\(r.reason ?? "incomplete"))" }
            lines.append(line)
        }
        if unindexedBlocks > 0 { lines.append("removed \(unindexedBlocks) block(s) from the index that their segment no longer holds") }
        if finishedRetirements > 0 { lines.append("finished retiring \(finishedRetirements) segment(s) a killed writer had entered in the retirement ledger") }
        if reindexedBlocks > 0 { lines.append("indexed \(reindexedBlocks) block(s) that a killed writer had not indexed") }
        return lines.joined(separator: "\n")
    }
}

/// Appends events to a store: the only writer at a time (it holds an exclusive `flock` on the store
/// directory).
///
/// Events are buffered into blocks; ``flush()`` makes everything appended so far durable (segment
/// bytes fsynced, then indexed). A killed writer loses at most what it had not flushed, and the next
/// writer to open the store recovers the rest.
///
/// A writer only uses a store directory the running user owns and nobody else can write (a new one
/// is made with mode 0700), and its files are created with mode 0600 under a umask of 077 (recorded
/// command lines carry secrets); see ``DirectoryHandle``.
public final class StoreWriter {
    public let store: Store
    public let options: WriterOptions
    /// What was repaired when the store was opened.
    public let recovery: RecoveryReport
    /// Sequence number the next appended event gets.
    public private(set) var nextSeq: UInt64
    /// Metadata JSON written into the footer of each segment this writer seals (e.g. drop counters).
    public var segmentMetadata: () -> String = { "{}" }
    /// Called with each run of events once it is written and indexed, in `Seq` order (the events
    /// as appended: their `seq` is not rewritten): for keeping derived state, such as the process
    /// table, up to date while events are stored.
    public var didWrite: ((ArraySlice<Event>) -> Void)?

    let storeID: [UInt8]
    /// Appended events not yet written, as the runs they came in (sharing the callers' buffers).
    private var pending: [ArraySlice<Event>] = []
    private var pendingCount = 0
    private var segment: OpenSegment?
    /// The number of the segment being written, if one is.
    var openSegmentNumber: UInt64? { segment?.number }
    private var lastSealedHash: [UInt8]
    private var lastSegmentNumber: UInt64
    /// Where the chain ends, as this writer's signed head says (with a signer).
    private var chainHead: ChainPosition?
    private var closed = false
    /// Set when a write failed (e.g. the disk is full): the open segment was cut back to what was
    /// flushed, so the store stays consistent, and this writer takes no more events.
    private var failure: StoreError?

    /// A segment being written.
    private final class OpenSegment {
        let number: UInt64
        let file: PosixFile
        let header: SegmentHeader
        var length: Int
        var blocks: [BlockLocation] = []
        var hasher = SHA256()
        /// The state the index holds (after the last flush); a failed write returns to it.
        private var flushed: (length: Int, blocks: Int, hasher: SHA256)

        init(number: UInt64, file: PosixFile, header: SegmentHeader, length: Int) {
            self.number = number
            self.file = file
            self.header = header
            self.length = length
            flushed = (length, 0, hasher)
        }

        func markFlushed() { flushed = (length, blocks.count, hasher) }

        /// Drops every byte written after the last flush (a partial block, an unindexed block, a footer).
        func rollBack() {
            try? file.truncate(to: flushed.length)
            try? file.sync()
            length = flushed.length
            blocks.removeLast(blocks.count - flushed.blocks)
            hasher = flushed.hasher
        }
    }

    /// Opens (creating if needed) the store at `path` for writing, recovering what a killed writer left.
    /// With `rebuildingIndex`, the index is deleted and rebuilt from the segments alone.
    public init(path: String, options: WriterOptions = WriterOptions(), rebuildingIndex: Bool = false) throws(StoreError) {
        self.options = options
        umask(0o077)
        let directory = try DirectoryHandle(path: path, trust: .owned, creating: true)
        guard directory.tryLock() else {
            throw StoreError(.locked, path: path, "another rearview process is writing to this store")
        }
        let index: StoreIndex
        do {
            let segments = try directory.makeSubdirectory(Store.segmentsName)
            if rebuildingIndex {
                for name in StoreIndex.fileNames { directory.remove(name) }
            }
            index = try StoreIndex(directory: directory, readOnly: false)
            store = Store(directory: directory, segments: segments, index: index)
        } catch {
            directory.unlock()
            throw error
        }
        do {
            if let id = try index.meta("store_id") {
                storeID = Self.bytes(hex: id)
            } else if let existing = try Self.segmentFiles(store).first {
                // The index was deleted: take the identity from the segments.
                let file = try store.segmentsDirectory.open(existing.name)
                storeID = try SegmentHeader.decode(try file.read(count: SegmentHeader.size, at: 0), path: file.path).storeID
                try index.setMeta("store_id", Self.hex(storeID))
            } else if let ledger = try RetirementLedger.read(store: store) {
                // Every segment was retired: the ledger keeps the identity.
                storeID = ledger.storeID
                try index.setMeta("store_id", Self.hex(storeID))
            } else {
                var id = [UInt8](repeating: 0, count: 16)
                for i in id.indices { id[i] = UInt8.random(in: 0...255) }
                storeID = id
                try index.setMeta("store_id", Self.hex(id))
            }
            var report = RecoveryReport()
            (lastSegmentNumber, lastSealedHash) = try Self.reconcile(store: store, index: index, signer: options.signer, report: &report)
            recovery = report
            if let signer = options.signer {
                chainHead = try SignedChainHead.keep(store: store, storeID: storeID, signer: signer)
            }
            let blocks = try index.blocks()
            let retired = try RetirementLedger.read(store: store)?.entries.map(\.nextSeq).max() ?? 1
            nextSeq = max(blocks.map { $0.location.firstSeq + UInt64($0.location.eventCount) }.max() ?? 1, retired)
        } catch {
            directory.unlock()
            throw error
        }
    }

    deinit {
        if !closed { try? close() }
    }

    // MARK: appending

    /// Appends events. They are written in full blocks as they accumulate; call ``flush()`` to make the
    /// remainder durable. Within each written block events are ordered by time.
    public func append(_ events: [Event]) throws(StoreError) { try append(events[...]) }

    /// Appends a run of events without copying it: blocks that lie within one run are encoded from
    /// the run itself (a copy of an ``Event`` costs a reference count per string).
    public func append(_ events: ArraySlice<Event>) throws(StoreError) {
        precondition(!closed, "append after close")
        if let failure { throw failure }
        guard !events.isEmpty else { return }
        pending.append(events)
        pendingCount += events.count
        let batch = options.blockEvents * max(1, options.threads) * 2
        if pendingCount >= batch {
            let full = pendingCount - pendingCount % options.blockEvents
            try stoppingOnFailure { () throws(StoreError) in try write(blocksFrom: full) }
        }
    }

    /// Writes every buffered event (possibly as a partial block), fsyncs the segment, and indexes it.
    public func flush() throws(StoreError) {
        if let failure { throw failure }
        try stoppingOnFailure { () throws(StoreError) in try write(blocksFrom: pendingCount) }
    }

    /// Flushes, seals the current segment and releases the store. After a failed write it only
    /// releases the store: the open segment holds what was flushed, and the next writer seals it.
    public func close() throws(StoreError) {
        guard !closed else { return }
        closed = true
        defer { store.directory.unlock() }
        if failure != nil { return }
        try stoppingOnFailure { () throws(StoreError) in
            try write(blocksFrom: pendingCount)
            try sealCurrent()
        }
    }

    /// Seals the current segment now (rotation by time); the next append starts a new one.
    public func rotate() throws(StoreError) {
        if let failure { throw failure }
        try stoppingOnFailure { () throws(StoreError) in
            try write(blocksFrom: pendingCount)
            try sealCurrent()
        }
    }

    /// Runs a write; if it fails, cuts the open segment back to what was flushed and stops the writer,
    /// so that a full disk or an I/O error leaves a store that opens and verifies.
    private func stoppingOnFailure(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        do {
            try body()
        } catch {
            segment?.rollBack()
            pending = []
            pendingCount = 0
            var stopped = error
            stopped.message += "; the store keeps every event flushed before this, the rest were not stored"
            failure = stopped
            throw stopped
        }
    }

    private func write(blocksFrom count: Int) throws(StoreError) {
        guard count > 0 else { return }
        let size = options.blockEvents
        let blocks = { () -> [ArraySlice<Event>] in
            let blocks = takeBlocks(count)
            // Time order inside each write; ties keep arrival order. Sequence numbers follow that order.
            if isSorted(blocks) { return blocks }
            let sorted = blocks.joined().enumerated().sorted { ($0.element.timeNs, $0.offset) < ($1.element.timeNs, $1.offset) }.map(\.element)
            return stride(from: 0, to: sorted.count, by: size).map { sorted[$0..<min($0 + size, sorted.count)] }
        }()
        // Numbered in that order: the blocks get their first numbers, the events are not rewritten
        // (which would copy every event the caller still holds).
        let firstSeq = nextSeq
        let encoded = [EncodedBlock](count: blocks.count, parallel: options.threads > 1) { i in
            BlockCodec.encode(blocks[i], firstSeq: firstSeq + UInt64(i * size))
        }
        nextSeq += UInt64(count)
        var indexed: [(location: BlockLocation, terms: [TermCount])] = []
        for block in encoded {
            let current = try currentSegment()
            let location = BlockLocation(offset: current.length, length: block.byteCount, eventCount: block.header.eventCount,
                                         minTimeNs: block.header.minTimeNs, maxTimeNs: block.header.maxTimeNs,
                                         firstSeq: block.header.firstSeq)
            let bytes = block.header.encoded() + block.payload
            try current.file.write(bytes, at: current.length)
            current.hasher.update(data: bytes)
            current.length += bytes.count
            current.blocks.append(location)
            indexed.append((location, block.terms))
            if current.length >= options.maxSegmentBytes {
                try current.file.sync()
                try store.index.add(blocks: indexed, segment: openRow(current))
                current.markFlushed()
                indexed = []
                try sealCurrent()
            }
        }
        if let current = segment, !indexed.isEmpty {
            try current.file.sync()
            try store.index.add(blocks: indexed, segment: openRow(current))
            current.markFlushed()
        }
        if let didWrite { for block in blocks { didWrite(block) } }
    }

    /// The first `count` pending events as blocks of ``WriterOptions/blockEvents`` (the last may be
    /// shorter), taken off `pending`. Only a block that straddles two runs is copied together.
    private func takeBlocks(_ count: Int) -> [ArraySlice<Event>] {
        var blocks: [ArraySlice<Event>] = []
        var left = count
        pendingCount -= count
        while left > 0 {
            let size = min(options.blockEvents, left)
            left -= size
            if pending[0].count >= size {
                blocks.append(takePending(size))
            } else {
                var block: [Event] = []
                block.reserveCapacity(size)
                while block.count < size { block += takePending(min(size - block.count, pending[0].count)) }
                blocks.append(block[...])
            }
        }
        return blocks
    }

    /// The first `n` events of the first pending run (which holds at least `n`).
    private func takePending(_ n: Int) -> ArraySlice<Event> {
        let run = pending[0]
        let taken = run.prefix(n)
        if n == run.count { pending.removeFirst() } else { pending[0] = run.dropFirst(n) }
        return taken
    }

    private func isSorted(_ blocks: [ArraySlice<Event>]) -> Bool {
        var previous = Int64.min
        for block in blocks {
            for i in block.indices {
                if block[i].timeNs < previous { return false }
                previous = block[i].timeNs
            }
        }
        return true
    }

    private func openRow(_ s: OpenSegment) -> IndexedSegment {
        IndexedSegment(number: s.number, sealed: false, hash: nil, previousHash: s.header.previousHash,
                       bytes: s.length, metadata: "{}")
    }

    private func currentSegment() throws(StoreError) -> OpenSegment {
        if let segment { return segment }
        let number = lastSegmentNumber + 1
        // Created whole under a temporary name: a writer killed meanwhile leaves no headless segment.
        let name = SegmentFile.name(number: number, sealed: false)
        let (temporary, file) = try store.segmentsDirectory.createTemporary(for: name, flags: O_RDWR)
        let header = SegmentHeader(storeID: storeID, number: number, previousHash: lastSealedHash)
        let bytes = header.encoded()
        do {
            try file.write(bytes, at: 0)
            try file.sync()
            try store.segmentsDirectory.rename(temporary, to: name)
        } catch {
            store.segmentsDirectory.remove(temporary)
            throw error
        }
        try store.segmentsDirectory.sync()
        let s = OpenSegment(number: number, file: file, header: header, length: bytes.count)
        s.hasher.update(data: bytes)
        s.markFlushed()
        segment = s
        lastSegmentNumber = number
        return s
    }

    private func sealCurrent() throws(StoreError) {
        guard let current = segment else { return }
        if current.blocks.isEmpty {
            // Nothing was written: no segment at all.
            segment = nil
            store.segmentsDirectory.remove(SegmentFile.name(number: current.number, sealed: false))
            lastSegmentNumber = current.number - 1
            return
        }
        // Until the rename the segment is still open: a failure rolls the footer back (see stoppingOnFailure).
        let hash = try Self.seal(file: current.file, blocks: current.blocks, length: current.length,
                                 hasher: current.hasher, metadata: segmentMetadata())
        try Self.sign(store: store, number: current.number, hash: hash, signer: options.signer)
        segment = nil
        try Self.finishSeal(store: store, number: current.number, header: current.header, hash: hash,
                            bytes: try current.file.size(), metadata: segmentMetadata())
        lastSealedHash = hash
        if let signer = options.signer, let chain = chainHead {
            let position = chain.advanced(to: current.number, hash: hash, blocks: current.blocks)
            try signer.writeHead(store: store, storeID: storeID, position: position)
            chainHead = position
        }
    }

    /// Writes the footer and trailer after `length` bytes and fsyncs; returns the segment hash.
    private static func seal(file: PosixFile, blocks: [BlockLocation], length: Int, hasher: SHA256,
                             metadata: String) throws(StoreError) -> [UInt8] {
        var hasher = hasher
        let body = SegmentFooter(blocks: blocks, metadata: Array(metadata.utf8)).encodedBody(footerOffset: length)
        hasher.update(data: body)
        let hash = Array(hasher.finalize())
        try file.truncate(to: length)
        try file.write(body + hash + SegmentFooter.trailerMagic, at: length)
        try file.sync()
        return hash
    }

    /// Writes the segment's signature (with a signer). Done before ``finishSeal`` renames the segment,
    /// so a sealed segment of a signing writer never lacks its signature.
    private static func sign(store: Store, number: UInt64, hash: [UInt8], signer: SegmentSigner?) throws(StoreError) {
        guard let signer else { return }
        try signer.signature(forSegmentHash: hash).write(store: store, segment: number)
    }

    /// Renames a sealed `.open` file to its final name and records it in the index.
    private static func finishSeal(store: Store, number: UInt64, header: SegmentHeader, hash: [UInt8],
                                   bytes: Int, metadata: String) throws(StoreError) {
        try store.segmentsDirectory.rename(SegmentFile.name(number: number, sealed: false), to: SegmentFile.name(number: number, sealed: true))
        try store.segmentsDirectory.sync()
        try store.index.upsertSegment(IndexedSegment(number: number, sealed: true, hash: hash, previousHash: header.previousHash,
                                                     bytes: bytes, metadata: metadata))
    }

    // MARK: recovery

    struct SegmentName {
        var number: UInt64
        var name: String
        var sealed: Bool
    }

    static func segmentFiles(_ store: Store) throws(StoreError) -> [SegmentName] {
        try store.segmentsDirectory.names().compactMap { name -> SegmentName? in
            let sealed = name.hasSuffix(SegmentFile.sealedSuffix)
            guard sealed || name.hasSuffix(SegmentFile.openSuffix), let number = UInt64(name.prefix { $0.isNumber }) else { return nil }
            return SegmentName(number: number, name: name, sealed: sealed)
        }.sorted { $0.number < $1.number }
    }

    /// Makes the index agree with the segment files: finishes a retirement a killed writer left
    /// undone, seals open segments left by a killed writer (dropping their torn tails) and indexes
    /// blocks the index lacks. Returns the last segment number and hash (a retired one's, when the
    /// newest segments were retired).
    static func reconcile(store: Store, index: StoreIndex, signer: SegmentSigner?,
                          report: inout RecoveryReport) throws(StoreError) -> (UInt64, [UInt8]) {
        // What a killed writer was writing under a temporary name (a new segment, a signature, the
        // ledger, the pins) never took its place: drop it.
        for name in try store.segmentsDirectory.names() where name.contains(".tmp-") { store.segmentsDirectory.remove(name) }
        let ledger = try RetirementLedger.read(store: store)
        let retired = Set(ledger?.entries.map(\.number) ?? [])
        let filesBefore = try segmentFiles(store)
        let unfinished = Set(try index.segments().map(\.number) + filesBefore.map(\.number)).intersection(retired)
        try finishRetirement(store: store, segments: unfinished.sorted())
        report.finishedRetirements = unfinished.count
        let known = Dictionary(uniqueKeysWithValues: try index.segments().map { ($0.number, $0) })
        let allIndexed = try index.blocks()
        let indexedBlocks = Set(allIndexed.map { "\($0.segment)/\($0.location.offset)" })
        var lastNumber: UInt64 = ledger?.entries.last?.number ?? 0
        var lastHash = ledger?.entries.last?.hash ?? [UInt8](repeating: 0, count: 32)
        for entry in try segmentFiles(store) {
            let contents: SegmentContents
            if entry.sealed {
                contents = try SegmentFile.readSealed(try store.segmentsDirectory.open(entry.name))
            } else {
                let file = try store.segmentsDirectory.open(entry.name, flags: O_RDWR)
                let scanned = try SegmentFile.scanOpen(file)
                try file.truncate(to: scanned.validLength)
                let hash: [UInt8]
                do {
                    hash = try seal(file: file, blocks: scanned.blocks, length: scanned.validLength,
                                    hasher: try SegmentFile.hasher(file, length: scanned.validLength), metadata: "{}")
                    try sign(store: store, number: entry.number, hash: hash, signer: signer)
                } catch {
                    // No room for the footer (or the signature): leave the segment open and without a torn tail.
                    try? file.truncate(to: scanned.validLength)
                    throw error
                }
                report.recovered.append((entry.name, scanned.blocks.count, scanned.fileLength - scanned.validLength,
                                         scanned.tornTailReason))
                contents = SegmentContents(header: scanned.header, blocks: scanned.blocks, sealedHash: hash, metadata: Array("{}".utf8),
                                           validLength: scanned.validLength, fileLength: scanned.fileLength, tornTailReason: nil)
                try finishSeal(store: store, number: entry.number, header: scanned.header, hash: hash,
                               bytes: try file.size(), metadata: "{}")
            }
            let present = Set(contents.blocks)
            let vanished = allIndexed.filter { $0.segment == entry.number && !present.contains($0.location) }
            try index.remove(blocks: vanished.map(\.id))
            report.unindexedBlocks += vanished.count
            let missing = contents.blocks.filter { !indexedBlocks.contains("\(entry.number)/\($0.offset)") }
            // Also when the index still lists a sealed segment as open (a writer stopped between rename and index).
            if !missing.isEmpty || known[entry.number]?.hash != contents.sealedHash {
                let file = try store.segmentsDirectory.open(SegmentFile.name(number: entry.number, sealed: true))
                var additions: [(location: BlockLocation, terms: [TermCount])] = []
                for location in missing {
                    let events = try SegmentFile.readBlock(file, location)
                    additions.append((location, BlockCodec.terms(of: events)))
                }
                report.reindexedBlocks += entry.sealed ? missing.count : 0
                let metadata = String(decoding: contents.metadata, as: UTF8.self)
                try index.add(blocks: additions,
                              segment: IndexedSegment(number: entry.number, sealed: true, hash: contents.sealedHash,
                                                      previousHash: contents.header.previousHash, bytes: try file.size(),
                                                      metadata: metadata.isEmpty ? "{}" : metadata))
            }
            if entry.number > lastNumber {
                lastNumber = entry.number
                lastHash = contents.sealedHash ?? lastHash
            }
        }
        return (lastNumber, lastHash)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex, let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex) {
            out.append(UInt8(hex[i..<j], radix: 16) ?? 0)
            i = j
        }
        return out
    }
}
