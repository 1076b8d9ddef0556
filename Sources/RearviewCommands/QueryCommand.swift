import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation
import Reports

/// `rearview query`: filter events over history.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Find events: a filter expression and karmor-style flags over one or more stores.",
        discussion: """
            EXPRESSION is a filter over any field, with KubeArmor's field names (case-insensitive), \
            rearview's TimeNs and Seq, or an imported record's extra field: \
            =, !=, <, <=, >, >= (numbers, Severity as a number, strings otherwise), \
            ~ (PCRE2 regex, unanchored), glob, in (a, b), contains, startswith, has (one item of a \
            comma-separated field such as Labels), exists, and, or, not, parentheses. Values are bare \
            words or quoted with '…' or "…". A syntax error shows the expression with a caret, exit 2, \
            and so does a field no stored record has (with the closest name: "did you mean \
            NamespaceName?"). = is exact and case-sensitive: an =/in value of Operation, Type, Action, \
            Result or Enforcer that no stored event has gets a note on stderr with the closest stored \
            value (Result and Enforcer when nothing matched).

            The flags read like `karmor logs`: unanchored regular expressions, case-insensitive for \
            --namespace, --type, --operation, --container and --pod, case-sensitive for --source and \
            --resource; --labels k=v must match one label exactly. They AND with the expression. \
            --since is inclusive, --until exclusive; both take RFC 3339, unix seconds, a duration \
            before the newest stored event (2h, 30m), or now-DURATION (before the clock); a relative \
            time prints the time it resolved to on stderr.

            Results come in time order (Seq breaks ties), merged across every --store. Indexed fields \
            (HostName, Operation, Type, PolicyName, ContainerID, PodName, NamespaceName, ProcessName, \
            HostPID) and time narrow the blocks read before any decompression; --explain shows how. \
            --count, and --group-by on one indexed field, take the index's per-block counts where they \
            decide a block (no filter, or only conditions on indexed fields and a --since/--until window \
            holding the whole block), without decompressing it; the result is the same.

            A block that does not read back intact (a flipped byte, a cut file) is left out and the scan             goes on: every intact block is printed, each damaged one is a DAMAGED line on stderr with the             Seq and time range of the events it held, and the exit status is 3. Counts answered from the             index still include a damaged block's events, as the index recorded them.

            CSV cells that a spreadsheet would run as formulas (starting with =, +, -, @, tab or carriage \
            return, other than plain numbers) get a single quote in front and are quoted, as OWASP advises; \
            --csv-raw writes cells exactly.

            Examples:
              rearview query 'Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep)'
              rearview query --pod nginx --operation Process --since 2h
              rearview query --type alert --group-by PolicyName,Action
              rearview query 'Resource ~ "^/etc/(shadow|passwd)"' --format kubearmor

            \(ExitStatusHelp.paragraph("0 success (also when nothing matched)", "1 nothing matched, with --fail-empty", ExitStatusHelp.usage, ExitStatusHelp.blocksLeftOut))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policyName: PolicyNameOption

    @OptionGroup var output: EventOutputOptions

    @Flag(help: "Newest first (with --limit: the last events).")
    var reverse = false

    @Option(help: ArgumentHelp("Count events per distinct value(s) of these fields, most frequent first.", valueName: "fields"))
    var groupBy: String?

    @Flag(help: "Print the plan (blocks total/read/skipped, time bounds, index terms) on stderr.")
    var explain = false

    @Flag(help: "Exit 1 when nothing matches.")
    var failEmpty = false

    @Flag(help: ArgumentHelp("Read every block, skipping no block by index or time (for comparison).", visibility: .hidden))
    var noPrune = false

    func run() throws {
        try reportingFailures {
            let opened = try stores.open()
            let filter = try selection.filter(stores: opened, policyName: policyName.policyName)
            var plan = try QueryPlan(stores: opened, filter: filter, pruning: !noPrune)
            let damaged = DamagedBlocks()
            plan.damaged = damaged
            if explain {
                Terminal.error(plan.explanation)
                if output.count || groupBy != nil {
                    let grouped = groupBy.map(EventColumn.list)
                    let field: EventField? = if let grouped, grouped.count == 1, case .field(let f) = grouped[0] { f } else { nil }
                    let answer = try plan.answerFromPostings(filter: filter, groupingBy: field)
                    let answerable = output.count || (field.map(IndexedFields.all.contains) ?? false)
                    Terminal.error("postings: \(answerable ? answer.answeredBlocks : 0) of the blocks read counted from the index without decoding")
                }
            }
            let out = StandardOutput()
            let matched: Int
            if output.count {
                matched = try plan.count(filter: filter)
                out.line(String(matched))
            } else if let groupBy {
                matched = try GroupedCounts.run(plan: plan, filter: filter, fields: EventColumn.list(groupBy), output: output, out: out)
            } else {
                var printer = EventPrinter(output: output, columns: output.columns.map(EventColumn.list))
                if !reverse, let encode = printer.blockEncoder {
                    out.write(printer.header())
                    matched = try BlockEncodedRecords.write(plan.batches(filter: filter), limit: output.limit, encode: encode,
                                                            to: out.write)
                } else {
                    out.write(printer.header())
                    matched = try Self.emit(plan: plan, filter: filter, limit: output.limit, reverse: reverse) { out.write(printer.render($0)) }
                    out.write(printer.finish())
                }
            }
            out.flush()
            for note in try FilterVocabulary.closedSetNotes(for: filter.expression, stores: opened, nothingMatched: matched == 0) {
                Terminal.error("rearview: " + note)
            }
            try damaged.failIfAnyWasLeftOut()
            if failEmpty && matched == 0 { throw ExitCode(1) }
        }
    }

    /// Hands matching events to `body` in time order (or reversed), honouring `limit`; returns how many.
    static func emit(plan: QueryPlan, filter: EventFilter, limit: Int?, reverse: Bool, _ body: (Event) -> Void) throws -> Int {
        if !reverse {
            var n = 0
            if limit == 0 { return 0 }
            try plan.scan(filter: filter) { event in
                body(event)
                n += 1
                return limit.map { n < $0 } ?? true
            }
            return n
        }
        // Newest first: keep the last `limit` events (all without a limit), then print them backwards.
        var kept: [Event] = []
        var start = 0
        try plan.scan(filter: filter) { event in
            kept.append(event)
            if let limit, kept.count - start > limit { start += 1 }
            if start > 4096 && start * 2 > kept.count {
                kept.removeFirst(start)
                start = 0
            }
            return true
        }
        for event in kept[start...].reversed() { body(event) }
        return kept.count - start
    }
}

/// The formats events are printed in by `query`, `timeline` and `evaluate`.
enum EventFormat: String, ExpressibleByArgument, CaseIterable {
    case table, ndjson, kubearmor, csv

    static var defaultForStdout: EventFormat { isatty(1) != 0 ? .table : .ndjson }
}

/// Turns events into output text in one of the ``EventFormat``s.
struct EventPrinter {
    let format: EventFormat
    private var table: EventTable
    private let columns: [EventColumn]
    private let csv: EventCSV
    private var lines: EventLineWriter
    private var line: [UInt8] = []

    init(output: EventOutputOptions, columns: [EventColumn]?) {
        format = output.chosenFormat
        csv = output.csv
        self.columns = columns ?? (format == .csv ? EventField.allCases.map(EventColumn.field) : EventColumn.tableDefault)
        table = EventTable(columns: self.columns, maxWidth: output.tableCellWidth)
        lines = EventLineWriter(withStoreFields: format == .ndjson)
    }

    /// What writes a block's rows straight from its columns, for the formats that need no state
    /// across records (all but table).
    var blockEncoder: (@Sendable (ColumnBatch, ArraySlice<Int32>, inout [UInt8]) -> Void)? {
        switch format {
        case .table: return nil
        case .csv:
            let csv = csv, columns = columns
            return { batch, rows, out in csv.append(batch, rows: rows, columns: columns, to: &out) }
        case .kubearmor, .ndjson:
            nonisolated(unsafe) let lines = lines
            return { batch, rows, out in
                var writer = lines
                writer.append(batch, rows: rows, to: &out)
            }
        }
    }

    func header() -> [UInt8] {
        format == .csv ? Array(csv.header(columns).utf8) : []
    }

    mutating func render(_ event: Event) -> [UInt8] {
        switch format {
        case .table:
            return Array(table.add(event).utf8)
        case .csv:
            return Array(csv.row(event, columns).utf8)
        case .kubearmor, .ndjson:
            line.removeAll(keepingCapacity: true)
            lines.append(event, to: &line)
            return line
        }
    }

    mutating func finish() -> [UInt8] {
        format == .table ? Array(table.finish().utf8) : []
    }
}

/// `--group-by`: event counts per distinct value tuple, most frequent first (aureport-style summaries).
enum GroupedCounts {
    static func run(plan: QueryPlan, filter: EventFilter, fields: [EventColumn], output: EventOutputOptions,
                    out: StandardOutput) throws -> Int {
        let counts = try GroupCounts.counting(plan: plan, filter: filter, columns: fields)
        try write(counts.counts, fields: fields, output: output, out: out)
        return counts.total
    }

    /// Prints `counts` (one count per value tuple of `fields`), most frequent first, as `output` asks.
    static func write(_ counts: [[String]: Int], fields: [EventColumn], output: EventOutputOptions, out: StandardOutput) throws {
        var rows = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }
        if let limit = output.limit { rows = Array(rows.prefix(limit)) }
        let csv = output.csv
        switch output.chosenFormat {
        case .table:
            var table = EventTable(columns: [.extra("Count")] + fields, maxWidth: output.tableCellWidth)
            for (key, n) in rows { out.write(table.add(cells: [String(n)] + key)) }
            out.write(table.finish())
        case .csv:
            out.write(csv.row(["Count"] + fields.map(\.description)))
            for (key, n) in rows { out.write(csv.row([String(n)] + key)) }
        case .ndjson, .kubearmor:
            for (key, n) in rows {
                var object: [String: Any] = ["Count": n]
                for (field, value) in zip(fields, key) { object[field.description] = value }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                out.line(String(decoding: data, as: UTF8.self))
            }
        }
    }
}
