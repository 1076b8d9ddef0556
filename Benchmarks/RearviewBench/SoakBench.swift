// The flight-recorder soak (issue 17, `make soak`): `record` under a small disk budget with an alert
// policy and a pinned window around each alert, on a mixed workload (exec, file, network), SIGKILLed
// at random moments and started again until the time is up; then the store is checked.
import Foundation
import Glibc

func soakBenchmark(rearview: String, work: String, seconds: Double) {
    print("\nsoak (issue 17): record --max-size 8M, SIGKILLed at random moments, for \(Int(seconds)) s")
    fflush(nil)
    guard geteuid() == 0, access("/sys/kernel/btf/vmlinux", R_OK) == 0 else {
        print("  SKIPPED: soak: recording needs root and BTF")
        return
    }
    let dir = work + "/soak", store = dir + "/store", files = dir + "/files"
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
    let policy = dir + "/ps.yaml"
    try! """
        apiVersion: security.kubearmor.com/v1
        kind: KubeArmorHostPolicy
        metadata:
          name: soak-audit-ps
        spec:
          nodeSelector:
            matchLabels:
              kubernetes.io/hostname: any
          process:
            matchPaths:
            - path: /usr/bin/ps
          action: Audit
        """.write(toFile: policy, atomically: true, encoding: .utf8)
    let budget = 8 << 20, segment = 256 << 10, keepSeconds = 3.0
    // The workload: file opens DIR/seq-N (absent, ~20k/s, numbered: the ground truth of what must be
    // kept), refused TCP connects, an exec loop, and ps every 4 s (the alerts).
    let workload = LoggedProgram(["/usr/bin/setsid", "--wait", "/bin/bash", "-c", """
        echo $$ > \(dir)/workload.pid
        python3 -c '
        import itertools, os, sys, time
        for i in itertools.count(1):
            try: os.close(os.open(f"\(files)/seq-{i}", os.O_RDONLY))
            except FileNotFoundError: pass
            if i % 20 == 0: time.sleep(0.001)' &
        python3 -c '
        import socket, time
        while True:
            s = socket.socket()
            try: s.connect(("127.0.0.1", 9))
            except OSError: pass
            s.close(); time.sleep(0.002)' &
        while true; do /bin/true; sleep 0.01; done &
        while true; do ps >/dev/null; sleep 4; done &
        wait
        """], log: dir + "/workload.log", ready: nil)
    var random = SystemRandomNumberGenerator()
    let started = Date()
    var kills: [Date] = []
    var largest = 0
    while Date().timeIntervalSince(started) < seconds {
        guard let recorder = LoggedProgram([rearview, "record", "--store", store, "--flush", "200ms", "--max-size", "8M",
                                             "--segment-size", "256K", "--policy", policy, "--scope", "everywhere",
                                             "--keep-window", "3s"], log: dir + "/record-\(kills.count).log", ready: "recording into") else { break }
        let lasts = min(Double.random(in: 10...40, using: &random), seconds - Date().timeIntervalSince(started))
        let until = Date().addingTimeInterval(max(1, lasts))
        while Date() < until {
            largest = max(largest, directoryBytes(store))
            usleep(200_000)
        }
        if Date().timeIntervalSince(started) < seconds {
            recorder.signal(SIGKILL)
            kills.append(Date())
        } else {
            recorder.signal(SIGINT)
        }
        print("  session \(kills.count + 1 - (Date().timeIntervalSince(started) < seconds ? 1 : 0)) ended, store at \(directoryBytes(store)) bytes")
        fflush(nil)
    }
    // The workload is its own process group (setsid): end all of it.
    if let group = Int32((try? String(contentsOfFile: dir + "/workload.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
        kill(-group, SIGTERM)
    }
    workload?.signal(SIGTERM)

    let verified = shellOutput("\(rearview) verify --store \(store) >/dev/null 2>&1; echo $?") == "0"
    let info = shellOutput("\(rearview) info --store \(store) --format json")
    let object = (try? JSONSerialization.jsonObject(with: Data(info.utf8))) as? [String: Any] ?? [:]
    let pins = object["pinned"] as? [[String: Any]] ?? []
    let retired = (object["retired"] as? [[String: Any]] ?? []).reduce(0) { $0 + (($1["lastSegment"] as? Int ?? 0) - ($1["firstSegment"] as? Int ?? 0) + 1) }
    // Each pinned window away from a kill holds every numbered open inside it, without a gap.
    var complete = 0, checked = 0
    for pin in pins {
        guard let from = pin["from"] as? String, let to = pin["to"] as? String,
              let fromNs = UnixSeconds.parse(from), let toNs = UnixSeconds.parse(to) else { continue }
        if kills.contains(where: { abs($0.timeIntervalSince1970 * 1e9 - Double(fromNs + toNs) / 2) < (keepSeconds + 2) * 1e9 }) { continue }
        checked += 1
        let numbers = shellOutput("\(rearview) query --store \(store) --since \(from) --until \(to) 'Resource ~ \"^\(files)/seq-\"' "
                                  + "--columns Resource --format csv | tail -n +2 | sed 's|.*/seq-||'").split(separator: "\n").compactMap { Int($0) }
        if let low = numbers.min(), let high = numbers.max(), Set(numbers).count == high - low + 1 { complete += 1 }
    }
    report("soak: \(Int(seconds)) s, \(kills.count) SIGKILLs", verified ? "verify passes" : "verify FAILS", "", "", "verify passes")
    report("soak: largest store seen", String(format: "%.2f MB", Double(largest) / 1e6),
           String(format: "budget %.1f + %.2f MB", Double(budget) / 1e6, Double(segment) / 1e6),
           String(format: "%.2fx of budget", Double(largest) / Double(budget)), "≤ budget + one segment")
    report("soak: segments retired", "\(retired)", "", "", "many")
    report("soak: pinned windows complete", "\(complete) of \(checked)", "\(pins.count - checked) near a kill not checked", "",
           "all")
}

/// A program whose output goes to a log file (not a pipe: Foundation's pipe handlers crash when
/// many programs come and go), started and waited for with its log.
private final class LoggedProgram {
    private let process = Process()

    /// Starts `argv`; with `ready`, waits (30 s at most) until its log contains it, else returns nil.
    init?(_ argv: [String], log: String, ready: String?) {
        FileManager.default.createFile(atPath: log, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: log) else { return nil }
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = handle
        process.standardError = handle
        guard (try? process.run()) != nil else { return nil }
        guard let ready else { return }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains(ready) { return }
            usleep(50_000)
        }
        print("  (\(argv[0]) did not start: see \(log))")
        return nil
    }

    /// Sends `signal` and waits for the program to end.
    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }
}

/// Bytes of the regular files in a store (its directory and `segments/`), as a disk budget counts them.
private func directoryBytes(_ store: String) -> Int {
    var total = 0
    for directory in [store, store + "/segments"] {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            var st = stat()
            if stat(directory + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFREG { total += Int(st.st_size) }
        }
    }
    return total
}

/// `2024-05-31T10:06:40.123456Z` as unix ns.
private enum UnixSeconds {
    static func parse(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970 * 1e9) }
    }
}
