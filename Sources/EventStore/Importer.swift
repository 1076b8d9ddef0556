import EventModel
import Foundation
import Glibc

/// What one input file contributed to an import.
public struct ImportedFile: Sendable {
    public var path: String
    /// Records read (accepted and rejected).
    public var records: Int
    public var rejected: [RejectedRecord]
    /// A problem with the file as a whole (unreadable, empty, not decompressible), if any.
    public var failure: InputError?
}

/// The outcome of `rearview import`.
public struct ImportReport: Sendable {
    public var files: [ImportedFile] = []
    /// Events added to the store.
    public var imported = 0
    /// Records the store already held (re-imports and overlapping imports add no copies).
    public var duplicates = 0
    /// Where rejected records were kept verbatim, one file per input that had any.
    public var rejectFiles: [String] = []
    public var recovery = RecoveryReport()
    /// Sorted runs spilled to disk because the input held more than ``Importer/spillEvents`` events
    /// (0 when it fit in memory).
    public var spilledRuns = 0

    public var rejected: Int { files.reduce(0) { $0 + $1.rejected.count } }
    public var failedFiles: Int { files.filter { $0.failure != nil }.count }
    /// True when every record of every file went in (or was already there).
    public var isClean: Bool { rejected == 0 && failedFiles == 0 }
}

/// Imports KubeArmor JSON files into a store: parse, order by time, drop what the store already
/// holds (as a multiset), append, seal. Malformed records are kept verbatim under `store/rejects/`.
///
/// Memory stays bounded however large the input: files (and stdin) are read and decompressed in
/// chunks (``KubeArmorInputReader``), at most ``spillEvents`` parsed events are held for ordering
/// (beyond, sorted runs are spilled to `STORE/tmp-import-<pid>/` and merged at the end), and the store
/// is checked for copies one window of time at a time. The store that results is the same as if all
/// input had been sorted and appended at once.
public struct Importer {
    public var storePath: String
    public var options = WriterOptions()
    /// Parser threads per file.
    public var threads = 2
    /// Decompressed bytes parsed at a time (of one-object-per-line input; other forms are read whole).
    public var chunkBytes = 32 << 20
    /// How far a compressed input may expand before it is refused as a decompression bomb.
    public var decompression = DecompressionLimits()
    /// Parsed events held in memory for ordering before a sorted run is spilled to disk.
    public var spillEvents = 1_000_000
    /// Events compared with the store at a time (a window holds at least this many, and ends only
    /// between different times).
    public var windowEvents = 1 << 16
    /// Called with a short status line as work progresses (for a terminal's progress display).
    public var progress: ((String) -> Void)?
    /// Called with the writer before the first event is appended: for following what it writes
    /// (``StoreWriter/didWrite``).
    public var beforeAppend: ((StoreWriter) -> Void)?
    /// Called once the new events are written and indexed, with the writer (still holding the
    /// store's lock): for keeping derived tables (the process table) up to date from the new blocks.
    /// It keeps its own failures: the import has succeeded by then.
    public var afterAppend: ((StoreWriter) -> Void)?

    public init(storePath: String) { self.storePath = storePath }

    public func run(files: [String]) throws(StoreError) -> ImportReport {
        var report = ImportReport()
        let writer = try StoreWriter(path: storePath, options: options)
        let importedNs = UnixTime.nowNs()
        writer.segmentMetadata = { "{\"\(IndexedSegment.importedKey)\":\(importedNs)}" }
        report.recovery = writer.recovery
        // The writer's lock is held: any spill directory left in the store is a killed import's.
        ImportSpillDirectory.removeLeftovers(store: writer.store.directory)
        let spill = ImportSpillDirectory(store: writer.store.directory)
        defer { spill.remove() }
        var sorter = SpillingEventSorter(spillEvents: spillEvents, directory: spill, blockEvents: options.blockEvents,
                                         threads: threads)
        for path in files { report.files.append(try read(path, into: &sorter)) }
        report.spilledRuns = sorter.runs
        let total = sorter.count
        progress?(sorter.runs == 0 ? "ordering \(total) events" : "merging \(total) events from \(sorter.runs) sorted runs")
        beforeAppend?(writer)
        var appender = ImportAppender(writer: writer, windowEvents: windowEvents)
        var merged = 0
        try sorter.drain { (batch) throws(StoreError) in
            try appender.add(batch)
            merged += batch.count
            if merged % (1 << 20) < batch.count { progress?("writing: \(merged) of \(total) events checked and stored") }
        }
        try appender.finish()
        try writer.flush()
        spill.remove()
        afterAppend?(writer)
        try writer.close()
        report.imported = appender.appended
        report.duplicates = appender.duplicates
        report.rejectFiles = try keepRejects(report.files, in: writer.store.directory)
        return report
    }

    /// Reads one input into `sorter`. A file that fails part way (damaged compression, a read error)
    /// keeps the records read before the damage, and reports the failure.
    private func read(_ path: String, into sorter: inout SpillingEventSorter) throws(StoreError) -> ImportedFile {
        var file = ImportedFile(path: path, records: 0, rejected: [], failure: nil)
        var reader = KubeArmorInputReader(path: path)
        reader.chunkBytes = chunkBytes
        reader.threads = threads
        reader.limits = decompression
        progress?("reading \(path)")
        do {
            try reader.read(progress: { bytes, records in
                progress?("reading \(path): \(bytes / 1_000_000) MB, \(records) records")
            }) { outcomes in
                file.records += outcomes.count
                for outcome in outcomes {
                    switch outcome {
                    case .success(let event): try sorter.add(event)
                    case .failure(let rejection): file.rejected.append(rejection)
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as InputError {
            file.failure = error
        } catch {
            file.failure = InputError(origin: path, reason: .unreadable(detail: "\(error)"))
        }
        return file
    }

    /// Writes each file's rejected records verbatim (one per line) to `rejects/<time>-<name>.rejected`,
    /// with the reasons beside them in `….reasons` (new files, mode 0600; a second input of the same
    /// name gets `-2`, and so on).
    private func keepRejects(_ files: [ImportedFile], in store: DirectoryHandle) throws(StoreError) -> [String] {
        var written: [String] = []
        var rejects: DirectoryHandle?
        let stamp = UnixTime.rfc3339Micro(UnixTime.nowNs())
            .replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        for file in files where !file.rejected.isEmpty {
            let directory: DirectoryHandle
            if let rejects { directory = rejects } else { directory = try store.makeSubdirectory("rejects") }
            rejects = directory
            let name = "\(stamp)-" + (file.path == "-" ? "stdin" : (file.path as NSString).lastPathComponent)
            var raw: [UInt8] = []
            var reasons = ""
            for rejection in file.rejected {
                raw.append(contentsOf: rejection.raw)
                raw.append(10)
                reasons += rejection.description + "\n"
            }
            var base = name
            var copy = 1
            while try directory.status(base + ".rejected") != nil {
                copy += 1
                base = "\(name)-\(copy)"
            }
            try directory.create(base + ".rejected", flags: O_WRONLY).write(raw, at: 0)
            try directory.create(base + ".reasons", flags: O_WRONLY).write(Array(reasons.utf8), at: 0)
            written.append(directory.pathOf(base + ".rejected"))
        }
        return written
    }
}
