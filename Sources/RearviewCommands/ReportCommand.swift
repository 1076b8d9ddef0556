import ArgumentParser
import EventModel
import EventStore
import Foundation
import IncidentReport
import Investigation
import PolicyEngine

/// `rearview report`: an incident report people can read, share and check (HTML, Markdown, JSON).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Incident report of a selection: summary, process tree, timeline, events, evidence (HTML, Markdown, JSON).",
        discussion: """
            Writes what a selection of events shows for people who will not run rearview: managers, \
            the SOC, an auditor, a court. Selection is that of `timeline` (a filter expression and \
            the same flags, merged in time order across every --store), plus --around.

            \(AroundOptions.discussion)

            --policy FILE|DIR (repeatable) names KubeArmor policy files to re-evaluate over the \
            selected events, as `evaluate` does (with its --default-posture and --scope): the report \
            gets a section with the alerts they would have raised. It is not karmor's PolicyName \
            regex; to select recorded alerts by policy write it in the expression: \
            "PolicyName ~ 'ksp-.*'". A policy document that does not load is reported as \
            FILE:LINE: reason and no report is written (exit 2): a re-evaluation must not look \
            complete when it is not.

            Contents: a summary (hosts, time span, event and process counts, alerts by severity, by \
            policy and by action, alert tags grouped into MITRE, NIST and others, events by \
            operation); the process tree as a picture (one row per process instance under its parent, \
            labelled with its exec chain such as apache2 → sh → bash, (HostPID/PID), ✗ and the \
            program of execs that failed, coloured by the highest severity of its alerts: none, \
            without severity, 1–3, 4–6, 7–10; the --around process outlined); a timeline picture \
            (one lane per process, every event a mark at its time, alerts as diamonds coloured by \
            severity; with --around zoomed to where the process and its descendants act, each lane \
            counting its events before and after, ticks at round times); the events, what matters \
            first: alerts and denied operations of every process, then in time order the events of \
            the --around process and its descendants (without --around, every event), then the other \
            processes' events (its ancestors') grouped by repetition, one row per process, operation, \
            resource and result with its count and first and last time; every Result other than \
            Passed marked (every KubeArmor field of an event under its \"fields\" in HTML); the \
            re-evaluation; and an evidence section: each store's absolute path and id, each \
            segment's file name, size and SHA-256 (which also covers the previous segment's hash), \
            the result of verifying the store as `verify` does, the exact command line that produced \
            the report (shell-quoted; with the store added when it came from $REARVIEW_STORE, so the \
            line runs again anywhere), the rearview version and the generation time. json keeps \
            every event in one time-ordered list. A store that does not verify still gets its report: the evidence section lists \
            each problem and a warning goes to stderr. SOURCE_DATE_EPOCH (unix seconds), when set, \
            is used as the generation time, so the same store and command give the same bytes.

            Formats: html (default) is one self-contained file with inline CSS and SVG: no script, \
            no stylesheet or image link, no external URL, nothing fetched when it is opened \
            (a URL inside an event, such as a downloader's command line, is written with &#58; for \
            its colon, so the file holds none). md is \
            Markdown for tickets and wikis (the tree as a nested list, the timeline as a table of \
            processes). json is one object for machines (Title, Selection, Summary, Processes, \
            Events as KubeArmor records exactly as `export` writes them, Reevaluation, Evidence). \
            Strings from events are shown, never interpreted: control characters, terminal \
            escapes, direction overrides and bytes that were not UTF-8 are written visibly (\\n, \
            \\x1b, \\u{202e}, \\xff) and everything is escaped for the format.

            Large selections stay usable: html and md show at most --max-rows events (and as many \
            re-evaluated alerts), followed by "N more events not shown; the JSON report has all"; \
            the pictures draw at most 200 processes (those with the highest alerts, with their \
            ancestors) and say how many more there are. json is never capped.

            --out FILE writes the report to FILE atomically (a new temporary file beside it, mode \
            0600, then renamed over FILE; a failing run leaves FILE as it was, and a directory is \
            refused); without it the report goes to standard output.

            Examples:
              rearview report --around 9939 --window 10m --out incident.html
              rearview report --pod wordpress --since 10m --format md --out incident.md
              rearview report 'Action = Block' --policy samples/policies --title Blocked
              rearview report --around 9893 --format json --out incident.json

            \(ExitStatusHelp.paragraph("0 the report was written (also for a store that does not verify, with a warning)", ExitStatusHelp.usage, ExitStatusHelp.damaged))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policy: PolicyOptions

    @OptionGroup var incident: AroundOptions

    @Option(help: "Output: html (self-contained file), md (Markdown), json (complete, for machines).")
    var format: ReportFormat = .html

    @Option(help: ArgumentHelp("Write the report to this file (atomically) instead of standard output.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("html and md show at most this many events (json has all).", valueName: "n"))
    var maxRows = 2000

    @Option(help: ArgumentHelp("The report's title.", valueName: "text"))
    var title: String?

    func validate() throws {
        if maxRows < 0 { throw ValidationError("--max-rows must not be negative") }
    }

    /// The command line, with the store named when it came from `$REARVIEW_STORE` (or the default),
    /// so that the line in the report runs again anywhere.
    private var reproducibleArguments: [String] {
        guard stores.stores.isEmpty else { return CommandLine.arguments }
        return CommandLine.arguments + ["--store", StoreEvidence.absolutePath(StoreOptions.defaultPath)]
    }

    func run() throws {
        try reportingFailures {
            let policies = try policy.paths.isEmpty ? nil : loadPolicies()
            let opened = try stores.open()
            let lastEventNs = try SelectionOptions.lastEventNs(opened)
            var filter = try selection.filter(stores: opened)
            var selectionText = filter.expression.description
            let tables = try opened.map { try StoredProcessTable(store: $0) }
            let table = ProcessInstanceTable.merging(try tables.map { try $0.table() })
            let scope = try incident.scope(table: table, lastEventNs: lastEventNs, hostPattern: selection.host)
            if let scope {
                filter = EventFilter(.and([filter.expression, scope.filter.expression]))
                selectionText = scope.description + (selectionText == "everything" ? "" : "; and " + selectionText)
            }
            // JSON, for machines, keeps every event in one list; HTML and Markdown put the lineage's first.
            var collector = IncidentReportCollector(table: table, onlyProcesses: scope.map { Set($0.tree.instancesByID.keys) },
                                                    lineage: format == .json ? nil : scope?.tree.selectedAndDescendants,
                                                    rowLimit: format == .json ? nil : maxRows, policies: policies)
            try QueryPlan(stores: opened, filter: filter).scan(filter: filter) { event in
                collector.add(event)
                return true
            }
            let tree = scope?.tree ?? ProcessTree(table: table, selecting: .instances(collector.instanceIDs),
                                               ancestors: true, descendants: false)
            let evidence = ReportEvidence(stores: try opened.map { try StoreEvidence.gather($0) },
                                          commandLine: ShellQuoting.commandLine(reproducibleArguments),
                                          version: RearviewVersion.current, generatedAtNs: try Self.generationTime())
            let defaultTitle = scope.map { "Incident report: " + AroundOptions.name($0.process) } ?? "Incident report"
            let report = collector.report(title: title ?? defaultTitle, selection: selectionText, tree: tree,
                                          focus: scope?.tree.selectedIDs ?? [], policySources: policy.paths, evidence: evidence)
            let bytes: [UInt8] = switch format {
            case .html: Array(HTMLReportRenderer().render(report).utf8)
            case .md: Array(MarkdownReportRenderer().render(report).utf8)
            case .json: JSONReportRenderer().render(report)
            }
            let sink = try EventSink(path: out)
            // In slices, so the sink's buffer never holds a second copy of a large report.
            for start in stride(from: 0, to: bytes.count, by: 1 << 20) {
                try sink.write(Array(bytes[start..<min(bytes.count, start + (1 << 20))]))
            }
            try sink.close()
            if report.summary.events == 0 { Terminal.error("rearview: note: the selection matched no event") }
            if !evidence.verified {
                Terminal.error("rearview: warning: a store did not verify; the report's evidence section lists the problems")
            }
        }
    }

    /// The policies of `--policy`; a rejected document stops the report (exit 2).
    private func loadPolicies() throws -> PolicySet {
        let loaded = try policy.load()
        guard loaded.rejected == 0 else {
            throw CommandFailure("\(loaded.rejected) policy document(s) did not load (see above); no report written", exitCode: 2)
        }
        return loaded.policySet
    }

    /// Now, or `SOURCE_DATE_EPOCH` (unix seconds) when set, for reproducible reports.
    static func generationTime() throws -> Int64 {
        guard let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], !epoch.isEmpty else {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        }
        guard let seconds = Int64(epoch), seconds >= 0, seconds < 9_000_000_000 else {
            throw CommandFailure("SOURCE_DATE_EPOCH: '\(epoch)' is not unix seconds", exitCode: 2)
        }
        return seconds * 1_000_000_000
    }
}

extension ReportFormat: ExpressibleByArgument {}
