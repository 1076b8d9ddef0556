import ArgumentParser
import EventStore
import Foundation

/// The `--store` option every command shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The store directory (default: $REARVIEW_STORE, else ./rearview-store); refused when group or others can write it.",
        valueName: "dir"))
    var store: String?

    var path: String { store ?? Self.defaultPath }

    /// `$REARVIEW_STORE`, else `./rearview-store`.
    static var defaultPath: String {
        ProcessInfo.processInfo.environment["REARVIEW_STORE"].flatMap { $0.isEmpty ? nil : $0 } ?? "rearview-store"
    }

    /// Opens the store read-only, turning failures into the documented exit codes.
    func open() throws -> Store {
        do { return try Store.open(path) } catch { throw CommandFailure(error) }
    }
}
