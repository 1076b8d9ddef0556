import EventModel
import EventStore

/// Re-evaluates recorded events against a ``PolicySet``: for each event, the alert KubeArmor would have
/// raised had the policies been active, or nil.
///
/// KubeArmor's feeder (`feeder/policyMatcher.go`, `UpdateMatchedPolicy`) only labels what the kernel
/// enforcer already decided; over history rearview decides first what the enforcer would have done,
/// then labels as the feeder does:
///
/// 1. Only operations are evaluated (see ``OperationKind``) whose result is `Passed`, `Permission
///    denied` or `Operation not permitted`, as in the feeder; others (`No such file or directory`, …)
///    never reached the enforcer's hook. A recorded alert is evaluated as the operation it records.
/// 2. The rules that apply are those of the policies selecting the event's workload
///    (``EvaluationOptions/Scope``): container policies for events with a `ContainerID`, host
///    policies for the others.
/// 3. A rule concerns the operation when its target names it (``PathRuleIndex``, ``SocketFacts``,
///    capability names) and, with `fromSource`, when that source is one of the executables the feeder
///    compares it with: for executions and file accesses the process's own (`ProcessName`) or its
///    parent's (`ParentProcessName`), so a rule from a shell covers what the shell runs and what those
///    read; for sockets and capabilities the process's own or the first word of its command line
///    (`Source`, when arguments follow).
/// 4. Options narrow a rule: `readOnly` concerns writes only (an open whose `Data` flags lack
///    `O_RDONLY`, or any other file operation) and allows reads, whether the rule allows or blocks;
///    `ownerOnly` lets only the file's owner through, whether the rule allows or blocks (the owner is
///    read from an `OID` field of the event; when it is absent the accessor is taken as not the owner
///    and the alert carries `"OwnerUnverified": true`); `pts: false` concerns processes on a terminal
///    (`TTY` set) only; `allowedArgs` exempts an execution whose every argument is listed.
/// 5. Precedence: a Block rule that concerns the operation denies it, whatever Allow or Audit rules
///    also match (AppArmor's deny-wins; BPF-LSM would let a more specific Allow rule win over a Block
///    directory). Otherwise, when an allow list exists for the operation's kind (processes and files
///    share one) and no Allow rule covers the operation, the default posture decides: `block` denies
///    it (`DefaultPosture`, `Block`), `audit` lets it pass with a `DefaultPosture` `Audit` alert,
///    `allow` ignores allow lists. An Audit rule that concerns a passed operation raises an Audit alert.
///    Among several rules of one action, the first in KubeArmor's order labels the alert; at most one
///    alert is raised per event, as KubeArmor raises one.
/// 6. The alert is the event with `Type` `MatchedPolicy` (container) or `MatchedHostPolicy` (host),
///    `PolicyName`, `Severity`, `Tags`, `ATags`, `Message` of the rule (empty for `DefaultPosture`),
///    `Action`, `Enforcer` ``EvaluationOptions/enforcerName``, `"Reevaluated": true`, and `Result`:
///    `Permission denied` when the policies would have denied an operation that passed, otherwise the
///    result as recorded. Audit alerts are raised only for operations that passed, as KubeArmor raises
///    them. In audited namespaces and hosts nothing is denied: Block becomes `Audit (Block)`.
/// 7. Syscall rules (`syscalls`) always audit; as in the feeder, the last matching rule labels the alert.
///
/// What is not modelled: a denied operation's consequences (a process whose execution would have been
/// denied still has its later events evaluated); DNS, device, preset and native AppArmor rules
/// (``PolicySet/notEvaluated``).
public struct PolicyEvaluator {
    public let policySet: PolicySet
    private var tables: [RuleTable] = []
    private var tableIndexBySelection: [[Int]: Int] = [:]
    private var podTables: [PodKey: Int] = [:]
    private var nodeTables: [String: Int] = [:]
    /// The pods met most recently, newest first: events of a few busy pods interleave, and comparing
    /// a handful of keys (whose strings are usually shared with the event's) beats hashing them.
    private var recentPods: [(key: PodKey, table: Int)] = []
    private var lastNode: (hostName: String, table: Int)?
    /// The tables of the scopes that ignore selectors, once built: container events, host events.
    private var fixedTables: (container: Int?, host: Int?) = (nil, nil)
    private var operationsPerTable: [Int] = []
    private var candidates: [Int32] = []
    /// The decisions of the block being evaluated (``verdicts(in:rows:_:)``), by dictionary ids.
    private var blockMemo = BlockVerdictMemo()
    private var events = 0
    private var operations = 0
    private var alerts = 0

