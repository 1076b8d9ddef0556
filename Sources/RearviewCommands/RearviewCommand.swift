import ArgumentParser

/// The `rearview` command tree: every subcommand lives in this library, the executable only runs it.
public struct RearviewCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rearview",
        abstract: "Forensic recording, replay and investigation of Linux security telemetry.",
        subcommands: [])

    public init() {}
}
