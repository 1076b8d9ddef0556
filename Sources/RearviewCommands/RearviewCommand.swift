import ArgumentParser

/// The `rearview` command tree: every subcommand lives in this library, the executable only runs it.
@available(macOS 10.15, *)
public struct RearviewCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rearview",
        abstract: "Forensic recording, replay and investigation of Linux security telemetry.",
        discussion: """
            rearview keeps the history behind KubeArmor-style alerts: process, file and network events \
            recorded with eBPF or imported from KubeArmor JSON, in a compressed, checksummed, indexed store.

            Exit codes: 0 success, 1 nothing found where that matters, 2 bad input or usage, \
            3 store damaged, 4 capability missing (no BPF, not root).
            """,
        version: RearviewVersion.current,
        subcommands: [RecordCommand.self, ImportCommand.self, QueryCommand.self, EvaluateCommand.self, ExportCommand.self, TreeCommand.self, TimelineCommand.self, ForwardCommand.self, ReportCommand.self, InfoCommand.self, VerifyCommand.self, KeygenCommand.self, ReindexCommand.self])

    public init() {}
}

/// The version printed by `--version` and written into reports.
public enum RearviewVersion {
    public static let current = "0.1.0"
}
