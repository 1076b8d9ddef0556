import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation

/// `rearview tree`: where processes came from and what they started.
struct TreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "Process trees: the ancestors and descendants of processes, from the store's process table.",
        discussion: """
            A process instance is (HostName, HostPID, start): a PID the kernel reused is a new instance. \
            Instances are built at import and record time (and by `reindex`) and kept in the store's index: \
            from recordings, fork gives the true parent and start, exec adds an image to the exec chain, \
            exit ends the instance; from imported KubeArmor logs they are inferred from HostPID, HostPPID, \
            the process names and time, and each says how (Inferred). A parent no event showed is a \
            placeholder named from its child's ParentProcessName; a process whose parent exited stays \
            under the parent that started it and names the reaper that adopted it.

            Selection: --pid N (HostPID; with --at TIME the instance alive then, for a reused PID), or \
            any filter expression and query flags (--container, --pod, --host, …: the trees of the \
            processes of every matching event). No selection prints the whole forest. --ancestors or \
            --descendants show one direction (default both), --depth limits the levels.

            Text output is drawn like `pstree -a`: exec chain (apache2 → dash), (HostPID/PID), arguments, \
            execs that failed (exec failed: /usr/bin/apt-get …, when a policy blocked them), UID, \
            container, start – exit (or last seen), exit code or signal, reaper, how the instance was \
            inferred, and counts of file, network, capabilities and syscall events; a * marks the \
            selected processes. Several --store are drawn side by side. --format json prints an array of root nodes, each an object with \
            HostName, HostPID, PID, StartNs, ExitNs (unix ns, null when unknown), Images (exec chain, \
            oldest first), UID, ContainerID, Inferred, Placeholder, Events (counts by operation) and \
            Children. --format dot prints a Graphviz digraph (reapers as dashed edges). Exit 1 when a \
            selection matches no process.

            Examples:
              rearview tree --pid 9939
              rearview tree --pid 4242 --at 2024-05-31T10:07:00Z --ancestors
              rearview tree 'Action = Block' --ancestors
              rearview tree --pod wordpress --format dot | dot -Tsvg > tree.svg

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, "1 no process matched the selection", ExitStatusHelp.usage, ExitStatusHelp.damaged))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policyName: PolicyNameOption

    @Option(help: ArgumentHelp(
        "With --pid: the instance alive at this time (RFC 3339, unix seconds, or a duration before the last event).",
        valueName: "time"))
    var at: String?

    @Flag(help: "Show the selected processes and their ancestors (with --descendants too: both, the default).")
    var ancestors = false

    @Flag(help: "Show the selected processes and their descendants.")
    var descendants = false

    @Option(help: ArgumentHelp("Show at most this many levels of ancestors and descendants.", valueName: "n"))
    var depth: Int?

    @Flag(help: "Print arguments whole (by default arguments longer than 160 characters are cut in the middle, with …).")
    var wide = false

    @Option(help: "Output: text (like pstree -a), json, dot (Graphviz).")
    var format: TreeFormat = .text

    enum TreeFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json, dot
    }

    func validate() throws {
        if let depth, depth < 0 { throw ValidationError("--depth must not be negative") }
        if at != nil && selection.pid == nil { throw ValidationError("--at needs --pid") }
    }

    func run() throws {
        try reportingFailures {
            let opened = try stores.open()
            // The anchor of relative times, read only when one may be given.
            let lastEventNs = at != nil ? try SelectionOptions.lastEventNs(opened) : 0
            let atNs: Int64?
            do {
                atNs = try at.map { try TimeArgument.parse($0, relativeTo: lastEventNs) }
            } catch {
                throw CommandFailure("--at: \(error)", exitCode: 2)
            }
            let tables = try opened.map { try StoredProcessTable(store: $0) }
            let tree = try ProcessTreeQuery.tree(tables, selecting: try treeSelection(stores: opened, at: atNs),
                                                 ancestors: ancestors || !descendants, descendants: descendants || !ancestors,
                                                 depth: depth)
            let renderer = ProcessTreeRenderer(tree, argumentLimit: wide ? nil : ProcessTreeRenderer.defaultArgumentLimit)
            let out = StandardOutput()
            switch format {
            case .text: out.write(renderer.text())
            case .json: out.line(renderer.json())
            case .dot: out.write(renderer.dot())
            }
            out.flush()
            if tree.roots.isEmpty && isSelective {
                Terminal.error("rearview: no process matches the selection")
                throw ExitCode(1)
            }
        }
    }

    /// Whether anything narrows the forest.
    private var isSelective: Bool {
        !isOnlyPID || selection.pid != nil
    }

    /// Whether the selection is at most `--pid` (answered from the process table alone).
    private var isOnlyPID: Bool {
        selection.expressionText.trimmingCharacters(in: .whitespaces).isEmpty && selection.since == nil
            && selection.until == nil && selection.shortcuts(policyName: policyName.policyName) == ShortcutFilters(pid: selection.pid)
    }

    private func treeSelection(stores: [Store], at: Int64?) throws -> ProcessTreeSelection {
        guard isOnlyPID else {
            return .events(try selection.filter(stores: stores, policyName: policyName.policyName), hostPID: selection.pid, at: at)
        }
        return selection.pid.map { .hostPID($0, at: at) } ?? .all
    }
}
