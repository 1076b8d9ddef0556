import Foundation
import Testing

/// Runs the built `rearview` binary as a user would, capturing its output and exit status.
struct CLI {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutBytes: Data
    }

    /// The `rearview` executable built next to the test bundle.
    static let binary: String = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("rearview").path,
                          bundle.deletingLastPathComponent().appendingPathComponent("rearview").path]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return bundle.appendingPathComponent("rearview").path
    }()

    /// Runs `rearview` (or `executable`, e.g. a wrapper that runs it) with `arguments`.
    @discardableResult
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                    executable: String = binary) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REARVIEW_STORE")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { try input.fileHandleForWriting.write(contentsOf: stdin) }
        try input.fileHandleForWriting.close()
        return finish(process, out: out, err: err)
    }

    /// Waits for a started `process`, reading both pipes concurrently so a large output cannot block it.
    static func finish(_ process: Process, out: Pipe, err: Pipe) -> Run {
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: outData)
    }
}

/// A process that creates files in `directory` one after the other until it is killed: file i is
/// named by the Python f-string body `name` (e.g. `seq-{i}`), with `pause` seconds between files.
enum FileWorkload {
    static func start(opening name: String, in directory: String, pause: Double) throws -> Process {
        let workload = Process()
        workload.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        workload.arguments = ["python3", "-c", """
            import sys, time
            i = 0
            while True:
                i += 1
                open(f"{sys.argv[1]}/\(name)", "w").close()
                if \(pause) > 0: time.sleep(\(pause))
            """, directory]
        try workload.run()
        return workload
    }
}

/// A process that opens `directory/seq-1`, `seq-2`, … about 50,000 a second, far faster than
/// ``FileWorkload`` creates files: the files are absent, and each failed open is recorded like any
/// other. It stops after `count` opens (runs until killed when nil); with `markerAt`, it creates
/// `directory/marker` after that many.
enum OpenWorkload {
    static func start(in directory: String, count: Int? = nil, markerAt: Int? = nil) throws -> Process {
        let workload = Process()
        workload.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        workload.arguments = ["python3", "-c", """
            import itertools, os, sys, time
            d, count, marker = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            for i in itertools.count(1):
                if count and i > count: break
                try: os.close(os.open(f"{d}/seq-{i}", os.O_RDONLY))
                except FileNotFoundError: pass
                if i == marker: open(f"{d}/marker", "w").close()
                if i % 50 == 0: time.sleep(0.001)
            """, directory, String(count ?? 0), String(markerAt ?? 0)]
        try workload.run()
        return workload
    }
}

/// Runs a command line with `/bin/sh` and waits for it (for preparing inputs with gzip, jq, lz4).
enum Shell {
    @discardableResult
    static func run(_ command: String) throws -> Int32 {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", command]
        try shell.run()
        shell.waitUntilExit()
        return shell.terminationStatus
    }
}

/// A harness step that failed: thrown into the test that needed it, never a trap that ends the process.
struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A scratch store holding the demo incident, imported through the CLI. A failed import is recorded
/// as an issue of the calling test (which then fails on the empty store), not a crash.
enum DemoStore {
    static func imported() -> (scratch: Scratch, store: String) {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        do {
            let run = try CLI.run(["import", "--store", store, Shared.repository + "/samples/demo-incident.ndjson"])
            if run.status != 0 { Issue.record("importing the demo incident: exit \(run.status): \(run.stderr)") }
        } catch {
            Issue.record(error, "importing the demo incident")
        }
        return (scratch, store)
    }
}

/// A scratch directory, removed when released. Its failures are recorded as issues of the calling test
/// (which then fails where it uses the missing directory or file), so one cannot end the test process.
final class Scratch: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "rearview-cli-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            Issue.record(error, "creating the scratch directory \(path)")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        } catch {
            Issue.record(error, "writing \(file)")
        }
        return file
    }

    /// Writes a file only its owner can read (mode 0600), as secrets must be.
    func writeSecret(_ name: String, _ text: String) -> String {
        let file = write(name, text)
        chmod(file, 0o600)
        return file
    }
}

/// Paths to the project's shared corpus and tools (beside the checkout, as CI lays them out).
enum Shared {
    static let root: String = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 {
            dir.deleteLastPathComponent()
            let candidate = dir.appendingPathComponent("shared").path
            if FileManager.default.fileExists(atPath: candidate + "/corpus") { return candidate }
        }
        return "/work/shared"
    }()
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var logs: String { root + "/corpus/kubearmor-logs" }
    static var generator: String { root + "/tools/gen-kubearmor-logs.py" }

    /// Runs the log generator into `file`.
    static func generate(_ file: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", generator, "--out", file] + arguments
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw HarnessFailure("the log generator failed: \(arguments)") }
    }
}

func lines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}