    init(_ policySet: PolicySet) {
        self.policySet = policySet
    }

    /// The alert the policies would have raised for `event`, or nil: ``verdict(for:)`` made into an
    /// alert record.
    public mutating func evaluate(_ event: Event) -> Event? {
        verdict(for: event).map { $0.alert(for: event, enforcer: policySet.options.enforcerName) }
    }

    /// What the policies would have done with `event`, when it raises an alert; cheaper than
    /// ``evaluate(_:)`` when only the decisions are needed (counts, summaries).
    public mutating func verdict(for event: borrowing Event) -> PolicyVerdict? {
        decideVerdict(event)
    }

    /// The verdicts for a batch of events (a store block, a read batch), given to `body` with the index
    /// of their event. Faster than calling ``verdict(for:)`` in a loop: the events are read in place,
    /// where passing each one to a function copies it.
    public mutating func verdicts(for events: [Event], _ body: (_ index: Int, _ verdict: PolicyVerdict) throws -> Void) rethrows {
        for index in events.indices {
            if let verdict = decideVerdict(events[index]) { try body(index, verdict) }
        }
    }

    /// The verdicts for `rows` of a column batch (a decoded store block), given to `body` with their
    /// row in order: exactly those ``verdicts(for:_:)`` gives for `batch.events(at: rows)`, with the
    /// same statistics, decided from the columns without building an ``Event``.
    ///
    /// An event's verdict depends only on its process context, its verdict strings (Operation,
    /// Result), its Resource, its Data and its extras (the owner's `OID`), each a dictionary id in
    /// the batch: rows that repeat a tuple of those ids within the block are decided once. Rows whose
    /// verdict strings name no operation a rule concerns (or a result that never reached the
    /// enforcer) are skipped after one lookup per distinct verdict.
    public mutating func verdicts(in batch: ColumnBatch, rows: some Sequence<Int32>,
                                  _ body: (_ row: Int32, _ verdict: PolicyVerdict) throws -> Void) rethrows {
        blockMemo.start(batch, isOperation: { verdict in
            let operation = batch.string(batch.stringID(Self.operationColumn, verdict: verdict))
            let result = batch.string(batch.stringID(Self.resultColumn, verdict: verdict))
            return OperationKind.mayName(operation) && Self.isEvaluatedResult(result)
        })
        for row in rows {
            let table: Int32, verdict: Int32
            switch blockMemo.lookup(row: Int(row)) {
            case .notAnOperation:
                (table, verdict) = (-1, -1)
            case .known(let knownTable, let knownVerdict):
                (table, verdict) = (knownTable, knownVerdict)
            case .unknown(let ids):
                let decision = decide(BatchRow(batch, row: Int(row)))
                table = decision.table
                verdict = blockMemo.remember(table: table, verdict: decision.verdict, for: ids)
            }
            tally(table: table, alert: verdict >= 0)
            if verdict >= 0 { try body(row, blockMemo.verdicts[Int(verdict)]) }
        }
    }

    /// The optional batch columns evaluation reads (`Resource`, `Data`, extras for the owner's `OID`):
    /// what a scan that only needs verdicts decodes.
    public static let columns: BatchColumns = [.resource, .data, .extras]

    private static let operationColumn = BlockVerdictMemo.verdictColumn(.operation)
    private static let resultColumn = BlockVerdictMemo.verdictColumn(.result)

    /// `events` with each one that raises an alert replaced by its alert, as KubeArmor's own stream
    /// carries a matched operation: once, as the alert (which keeps every field of the event).
    public mutating func replacingAlerts(in events: [Event]) -> [Event] {
        var decided: [(index: Int, verdict: PolicyVerdict)] = []
        verdicts(for: events) { index, verdict in decided.append((index, verdict)) }
        guard !decided.isEmpty else { return events }
        var result = events
        let enforcer = policySet.options.enforcerName
        for (index, verdict) in decided { result[index] = verdict.alert(for: events[index], enforcer: enforcer) }
        return result
    }

