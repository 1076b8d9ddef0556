import EventModel
import EventStore
import Foundation
import Testing

/// SIGKILLs a writing `rearview` at random points. After each kill the next writer's open recovers
/// the store, `verify` (with the seal key) passes, and every event that was flushed before the kill is
/// still there, unchanged. "Flushed" is read from the store itself right after the kill, before
/// recovery: a block is in the index only after its bytes were fsynced, so the index is exactly what
/// the writer had acknowledged (it is also what readers could see).
@Suite(.serialized) struct CrashSafetyTests {
    /// Kills per test: a short run in the suite; `make stress` sets REARVIEW_STRESS_KILLS for the long one.
    static let kills = Int(ProcessInfo.processInfo.environment["REARVIEW_STRESS_KILLS"] ?? "") ?? 10

    @Test func importKilledAtRandomPointsKeepsEveryFlushedEvent() throws {
        let scratch = Scratch()
        let input = scratch.path + "/input.ndjson", store = scratch.path + "/store", key = scratch.path + "/seal.key"
        try Shared.generate(input, ["--events", "40000", "--seed", "11", "--hosts", "3"])
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        let signer = try SegmentSigner(privateKeyFile: key)
        let importing = ["import", "--store", store, "--sign-key", key, "--block-events", "500", "--segment-size", "64K", input]

        // One undisturbed import into another store tells how long the kill window is.
        let started = Date()
        #expect(try CLI.run(["import", "--store", scratch.path + "/timing", input]).status == 0)
        let window = Date().timeIntervalSince(started)

        var random = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["REARVIEW_STRESS_SEED"] ?? "") ?? 20261127)
        var flushedTotal = 0, completed = 0
        for kill in 0..<Self.kills {
            let delay = Double.random(in: 0.02...(window * 1.05), using: &random)
            let finished = try KilledRun.start(importing, killAfter: delay)
            if finished { completed += 1 }
            let flushed = try StoredEvents.read(store)
            flushedTotal += flushed.count
            try CrashCheck.recoverAndVerify(store: store, signer: signer, publicKey: key + ".pub",
                                            flushed: flushed, context: "kill \(kill) after \(delay) s")
        }
        // Finishing the import afterwards adds exactly what the kills left out: nothing lost, nothing twice.
        let last = try CLI.run(importing)
        #expect(last.status == 0, "\(last.stderr)")
        let exported = try CLI.run(["export", "--store", store])
        #expect(lines(exported.stdout).sorted() == lines(try String(contentsOfFile: input, encoding: .utf8)).sorted())
        #expect(try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"]).status == 0)
        print("CrashSafetyTests: import: \(Self.kills) kills over a \(String(format: "%.2f", window)) s window, "
              + "\(completed) import(s) finished before their kill, \(flushedTotal) flushed events checked")
    }

    @Test(.enabled(if: geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs root and BTF to record"))
    func recordKilledAtRandomPointsKeepsEveryFlushedOpen() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", key = scratch.path + "/seal.key"
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        let signer = try SegmentSigner(privateKeyFile: key)
        var random = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["REARVIEW_STRESS_SEED"] ?? "") ?? 20261127)
        var report: [String] = []
        for kill in 0..<max(3, Self.kills / 2) {
            let directory = scratch.path + "/work-\(kill)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let recorder = try Recording(["record", "--store", store, "--flush", "200ms", "--events", "file", "--sign-key", key])
            guard recorder.waitUntilRecording() else {
                recorder.kill()
                Issue.record("record did not start: \(recorder.stderr)")
                return
            }
            // The workload opens DIR/seq-1, seq-2, … one after the other, until it is killed.
            let workload = try FileWorkload.start(opening: "seq-{i}", in: directory, pause: 0.0005)
            let delay = Double.random(in: 0.3...2.5, using: &random)
            Thread.sleep(forTimeInterval: delay)
            recorder.kill()
            // SIGKILL: children of the test runner may start with SIGTERM blocked.
            Glibc.kill(workload.processIdentifier, SIGKILL)
            workload.waitUntilExit()
            let opened = try FileManager.default.contentsOfDirectory(atPath: directory).count

            let flushedEvents = try StoredEvents.read(store)
            let flushed = Self.sequenceNumbers(flushedEvents.values, directory: directory)
            try CrashCheck.recoverAndVerify(store: store, signer: signer, publicKey: key + ".pub",
                                            flushed: flushedEvents, context: "record kill \(kill) after \(delay) s")
            let stored = Self.sequenceNumbers(try StoredEvents.read(store).values, directory: directory)
            // Everything opened up to the last flushed open is there, without a gap.
            let lastFlushed = flushed.max() ?? 0
            let missing = (0..<lastFlushed).map { $0 + 1 }.filter { !stored.contains($0) }
            #expect(missing.isEmpty, "kill \(kill): seq numbers \(missing.prefix(10)) opened before the last flush are missing")
            #expect(flushed.isSubset(of: stored))
            report.append("\(String(format: "%.2f", delay)) s: \(opened) opened, \(lastFlushed) flushed, \(stored.max() ?? 0) after recovery")
        }
        #expect(report.count > 0)
        print("CrashSafetyTests: record kills: " + report.joined(separator: "; "))
    }

    /// The N of every `DIR/seq-N` opened in `events`.
    static func sequenceNumbers(_ events: some Sequence<Event>, directory: String) -> Set<Int> {
        let prefix = directory + "/seq-"
        return Set(events.compactMap { $0.resource.hasPrefix(prefix) ? Int($0.resource.dropFirst(prefix.count)) : nil })
    }
}

