import EventModel
import Foundation
import Investigation
import PolicyEngine

/// Gathers an ``IncidentReport`` from the events of a selection, fed one at a time in time order.
///
/// Counts, per-process activity and timeline marks grow with the events in constant time each (one
/// binary search in the process table); the rows kept for display stop at `rowLimit`, so memory for
/// an HTML or Markdown report stays bounded by the marks (16 bytes an event). With a
/// ``PolicySet``, every event is also re-evaluated and the would-be alerts are counted and kept.
public struct IncidentReportCollector {
    private let table: ProcessInstanceTable
    private let onlyProcesses: Set<Int64>?
    private let rowLimit: Int?
    private var evaluator: PolicyEvaluator?
    private var summary = ReportSummary()
    private var hosts: [String: Int] = [:]
    private var operations: [String: Int] = [:]
    private var severities: [String: Int] = [:]
    private var policies: [String: Int] = [:]
    private var actions: [String: Int] = [:]
    private var tags: [String: Int] = [:]
    private var activity: [Int64: ProcessActivity] = [:]
    private var marks: [Int64: [TimelineMark]] = [:]
    private var rows: [Event] = []
    private var tables = ReportEventTables()
    private var otherGroups: [EventGroupKey: Int] = [:]
    private var reevaluated: [Event] = []
    private var reevaluatedCount = 0
    private var ruleCounts: [RuleKey: Int] = [:]

    /// A collector that maps events to the instances of `table` (the merged table of every store
    /// read); with `onlyProcesses`, events of other instances are left out (a reused PID's other
    /// life). With `lineage`, only the events of those instances are the story rows, and the others
    /// are grouped (``ReportEventTables``). Keeps at most `rowLimit` rows of each table (nil: all,
    /// for JSON); re-evaluates with `policies`.
    public init(table: ProcessInstanceTable, onlyProcesses: Set<Int64>? = nil, lineage: Set<Int64>? = nil, rowLimit: Int?,
                policies: PolicySet? = nil) {
        self.table = table
        self.onlyProcesses = onlyProcesses
        tables.lineage = lineage
        self.rowLimit = rowLimit.map { max(0, $0) }
        evaluator = policies?.makeEvaluator()
    }

    /// Takes one event (events come in time order); returns whether it belongs to the report.
    @discardableResult
    public mutating func add(_ event: Event) -> Bool {
        let instanceID = table.instanceID(hostName: event.hostName, hostPID: event.hostPID, at: event.timeNs)
        if let onlyProcesses {
            guard let instanceID, onlyProcesses.contains(instanceID) else { return false }
        }
        summary.events += 1
        if summary.firstNs == nil { summary.firstNs = event.timeNs }
        summary.firstNs = min(summary.firstNs!, event.timeNs)
        summary.lastNs = max(summary.lastNs ?? event.timeNs, event.timeNs)
        hosts[event.hostName, default: 0] += 1
        operations[event.operation, default: 0] += 1
        var level = SeverityLevel.none
        var severity: Int?
        if event.isAlert {
            summary.alerts += 1
            severities[event.severity, default: 0] += 1
            policies[event.policyName, default: 0] += 1
            actions[event.action, default: 0] += 1
            for tag in Self.tags(of: event.tags) { tags[tag, default: 0] += 1 }
            severity = Int(event.severity)
            level = SeverityLevel(alerts: 1, highestSeverity: severity)
        }
        if let instanceID {
            activity[instanceID, default: ProcessActivity()].count(event, severity: severity)
            marks[instanceID, default: []].append(TimelineMark(timeNs: event.timeNs, level: level))
        } else {
            summary.eventsWithoutProcess += 1
        }
        keep(event, of: instanceID)
        if evaluator != nil, let verdict = evaluator!.verdict(for: event) {
            reevaluatedCount += 1
            ruleCounts[RuleKey(policyName: verdict.policyName, rule: verdict.rule, action: verdict.action), default: 0] += 1
            if rowLimit.map({ reevaluated.count < $0 }) ?? true {
                reevaluated.append(verdict.alert(for: event, enforcer: evaluator!.policySet.options.enforcerName))
            }
        }
        return true
    }

    private func hasRoom(_ count: Int) -> Bool { rowLimit.map { count < $0 } ?? true }

    /// Puts `event` in its tables: the notable ones, and the story or the groups of the others.
    private mutating func keep(_ event: Event, of instanceID: Int64?) {
        if event.isAlert || event.didNotPass {
            tables.notableEvents += 1
            if hasRoom(tables.notable.count) { tables.notable.append(event) }
        }
        if let lineage = tables.lineage, !(instanceID.map(lineage.contains) ?? false) {
            tables.otherEvents += 1
            let key = EventGroupKey(event)
            if let index = otherGroups[key] {
                tables.others[index].count += 1
                tables.others[index].lastNs = event.timeNs
            } else if hasRoom(tables.others.count) {
                otherGroups[key] = tables.others.count
                tables.others.append(EventGroup(first: event, count: 1, lastNs: event.timeNs))
            } else {
                tables.otherEventsOmitted += 1
            }
            return
        }
        tables.storyEvents += 1
        if hasRoom(rows.count) { rows.append(event) }
    }

    /// The instances the events taken so far belong to (the seeds of the report's tree).
    public var instanceIDs: Set<Int64> { Set(activity.keys) }

