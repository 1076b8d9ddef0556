import EventModel
import Foundation
import Testing

/// A directory under the system's temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rearview-eventmodel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: url.appendingPathComponent(name))
        return path(name)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
}

/// The shared material next to the project: the KubeArmor log corpus and the log generator.
enum SharedMaterial {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    static let corpus = root.appendingPathComponent("corpus/kubearmor-logs")
    static let generator = root.appendingPathComponent("tools/gen-kubearmor-logs.py")

    static var corpusAvailable: Bool { FileManager.default.fileExists(atPath: corpus.path) }
    static var generatorAvailable: Bool {
        FileManager.default.fileExists(atPath: generator.path) && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    }

    static func corpusFile(_ relative: String) -> String { corpus.appendingPathComponent(relative).path }

    /// Runs the generator with `arguments` and returns the path of what it wrote.
    static func generate(_ arguments: [String], into directory: TemporaryDirectory, name: String) throws -> String {
        let out = directory.path(name)
        try run("/usr/bin/python3", [generator.path] + arguments + ["--out", out])
        return out
    }
}

/// Runs a program to its end; fails the test if it exits non-zero.
func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(executable) \(arguments.joined(separator: " ")) failed")
}

/// Whether the file is JSON by the letter (jq accepts no trailing commas; Foundation's parser does).
func isStrictJSON(_ path: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/jq")
    process.arguments = ["-e", ".", path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// Reads `text` as an input named `origin`.
func read(_ text: String, origin: String = "input.json", threads: Int = 1) throws -> [KubeArmorJSONReader.Outcome] {
    try KubeArmorJSONReader.readAll(bytes: Array(text.utf8), origin: origin, threads: threads)
}

extension KubeArmorJSONReader.Outcome {
    var event: Event? { try? get() }
    var rejection: RejectedRecord? {
        if case .failure(let rejection) = self { return rejection }
        return nil
    }
}

/// The events of `outcomes`, failing the test for each rejection.
func events(_ outcomes: [KubeArmorJSONReader.Outcome]) -> [Event] {
    outcomes.compactMap { outcome in
        if let rejection = outcome.rejection { Issue.record("unexpected rejection: \(rejection)") }
        return outcome.event
    }
}

/// A JSON value in a canonical text form (keys sorted), to compare JSON objects regardless of key order
/// and escaping.
func canonicalJSON(_ bytes: some Sequence<UInt8>) throws -> String {
    let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
}

/// Writes `events` as lines with `KubeArmorJSONWriter`.
func written(_ events: [Event]) -> [UInt8] {
    var writer = KubeArmorJSONWriter()
    var out: [UInt8] = []
    for event in events {
        writer.append(event, to: &out)
        out.append(0x0A)
    }
    return out
}

/// The lines of `bytes` (without their newlines; a final newline does not start an empty line).
func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast(bytes.last == 0x0A ? 1 : 0).map { $0 }
}
