import ArgumentParser
import EventModel
import EventStore
import Foundation

/// `rearview export`: events out of the store in the formats other tools read.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the store's events, in time order, in a format other tools read.",
        discussion: """
            --format kubearmor writes one KubeArmor JSON record per line. Records that were imported come \
            out with their original keys, key order and values (byte-identical for karmor's output); recorded \
            events use KubeArmor's own key order.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Output format.")
    var format: ExportFormat = .kubearmor

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var out: String?

    enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case kubearmor }

    func run() throws {
        try reportingFailures {
            let store = try storeOptions.open()
            let sink = try EventSink(path: out)
            var writer = KubeArmorJSONWriter()
            var line: [UInt8] = []
            line.reserveCapacity(4096)
            try store.scan(try store.blocks()) { event in
                line.removeAll(keepingCapacity: true)
                writer.append(event, to: &line)
                line.append(10)
                try sink.write(line)
                return true
            }
            try sink.close()
        }
    }
}

/// Where command output goes: standard output, or a file written atomically (temporary name, then rename).
final class EventSink {
    private let stdout: StandardOutput?
    private let handle: FileHandle?
    private let path: String?
    private let temporary: String?
    private var buffer: [UInt8] = []

    init(path: String?) throws {
        self.path = path
        if let path {
            let temporary = path + ".partial"
            guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
                throw CommandFailure("\(path): cannot create the output file", exitCode: 2)
            }
            self.temporary = temporary
            handle = FileHandle(forWritingAtPath: temporary)
            stdout = nil
        } else {
            temporary = nil
            handle = nil
            stdout = StandardOutput()
        }
    }

    func write(_ bytes: [UInt8]) throws {
        if let stdout { return stdout.write(bytes) }
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flushFile() }
    }

    private func flushFile() throws {
        guard let handle, !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        if let stdout { return stdout.flush() }
        try flushFile()
        try handle?.close()
        if let temporary, let path {
            _ = try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        }
    }
}
