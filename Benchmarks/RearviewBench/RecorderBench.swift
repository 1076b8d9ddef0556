// The recorder's benchmark (issue 4): throughput without drops, the knee where drops begin, and the
// slowdown of two stress workloads with the recorder, auditd and bpftrace attached, in one run.
import Foundation
import Glibc
import Synchronization

/// The stress workloads, run in this process so nothing but the syscalls under test is timed.
enum Workload {
    /// A tight `openat`/`close` loop; returns seconds per iteration.
    static func openClose(_ iterations: Int, path: String) -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations {
            let fd = open(path, O_RDONLY)
            precondition(fd >= 0, "open \(path): errno \(errno)")
            close(fd)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 / Double(iterations)
    }

    /// `fork`+`exec` of /bin/true and a wait, in a loop; returns seconds per iteration.
    static func execLoop(_ iterations: Int) -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
            defer { free(argv[0]) }
            precondition(posix_spawn(&pid, "/bin/true", nil, nil, argv, nil) == 0, "posix_spawn /bin/true failed")
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 / Double(iterations)
    }

    /// `openat`/`close` at `rate` per second (split over `threads`) for `seconds`; returns the rate achieved.
    static func pacedOpenClose(rate: Int, seconds: Double, threads: Int, path: String) -> Double {
        let done = Atomic<Int>(0)
        let perThread = Double(rate) / Double(threads)
        let started = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var n = 0
            while true {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                if elapsed >= seconds { break }
                // Catch up to the schedule in batches; sleep when ahead of it.
                let due = Int(elapsed * perThread) - n
                if due <= 0 { usleep(200); continue }
                for _ in 0..<min(due, 1000) { close(open(path, O_RDONLY)) }
                n += min(due, 1000)
            }
            done.add(n, ordering: .relaxed)
        }
        return Double(done.load(ordering: .relaxed)) / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }
}

/// A program run in the background while workloads run (the recorder, auditd, bpftrace).
final class BackgroundProgram {
    private let process = Process()
    private let output = CollectedOutput()

    /// What the program printed so far; written by the pipe's handler thread.
    private final class CollectedOutput: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        func append(_ more: String) { lock.withLock { text += more } }
        var current: String { lock.withLock { text } }
    }

    /// Starts `argv` and waits until its output contains `ready` (or `settle` seconds pass when nil).
    init?(_ argv: [String], ready: String?, settle: Double = 1) {
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            output.append(text)
        }
        guard (try? process.run()) != nil else { return nil }
        let deadline = Date().addingTimeInterval(ready == nil ? settle : 30)
        while Date() < deadline, process.isRunning {
            if let ready, output.current.contains(ready) { return }
            usleep(50_000)
        }
        if ready != nil || !process.isRunning {
            print("  (\(argv[0]) did not start: \(output.current.prefix(300)))")
            if process.isRunning { process.terminate() }
            return nil
        }
    }

    /// CPU seconds (user + system) the program has used so far.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15 (1-based, so offsets 11 and 12 here).
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Stops the program (SIGTERM: auditd ignores SIGINT), waits for it and returns what it printed.
    func stop() -> String {
        process.terminate()
        process.waitUntilExit()
        usleep(100_000)
        return output.current
    }
}

/// One recorder session's summary line, parsed (`recorded N events …: process a (dropped b), …`).
struct RecordingSummary {
    var events = 0
    var dropped = 0

    init(_ text: String) {
        if let line = text.split(separator: "\n").last(where: { $0.hasPrefix("recorded ") }) {
            events = Int(line.split(separator: " ")[1]) ?? 0
            var rest = line[...]
            while let r = rest.range(of: "(dropped ") {
                rest = rest[r.upperBound...]
                dropped += Int(rest.prefix(while: \.isNumber)) ?? 0
            }
        }
    }
}

