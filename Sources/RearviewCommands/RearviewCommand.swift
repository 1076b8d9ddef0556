import ArgumentParser
import Foundation

/// The `rearview` command tree: every subcommand lives in this library, the executable only runs it.
@available(macOS 10.15, *)
public struct RearviewCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rearview",
        abstract: "Forensic recording, replay and investigation of Linux security telemetry.",
        discussion: """
            rearview keeps the history behind KubeArmor-style alerts: process, file and network events \
            recorded with eBPF or imported from KubeArmor JSON, in a compressed, checksummed, indexed store.

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, "1 nothing found where that matters (query --fail-empty, tree)", ExitStatusHelp.usage,
                                     ExitStatusHelp.damaged, "4 a capability is missing (record: no BPF, not root)",
                                     "5 delivery failed (forward)"))
            """,
        version: RearviewVersion.current,
        subcommands: [RecordCommand.self, ImportCommand.self, QueryCommand.self, EvaluateCommand.self, ExportCommand.self, TreeCommand.self, TimelineCommand.self, ForwardCommand.self, ReportCommand.self, InfoCommand.self, VerifyCommand.self, KeygenCommand.self, ReindexCommand.self, PruneCommand.self])

    public init() {}

    /// Runs the command line. Usage errors (an unknown option, a bad value, options that exclude each
    /// other) exit 2, rearview's "bad input or usage", rather than ArgumentParser's 64.
    public static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            exit(withError: ExitCode(2))
        }
    }
}

/// The version printed by `--version` and written into reports.
public enum RearviewVersion {
    public static let current = "0.1.0"
}
