import ArgumentParser
import EventModel
import EventStore

/// An error reported to the user as one line on stderr, with the exit code DESIGN.md documents:
/// 2 bad input or usage, 3 store damaged, 4 capability missing.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    init(_ error: StoreError) {
        let code: Int32 = switch error.code {
        case .damaged: 3
        case .io, .locked, .notAStore, .invalidRequest, .untrusted: 2
        }
        self.init(error.description, exitCode: code)
    }

    init(_ error: InputError) {
        self.init(error.description, exitCode: 2)
    }

    init(_ error: any Error) {
        if let failure = error as? CommandFailure {
            self = failure
        } else if let store = error as? StoreError {
            self.init(store)
        } else if let input = error as? InputError {
            self.init(input)
        } else {
            self.init(String(describing: error), exitCode: 2)
        }
    }

    var description: String { message }
}

extension ParsableCommand {
    /// Runs a command body, printing a failure as `rearview: message` and exiting with its code.
    func reportingFailures(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            let failure = CommandFailure(error)
            Terminal.error("rearview: \(failure.message)")
            throw ExitCode(failure.exitCode)
        }
    }
}

/// The "Exit status:" paragraph that ends a command's help; `make man` turns it into the page's
/// EXIT STATUS section, so the two cannot disagree.
enum ExitStatusHelp {
    static let success = "0 success"
    static let usage = "2 bad input or usage (one line on stderr names the file, option or value)"
    static let damaged = "3 a store is damaged (see rearview verify)"
    static let blocksLeftOut = "3 a damaged block was left out: every intact block was still read, and stderr names each damaged block and the events it held"

    /// "Exit status: 0 …; 2 …." from the statuses, in order (none may contain a semicolon).
    static func paragraph(_ statuses: String...) -> String {
        "Exit status: " + statuses.joined(separator: "; ") + "."
    }
}
