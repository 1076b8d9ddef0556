import EventModel

/// Writes a ``ProcessTree`` as text like `pstree -a`, as JSON, or as Graphviz DOT.
public struct ProcessTreeRenderer: Sendable {
    public let tree: ProcessTree
    /// Arguments longer than this many characters are cut in the middle (with `…`) in text and DOT;
    /// `nil` cuts nothing.
    public let argumentLimit: Int?

    /// The ``argumentLimit`` unless asked otherwise.
    public static let defaultArgumentLimit = 160

    public init(_ tree: ProcessTree, argumentLimit: Int? = defaultArgumentLimit) {
        self.tree = tree
        self.argumentLimit = argumentLimit.map { max(0, $0) }
    }

    // MARK: text

    /// One line per instance, drawn like `pstree -a`:
    ///
    /// ```
    /// [node-1] systemd(1) · uid 0 · 2024-05-31T10:06:40.049Z – last seen 2024-05-31T10:21:24.000Z · snapshot
    /// └─ sshd(263) -D · uid 0 · …
    ///    └─ bash → curl(4242) -sO https://… · uid 1000 · … · exit 0 · file 3 · network 2
    /// ```
    ///
    /// Each line: `*` when the selection chose it, the exec chain (`bash → curl`), `(HostPID)` (with
    /// `/PID` when the namespace PID differs), the arguments (cut at ``argumentLimit``), the execs that
    /// failed (`exec failed: /usr/bin/apt-get install -y nmap`: blocked by a policy, say), then UID,
    /// container (12 characters), start–exit or start–last seen, exit code or signal, who reaped it,
    /// the origin when it is not plain (snapshot, a reused PID's reason), and counts of file, network,
    /// capabilities and syscall events. Roots name their host. Every string from events is escaped
    /// (``TerminalText``).
    public func text() -> String {
        var out = ""
        let marksSelection = tree.selectedIDs.count < tree.instancesByID.count
        var stack: [(node: ProcessTreeNode, prefix: String, connector: String, childPrefix: String)] =
            tree.roots.reversed().map { ($0, "", "", "") }
        while let (node, prefix, connector, childPrefix) = stack.popLast() {
            let instance = node.instance
            let host = connector.isEmpty ? "[\(TerminalText.escaped(instance.hostName))] " : ""
            let mark = marksSelection && tree.selectedIDs.contains(instance.id) ? "*" : ""
            out += prefix + connector + host + mark + label(instance) + "\n"
            for (offset, child) in node.children.enumerated().reversed() {
                let isLast = offset == node.children.count - 1
                stack.append((child, childPrefix, isLast ? "└─ " : "├─ ", childPrefix + (isLast ? "   " : "│  ")))
            }
        }
        return out
    }

    /// The text line of one instance (without tree drawing).
    func label(_ instance: ProcessInstance) -> String {
        var parts: [String] = []
        let chain = instance.images.isEmpty ? "?" : instance.images.map(ProcessDisplayText.programName).joined(separator: " → ")
        let pid = instance.pid != instance.hostPID && instance.pid != 0 ? "\(instance.hostPID)/\(instance.pid)" : "\(instance.hostPID)"
        let arguments = cut(Self.arguments(of: instance))
        parts.append(chain + "(" + pid + ")" + (arguments.isEmpty ? "" : " " + TerminalText.escaped(arguments)))
        if instance.isPlaceholder {
            parts.append("placeholder: no event of its own")
        }
        if !instance.failedExecs.isEmpty {
            let attempts = cut(instance.failedExecs.joined(separator: "; "))
            parts.append("exec failed: " + TerminalText.escaped(attempts))
        }
        if let uid = instance.uid { parts.append("uid \(uid)") }
        if !instance.containerID.isEmpty {
            parts.append("container " + TerminalText.escaped(String(instance.containerID.prefix(12))))
        }
        parts.append(timeSpan(instance))
        if let signal = instance.exitSignal {
            parts.append("killed by " + TerminalText.escaped(signal))
        } else if let code = instance.exitCode {
            parts.append("exit \(code)")
        }
        if let reaper = tree.reaper(of: instance) {
            parts.append("reaped by " + TerminalText.escaped(ProcessDisplayText.programName(reaper.currentImage)) + "(\(reaper.hostPID))")
        }
        switch instance.origin {
        case .recorded, .inferredFirstSeen, .placeholder: break
        default: parts.append(instance.origin.rawValue)
        }
        let counts = instance.events
        for (name, count) in [("file", counts.file), ("network", counts.network), ("capabilities", counts.capabilities),
                              ("syscall", counts.syscall)] where count > 0 {
            parts.append("\(name) \(count)")
        }
        return parts.joined(separator: " · ")
    }

