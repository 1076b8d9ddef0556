// The scale benchmark (issue 14): the generator's NDJSON at `--scale N` events (10M by default) and at
// `--events` (1M), and on each the same five commands as whole processes: import, a full-scan count, a
// group-by, a tree and an export. Each row gives the large run's wall time and peak RSS against the
// small run's; the targets are a peak RSS within 2 GB and a time within 1.1x linear (11x for 10M vs 1M).
import Foundation

extension Bench {
    /// Runs a shell command under GNU time (Debian's `time`); its wall time in seconds and its peak
    /// resident set in bytes (fails loudly on a non-zero exit).
    func measure(_ command: String) -> (seconds: Double, peakRSS: Int) {
        let rssFile = "\(work)/time-rss.txt"
        let seconds = run(["/usr/bin/time", "-f", "%M", "-o", rssFile, "/bin/bash", "-c", command], describing: command)
        let kilobytes = Int((try? String(contentsOfFile: rssFile, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        return (seconds, kilobytes * 1024)
    }
}

/// One size of the scale benchmark: its events, their NDJSON and the store imported from it.
private struct ScaleInput {
    let events: Int
    let ndjson: String
    let store: String
}

func scaleBenchmarks(_ bench: Bench, scale: Int) {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
        return print("  SKIPPED: scale: /usr/bin/time missing (apt-get install time)")
    }
    let rv = bench.rearview
    let inputs = [bench.events, scale].map { count in
        ScaleInput(events: count, ndjson: bench.generated(count), store: "\(bench.work)/scale-store-\(count)")
    }
    print("\nscale: \(eventsLabel(scale)) events (\(bench.size(inputs[1].ndjson) / 1_000_000) MB of NDJSON) against \(eventsLabel(bench.events))")
    // In this order: the import makes the store the others read. (name, best of how many runs, command)
    let commands: [(String, Int, (ScaleInput) -> String)] = [
        ("import", 1, { "rm -rf \($0.store) && \(rv) import --store \($0.store) \($0.ndjson) 2>/dev/null" }),
        ("query 'Resource ~ …' --count", 2, { "\(rv) query --store \($0.store) 'Resource ~ \"^/etc/(shadow|passwd)\"' --count > /dev/null" }),
        ("query --group-by ProcessName", 2, { "\(rv) query --store \($0.store) --group-by ProcessName --format ndjson > /dev/null" }),
        ("tree --pid P", 3, { "\(rv) tree --store \($0.store) --pid \(sampleProcessPID(store: $0.store)) > /dev/null" }),
        ("export --format kubearmor", 1, { "\(rv) export --store \($0.store) --format kubearmor > /dev/null" }),
    ]
    let linear = Double(scale) / Double(bench.events)
    let mb = 1_048_576
    for (name, runs, command) in commands {
        /// The best time and the highest peak RSS of the runs.
        func measured(_ input: ScaleInput) -> (seconds: Double, peakRSS: Int) {
            let measures = (0..<runs).map { _ in bench.measure(command(input)) }
            return (measures.map(\.seconds).min()!, measures.map(\.peakRSS).max()!)
        }
        let small = measured(inputs[0]), large = measured(inputs[1])
        report("\(eventsLabel(scale)) \(name)", String(format: "%.2f s, %d MB", large.seconds, large.peakRSS / mb),
               eventsLabel(bench.events) + String(format: " %.2f s, %d MB", small.seconds, small.peakRSS / mb),
               String(format: "%.1fx the time", large.seconds / small.seconds),
               String(format: "≤ %gx; RSS ≤ 2 GB", linear * 1.1))
    }
    bench.time("rm -rf \(inputs.map(\.store).joined(separator: " "))")
}