    @inline(__always)
    private mutating func decideVerdict(_ event: borrowing Event) -> PolicyVerdict? {
        let decision = decide(event)
        tally(table: decision.table, alert: decision.verdict != nil)
        return decision.verdict
    }

    /// What one event came to: the rule table it was an operation for, and its verdict.
    struct Decision {
        /// The index of the rule table of the event's workload, or -1 when no rule can concern the
        /// event (it is no operation, or its result never reached the enforcer).
        var table: Int32
        var verdict: PolicyVerdict?
    }

    /// Counts a decision into the statistics: an event, an operation for `table` (-1: none), an alert.
    @inline(__always)
    private mutating func tally(table: Int32, alert: Bool) {
        events += 1
        guard table >= 0 else { return }
        operations += 1
        operationsPerTable[Int(table)] += 1
        if alert { alerts += 1 }
    }

    /// The decision for `event`, the one implementation of the matching for records and batch rows.
    @inline(__always)
    private mutating func decide<E: PolicyEventFields>(_ event: E) -> Decision {
        guard let kind = OperationKind(event), Self.isEvaluatedResult(event.result) else {
            return Decision(table: -1, verdict: nil)
        }
        let isContainer = !event.containerID.isEmpty
        let tableIndex: Int
        if let context = event.batchIDs?.context, let known = blockMemo.table(ofContext: context) {
            tableIndex = known
        } else {
            tableIndex = table(for: event, isContainer: isContainer)
            if let context = event.batchIDs?.context { blockMemo.keep(table: tableIndex, ofContext: context) }
        }
        return Decision(table: Int32(tableIndex), verdict: verdict(for: event, kind: kind, tableIndex: tableIndex,
                                                                   isContainer: isContainer))
    }

    @inline(__always)
    private mutating func verdict<E: PolicyEventFields>(for event: E, kind: OperationKind, tableIndex: Int,
                                                        isContainer: Bool) -> PolicyVerdict? {
        let table = tables[tableIndex]
        if kind == .syscall { return syscallVerdict(event, table: table, isContainer: isContainer) }
        candidates.removeAll(keepingCapacity: true)
        let matched: Bool
        if let ids = event.batchIDs {
            // What the rules match on: the executable and command line, the path, the socket or capability words.
            let (first, second) = kind == .execution ? (ids.processName, ids.resource)
                : kind == .file ? (ids.resource, 0) : (ids.resource, ids.data)
            matched = blockMemo.matchedRules(table: tableIndex, kind: kind, first: first, second: second, into: &candidates) {
                Self.matchTargets(event, kind: kind, table: table, into: &$0)
            }
        } else {
            matched = Self.matchTargets(event, kind: kind, table: table, into: &candidates)
        }
        guard matched else { return nil }
        let lineage = kind == .execution || kind == .file
        let sources = if let context = event.batchIDs?.context {
            blockMemo.sources(ofContext: context, lineage: lineage) { Self.sources(event, lineage: lineage) }
        } else {
            Self.sources(event, lineage: lineage)
        }
        let group: PostureGroup = kind == .network ? .network : kind == .capability ? .capabilities : .file
        return decide(event, table: table, group: group, sources: sources, isContainer: isContainer)
    }

    /// Appends to `candidates` the rules of `table` whose target names the operation (`kind` is not
    /// `.syscall`): KubeArmor's `matchResources` for executions and files, socket type or protocol for
    /// network rules, the capability's name for capability rules. False when no rule of the kind can
    /// concern the operation (none in the table, nor an allow list; a socket the event does not describe).
    private static func matchTargets<E: PolicyEventFields>(_ event: E, kind: OperationKind, table: RuleTable,
                                                           into candidates: inout [Int32]) -> Bool {
        switch kind {
        case .execution:
            guard !table.process.isEmpty || table.fileAllowList else { return false }
            let executable = event.processName.isEmpty ? Self.firstWord(event.resource) : event.processName
            table.process.collect(path: executable, alsoForPatterns: event.resource, into: &candidates)
        case .file:
            guard !table.file.isEmpty || table.fileAllowList else { return false }
            table.file.collect(path: event.resource, into: &candidates)
        case .network:
            guard !table.sockets.isEmpty, let socket = SocketFacts(event) else { return false }
            table.sockets.collect(socket, into: &candidates)
        case .capability:
            guard !table.capabilityRules.isEmpty else { return false }
            let resource = event.resource.uppercased(), data = event.data.uppercased()
            for id in table.capabilityRules {
                if case .capability(let name) = table.rules[Int(id)].target,
                   resource.containsBytes(of: name) || data.containsBytes(of: name) {
                    candidates.append(id)
                }
            }
        case .syscall:
            return false
        }
        return true
    }

