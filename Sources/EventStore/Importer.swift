import EventModel
import Foundation

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

    public var rejected: Int { files.reduce(0) { $0 + $1.rejected.count } }
    public var failedFiles: Int { files.filter { $0.failure != nil }.count }
    /// True when every record of every file went in (or was already there).
    public var isClean: Bool { rejected == 0 && failedFiles == 0 }
}

/// Imports KubeArmor JSON files into a store: parse, order by time, drop what the store already
/// holds (as a multiset), append, seal. Malformed records are kept verbatim under `store/rejects/`.
public struct Importer {
    public var storePath: String
    public var options = WriterOptions()
    /// Parser threads per file.
    public var threads = 2
    /// Called with a short status line as work progresses (for a terminal's progress display).
    public var progress: ((String) -> Void)?
    /// Called once the new events are written and indexed, with the writer (still holding the
    /// store's lock) and those events in the order they were stored: for keeping derived tables
    /// (the process table) up to date without reading the blocks back. It keeps its own failures:
    /// the import has succeeded by then.
    public var afterAppend: ((StoreWriter, [Event]) -> Void)?

    public init(storePath: String) { self.storePath = storePath }

    public func run(files: [String]) throws(StoreError) -> ImportReport {
        var report = ImportReport()
        var events: [Event] = []
        for path in files {
            progress?("reading \(path)")
            var file = ImportedFile(path: path, records: 0, rejected: [], failure: nil)
            do {
                let bytes = try InputBytes.load(path: path)
                progress?("parsing \(path) (\(bytes.count / 1_000_000) MB)")
                let origin = path == "-" ? "<stdin>" : path
                let reader = KubeArmorJSONReader(bytes: bytes, origin: origin)
                try reader.read(threads: threads) { outcomes in
                    file.records += outcomes.count
                    for outcome in outcomes {
                        switch outcome {
                        case .success(let event): events.append(event)
                        case .failure(let rejection): file.rejected.append(rejection)
                        }
                    }
                }
            } catch let error as InputError {
                file.failure = error
            } catch {
                file.failure = InputError(origin: path, reason: .unreadable(detail: "\(error)"))
            }
            report.files.append(file)
        }
        progress?("ordering \(events.count) events")
        events = Self.timeOrdered(events)

        let writer = try StoreWriter(path: storePath, options: options)
        report.recovery = writer.recovery
        progress?("checking for records already stored")
        let (kept, duplicates) = try DuplicateFilter.removeStored(from: events, store: writer.store)
        events = []
        report.duplicates = duplicates
        progress?("writing \(kept.count) events")
        try writer.append(kept)
        try writer.flush()
        afterAppend?(writer, kept)
        try writer.close()
        report.imported = kept.count
        report.rejectFiles = try keepRejects(report.files)
        return report
    }

    /// Stable time order: records that arrive out of order (karmor pushes them concurrently) are sorted;
    /// records with equal times keep their input order.
    static func timeOrdered(_ events: [Event]) -> [Event] {
        var sorted = true
        for i in events.indices.dropFirst() where events[i].timeNs < events[i - 1].timeNs {
            sorted = false
            break
        }
        if sorted { return events }
        let order = events.indices.map { (time: events[$0].timeNs, index: $0) }.sorted { ($0.time, $0.index) < ($1.time, $1.index) }
        return order.map { events[$0.index] }
    }

    /// Writes each file's rejected records verbatim (one per line) to `rejects/<time>-<name>`, with the
    /// reasons beside them in `…​.reasons`.
    private func keepRejects(_ files: [ImportedFile]) throws(StoreError) -> [String] {
        var written: [String] = []
        let directory = storePath + "/rejects"
        let stamp = UnixTime.rfc3339Micro(Int64(Date().timeIntervalSince1970 * 1e9))
            .replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        for file in files where !file.rejected.isEmpty {
            let name = file.path == "-" ? "stdin" : (file.path as NSString).lastPathComponent
            let base = "\(directory)/\(stamp)-\(name)"
            var raw = Data()
            var reasons = ""
            for rejection in file.rejected {
                raw.append(contentsOf: rejection.raw)
                raw.append(10)
                reasons += rejection.description + "\n"
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try raw.write(to: URL(fileURLWithPath: base + ".rejected"))
                try Data(reasons.utf8).write(to: URL(fileURLWithPath: base + ".reasons"))
            } catch {
                throw StoreError(.io, path: base, "cannot keep rejected records: \(error.localizedDescription)")
            }
            written.append(base + ".rejected")
        }
        return written
    }
}