/// The checks after each kill.
enum CrashCheck {
    /// Opens the store for writing (recovery), closes it, runs `rearview verify --pubkey`, and checks
    /// that every event in `flushed` is still stored under the same sequence number.
    static func recoverAndVerify(store: String, signer: SegmentSigner, publicKey: String,
                                 flushed: [UInt64: Event], context: String) throws {
        var options = WriterOptions()
        options.signer = signer
        let writer = try StoreWriter(path: store, options: options)
        try writer.close()
        let verify = try CLI.run(["verify", "--store", store, "--pubkey", publicKey])
        #expect(verify.status == 0, "\(context): \(writer.recovery) \(verify.stdout)\(verify.stderr)")
        let after = try StoredEvents.read(store)
        let lost = flushed.filter { after[$0.key] != $0.value }
        #expect(lost.isEmpty, "\(context): \(lost.count) of \(flushed.count) flushed events lost or changed")
    }
}

/// What readers see in a store: every indexed event by sequence number (empty when there is no store yet).
enum StoredEvents {
    static func read(_ path: String) throws -> [UInt64: Event] {
        guard FileManager.default.fileExists(atPath: path + "/index.sqlite") else { return [:] }
        let store = try Store.open(path)
        var events: [UInt64: Event] = [:]
        try store.scan(try store.blocks()) { event in
            events[event.seq] = event
            return true
        }
        return events
    }
}

/// A `rearview` run that is SIGKILLed after a delay, unless it finishes first.
enum KilledRun {
    /// Returns true if the command finished before the kill.
    static func start(_ arguments: [String], killAfter seconds: Double) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(2000) }
        guard process.isRunning else { return true }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }
}

/// A `rearview record` in the background, watched on stderr until it says it is recording.
final class Recording: @unchecked Sendable {
    private let process = Process()
    private let errors = Pipe()
    private let lock = NSLock()
    private var text = ""
    private let started = DispatchSemaphore(value: 0)

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let handle = errors.fileHandleForReading
        Thread.detachNewThread { [self] in
            var signalled = false
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                lock.lock()
                text += String(decoding: data, as: UTF8.self)
                let recording = text.contains("recording into")
                lock.unlock()
                if recording && !signalled {
                    signalled = true
                    started.signal()
                }
            }
            if !signalled { started.signal() }
        }
    }

    var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    /// Waits for "recording into" (at most 30 s); false if the recorder stopped or never got there.
    func waitUntilRecording() -> Bool {
        _ = started.wait(timeout: .now() + 30)
        return process.isRunning && stderr.contains("recording into")
    }

    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Stops the recorder as Ctrl-C does; returns its exit status.
    func stop() -> Int32 {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGINT) }
        return waitUntilExit()
    }

    /// Waits for the recorder to stop by itself (`--duration`); returns its exit status.
    func waitUntilExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A small deterministic generator, so a failing kill schedule can be replayed (REARVIEW_STRESS_SEED).
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