    private func timeSpan(_ instance: ProcessInstance) -> String {
        let start = ProcessDisplayText.time(instance.startNs)
        if let exit = instance.exitNs { return start + " – " + ProcessDisplayText.time(exit) }
        return start + " – last seen " + ProcessDisplayText.time(instance.lastActivityNs)
    }

    /// The arguments of the last command: the command line without its program (`ps aux` → `aux`).
    /// `text` cut to ``argumentLimit``.
    private func cut(_ text: String) -> String {
        argumentLimit.map { TerminalText.middleTruncated(text, to: $0) } ?? text
    }

    static func arguments(of instance: ProcessInstance) -> String {
        guard let space = instance.command.firstIndex(of: " ") else { return "" }
        return String(instance.command[instance.command.index(after: space)...])
    }

    // MARK: JSON

    /// An array of the root nodes; each node is an object with, in this order, `HostName`, `HostPID`,
    /// `PID`, `StartNs`, `ExitNs` (unix ns, null when unknown), `Images` (the exec chain, oldest
    /// first), `UID` (null for a placeholder), `ContainerID`, `Inferred` (how the instance was
    /// established: a ``ProcessInstance/Origin`` raw value), `Placeholder`, `Events` (counts by
    /// `Operation`, non-zero ones) and `Children` (nodes).
    public func json() -> String {
        var out = "["
        // Each frame: a list of sibling nodes and the index of the next one to write.
        var stack: [(siblings: [ProcessTreeNode], next: Int)] = [(tree.roots, 0)]
        while let (siblings, next) = stack.last {
            if next < siblings.count {
                stack[stack.count - 1].next += 1
                out += (next > 0 ? "," : "") + openObject(siblings[next].instance)
                stack.append((siblings[next].children, 0))
            } else {
                stack.removeLast()
                out += stack.isEmpty ? "]" : "]}"
            }
        }
        return out
    }

    /// A node's object up to the opening bracket of `Children`.
    private func openObject(_ instance: ProcessInstance) -> String {
        let events = instance.events.named.map { ProcessJSONText.string($0.operation) + ":" + String($0.count) }
        return "{\"HostName\":" + ProcessJSONText.string(instance.hostName)
            + ",\"HostPID\":\(instance.hostPID),\"PID\":\(instance.pid),\"StartNs\":\(instance.startNs)"
            + ",\"ExitNs\":" + (instance.exitNs.map(String.init) ?? "null")
            + ",\"Images\":" + ProcessJSONText.stringArray(instance.images)
            + ",\"UID\":" + (instance.uid.map(String.init) ?? "null")
            + ",\"ContainerID\":" + ProcessJSONText.string(instance.containerID)
            + ",\"Inferred\":" + ProcessJSONText.string(instance.origin.rawValue)
            + ",\"Placeholder\":" + (instance.isPlaceholder ? "true" : "false")
            + ",\"Events\":{" + events.joined(separator: ",") + "}"
            + ",\"Children\":["
    }

    // MARK: DOT

    /// A Graphviz digraph: a box per instance (exec chain, PIDs, UID, container, times, counts),
    /// solid edges from the parent that started each process, dashed `reaper` edges to the process
    /// that adopted it. Selected instances are drawn bold.
    public func dot() -> String {
        var out = "digraph processes {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n"
        for (node, _) in tree.nodesInOrder {
            let instance = node.instance
            let style = tree.selectedIDs.contains(instance.id) ? ", style=bold" : instance.isPlaceholder ? ", style=dashed" : ""
            let lines = label(instance).components(separatedBy: " · ")
            out += "  p\(instance.id) [label=\(Self.dotString(lines.joined(separator: "\n")))\(style)];\n"
            for child in node.children {
                out += "  p\(instance.id) -> p\(child.instance.id);\n"
            }
            if let reaper = instance.reaperID, tree.instancesByID[reaper] != nil {
                out += "  p\(reaper) -> p\(instance.id) [style=dashed, label=\"reaper\"];\n"
            }
        }
        return out + "}\n"
    }

    /// A DOT quoted string; `\n` in `text` becomes a line break, other backslashes and quotes are escaped.
    static func dotString(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