    /// The executables `fromSource` is compared with, as the feeder compares them: for executions and
    /// file accesses (`lineage`) the process's own (``actor(_:)``) and its parent's (`ParentProcessName`,
    /// or the first word of `Source`); for sockets and capabilities the process's own and the first word
    /// of its command line (`Source`) when more follows it.
    private static func sources<E: PolicyEventFields>(_ event: E, lineage: Bool) -> BlockVerdictMemo.Sources {
        if lineage {
            return BlockVerdictMemo.Sources(actor(event), event.parentProcessName.isEmpty ? firstWord(event.source) : event.parentProcessName)
        }
        let command = event.source.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        return BlockVerdictMemo.Sources(actor(event), command.count == 2 ? String(command[0]) : "")
    }

    /// The counts so far, with ``EvaluationStatistics/eventsInScope`` for every policy.
    public func statistics() -> EvaluationStatistics {
        var statistics = EvaluationStatistics()
        statistics.events = events
        statistics.operations = operations
        statistics.alerts = alerts
        for policy in policySet.policies { statistics.eventsInScope[policy.name, default: 0] += 0 }
        for (index, table) in tables.enumerated() where operationsPerTable[index] > 0 {
            for policy in table.policyIndices {
                statistics.eventsInScope[policySet.policies[policy].name, default: 0] += operationsPerTable[index]
            }
        }
        return statistics
    }

    // MARK: decision

    private enum PostureGroup { case file, network, capabilities }

    private mutating func decide<E: PolicyEventFields>(_ event: E, table: RuleTable, group: PostureGroup,
                                                       sources: BlockVerdictMemo.Sources, isContainer: Bool) -> PolicyVerdict? {
        let allowList: Bool
        switch group {
        case .file: allowList = table.fileAllowList
        case .network: allowList = table.networkAllowList
        case .capabilities: allowList = table.capabilityAllowList
        }
        let posture: DefaultPosture.Action? = allowList ? self.posture(event, isContainer: isContainer, group: group) : nil
        let postureApplies = posture == .block || posture == .audit
        guard !candidates.isEmpty || postureApplies else { return nil }

        // Read from the event once a rule that concerns the operation's source needs it.
        var access: AccessFacts?
        var block: CompiledRule?
        var audit: CompiledRule?
        var permitted = false
        var allowNeededUnknownOwner = false
        for id in candidates {
            let requiredSource = table.sourceHashes[Int(id)]
            if requiredSource != 0 && !sources.mayInclude(hash: requiredSource) { continue }
            let rule = table.rules[Int(id)]
            if let required = rule.fromSource, !sources.include(required) { continue }
            if access == nil { access = AccessFacts(event) }
            switch rule.action {
            case .block:
                if block.map({ rule.order < $0.order }) ?? true, access!.isConcerned(by: rule) { block = rule }
            case .audit:
                if audit.map({ rule.order < $0.order }) ?? true, access!.isConcerned(by: rule) { audit = rule }
            case .allow:
                if !permitted {
                    permitted = access!.isPermitted(by: rule)
                    allowNeededUnknownOwner = allowNeededUnknownOwner || (rule.ownerOnly && access!.owner == nil)
                }
            }
        }

        let passed = event.result == "Passed"
        if let block {
            let denial = denial(event, passed: passed, isContainer: isContainer)
            return verdict(label: block.label, action: denial.action, result: denial.result, isContainer: isContainer,
                         ownerUnverified: block.ownerOnly && access?.owner == nil)
        }
        let outsideAllowList = postureApplies && !permitted
        if outsideAllowList && posture == .block {
            let denial = denial(event, passed: passed, isContainer: isContainer)
            return verdict(label: nil, action: denial.action, result: denial.result, isContainer: isContainer,
                         ownerUnverified: allowNeededUnknownOwner)
        }
        guard passed else { return nil }
        if let audit {
            return verdict(label: audit.label, action: "Audit", result: event.result, isContainer: isContainer,
                         ownerUnverified: audit.ownerOnly && access?.owner == nil)
        }
        if outsideAllowList {
            return verdict(label: nil, action: "Audit", result: event.result, isContainer: isContainer,
                         ownerUnverified: allowNeededUnknownOwner)
        }
        return nil
    }

