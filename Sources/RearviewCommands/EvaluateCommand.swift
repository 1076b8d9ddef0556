import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation
import PolicyEngine
import Reports

/// `rearview evaluate`: re-run KubeArmor policies over recorded history.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Re-run KubeArmor policies over history: the alerts they would have raised.",
        discussion: """
            Loads KubeArmorPolicy, KubeArmorClusterPolicy and KubeArmorHostPolicy YAML (--policy: files \
            or directories, searched recursively for .yaml/.yml; multi-document files), evaluates every \
            selected event as KubeArmor would have, had the policies been active, and prints the alerts \
            as KubeArmor alert records: Type MatchedPolicy (container) or MatchedHostPolicy (host), \
            PolicyName, Severity, Tags, ATags, Message, Action, Enforcer "rearview (re-evaluated)", \
            Result as it would have been (Permission denied for an operation a Block rule or a block \
            posture would have denied), and "Reevaluated": true, so a re-evaluated alert is never taken \
            for a recorded one. Output formats, --columns, --limit and --count are those of `query`.

            A policy that does not load is reported as one line FILE:LINE: reason on stderr (YAML \
            syntax, TAB indentation, a field or value the CRD refuses, an unknown kind); the other \
            policies still run, and the exit status is 2 once the output is written. No policy at all: \
            exit 2 at once. Policy YAML is screened before it is parsed: a file over 1 MiB, with YAML \
            anchors or aliases (KubeArmor policies need none; they make alias bombs), or with more than \
            100,000 nodes is refused at its line, and nothing after that point in the file is read.

            Semantics (KubeArmor's feeder, feeder/policyMatcher.go, and its enforcers), and where they \
            surprise:
              - Which events: a KubeArmorPolicy covers container events of its namespace whose labels \
            hold every matchLabels pair (metadata.namespace absent means `default`); a \
            KubeArmorClusterPolicy selects namespaces by matchExpressions; a KubeArmorHostPolicy \
            covers host events (no ContainerID) of nodes its nodeSelector names, and an empty \
            nodeSelector selects no node. --scope any-workload ignores selectors, --scope everywhere \
            also applies host policies to containers: the investigator's "what would its rules catch \
            here?" for a policy written for another cluster. Policies that applied to nothing are \
            named on stderr.
              - Only operations that reached the enforcer are judged: results Passed, Permission \
            denied, Operation not permitted. A recorded alert is judged as the operation it records.
              - fromSource names, as KubeArmor's feeder compares it, for process and file rules the \
            process's own executable or its parent's (ParentProcessName: a file rule from /usr/bin/bash \
            covers cat run from bash), for network and capability rules the process's own or the \
            first word of its command line (Source, when arguments follow). readOnly concerns writes (an open \
            without O_RDONLY) and lets reads through, for Allow and Block rules alike; ownerOnly lets \
            only the file's owner through (owner from an OID field; absent, the accessor counts as \
            not the owner and the alert carries "OwnerUnverified": true).
              - Precedence: a matching Block rule wins over any Allow or Audit rule, even a more \
            specific Allow. An Allow rule makes an allow list for its kind (processes and files share \
            one, network and capabilities have their own); an operation outside it falls to the \
            default posture: --default-posture audit (KubeArmor's default) raises DefaultPosture \
            Audit, block raises DefaultPosture Block, allow ignores allow lists. An empty spec.action \
            means Block.
              - Audit alerts only for operations that passed; one alert per event, labelled by the \
            first matching rule in load order (syscall rules: the last, as the feeder does).
              - --audited-namespace N: KubeArmor's `kubearmor-policy: audited` annotation; nothing is \
            denied there, a Block becomes Action `Audit (Block)` with the result as recorded.
              - Not evaluated (named on stderr): matchDNSQueries, matchDevice, presets, and any policy \
            with native spec.apparmor rules (KubeArmor's alert matcher skips those too). A denied \
            operation's consequences are not replayed: a process whose execution would have been \
            denied still has its later events judged.

            --summary counts alerts per PolicyName, rule (section, target, options, source, line) and \
            Action. --diff compares with the alerts the store already holds for the same policy names \
            (and DefaultPosture when a policy has an allow list), pairing them by host, HostPID, time, \
            operation, resource and policy: every record gets "Diff": new (would be raised, was not), \
            throttled (would be raised, was not, but KubeArmor was throttling that container's alerts \
            then: after an AlertThreshold system event it drops Audit alerts for DroppingAlertsInterval \
            seconds, so the record cannot tell), \
            gone (was raised, would not be), changed (both, Action or Result differ; the recorded ones \
            in RecordedAction and RecordedResult) or unchanged; with --count or --summary, counts per \
            Diff (and PolicyName, Action). Counts go to stderr too. The selection narrows both sides: \
            select operations, not `--type log`, or every recorded alert looks gone.

            Examples:
              rearview evaluate --policy samples/policies --scope everywhere
              rearview evaluate --policy tuned/ --diff --summary --since 24h
              rearview evaluate --policy allow.yaml --default-posture block --count

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, "2 a policy document did not load (the others still ran) or bad input", ExitStatusHelp.damaged))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var selection: SelectionOptions

    @Option(name: .customLong("audited-namespace"), help: ArgumentHelp(
        "A namespace annotated kubearmor-policy: audited (repeatable): Block becomes Audit (Block).", valueName: "name"))
    var auditedNamespaces: [String] = []

    @OptionGroup var output: EventOutputOptions

    @Flag(help: "Print counts per PolicyName, rule and Action.")
    var summary = false

    @Flag(help: "Compare with the alerts recorded in the store for the same policy names: new, gone, changed, unchanged.")
    var diff = false

    func validate() throws {
        if policy.paths.isEmpty { throw ValidationError("name at least one --policy file or directory") }
        if output.count && summary { throw ValidationError("--count and --summary exclude each other") }
    }

    func run() throws {
        try reportingFailures {
            let loaded = try policy.load(auditedNamespaces: Set(auditedNamespaces))
            let opened = try stores.open()
            let filter = try selection.filter(stores: opened)
            let plan = try QueryPlan(stores: opened, filter: filter)
            let out = StandardOutput()
            let policySet = loaded.policySet
            let enforcer = policySet.options.enforcerName
            // Blocks are judged on the decoding threads, each thread with its own evaluator; counts and
            // summaries need only the columns the verdicts are decided from, alerts every column.
            let scan = plan.batches(filter: filter, columns: output.count || summary ? PolicyEvaluator.columns : .all)
            let makeEvaluator: @Sendable () -> PolicyEvaluator = { policySet.makeEvaluator() }
            var evaluators: [PolicyEvaluator] = []
            // Whether every selected event was judged (not so when --limit stopped the scan).
            var judgedAll = true
            if diff {
                var evaluator = makeEvaluator()
                let throttling = try opened.flatMap { try CoverageHole.holes(in: $0) }.filter { $0.kind == .alertThrottling }
                try runDiff(plan: plan, filter: filter, evaluator: &evaluator, policySet: policySet, throttling: throttling, out: out)
                evaluators = [evaluator]
            } else if output.count {
                var n = 0
                evaluators = try scan.map(state: makeEvaluator, { evaluator, batch, rows in
                    var alerts = 0
                    evaluator.verdicts(in: batch, rows: rows) { _, _ in alerts += 1 }
                    return alerts
                }) { n += $0; return true }
                out.line(String(n))
            } else if summary {
                var counts: [[String]: Int] = [:]
                evaluators = try scan.map(state: makeEvaluator, { evaluator, batch, rows in
                    var block: [[String]: Int] = [:]
                    evaluator.verdicts(in: batch, rows: rows) { _, verdict in
                        block[[verdict.policyName, verdict.rule, verdict.action], default: 0] += 1
                    }
                    return block
                }) { block in
                    counts.merge(block, uniquingKeysWith: +)
                    return true
                }
                try GroupedCounts.write(counts, fields: [.field(.policyName), .extra("Rule"), .field(.action)], output: output, out: out)
            } else {
                var printer = printer(diff: false)
                out.write(printer.header())
                var printed = 0
                if output.limit != 0 {
                    evaluators = try scan.orderedMap(state: makeEvaluator, { evaluator, batch, rows in
                        var alerts: [Event] = []
                        evaluator.verdicts(in: batch, rows: rows) { row, verdict in
                            alerts.append(verdict.alert(for: batch.event(at: Int(row)), enforcer: enforcer))
                        }
                        return alerts
                    }) { alerts in
                        for alert in alerts.prefix(output.limit.map { $0 - printed } ?? alerts.count) {
                            out.write(printer.render(alert))
                            printed += 1
                        }
                        judgedAll = output.limit.map { printed < $0 } ?? true
                        return judgedAll
                    }
                }
                out.write(printer.finish())
            }
            out.flush()
            if judgedAll {
                // Every policy listed, with 0 where no thread saw an operation in its scope.
                var statistics = makeEvaluator().statistics()
                for evaluator in evaluators { statistics.merge(evaluator.statistics()) }
                PolicyOptions.reportScope(statistics)
            }
            if loaded.rejected > 0 { throw ExitCode(2) }
        }
    }

    /// The printer for alerts; the table's default columns show the verdict.
    private func printer(diff: Bool) -> EventPrinter {
        var chosen = output.columns.map(EventColumn.list)
        if chosen == nil && output.chosenFormat == .table {
            chosen = (diff ? [.extra("Diff")] : []) + [
                .time, .field(.hostName), .field(.hostPID), .field(.processName), .field(.operation),
                .field(.resource), .field(.policyName), .field(.action), .field(.result),
            ]
        }
        return EventPrinter(output: output, columns: chosen)
    }

    /// `--diff`: one scan collects the re-evaluated alerts and the recorded alerts of the same policy
    /// names; the difference is printed in time order, each record marked with `Diff`.
    private func runDiff(plan: QueryPlan, filter: EventFilter, evaluator: inout PolicyEvaluator, policySet: PolicySet,
                         throttling: [CoverageHole], out: StandardOutput) throws {
        let names = policySet.alertPolicyNames
        let enforcer = policySet.options.enforcerName
        var recorded: [Event] = []
        var reevaluated: [Event] = []
        try plan.scan(filter: filter) { event in
            if event.isAlert && names.contains(event.policyName) { recorded.append(event) }
            if let verdict = evaluator.verdict(for: event) { reevaluated.append(verdict.alert(for: event, enforcer: enforcer)) }
            return true
        }
        let difference = AlertDiff(recorded: recorded, reevaluated: reevaluated, policyNames: names)
        func marked(_ event: Event, _ kind: String, recordedAs original: Event? = nil) -> Event {
            var event = event
            event.extras.append(ExtraField(key: "Diff", json: "\"\(kind)\""))
            if let original {
                event.extras.append(ExtraField(key: "RecordedAction", json: KubeArmorJSONWriter.quoted(original.action)))
                event.extras.append(ExtraField(key: "RecordedResult", json: KubeArmorJSONWriter.quoted(original.result)))
            }
            return event
        }
        // KubeArmor drops Audit alerts (and host-policy alerts) while it throttles a container: such an
        // alert missing from the record proves nothing.
        let throttled = difference.new.filter { alert in
            (alert.action.contains("Audit") || alert.type == "MatchedHostPolicy")
                && throttling.contains { $0.covers(timeNs: alert.timeNs, hostName: alert.hostName, containerID: alert.containerID) }
        }
        let throttledSeqs = Set(throttled.map(\.seq))
        let new = difference.new.filter { !throttledSeqs.contains($0.seq) }
        var records = new.map { marked($0, "new") } + throttled.map { marked($0, "throttled") } + difference.gone.map { marked($0, "gone") }
            + difference.changed.map { marked($0.reevaluated, "changed", recordedAs: $0.recorded) }
            + difference.unchanged.map { marked($0, "unchanged") }
        records.sort { ($0.timeNs, $0.seq) < ($1.timeNs, $1.seq) }
        Terminal.error("diff: \(new.count) new, "
            + (throttled.isEmpty ? "" : "\(throttled.count) throttled (raised while KubeArmor was throttling alerts: not recorded, which proves nothing), ")
            + "\(difference.gone.count) gone, "
            + "\(difference.changed.count) changed, \(difference.unchanged.count) unchanged")
        if policySet.options.scope != .asWritten {
            Terminal.error("rearview: note: with --scope \(policySet.options.scope.rawValue) the re-evaluation is not "
                + "what KubeArmor would have raised; the diff compares with it all the same")
        }
        if output.count || summary {
            let fields: [EventColumn] = output.count ? [.extra("Diff")] : [.extra("Diff"), .field(.policyName), .field(.action)]
            var counts: [[String]: Int] = [:]
            for record in records { counts[fields.map { $0.value(of: record) }, default: 0] += 1 }
            try GroupedCounts.write(counts, fields: fields, output: output, out: out)
            return
        }
        var printer = printer(diff: true)
        out.write(printer.header())
        for record in records.prefix(output.limit ?? records.count) { out.write(printer.render(record)) }
        out.write(printer.finish())
    }
}

extension DefaultPosture.Action: ExpressibleByArgument {}
extension EvaluationOptions.Scope: ExpressibleByArgument {}

/// The policy options `evaluate` and `record` share: which policies, and how KubeArmor would have
/// applied them.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("policy"), help: ArgumentHelp(
        "A KubeArmor policy file, or a directory searched recursively for .yaml/.yml (repeatable); in query, timeline and tree --policy is a PolicyName regex instead.",
        valueName: "file|dir"))
    var paths: [String] = []

    @Option(help: ArgumentHelp(
        "What happens outside an allow list: audit (KubeArmor's default), block, or allow (allow lists ignored).",
        valueName: "posture"))
    var defaultPosture: DefaultPosture.Action = .audit

    @Option(help: ArgumentHelp(
        "Which events a policy covers: as-written (its selectors, as KubeArmor), any-workload (selectors ignored), "
            + "everywhere (also host policies on containers).", valueName: "scope"))
    var scope: EvaluationOptions.Scope = .asWritten

    /// The loaded policies and how many documents were rejected.
    struct Loaded {
        var policySet: PolicySet
        var rejected: Int
    }

    /// Loads `--policy`, printing each rejection as `FILE:LINE: reason` and each part that is not
    /// evaluated as a note on stderr; fails (exit 2) when no policy loads. With `live`, nothing is
    /// enforced (every workload audited) and alerts name rearview's live evaluation as enforcer.
    func load(auditedNamespaces: Set<String> = [], live: Bool = false) throws -> Loaded {
        let result = PolicyLoader.load(paths: paths)
        for rejection in result.rejections { Terminal.error(rejection.description) }
        guard !result.policies.isEmpty else {
            throw CommandFailure("no policy loaded from \(paths.joined(separator: ", "))", exitCode: 2)
        }
        var options = EvaluationOptions()
        options.scope = scope
        options.containerPosture = DefaultPosture(defaultPosture)
        options.hostPosture = DefaultPosture(defaultPosture)
        options.auditedNamespaces = auditedNamespaces
        if live {
            options.auditsEverything = true
            options.enforcerName = "rearview (live)"
        }
        let policySet = PolicySet(result.policies, options: options)
        for limitation in policySet.notEvaluated { Terminal.error("rearview: note: \(limitation)") }
        return Loaded(policySet: policySet, rejected: result.rejections.count)
    }

    /// Names on stderr the policies that covered none of the operations evaluated.
    static func reportScope(_ statistics: EvaluationStatistics) {
        guard statistics.operations > 0 else { return }
        let idle = statistics.eventsInScope.filter { $0.value == 0 }.keys.sorted()
        guard !idle.isEmpty else { return }
        Terminal.error("rearview: note: no operation was in the scope of \(idle.joined(separator: ", ")) "
            + "(selectors name other workloads or nodes; --scope any-workload or everywhere ignores them)")
    }
}
