import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation
import Reports

/// The stores a reading command reads: `--store` may be repeated (one store per host is how fleets arrive).
struct ReadStoresOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: ArgumentHelp(
        "A store directory; repeat to merge several in time order (default: $REARVIEW_STORE, else ./rearview-store); refused when group or others can write it.",
        valueName: "dir"))
    var stores: [String] = []

    var paths: [String] {
        if !stores.isEmpty { return stores }
        return [StoreOptions.defaultPath]
    }

    func open() throws -> [Store] {
        try paths.map { path in
            do { return try Store.open(path) } catch { throw CommandFailure(error) }
        }
    }
}

/// karmor's `--policy R` (PolicyName matches R, caseless). Apart from ``SelectionOptions`` because in
/// `evaluate` and `record`, `--policy` names policy files.
struct PolicyNameOption: ParsableArguments {
    @Option(name: .customLong("policy"), help: ArgumentHelp(
        "PolicyName matches (regex, case-insensitive), as karmor's; in evaluate and report --policy names policy files instead.",
        valueName: "regex"))
    var policyName: String?
}

/// How `query` and `evaluate` print the records they find: a format, columns, a limit, or only a count.
struct EventOutputOptions: ParsableArguments {
    @Option(help: "Output: table (default on a terminal), ndjson (default otherwise), kubearmor, csv.")
    var format: EventFormat?

    @Option(help: ArgumentHelp("Columns for table and csv, e.g. Time,HostName,ProcessName,Resource,PolicyName.", valueName: "list"))
    var columns: String?

    @Option(help: "Print at most this many records.")
    var limit: Int?

    @Flag(help: "Print only the number of records found.")
    var count = false

    @Flag(help: "csv: write cells exactly, without neutralising cells a spreadsheet would run as formulas.")
    var csvRaw = false

    @Flag(help: "table: print every cell whole (by default a cell longer than 60 characters is cut in the middle, with …).")
    var wide = false

    /// The format asked for, or the default for where stdout goes.
    var chosenFormat: EventFormat { format ?? .defaultForStdout }

    /// The CSV writer these options ask for.
    var csv: EventCSV { EventCSV(neutralizesFormulas: !csvRaw) }

    /// How long a table cell may be (`nil`: whole).
    var tableCellWidth: Int? { wide ? nil : EventTable.defaultMaxWidth }

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }
}

/// What selects events: a filter expression plus karmor-style shortcut flags and a time window.
/// Every command that reads events (`query`, `export`, `timeline`, `tree`, `report`, `evaluate`) shares it.
struct SelectionOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "Filter expression, e.g. 'Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep)'.",
        valueName: "expression"))
    var expression: [String] = []

    @Option(help: ArgumentHelp("HostName matches this regular expression.", valueName: "regex"))
    var host: String?
    @Option(help: ArgumentHelp("NamespaceName matches (regex, case-insensitive).", valueName: "regex"))
    var namespace: String?
    @Option(help: ArgumentHelp("PodName matches (regex, case-insensitive).", valueName: "regex"))
    var pod: String?
    @Option(help: ArgumentHelp("ContainerName matches (regex, case-insensitive) or ContainerID starts with it.", valueName: "name|id"))
    var container: String?
    @Option(help: ArgumentHelp("Operation matches (regex, case-insensitive): Process, File, Network, …; in an expression, Operation = is exact.", valueName: "regex"))
    var operation: String?
    @Option(help: ArgumentHelp("alert, log, policy, system, all, or a regex on Type.", valueName: "type"))
    var type: String?
    @Option(help: ArgumentHelp("HostPID equals.", valueName: "pid"))
    var pid: Int32?
    @Option(help: ArgumentHelp("ProcessName matches (regex).", valueName: "regex"))
    var process: String?
    @Option(help: ArgumentHelp("Resource matches (regex, case-sensitive).", valueName: "regex"))
    var resource: String?
    @Option(help: ArgumentHelp("Source matches (regex, case-sensitive).", valueName: "regex"))
    var source: String?
    @Option(help: ArgumentHelp("Labels has this k=v, or one of k=v,k2=v2 (repeatable: each must hold).", valueName: "k=v"))
    var labels: [String] = []
    @Option(help: ArgumentHelp("Action matches (regex, case-insensitive): Audit, Block, …", valueName: "regex"))
    var action: String?
    @Option(help: ArgumentHelp("Severity at least this number.", valueName: "n"))
    var severityMin: Int?

    @Option(help: ArgumentHelp("Events at or after: RFC 3339 (UTC when it has no zone: 2024-05-31 11:00), unix seconds, a duration before the newest stored event (2h), or before the clock (now-2h).", valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Events before (exclusive): RFC 3339 (UTC without a zone), unix seconds, a duration before the newest stored event, or now-DURATION.", valueName: "time"))
    var until: String?

    func shortcuts(policyName: String?) -> ShortcutFilters {
        ShortcutFilters(host: host, namespace: namespace, pod: pod, container: container, operation: operation, type: type,
                        policy: policyName, pid: pid, process: process, resource: resource, source: source, labels: labels,
                        action: action, severityMin: severityMin)
    }

    var expressionText: String { expression.joined(separator: " ") }

    /// Compiles the selection into one filter over `stores`: their newest event anchors relative
    /// times such as `--since 2h` (the resolved window goes to stderr), and a field name no stored
    /// record has is an error (exit 2); `policyName` is `--policy` of the commands that have it (see
    /// ``PolicyNameOption``).
    func filter(stores: [Store], policyName: String? = nil) throws -> EventFilter {
        let lastEventNs = try Self.lastEventNs(stores)
        var parts: [FilterExpression] = []
        let text = expressionText.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty {
            do {
                parts.append(try FilterExpression(parsing: text))
            } catch {
                throw CommandFailure(error.description, exitCode: 2)
            }
            if let unknown = try FilterVocabulary.unknownField(in: parts[0], stores: stores) {
                throw CommandFailure(unknown.description, exitCode: 2)
            }
        }
        do {
            parts.append(try shortcuts(policyName: policyName).expression())
        } catch {
            throw CommandFailure(error.description, exitCode: 2)
        }
        do {
            let clockNs = UnixTime.nowNs()
            let lower = try since.map { try TimeArgument.parse($0, relativeTo: lastEventNs, clockNs: clockNs) }
            let upper = try until.map { try TimeArgument.parse($0, relativeTo: lastEventNs, clockNs: clockNs) }
            if lower != nil || upper != nil { parts.append(.timeRange(since: lower, until: upper)) }
            for (option, text, ns) in [("--since", since, lower), ("--until", until, upper)] {
                guard let text, let ns, let anchor = TimeArgument.anchor(of: text) else { continue }
                let from = anchor == .clock ? "the clock (\(UnixTime.rfc3339Micro(clockNs)))"
                    : "the newest stored event (\(UnixTime.rfc3339Micro(lastEventNs)))"
                Terminal.error("rearview: note: \(option) \(text) = \(UnixTime.rfc3339Micro(ns)), counted back from \(from)")
            }
        } catch {
            throw CommandFailure(String(describing: error), exitCode: 2)
        }
        return EventFilter(.and(parts))
    }

    /// The latest event time over `stores` (the anchor of relative `--since/--until`).
    static func lastEventNs(_ stores: [Store]) throws -> Int64 {
        var last = Int64.min
        for store in stores {
            for block in try store.blocks() { last = max(last, block.location.maxTimeNs) }
        }
        return last == .min ? 0 : last
    }
}
