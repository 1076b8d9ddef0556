import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation

/// `rearview timeline`: events in time order with their process lineage, optionally paced or followed.
struct TimelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Events in time order with process lineage; replay them at their pace, or follow a live store.",
        discussion: """
            Selects events like `query` (a filter expression and the same flags, merged in time order \
            across every --store) and prints one line per event: time, host, the process lineage from \
            the store's process table (sshd › bash › curl(4242), the nearest four names), operation, \
            resource, result, and for alerts `!! Action PolicyName (severity N)`, in red for blocks and \
            yellow otherwise when standard output is a terminal. Strings from events are escaped, so \
            a hostile process name cannot forge lines or terminal escapes. A damaged block is left out             as `query` leaves it out (a DAMAGED line on stderr, exit 3 after the intact blocks).

            \(AroundOptions.discussion)

            --replay paces the lines like the original: each event waits the gap since the previous \
            one, divided by --speed (10 = ten times faster) and capped by --max-gap, on one schedule \
            so time spent printing is absorbed.

            --follow keeps printing as a live `record` (or an `import`) appends: after the history it \
            polls the stores' indexes every --poll-interval for new blocks and prints their matching \
            events, in time order within each poll; stop it with Ctrl-C.

            Examples:
              rearview timeline --pod wordpress --since 10m
              rearview timeline 'HostPID in (9924, 9934, 9939)'
              rearview timeline --around 9939 --window 1m
              rearview timeline --type alert --replay --speed 10 --max-gap 2s
              rearview timeline --store /var/lib/rearview --follow --operation Process

            Where the store does not cover the time (see `info`: KubeArmor's alert throttling, retired \
            segments, recorder drops), a line `-- coverage: …` says so before the first event after \
            the hole begins.

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage, ExitStatusHelp.blocksLeftOut))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policyName: PolicyNameOption
    @OptionGroup var incident: AroundOptions

    @Option(help: ArgumentHelp("Print at most this many events (with --follow: then stop).", valueName: "n"))
    var limit: Int?

    @Flag(help: "Pace the output by the gaps between the events.")
    var replay = false

    @Option(help: ArgumentHelp("With --replay: this many times faster than the original.", valueName: "factor"))
    var speed: Double = 1

    @Option(help: ArgumentHelp("With --replay: wait at most this long between two events (e.g. 2s, 500ms).", valueName: "duration"))
    var maxGap: String?

    @Flag(help: "After the history, keep printing events as the stores grow.")
    var follow = false

    @Option(help: ArgumentHelp("With --follow: how often to look for new blocks.", valueName: "duration"))
    var pollInterval = "1s"

    func validate() throws {
        guard speed > 0 && speed.isFinite else { throw ValidationError("--speed must be a positive number") }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() throws {
        try reportingFailures {
            let maxGapNs = try maxGap.map { Int64(try QuantityArgument.seconds($0, option: "--max-gap") * 1e9) }
            let pollSeconds = try QuantityArgument.seconds(pollInterval, option: "--poll-interval")
            let opened = try stores.open()
            let lastEventNs = try SelectionOptions.lastEventNs(opened)
            let selected = try selection.filter(stores: opened, policyName: policyName.policyName)
            let tables = try opened.map { try StoredProcessTable(store: $0) }
            let scope = try incident.around == nil ? nil : incident.scope(
                table: ProcessInstanceTable.merging(try tables.map { try $0.table() }), lastEventNs: lastEventNs,
                hostPattern: selection.host)
            let filter = scope.map { EventFilter(.and([selected.expression, $0.filter.expression])) } ?? selected
            // Following needs builders that can take new blocks; a single pass only the tables.
            var lineage = follow ? try FollowedProcessTables(tables) : nil
            // Blocks indexed from here on are either in the plan or printed by --follow, never both.
            var seen = try opened.map { Set(try $0.blocks().map(\.id)) }
            var plan = try QueryPlan(stores: opened, filter: filter)
            let damaged = DamagedBlocks()
            plan.damaged = damaged
            for source in plan.sources {
                if let n = opened.firstIndex(where: { $0 === source.store }) { seen[n].insert(source.block.id) }
            }
            try lineage?.catchUp()
            let out = StandardOutput()
            let table = try lineage?.table ?? ProcessInstanceTable.merging(tables.map { try $0.table() })
            var printer = TimelinePrinter(table: table, out: out,
                                          pacer: replay ? TimelinePacer(speed: speed, maxGapNs: maxGapNs, clock: MonotonicReplayClock()) : nil,
                                          holes: try opened.flatMap { try CoverageHole.holes(in: $0) }.sorted { $0.fromNs < $1.fromNs })
            var remaining = limit ?? .max
            if remaining > 0 {
                try plan.scan(filter: filter) { event in
                    printer.print(event)
                    remaining -= 1
                    return remaining > 0
                }
            }
            out.flush()
            try damaged.failIfAnyWasLeftOut()
            guard var lineage, remaining > 0 else { return }
            var watch = NewBlockWatch(stores: opened, seen: seen)
            while true {
                Thread.sleep(forTimeInterval: pollSeconds)
                let sources = try watch.poll()
                guard !sources.isEmpty else { continue }
                if try lineage.catchUp() { printer.table = lineage.table }
                var scan = BatchScan(sources)
                scan.select = { filter.select(in: $0) }
                try scan.events { event in
                    printer.print(event)
                    remaining -= 1
                    return remaining > 0
                }
                out.flush()
                if remaining == 0 { return }
            }
        }
    }
}

/// Writes timeline lines, paced when replaying, with a line for each coverage hole where it begins
/// (or, for one that began earlier, before the first event it reaches).
private struct TimelinePrinter {
    var table: ProcessInstanceTable {
        didSet { formatter = TimelineFormatter(table: table, colour: formatter.colour) }
    }
    let out: StandardOutput
    var pacer: TimelinePacer<MonotonicReplayClock>?
    private var formatter: TimelineFormatter
    /// Holes not printed yet, by start.
    private var holes: ArraySlice<CoverageHole>
    private var previousNs = Int64.min

    init(table: ProcessInstanceTable, out: StandardOutput, pacer: TimelinePacer<MonotonicReplayClock>?, holes: [CoverageHole]) {
        self.table = table
        self.out = out
        self.pacer = pacer
        self.holes = holes[...]
        formatter = TimelineFormatter(table: table, colour: isatty(1) != 0)
    }

    mutating func print(_ event: borrowing Event) {
        while let hole = holes.first, hole.fromNs < event.timeNs {
            holes.removeFirst()
            if hole.toNs >= previousNs { out.line("-- coverage: \(hole)") }
        }
        previousNs = event.timeNs
        if pacer != nil {
            pacer!.waitForEvent(at: event.timeNs)
            out.line(formatter.line(for: event))
            out.flush()
        } else {
            out.line(formatter.line(for: event))
        }
    }
}
