import ArgumentParser
import EventModel
import EventStore
import Investigation

/// `rearview prune`: retire the oldest sealed segments of a store that is not recording, by the
/// rules `record --retain`/`--max-size` apply while recording.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Retire a store's oldest sealed segments: those before a time, or beyond a disk budget.",
        discussion: """
            Weighs the sealed segments oldest first and retires each one whose events all lie before \
            --before, or while the store's files take more than --keep-size; it stops at the first \
            segment it keeps, so what is left is the newest part of the history. Retired segments are \
            deleted after their hashes are entered in the retirement ledger (segments/retired.ledger), \
            and the index is compacted after, so \
            `verify` still proves the rest of the chain and reports what was retired, when and why. \
            A signed store needs --sign-key, which signs the ledger. --dry-run prints what would be \
            retired and changes nothing. Takes the writer's lock: a store being recorded is pruned by \
            its recorder (`record --retain`, `--max-size`).

            --before takes the times of `query --until`: an RFC 3339 time, a date, unix seconds, a \
            duration before the newest stored event (7d), or now-DURATION (before the clock).

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage, ExitStatusHelp.damaged))
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: ArgumentHelp("Retire sealed segments whose events are all before this time.", valueName: "time"))
    var before: String?

    @Option(help: ArgumentHelp("Retire the oldest sealed segments until the store's files take at most this (e.g. 500M, 2G).", valueName: "size"))
    var keepSize: String?

    @Flag(help: "Print what would be retired; change nothing.")
    var dryRun = false

    func validate() throws {
        if before == nil && keepSize == nil { throw ValidationError("give --before TIME, --keep-size SIZE, or both") }
    }

    func run() throws {
        try reportingFailures {
            let maxBytes = try keepSize.map { try QuantityArgument.bytes($0, option: "--keep-size") }
            var options = WriterOptions()
            options.signer = try signing.signer()
            let writer = try StoreWriter(path: storeOptions.path, options: options)
            defer { try? writer.close() }
            if !writer.recovery.isEmpty { Terminal.error(writer.recovery.description) }
            let newest = try writer.store.blocks().map(\.location.maxTimeNs).max() ?? UnixTime.nowNs()
            let beforeNs: Int64?
            do {
                beforeNs = try before.map { (text) throws(TimeArgumentError) in try TimeArgument.parse(text, relativeTo: newest) }
            } catch {
                throw CommandFailure("--before: \(error)", exitCode: 2)
            }
            let rule = RetentionRule(before: beforeNs, maxBytes: maxBytes, pruning: true)
            let now = UnixTime.nowNs()
            let retirement = dryRun ? try writer.retirementPlan(rule, now: now) : try writer.retire(rule, now: now)
            let retired = retirement.retired
            if !dryRun, !retired.isEmpty { try writer.compactIndex() }
            for pin in retirement.releasedPins {
                Terminal.error("WARNING: pinned segments alone exceed --keep-size: \(dryRun ? "would release" : "released") the pin \(pin.description)")
            }
            let out = StandardOutput()
            for segment in retired {
                out.line("\(dryRun ? "would retire" : "retired") segment \(segment.number): \(segment.events) event(s) "
                         + "\(UnixTime.rfc3339Micro(segment.firstTimeNs)) .. \(UnixTime.rfc3339Micro(segment.lastTimeNs)), \(segment.bytes) bytes (\(segment.reason))")
            }
            out.flush()
            try writer.close()
            let left = try Store.open(storeOptions.path).summary()
            Terminal.error("\(dryRun ? "would retire" : "retired") \(retired.count) segment(s) of \(retired.reduce(0) { $0 + $1.events }) event(s); "
                           + "\(dryRun ? "the store holds" : "left") \(left.events) event(s) in \(left.segments) segment(s)")
            if !dryRun, !retired.isEmpty {
                Terminal.error(try StoredProcessTable.update(storePath: storeOptions.path).description)
            }
        }
    }
}
