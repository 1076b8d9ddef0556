import ArgumentParser
import EventStore
import Investigation

/// `rearview reindex`: rebuild index.sqlite from the segments alone.
struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the store's index from its segments (the index is derived data).",
        discussion: ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage, ExitStatusHelp.damaged))

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        try reportingFailures {
            let report = try Store.reindex(storeOptions.path)
            let processes = try StoredProcessTable.update(storePath: storeOptions.path)
            let summary = try Store.open(storeOptions.path).summary()
            Terminal.error("reindexed \(storeOptions.path): \(summary.events) events in \(summary.blocks) block(s), \(summary.segments) segment(s)")
            Terminal.error(processes.description)
            if !report.recovered.isEmpty { Terminal.error(report.description) }
        }
    }
}
