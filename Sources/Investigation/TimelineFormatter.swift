import EventModel

/// Formats events as timeline lines: time, host, process lineage, operation, resource, result, and
/// for alerts the action and policy.
///
/// ```
/// 2024-05-31T10:06:40.043498Z  node-1  sshd › bash › curl(4242)  Network  remoteip=… port=443 protocol=TCP  Passed
/// 2024-05-31T10:06:41.100000Z  node-1  sh › apt-get(4250)  Process  /usr/bin/apt-get install nmap  Permission denied  !! Block ksp-block-pkg (severity 5)
/// ```
///
/// The lineage comes from the process-instance table: the instance of the event (by host, HostPID
/// and time), the parent named by the event, then the parents that started each ancestor, nearest
/// ``lineageDepth`` names, `…` when cut. Without an instance it is the event's own
/// `ParentProcessName › ProcessName`. Alerts are marked `!!`; with `colour`, the alert part is red
/// for blocks and yellow otherwise (ANSI escapes, only when asked). Strings from events are escaped.
public struct TimelineFormatter: Sendable {
    public let table: ProcessInstanceTable
    public let colour: Bool
    /// How many process names the lineage shows at most (the event's process included).
    public let lineageDepth: Int

    public init(table: ProcessInstanceTable, colour: Bool = false, lineageDepth: Int = 4) {
        self.table = table
        self.colour = colour
        self.lineageDepth = max(1, lineageDepth)
    }

    /// The line of `event` (without a newline).
    public func line(for event: borrowing Event) -> String {
        var fields = [
            UnixTime.shown(event.timeNs),
            TerminalText.escaped(event.hostName),
            lineage(for: event).joined(separator: " › ") + "(\(event.hostPID))",
            TerminalText.escaped(event.operation),
            TerminalText.escaped(event.resource.isEmpty ? event.data : event.resource),
            TerminalText.escaped(event.result),
        ]
        if event.isAlert {
            let severity = event.severity.isEmpty ? "" : " (severity \(TerminalText.escaped(event.severity)))"
            let alert = "!! " + TerminalText.escaped(event.action.isEmpty ? event.type : event.action) + " "
                + TerminalText.escaped(event.policyName) + severity
            fields.append(colour ? (event.action == "Block" ? Self.red : Self.yellow) + alert + Self.reset : alert)
        }
        return fields.joined(separator: "  ")
    }

    private static let red = "\u{1B}[1;31m"
    private static let yellow = "\u{1B}[1;33m"
    private static let reset = "\u{1B}[0m"

    /// The program names from the farthest shown ancestor down to the event's process.
    public func lineage(for event: borrowing Event) -> [String] {
        var names = [ProcessDisplayText.programName(event.processName)]
        guard let id = table.instanceID(hostName: event.hostName, hostPID: event.hostPID, at: event.timeNs),
              let instance = table[id] else {
            if !event.parentProcessName.isEmpty && lineageDepth > 1 {
                names.insert(ProcessDisplayText.programName(event.parentProcessName), at: 0)
            }
            return names
        }
        var seen: Set<Int64> = [instance.id]
        var next = table.parent(of: instance)
        var isParent = true
        while let ancestor = next, seen.insert(ancestor.id).inserted {
            guard names.count < lineageDepth else {
                names.insert("…", at: 0)
                break
            }
            // The event names its parent as it was then; farther ancestors by their last image.
            let name = isParent && ancestor.hostPID == event.hostPPID && !event.parentProcessName.isEmpty
                ? event.parentProcessName : ancestor.currentImage
            names.insert(ProcessDisplayText.programName(name), at: 0)
            next = table.parent(of: ancestor)
            isParent = false
        }
        return names
    }
}
