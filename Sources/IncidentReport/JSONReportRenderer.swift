import EventModel

/// Writes an ``IncidentReport`` as one JSON object, for machines: never capped when the collector
/// kept every row.
///
/// Keys, in order: `Title`, `Selection`, `Generator`, `GeneratedAt`, `Summary`, `Processes` (the
/// tree depth-first, each with `ID` and `ParentID`), `Events` (the selected events as KubeArmor
/// records, exactly as `export` writes them), `EventsOmitted`, `Reevaluation` (null without
/// policies; its `Records` are the would-be alerts), `Evidence`.
public struct JSONReportRenderer: Sendable {
    public init() {}

    public func render(_ report: IncidentReport) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 * 1024 + report.rows.count * 1024)
        var writer = KubeArmorJSONWriter()
        func raw(_ text: String) { out.append(contentsOf: text.utf8) }
        func string(_ text: String) { KubeArmorJSONWriter.appendQuoted(text, to: &out) }
        func key(_ name: String) { raw("\"\(name)\":") }
        func optional(_ value: (some BinaryInteger)?) { raw(value.map { String($0) } ?? "null") }
        func strings(_ values: [String]) {
            raw("[")
            for (n, value) in values.enumerated() {
                if n > 0 { raw(",") }
                string(value)
            }
            raw("]")
        }
        func counts(_ values: [ReportCount]) {
            raw("[")
            for (n, count) in values.enumerated() {
                raw(n > 0 ? ",{\"Value\":" : "{\"Value\":")
                string(count.value)
                raw(",\"Count\":\(count.count)}")
            }
            raw("]")
        }
        func events(_ events: [Event]) {
            raw("[")
            for (n, event) in events.enumerated() {
                raw(n > 0 ? ",\n" : "\n")
                writer.append(event, to: &out)
            }
            raw("]")
        }

        let summary = report.summary
        raw("{")
        key("Title"); string(report.title)
        raw(","); key("Selection"); string(report.selection)
        raw(","); key("Generator"); string("rearview " + report.evidence.version)
        raw(","); key("GeneratedAt"); string(UnixTime.rfc3339Micro(report.evidence.generatedAtNs))
        raw(",\n"); key("Summary")
        raw("{\"Events\":\(summary.events),\"FirstNs\":"); optional(summary.firstNs)
        raw(",\"LastNs\":"); optional(summary.lastNs)
        raw(",\"Hosts\":"); counts(summary.hosts)
        raw(",\"Operations\":"); counts(summary.operations)
        raw(",\"Processes\":\(summary.processes),\"EventsWithoutProcess\":\(summary.eventsWithoutProcess)")
        raw(",\"Alerts\":\(summary.alerts),\"AlertsBySeverity\":"); counts(summary.alertsBySeverity)
        raw(",\"AlertsByPolicy\":"); counts(summary.alertsByPolicy)
        raw(",\"AlertsByAction\":"); counts(summary.alertsByAction)
        raw(",\"Tags\":{")
        for (n, group) in summary.tagGroups.enumerated() {
            if n > 0 { raw(",") }
            key(group.name); counts(group.tags)
        }
        raw("}}")

        raw(",\n"); key("Processes"); raw("[")
        for (n, process) in report.processes.enumerated() {
            let instance = process.instance
            raw(n > 0 ? ",\n{" : "\n{")
            raw("\"ID\":\(instance.id),\"ParentID\":"); optional(process.parentID)
            raw(",\"Depth\":\(process.depth),\"Selected\":\(process.isSelected),\"HostName\":"); string(instance.hostName)
            raw(",\"HostPID\":\(instance.hostPID),\"PID\":\(instance.pid),\"StartNs\":\(instance.startNs),\"ExitNs\":")
            optional(instance.exitNs)
            raw(",\"LastActivityNs\":\(instance.lastActivityNs),\"ExitCode\":"); optional(instance.exitCode)
            raw(",\"ExitSignal\":"); if let signal = instance.exitSignal { string(signal) } else { raw("null") }
            raw(",\"Images\":"); strings(instance.images)
            raw(",\"Command\":"); string(instance.command)
            raw(",\"FailedExecs\":"); strings(instance.failedExecs)
            raw(",\"UID\":"); optional(instance.uid)
            raw(",\"ContainerID\":"); string(instance.containerID)
            raw(",\"PodName\":"); string(instance.podName)
            raw(",\"Inferred\":"); string(instance.origin.rawValue)
            raw(",\"Events\":\(process.events),\"Alerts\":\(process.alerts),\"Blocked\":\(process.blocked),\"HighestSeverity\":")
            optional(process.highestSeverity)
            raw("}")
        }
        raw("]")

        raw(",\n"); key("Events"); events(report.rows)
        raw(",\n"); key("EventsOmitted"); raw(String(report.omittedRows))

        raw(",\n"); key("Reevaluation")
        if let reevaluation = report.reevaluation {
            raw("{\"PolicyFiles\":"); strings(reevaluation.sources)
            raw(",\"Policies\":"); strings(reevaluation.policies)
            raw(",\"NotEvaluated\":"); strings(reevaluation.notEvaluated)
            raw(",\"IdlePolicies\":"); strings(reevaluation.idlePolicies)
            raw(",\"Alerts\":\(reevaluation.alertCount),\"ByRule\":[")
            for (n, rule) in reevaluation.byRule.enumerated() {
                raw(n > 0 ? ",{\"PolicyName\":" : "{\"PolicyName\":"); string(rule.policyName)
                raw(",\"Rule\":"); string(rule.rule)
                raw(",\"Action\":"); string(rule.action)
                raw(",\"Count\":\(rule.count)}")
            }
            raw("],\"Records\":"); events(reevaluation.alerts)
            raw(",\"RecordsOmitted\":\(reevaluation.alertCount - reevaluation.alerts.count)}")
        } else {
            raw("null")
        }

        let evidence = report.evidence
        raw(",\n"); key("Evidence"); raw("{\"Stores\":[")
        for (n, store) in evidence.stores.enumerated() {
            raw(n > 0 ? ",{\"Path\":" : "{\"Path\":"); string(store.path)
            raw(",\"StoreID\":"); string(store.storeID)
            raw(",\"Verified\":\(store.problems.isEmpty),\"Problems\":"); strings(store.problems)
            raw(",\"CoverageHoles\":"); strings(store.coverageHoles)
            raw(",\"Segments\":[")
            for (m, segment) in store.segments.enumerated() {
                raw(m > 0 ? ",{" : "{")
                raw("\"Number\":\(segment.number),\"File\":"); string(segment.fileName)
                raw(",\"Sealed\":\(segment.sealed),\"Bytes\":\(segment.bytes),\"SHA256\":")
                if let hash = segment.sha256 { string(hash) } else { raw("null") }
                raw("}")
            }
            raw("]}")
        }
        raw("],\"CommandLine\":"); string(evidence.commandLine)
        raw(",\"Version\":"); string(evidence.version)
        raw(",\"GeneratedAt\":"); string(UnixTime.rfc3339Micro(evidence.generatedAtNs))
        raw("}}\n")
        return out
    }
}