    /// The action and result of an operation the policies deny: `Block`, with `Permission denied` for
    /// one that passed; in audited namespaces and hosts `Audit (Block)` with the result as recorded.
    private func denial<E: PolicyEventFields>(_ event: E, passed: Bool, isContainer: Bool) -> (action: String, result: String) {
        let audited = isAudited(event, isContainer: isContainer)
        return (audited ? "Audit (Block)" : "Block", passed && !audited ? "Permission denied" : event.result)
    }

    private func syscallVerdict<E: PolicyEventFields>(_ event: E, table: RuleTable, isContainer: Bool) -> PolicyVerdict? {
        guard !table.syscallRules.isEmpty else { return nil }
        let firstData = event.data.split(separator: " ", maxSplits: 1).first ?? ""
        guard let range = firstData.range(of: "SYS_") else { return nil }
        let name = firstData[range.upperBound...]
        let executable = event.source.split(separator: " ", maxSplits: 1).first ?? ""
        guard let rule = table.syscallRules.last(where: {
            $0.matches(syscall: name, resource: event.resource, source: executable)
        }) else { return nil }
        return verdict(label: rule.label, action: "Audit", result: event.result, isContainer: isContainer,
                     ownerUnverified: false)
    }

    private func verdict(label: AlertLabel?, action: String, result: String, isContainer: Bool,
                         ownerUnverified: Bool) -> PolicyVerdict {
        PolicyVerdict(label: label, action: action, result: result, isHostAlert: !isContainer,
                             ownerUnverified: ownerUnverified)
    }

    // MARK: workloads

    private func posture<E: PolicyEventFields>(_ event: E, isContainer: Bool, group: PostureGroup) -> DefaultPosture.Action {
        let posture = isContainer ? policySet.options.namespacePostures[event.namespaceName] ?? policySet.options.containerPosture
            : policySet.options.hostPosture
        switch group {
        case .file: return posture.file
        case .network: return posture.network
        case .capabilities: return posture.capabilities
        }
    }

    private func isAudited<E: PolicyEventFields>(_ event: E, isContainer: Bool) -> Bool {
        if policySet.options.auditsEverything { return true }
        return isContainer ? policySet.options.auditedNamespaces.contains(event.namespaceName)
            : policySet.options.auditedHosts.contains(event.hostName)
    }

    private struct PodKey: Hashable {
        let namespace: String
        let labels: String
        let containerName: String

        func describes<E: PolicyEventFields>(_ event: E) -> Bool {
            labels == event.labels && namespace == event.namespaceName && containerName == event.containerName
        }
    }

    private static let recentPodCount = 8

    /// The index of the rule table for `event`'s workload, built on first use.
    private mutating func table<E: PolicyEventFields>(for event: E, isContainer: Bool) -> Int {
        let compiled = policySet.compiled
        switch (policySet.options.scope, isContainer) {
        case (.everywhere, _), (.anyWorkload, _):
            if let known = isContainer ? fixedTables.container : fixedTables.host { return known }
            let selected = policySet.options.scope == .everywhere ? Array(compiled.indices)
                : compiled.indices.filter { compiled[$0].kind.isHostPolicy != isContainer }
            let index = table(selecting: selected)
            if isContainer { fixedTables.container = index } else { fixedTables.host = index }
            return index
        case (.asWritten, true):
            for (position, recent) in recentPods.enumerated() where recent.key.describes(event) {
                if position > 0 { recentPods.swapAt(position, position - 1) }
                return recent.table
            }
            let key = PodKey(namespace: event.namespaceName, labels: event.labels, containerName: event.containerName)
            let index: Int
            if let known = podTables[key] {
                index = known
            } else {
                let identities = WorkloadMatcher.podIdentities(namespace: key.namespace, labels: key.labels)
                index = table(selecting: compiled.indices.filter {
                    compiled[$0].workloads.applies(toPodIn: key.namespace, identities: identities,
                                                   containerName: key.containerName)
                })
                podTables[key] = index
            }
            if recentPods.count == Self.recentPodCount { recentPods.removeLast() }
            recentPods.insert((key, index), at: 0)
            return index
        case (.asWritten, false):
            if let last = lastNode, last.hostName == event.hostName { return last.table }
            let index: Int
            if let known = nodeTables[event.hostName] {
                index = known
            } else {
                let identities = WorkloadMatcher.nodeIdentities(
                    hostName: event.hostName, extraLabels: policySet.options.nodeLabels[event.hostName] ?? [:])
                index = table(selecting: compiled.indices.filter { compiled[$0].workloads.applies(toNodeWith: identities) })
                nodeTables[event.hostName] = index
            }
            lastNode = (event.hostName, index)
            return index
        }
    }

