import EventModel
import Foundation
import Synchronization
import Testing
@testable import Recorder

/// Whether this host can run the tests that load BPF programs into the real kernel; says why not, loudly.
enum KernelTests {
    static let unavailableReason: String? = {
        if geteuid() != 0 {
            return "not running as root"
        }
        if access("/sys/kernel/btf/vmlinux", R_OK) != 0 {
            return "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
        }
        do throws(RecorderError) {
            try HostChecks.requireTracingSupport()
        } catch {
            return error.description
        }
        return nil
    }()

    static var available: Bool { announced }

    private static let announced: Bool = {
        if let reason = unavailableReason {
            FileHandle.standardError.write(Data("""
                ************************************************************************
                RecorderTests: SKIPPING the real-kernel recorder tests: \(reason).
                Run them as root on a kernel with BPF and BTF (make test does).
                ************************************************************************

                """.utf8))
            return false
        }
        return true
    }()

    /// Mounts tracefs for the per-syscall tracepoints when it is not mounted yet.
    static func mountTracefs() throws {
        if HostChecks.syscallTracepointDirectory() != nil { return }
        guard mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nil) == 0 else {
            throw HarnessFailure("mount -t tracefs tracefs /sys/kernel/tracing: \(String(cString: strerror(errno)))")
        }
    }
}

/// Where a test may create a cgroup that looks like a container's: next to this process's own
/// cgroup in the cgroup2 hierarchy, if it is mounted and writable.
enum ContainerCgroup {
    static let parent: String? = {
        guard geteuid() == 0,
              let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8),
              let mount = mounts.split(separator: "\n").map({ $0.split(separator: " ") })
                .first(where: { $0.count > 2 && $0[2] == "cgroup2" }),
              let cgroups = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let line = cgroups.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let own = String(mount[1]) + line.dropFirst(3)
        let directory = own.hasSuffix("/") ? String(own.dropLast()) : own
        return access(directory, W_OK) == 0 ? directory : nil
    }()
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects what a recorder delivers, for tests to wait on and search.
final class EventCollector: Sendable {
    private let events = Mutex<[Event]>([])
    private let batches = Mutex<Int>(0)

    func append(_ batch: [Event]) {
        events.withLock { $0.append(contentsOf: batch) }
        batches.withLock { $0 += 1 }
    }

    var all: [Event] { events.withLock { $0 } }
    var batchCount: Int { batches.withLock { $0 } }

    /// Waits (up to 20 s, the drain interval is 100 ms) until the predicate holds for what arrived.
    @discardableResult
    func waitUntil(_ predicate: ([Event]) -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if predicate(all) { return true }
            usleep(20_000)
        }
        return predicate(all)
    }
}

/// A running recorder with its collector.
struct Recording {
    let recorder: Recorder
    let collector: EventCollector

    static func start(_ configure: (inout RecorderConfiguration) -> Void = { _ in }) throws -> Recording {
        var configuration = RecorderConfiguration()
        configure(&configuration)
        let collector = EventCollector()
        let recorder = try Recorder.start(configuration) { batch in collector.append(batch) }
        return Recording(recorder: recorder, collector: collector)
    }

    /// Stops the recorder and returns everything it delivered.
    func stop() throws -> [Event] {
        try recorder.stop()
        return collector.all
    }
}

/// Runs programs as children of the test process.
enum Workload {
    /// Runs the program to its end; returns its exit status and standard output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory {
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Runs a bash script that first prints `$$ $PPID`; returns bash's pid and its parent's.
    static func bash(_ script: String, in directory: String? = nil) throws -> (pid: Int32, ppid: Int32, output: String) {
        let (_, output) = try run("/usr/bin/bash", ["-c", "echo $$ $PPID; " + script], in: directory)
        let first = output.split(separator: "\n").first?.split(separator: " ").compactMap { Int32($0) } ?? []
        guard first.count == 2 else { throw HarnessFailure("bash printed no pids: \(output)") }
        return (first[0], first[1], output)
    }
}

/// A temporary directory, world-readable so that unprivileged children can use it.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/rearview-recorder-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessFailure("mkdtemp failed") }
        path = String(cString: made)
        chmod(path, 0o755)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func write(_ name: String, _ text: String, mode: mode_t = 0o644) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, mode)
        return file
    }
}

extension Array where Element == Event {
    /// The events of one process.
    func of(pid: Int32) -> [Event] {
        filter { $0.hostPID == pid }
    }

    /// The first event of a process with this operation and a `Data` that starts with the text.
    func first(pid: Int32, operation: String, data: String) -> Event? {
        first { $0.hostPID == pid && $0.operation == operation && $0.data.hasPrefix(data) }
    }

    /// Exec events (not snapshot ones) whose ancestry, by HostPPID through recorded execs and
    /// clones, reaches `ancestor`.
    func descendants(of ancestor: Int32) -> [Event] {
        var parents: [Int32: Int32] = [:]
        for event in self where event.operation == "Process" && !event.data.contains("snapshot") {
            parents[event.hostPID] = event.hostPPID
        }
        return filter { event in
            var pid = event.hostPID
            for _ in 0..<16 {
                guard let parent = parents[pid] else { return false }
                if parent == ancestor { return true }
                pid = parent
            }
            return false
        }
    }
}