    /// The report: `tree` arranges the processes (its instances must come from the collector's
    /// table); `focus` are the processes the report is about (the `--around` process), outlined in
    /// pictures; `policySources` names the policy files when the collector re-evaluated.
    public func report(title: String, selection: String, tree: ProcessTree, focus: Set<Int64> = [],
                       policySources: [String] = [], evidence: ReportEvidence) -> IncidentReport {
        var summary = summary
        summary.hosts = ReportCount.list(hosts)
        summary.operations = ReportCount.list(operations)
        summary.processes = activity.count
        summary.alertsBySeverity = severities.map { ReportCount(value: $0.key, count: $0.value) }.sorted(by: Self.bySeverity)
        summary.alertsByPolicy = ReportCount.list(policies)
        summary.alertsByAction = ReportCount.list(actions)
        summary.tagGroups = Self.groups(tags)
        var processes: [ReportProcess] = []
        var lastAtDepth: [Int64] = []
        for (node, depth) in tree.nodesInOrder {
            let instance = node.instance
            lastAtDepth.removeSubrange(min(depth, lastAtDepth.count)...)
            let seen = activity[instance.id] ?? ProcessActivity()
            let reaper = tree.reaper(of: instance).map { ReportText.programName($0.currentImage) + " (\($0.hostPID))" }
            processes.append(ReportProcess(instance: instance, depth: depth, parentID: depth > 0 ? lastAtDepth.last : nil,
                                           isSelected: focus.contains(instance.id), events: seen.events,
                                           alerts: seen.alerts, blocked: seen.blocked, highestSeverity: seen.highestSeverity,
                                           reapedBy: reaper))
            lastAtDepth.append(instance.id)
        }
        var reevaluation: Reevaluation?
        if let evaluator {
            let statistics = evaluator.statistics()
            let idle = statistics.operations > 0 ? statistics.eventsInScope.filter { $0.value == 0 }.keys.sorted() : []
            reevaluation = Reevaluation(
                sources: policySources, policies: evaluator.policySet.policies.map(\.name),
                notEvaluated: evaluator.policySet.notEvaluated.map(\.description), alerts: reevaluated,
                alertCount: reevaluatedCount,
                byRule: ruleCounts.map { Reevaluation.RuleCount(policyName: $0.key.policyName, rule: $0.key.rule,
                                                                action: $0.key.action, count: $0.value) }
                    .sorted { ($0.count, $1.policyName, $1.rule, $1.action) > ($1.count, $0.policyName, $0.rule, $0.action) },
                idlePolicies: idle)
        }
        return IncidentReport(title: title, selection: selection, summary: summary, processes: processes, rows: rows, tables: tables,
                              reevaluation: reevaluation, evidence: evidence, marks: marks)
    }

    /// The tags of a `Tags` value (`MITRE,MITRE_T1057_process_discovery`), each once.
    static func tags(of text: String) -> Set<String> {
        guard !text.isEmpty else { return [] }
        return Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    /// Tag counts grouped into MITRE, NIST and other tags; the bare family markers are left out.
    static func groups(_ tags: [String: Int]) -> [ReportSummary.TagGroup] {
        var families: [String: [String: Int]] = [:]
        for (tag, count) in tags where tag != "MITRE" && tag != "NIST" {
            let family = tag.hasPrefix("MITRE") ? "MITRE" : tag.hasPrefix("NIST") ? "NIST" : "other"
            families[family, default: [:]][tag] = count
        }
        return ["MITRE", "NIST", "other"].compactMap { name in
            families[name].map { ReportSummary.TagGroup(name: name, tags: ReportCount.list($0)) }
        }
    }

    /// Numeric severities high to low, then other values by name, the empty severity last.
    private static func bySeverity(_ a: ReportCount, _ b: ReportCount) -> Bool {
        func key(_ value: String) -> (Int, Int, String) {
            if let number = Int(value) { return (0, -number, "") }
            return value.isEmpty ? (2, 0, "") : (1, 0, value)
        }
        return key(a.value) < key(b.value)
    }

    private struct RuleKey: Hashable {
        var policyName: String
        var rule: String
        var action: String
    }
}

extension Event {
    /// Whether the operation has a Result other than `Passed` (denied, or failed otherwise).
    var didNotPass: Bool { !result.isEmpty && result != "Passed" }
}

/// What makes events repetitions of one another in the grouped table.
private struct EventGroupKey: Hashable {
    let hostName: String
    let hostPID: Int32
    let processName: String
    let operation: String
    let resource: String
    let result: String

    init(_ event: Event) {
        hostName = event.hostName
        hostPID = event.hostPID
        processName = event.processName
        operation = event.operation
        resource = event.resource
        result = event.result
    }
}

/// What the selected events say about one process.
private struct ProcessActivity {
    var events = 0
    var alerts = 0
    var blocked = 0
    var highestSeverity: Int?

    mutating func count(_ event: Event, severity: Int?) {
        events += 1
        guard event.isAlert else { return }
        alerts += 1
        if event.action == "Block" { blocked += 1 }
        if let severity { highestSeverity = max(highestSeverity ?? severity, severity) }
    }
}

/// One event on a process's timeline lane: when, and how alarming (``SeverityLevel/none`` for a log).
public struct TimelineMark: Sendable, Equatable {
    public var timeNs: Int64
    public var level: SeverityLevel

    public init(timeNs: Int64, level: SeverityLevel) {
        self.timeNs = timeNs
        self.level = level
    }
}
