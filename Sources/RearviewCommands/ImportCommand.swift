import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation

/// `rearview import`: KubeArmor JSON into the store.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import KubeArmor alerts and logs (JSON) into the store.",
        discussion: """
            Accepts what `karmor logs --json` prints (one object per line), JSON arrays, streams of \
            pretty-printed objects, the form the AccuKnox alerts page shows (one "Key":value per line), \
            and the KubeArmor daemon's own camelCase log lines; gzip- or LZ4-compressed or not; `-` reads stdin. \
            Records are ordered by time. Importing a file again, or one that overlaps an earlier import, adds \
            no copies; a record that occurs k times in one input is kept k times. Malformed records are \
            reported as FILE:LINE: reason, kept verbatim under STORE/rejects/, and counted. \
            Inputs stream: files, stdin and compressed input are read in chunks, and beyond a million parsed \
            records sorted runs are spilled to STORE/tmp-import-PID/ (removed afterwards) and merged, so memory \
            does not grow with the input. A file damaged part way (a cut gzip or LZ4 stream, a read error) keeps \
            every complete record before the damage, as `zcat FILE | rearview import -` would: the record \
            the cut splits is rejected, and one line names the damage and its compressed byte offset (exit 2). \
            The store is used only when the running user owns it and nobody else can write it (a new one \
            is made mode 0700, its files 0600); links in it are never followed. \
            Compressed input is refused as a decompression bomb (FILE: decompressed size exceeds N times the compressed size, exit 2) \
            once it expands more than --max-ratio times what was read of it (checked beyond 64 MiB of output; \
            KubeArmor NDJSON compresses about 17-50x) or beyond --max-decompressed in all; the records of \
            the 32 MiB chunks before that point are kept. \
            Exit 0 when every record was imported, 2 when some were rejected.

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, "2 a record was rejected or a file unreadable (every good record is stored, each rejection is a line on stderr), or bad usage", ExitStatusHelp.damaged))
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var signing: SigningOptions

    @Argument(help: ArgumentHelp("KubeArmor JSON files, or - for standard input.", valueName: "file"))
    var files: [String]

    @Option(help: "Events per block.")
    var blockEvents = WriterOptions().blockEvents

    @Option(help: ArgumentHelp("Seal the segment and start a new one at this size (e.g. 64M).", valueName: "size"))
    var segmentSize = "256M"

    @Option(help: ArgumentHelp("Refuse compressed input that expands more than this many times (past 64 MiB).", valueName: "n"))
    var maxRatio = DecompressionLimits().maxRatio

    @Option(help: ArgumentHelp("Refuse compressed input that expands beyond this size (e.g. 64G).", valueName: "size"))
    var maxDecompressed = "16G"

    /// How many rejected records to list on stderr before summarising the rest.
    static let rejectionsShown = 20

    /// What to do about a refusal the options can lift.
    private static func hint(_ failure: InputError) -> String {
        switch failure.reason {
        case .decompressedSizeExceedsRatio, .decompressedSizeExceedsLimit: " (--max-ratio and --max-decompressed raise the limits)"
        default: ""
        }
    }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file, or - for standard input") }
        guard blockEvents > 0 && blockEvents <= 1 << 20 else { throw ValidationError("--block-events must be 1…1048576") }
        guard maxRatio > 0 else { throw ValidationError("--max-ratio must be positive") }
    }

    func run() throws {
        try reportingFailures {
            let started = Date()
            var importer = Importer(storePath: storeOptions.path)
            importer.options.blockEvents = blockEvents
            importer.options.maxSegmentBytes = try QuantityArgument.bytes(segmentSize, option: "--segment-size")
            importer.options.signer = try signing.signer()
            importer.decompression = DecompressionLimits(
                maxRatio: maxRatio, maxBytes: try QuantityArgument.bytes(maxDecompressed, option: "--max-decompressed"))
            importer.progress = { Terminal.progress($0) }
            var processes: Result<ProcessTableUpdate, any Error>?
            var follower: ProcessTableFollower?
            defer { follower?.stop() }
            importer.beforeAppend = { follower = ProcessTableFollower($0) }
            importer.afterAppend = { writer in
                Terminal.progress("updating the process table")
                processes = Result { try follower.map { try $0.finish() } ?? StoredProcessTable.update(writer) }
            }
            let report = try importer.run(files: files)
            Terminal.endProgress()
            if !report.recovery.isEmpty { Terminal.error(report.recovery.description) }
            var shown = 0
            for file in report.files {
                if let failure = file.failure {
                    let kept = file.records > 0 ? "; \(file.records) record(s) were read before it (one it cut is rejected below)" : ""
                    Terminal.error("rearview: \(failure)\(kept)\(Self.hint(failure))")
                }
                for rejection in file.rejected where shown < Self.rejectionsShown {
                    Terminal.error(rejection.description)
                    shown += 1
                }
            }
            if report.rejected > shown { Terminal.error("… and \(report.rejected - shown) more rejected record(s)") }
            let seconds = Date().timeIntervalSince(started)
            var summary = "imported \(report.imported) event(s) from \(report.files.count) file(s) into \(storeOptions.path)"
            summary += " (\(report.duplicates) already stored, \(report.rejected) rejected"
            if report.failedFiles > 0 { summary += ", \(report.failedFiles) file(s) unreadable or damaged part way" }
            summary += String(format: ") in %.2f s", seconds)
            Terminal.error(summary)
            switch processes {
            case .success(let outcome)?: Terminal.error(outcome.description)
            case .failure(let error)?: Terminal.error("rearview: process table not updated (readers build it; `reindex` stores it): \(error)")
            case nil: break
            }
            for path in report.rejectFiles { Terminal.error("rejected records kept in \(path)") }
            if !report.isClean { throw ExitCode(2) }
        }
    }
}