func recorderBenchmarks(rearview: String, work: String) {
    print("\nrecorder (issue 4): stress workloads with nothing attached, rearview record, auditd and bpftrace")
    guard geteuid() == 0 else {
        print("  SKIPPED: recorder benchmarks need root (BPF); run `make bench` as root")
        return
    }
    let target = "\(work)/open-close-target"
    _ = FileManager.default.createFile(atPath: target, contents: Data("x".utf8))
    let store = "\(work)/record-store"
    let openCloseIterations = 500_000, execIterations = 1_000

    func measure() -> (openClose: Double, exec: Double) {
        (openClose: (0..<3).map { _ in Workload.openClose(openCloseIterations, path: target) }.min()!,
         exec: (0..<3).map { _ in Workload.execLoop(execIterations) }.min()!)
    }
    func record(_ extra: [String] = []) -> BackgroundProgram? {
        try? FileManager.default.removeItem(atPath: store)
        return BackgroundProgram([rearview, "record", "--store", store] + extra, ready: "recording into")
    }

    let off = measure()
    report("open/close loop, nothing attached", String(format: "%.2f µs/op", off.openClose * 1e6), "", "", "")
    report("exec loop, nothing attached", String(format: "%.0f µs/op", off.exec * 1e6), "", "", "")

    // Throughput: one unthrottled open/close run with every probe attached.
    guard let throughput = record() else {
        print("  SKIPPED: `rearview record` could not start here (see above): this kernel lacks what it needs")
        return
    }
    let cpuBefore = throughput.cpuSeconds
    let started = Date()
    let perOp = Workload.openClose(openCloseIterations * 2, path: target)
    let busy = Date().timeIntervalSince(started)
    let cpu = throughput.cpuSeconds - cpuBefore
    let sustained = RecordingSummary(throughput.stop())
    report("recorder throughput (open/close)", String(format: "%.0fk events/s", Double(sustained.events) / busy / 1e3),
           "dropped \(sustained.dropped)", String(format: "%.2f µs/op", perOp * 1e6), "≥ 250k/s, 0 drops")
    report("recorder CPU during it", String(format: "%.0f%% of a core", cpu / busy * 100), "", "", "")

    // Slowdown of both workloads, recorder on vs off, and under the baselines.
    var slowdowns: [(String, Double, Double)] = []
    if let recorder = record() {
        let on = measure()
        _ = recorder.stop()
        slowdowns.append(("rearview record", on.openClose / off.openClose - 1, on.exec / off.exec - 1))
    }
    if let auditd = BackgroundProgram(["/usr/sbin/auditd", "-n"], ready: nil) {
        func auditctl(_ arguments: String...) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/auditctl")
            p.arguments = arguments
            p.standardOutput = FileHandle.nullDevice
            try? p.run()
            p.waitUntilExit()
        }
        auditctl("-a", "always,exit", "-F", "arch=b64", "-S", "execve,openat")
        let audited = measure()
        auditctl("-D")
        auditctl("-e", "0")
        _ = auditd.stop()
        slowdowns.append(("auditd (execve,openat rules)", audited.openClose / off.openClose - 1, audited.exec / off.exec - 1))
    }
    let probes = "tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_execve { @[probe] = count(); }"
    if let bpftrace = BackgroundProgram(["/usr/bin/bpftrace", "-e", probes], ready: "Attaching") {
        let counted = measure()
        _ = bpftrace.stop()
        slowdowns.append(("bpftrace counting the same", counted.openClose / off.openClose - 1, counted.exec / off.exec - 1))
    }
    for (name, openClose, exec) in slowdowns {
        report("slowdown: \(name)", String(format: "open/close +%.0f%%", openClose * 100), String(format: "exec +%.1f%%", exec * 100), "", "")
    }
    if let ours = slowdowns.first(where: { $0.0 == "rearview record" }), let audit = slowdowns.first(where: { $0.0.hasPrefix("auditd") }) {
        report("open/close slowdown vs auditd's", String(format: "%.2f of auditd's", ours.1 / audit.1), "", "", "≤ 0.25")
        report("exec loop slowdown", String(format: "+%.1f%%", ours.2 * 100), "", "", "≤ 3%")
    }

    // The knee: paced open/close at rising rates, a fresh recorder each step, until drops appear.
    var knee: Int?
    for rate in [200_000, 400_000, 600_000, 800_000, 1_200_000] {
        guard let recorder = record() else { break }
        let achieved = Workload.pacedOpenClose(rate: rate, seconds: 2, threads: rate > 400_000 ? 2 : 1, path: target)
        let summary = RecordingSummary(recorder.stop())
        report("  paced open/close \(rate / 1000)k/s", String(format: "achieved %.0fk/s", achieved / 1e3),
               "recorded \(summary.events)", "dropped \(summary.dropped)", "")
        if summary.dropped > 0 { knee = Int(achieved); break }
    }
    report("drop knee", knee.map { "\($0 / 1000)k opens/s" } ?? "none up to 1.2M/s requested", "", "", "")
    try? FileManager.default.removeItem(atPath: store)
}
