import ArgumentParser
import EventStore

/// `rearview verify`: check the store's checksums, hash chain and index. Read-only.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block checksum, segment hash, the hash chain and the index; exit 3 if damaged.")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        try reportingFailures {
            let store = try storeOptions.open()
            let problems = try StoreVerifier.verify(store)
            let out = StandardOutput()
            for problem in problems { out.line("DAMAGED \(problem)") }
            let segments = try store.segments().count
            out.line(problems.isEmpty ? "ok: \(segments) segment(s) verified" : "\(problems.count) problem(s) found")
            out.flush()
            if !problems.isEmpty { throw ExitCode(3) }
        }
    }
}