    private mutating func table(selecting policies: [Int]) -> Int {
        if let known = tableIndexBySelection[policies] { return known }
        tables.append(RuleTable(policyIndices: policies, policies: policySet.compiled))
        operationsPerTable.append(0)
        tableIndexBySelection[policies] = tables.count - 1
        return tables.count - 1
    }

    // MARK: event fields

    private static func isEvaluatedResult(_ result: String) -> Bool {
        result == "Passed" || result == "Permission denied" || result == "Operation not permitted"
    }

    /// The executable acting: `ProcessName`, or the first word of `Source` when it is missing.
    private static func actor<E: PolicyEventFields>(_ event: E) -> String {
        event.processName.isEmpty ? firstWord(event.source) : event.processName
    }

    private static func firstWord(_ text: String) -> String {
        String(text.split(separator: " ", maxSplits: 1).first ?? "")
    }
}

/// The facts about one access that rule options test, each computed only when a rule asks for it.
struct AccessFacts {
    private let data: String
    private let resource: String
    private let onTerminal: Bool
    private let uid: Int32
    private let ownerText: String?
    private var writeCache: Bool?

    init<E: PolicyEventFields>(_ event: E) {
        data = event.data
        resource = event.resource
        onTerminal = !event.tty.isEmpty
        uid = event.uid
        ownerText = event.extra("OID")
    }

    /// The UID owning the file (the event's `OID` field), or nil when the event does not say.
    var owner: Int32? { ownerText.flatMap { Int32($0) } }

    /// Whether the access writes: anything but an open whose flags include `O_RDONLY` (the feeder's test).
    private mutating func isWrite() -> Bool {
        if let writeCache { return writeCache }
        let write = !data.containsBytes(of: "O_RDONLY")
        writeCache = write
        return write
    }

    /// Whether the accessor owns the file; an unknown owner counts as someone else.
    private var isOwner: Bool { owner == uid }

    /// Whether every argument of the execution is listed in `allowed`.
    private func argumentsAllowed(_ allowed: [String]) -> Bool {
        resource.split(separator: " ").dropFirst().allSatisfy { allowed.contains(String($0)) }
    }

    /// Whether a Block or Audit rule whose target matched concerns this access.
    mutating func isConcerned(by rule: CompiledRule) -> Bool {
        if rule.terminalOnly && !onTerminal { return false }
        if !rule.allowedArgs.isEmpty && argumentsAllowed(rule.allowedArgs) { return false }
        switch (rule.ownerOnly, rule.readOnly) {
        case (false, false): return true
        case (false, true): return isWrite()
        case (true, false): return !isOwner
        case (true, true): return !isOwner || isWrite()
        }
    }

    /// Whether an Allow rule whose target matched lets this access through.
    mutating func isPermitted(by rule: CompiledRule) -> Bool {
        if rule.terminalOnly && onTerminal { return false }
        if !rule.allowedArgs.isEmpty && !argumentsAllowed(rule.allowedArgs) { return false }
        switch (rule.ownerOnly, rule.readOnly) {
        case (false, false): return true
        case (false, true): return !isWrite()
        case (true, false): return isOwner
        case (true, true): return isOwner && !isWrite()
        }
    }
}
