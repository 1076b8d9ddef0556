import EventModel
import Investigation

/// An incident report: what a selection of events shows, ready to be rendered as HTML, Markdown or JSON.
///
/// Made by ``IncidentReportCollector`` from the events of a selection, the process tree around them,
/// an optional policy re-evaluation and the evidence of the stores they came from. Renderers
/// (``HTMLReportRenderer``, ``MarkdownReportRenderer``, ``JSONReportRenderer``) only read it.
public struct IncidentReport: Sendable {
    public var title: String
    /// How the events were selected, in words (the filter expression, the `--around` process and window).
    public var selection: String
    public var summary: ReportSummary
    /// The processes of the tree, depth-first with parents before children (see ``ReportProcess``).
    public var processes: [ReportProcess]
    /// The events kept for display, in time order, as many as the collector's row limit: the story
    /// (with a lineage, the events of the selected processes and their descendants; else every
    /// selected event); ``omittedRows`` says how many more there were.
    public var rows: [Event]
    /// How the tables order the rest: alerts and denials first, the others' events grouped.
    public var tables: ReportEventTables
    /// The policy re-evaluation, when policies were given.
    public var reevaluation: Reevaluation?
    public var evidence: ReportEvidence
    /// Every selected event of each process (by instance id) as a mark for the timeline picture.
    public var marks: [Int64: [TimelineMark]]

    public init(title: String, selection: String, summary: ReportSummary, processes: [ReportProcess], rows: [Event],
                tables: ReportEventTables, reevaluation: Reevaluation?, evidence: ReportEvidence, marks: [Int64: [TimelineMark]]) {
        self.title = title
        self.selection = selection
        self.summary = summary
        self.processes = processes
        self.rows = rows
        self.tables = tables
        self.reevaluation = reevaluation
        self.evidence = evidence
        self.marks = marks
    }

    /// Story events that are not among ``rows``.
    public var omittedRows: Int { tables.storyEvents - rows.count }
}

/// The events of a report beside its story (``IncidentReport/rows``), as its tables show them so
/// that what matters comes first: alerts and denied operations, then the story, then the rest grouped.
public struct ReportEventTables: Sendable {
    /// Alerts and operations whose Result is not `Passed`, of every selected process, in time order
    /// (as many as the row limit).
    public var notable: [Event] = []
    public var notableEvents = 0
    /// Events in the story: all selected events, or with a lineage only its processes' events.
    public var storyEvents = 0
    /// The processes whose events are the story (the selected ones and their descendants); nil when
    /// every selected event is.
    public var lineage: Set<Int64>?
    /// With a lineage, the other selected events (of ancestors and of events no process accounts
    /// for), one group per host, process, operation, resource and result, in order of first
    /// occurrence (as many groups as the row limit).
    public var others: [EventGroup] = []
    public var otherEvents = 0
    /// Other events whose group was beyond the row limit.
    public var otherEventsOmitted = 0

    public init() {}
}

/// Repetitions of one operation: events of one process on one resource with one result.
public struct EventGroup: Sendable {
    /// The first of them (for host, process, operation, resource and result).
    public var first: Event
    public var count: Int
    public var lastNs: Int64
}

/// A value and how many events or alerts had it (a host, a severity, a policy, a tag).
public struct ReportCount: Sendable, Equatable {
    public var value: String
    public var count: Int

    public init(value: String, count: Int) {
        self.value = value
        self.count = count
    }

    /// `counts` as a list, the largest first, ties by value.
    static func list(_ counts: [String: Int]) -> [ReportCount] {
        counts.map { ReportCount(value: $0.key, count: $0.value) }
            .sorted { ($0.count, $1.value) > ($1.count, $0.value) }
    }
}

/// The numbers at the top of a report: hosts, time span, processes and alerts.
public struct ReportSummary: Sendable, Equatable {
    /// Selected events.
    public var events = 0
    /// Unix ns of the first and last selected event; nil when nothing was selected.
    public var firstNs: Int64?
    public var lastNs: Int64?
    /// Events per HostName.
    public var hosts: [ReportCount] = []
    /// Events per Operation.
    public var operations: [ReportCount] = []
    /// Process instances the selected events belong to.
    public var processes = 0
    /// Selected events no process instance of the store's table accounts for.
    public var eventsWithoutProcess = 0
    /// Selected alerts (`Type` Matched…).
    public var alerts = 0
    /// Alerts per Severity, the most severe first (numeric severities high to low, then the rest, then unrated as "").
    public var alertsBySeverity: [ReportCount] = []
    public var alertsByPolicy: [ReportCount] = []
    public var alertsByAction: [ReportCount] = []
    /// Alerts per tag of `Tags`, grouped: MITRE, NIST, then other tags (the bare group markers
    /// `MITRE` and `NIST` are not counted as tags).
    public var tagGroups: [TagGroup] = []

