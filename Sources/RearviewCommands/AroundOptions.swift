import ArgumentParser
import EventModel
import Foundation
import Investigation

/// `--around PID` with `--window` and `--at`: the incident around one process, as `report` and
/// `timeline` select it.
struct AroundOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The incident around this HostPID: the process, its ancestors and descendants, and their events within --window.",
        valueName: "pid"))
    var around: Int32?

    @Option(help: ArgumentHelp(
        "With --around: events from the process's start minus this to the end of it and its descendants plus this (default 10m).",
        valueName: "duration"))
    var window: String?

    @Option(help: ArgumentHelp(
        "With --around: the instance alive at this time (RFC 3339, unix seconds, or a duration before the last event).",
        valueName: "time"))
    var at: String?

    /// How the commands' discussions describe the selection.
    static let discussion = """
        --around PID selects an incident around one process: the instance with that HostPID (the \
        latest one to start, or with --at TIME the one alive then, for a reused PID), all its \
        ancestors and all its descendants, and every event of those instances from (its start − \
        --window) to (the last end of it and its descendants + --window), an end being the exit or, \
        when no exit was seen, the last activity; the bounds are inclusive. The filter expression \
        and flags narrow this further. An unknown PID is an error (exit 2), and so is a PID that \
        several hosts had: the error lists each (host, start, command) and --host REGEX picks one.
        """

    func validate() throws {
        if around == nil && window != nil { throw ValidationError("--window needs --around") }
        if around == nil && at != nil { throw ValidationError("--at needs --around") }
    }

    /// The selected incident, or nil without `--around`; `hostPattern` is `--host`, which narrows
    /// the candidates.
    func scope(table: ProcessInstanceTable, lastEventNs: Int64, hostPattern: String?) throws -> IncidentScope? {
        guard let pid = around else { return nil }
        let windowText = window ?? "10m"
        let windowNs = Int64(try QuantityArgument.seconds(windowText, option: "--window") * 1e9)
        let atNs: Int64?
        do {
            atNs = try at.map { try TimeArgument.parse($0, relativeTo: lastEventNs) }
        } catch {
            throw CommandFailure("--at: \(error)", exitCode: 2)
        }
        let onHosts = try Self.narrowed(table.instances(hostPID: pid), hostPattern: hostPattern)
        let byHost = Dictionary(grouping: onHosts, by: \.hostName)
        guard !byHost.isEmpty else {
            let where_ = hostPattern.map { " on a host matching --host '\($0)'" } ?? ""
            throw CommandFailure("--around \(pid): no process with HostPID \(pid)\(where_) in the store(s)", exitCode: 2)
        }
        guard byHost.count == 1, let instances = byHost.values.first else {
            let candidates = onHosts.sorted { ($0.hostName, $0.startNs) < ($1.hostName, $1.startNs) }
                .map { "  \(TerminalText.escaped($0.hostName))  \(UnixTime.rfc3339Micro($0.startNs))  \(Self.commandText($0))" }
            throw CommandFailure((["--around \(pid): \(byHost.count) hosts had HostPID \(pid); pick one with --host:"]
                                  + candidates).joined(separator: "\n"), exitCode: 2)
        }
        // Instances come ordered by start: the latest, or the one --at names.
        let chosen = atNs.flatMap { ProcessSelector.hostPID(pid, at: $0).select(in: ProcessInstanceTable(instances)).first }
            .flatMap { table[$0] } ?? instances.last!
        let tree = ProcessTree(table: table, selecting: .instances([chosen.id]))
        let descendants = tree.instancesByID.values.filter { Self.descends($0, from: chosen.id, in: tree) }
        let from = chosen.startNs - windowNs
        let lastEnd = ([chosen] + descendants).map(\.endNs).max()!
        let through = lastEnd > .max - windowNs ? Int64.max : lastEnd + windowNs
        let pids = Set(tree.instancesByID.values.map(\.hostPID)).sorted().map(String.init).joined(separator: ", ")
        let processes: FilterExpression
        do {
            processes = try FilterExpression(parsing: "HostPID in (\(pids)) and HostName = \(Self.quoted(chosen.hostName))")
        } catch {
            throw CommandFailure("--around: \(error)", exitCode: 2)
        }
        let filter = EventFilter(.and([processes, .timeRange(since: from, until: through == .max ? nil : through + 1)]))
        let description = "around \(Self.name(chosen)): the process, its \(tree.instancesByID.count - 1) ancestors and "
            + "descendants, and their events from \(UnixTime.rfc3339Micro(from)) through \(UnixTime.rfc3339Micro(through)) "
            + "(its life and its descendants' ± \(windowText))"
        return IncidentScope(tree: tree, process: chosen, filter: filter, description: description)
    }

    /// How titles and the selection text name a process: `bash (HostPID 9893 on node-1)`.
    static func name(_ instance: ProcessInstance) -> String {
        "\(ProcessDisplayText.programName(instance.currentImage)) (HostPID \(instance.hostPID) on "
            + "\(TerminalText.escaped(instance.hostName)))"
    }

    private static func narrowed(_ instances: [ProcessInstance], hostPattern: String?) throws -> [ProcessInstance] {
        guard let hostPattern, !hostPattern.isEmpty else { return instances }
        do {
            let regex = try PCRERegex(hostPattern, options: .caseless)
            return instances.filter { regex.matches($0.hostName) }
        } catch {
            throw CommandFailure("--host '\(hostPattern)': bad regular expression: \(error.message)", exitCode: 2)
        }
    }

    /// `text` as a quoted value of the filter language.
    private static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    private static func commandText(_ instance: ProcessInstance) -> String {
        let command = instance.command.isEmpty ? instance.currentImage : instance.command
        return TerminalText.escaped(command.isEmpty ? "(unknown command)" : command)
    }

    /// Whether `instance` is below the instance `ancestor` in `tree`.
    private static func descends(_ instance: ProcessInstance, from ancestor: Int64, in tree: ProcessTree) -> Bool {
        var parent = instance.parentID
        var steps = 0
        while let id = parent, steps < tree.instancesByID.count {
            if id == ancestor { return true }
            parent = tree.instancesByID[id]?.parentID
            steps += 1
        }
        return false
    }
}

/// What `--around` selected: the process, its tree, and the filter of their events in the window.
struct IncidentScope {
    var tree: ProcessTree
    var process: ProcessInstance
    var filter: EventFilter
    var description: String
}