    public init() {}

    /// The alerts carrying the tags of one family.
    public struct TagGroup: Sendable, Equatable {
        /// `MITRE`, `NIST` or `other`.
        public var name: String
        public var tags: [ReportCount]
    }
}

/// One process of a report's tree: its instance and what the selected events say about it.
public struct ReportProcess: Sendable, Equatable {
    public var instance: ProcessInstance
    /// Levels below its root.
    public var depth: Int
    /// Its parent in the report (nil for a root).
    public var parentID: Int64?
    /// Whether the report is about it (the `--around` process), rather than it being context.
    public var isSelected: Bool
    /// Selected events of this process.
    public var events: Int
    /// Selected alerts of this process.
    public var alerts: Int
    /// Selected alerts with Action Block.
    public var blocked: Int
    /// The highest Severity of its alerts (nil when it raised none, or none had a numeric severity).
    public var highestSeverity: Int?
    /// The process that adopted it when its parent exited, as `name (HostPID)`.
    public var reapedBy: String?

    public init(instance: ProcessInstance, depth: Int, parentID: Int64?, isSelected: Bool, events: Int = 0,
                alerts: Int = 0, blocked: Int = 0, highestSeverity: Int? = nil, reapedBy: String? = nil) {
        self.instance = instance
        self.depth = depth
        self.parentID = parentID
        self.isSelected = isSelected
        self.events = events
        self.alerts = alerts
        self.blocked = blocked
        self.highestSeverity = highestSeverity
        self.reapedBy = reapedBy
    }

    /// How alarming it is, for colour: from its alerts' highest severity.
    public var level: SeverityLevel { SeverityLevel(alerts: alerts, highestSeverity: highestSeverity) }
}

/// A coarse grade of alert severity, for colours and legends (KubeArmor severities run 1–10).
public enum SeverityLevel: Int, Sendable, CaseIterable, Comparable {
    /// No alert.
    case none
    /// Alerts without a numeric severity (a default-posture alert, say).
    case unrated
    /// Severity 1–3.
    case low
    /// Severity 4–6.
    case medium
    /// Severity 7 and above.
    case high

    public init(alerts: Int, highestSeverity: Int?) {
        guard alerts > 0 else { self = .none; return }
        switch highestSeverity {
        case nil: self = .unrated
        case .some(...3): self = .low
        case .some(4...6): self = .medium
        default: self = .high
        }
    }

    public static func < (a: SeverityLevel, b: SeverityLevel) -> Bool { a.rawValue < b.rawValue }

    /// The legend text.
    public var label: String {
        switch self {
        case .none: "no alert"
        case .unrated: "alert without severity"
        case .low: "severity 1–3"
        case .medium: "severity 4–6"
        case .high: "severity 7–10"
        }
    }

    /// The fill colour in pictures.
    var colour: String {
        switch self {
        case .none: "#eef1f4"
        case .unrated: "#d8cff0"
        case .low: "#fde68a"
        case .medium: "#fb923c"
        case .high: "#ef4444"
        }
    }
}

/// What the re-evaluation of policies over the selected events found (`report --policy`).
public struct Reevaluation: Sendable {
    /// The policy files and directories given.
    public var sources: [String]
    /// The names of the policies loaded.
    public var policies: [String]
    /// Parts of the policies that are not evaluated (one line each).
    public var notEvaluated: [String]
    /// Re-evaluated alerts (KubeArmor alert records marked `"Reevaluated": true`), in time order:
    /// all of them, or as many as the collector's row limit.
    public var alerts: [Event]
    /// Every re-evaluated alert, also those not kept in ``alerts``.
    public var alertCount: Int
    /// Alerts per policy, rule and action, the most frequent first.
    public var byRule: [RuleCount]
    /// Policies that covered none of the operations evaluated (selectors name other workloads).
    public var idlePolicies: [String]

    /// How many alerts one rule of a policy would have raised with one action.
    public struct RuleCount: Sendable, Equatable {
        public var policyName: String
        public var rule: String
        public var action: String
        public var count: Int
    }
}
