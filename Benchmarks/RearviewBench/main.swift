// rearview's benchmarks (`make bench`, release build). Every figure is printed next to a baseline
// measured in the same run on the same data, since these machines are noisy.
import EventModel
import EventStore
import Foundation

struct Bench {
    let rearview: String
    let work: String
    let events: Int

    /// Runs a shell command and returns its wall time in seconds (fails loudly on a non-zero exit).
    @discardableResult
    func time(_ command: String) -> Double {
        let started = Date()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", command]
        try! p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { fatalError("benchmark command failed (\(p.terminationStatus)): \(command)") }
        return Date().timeIntervalSince(started)
    }

    /// Best of `runs` timings, which is what a noisy shared machine can measure reliably.
    func best(_ runs: Int, _ command: String) -> Double {
        (0..<runs).map { _ in time(command) }.min()!
    }

    func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    func directorySize(_ path: String) -> Int {
        let e = FileManager.default.enumerator(atPath: path)!
        var total = 0
        while let name = e.nextObject() as? String { total += size(path + "/" + name) }
        return total
    }
}

func report(_ name: String, _ value: String, _ baseline: String, _ ratio: String, _ target: String) {
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    print(pad(name, 34) + pad(value, 20) + pad(baseline, 26) + pad(ratio, 18) + target)
}

var arguments = CommandLine.arguments.dropFirst()
var rearview = ".build/release/rearview"
var events = 1_000_000
while let a = arguments.popFirst() {
    switch a {
    case "--rearview": rearview = arguments.popFirst()!
    case "--events": events = Int(arguments.popFirst()!)!
    default: fatalError("usage: RearviewBench [--rearview PATH] [--events N]")
    }
}
let work = ProcessInfo.processInfo.environment["REARVIEW_BENCH_DIR"] ?? "/tmp/rearview-bench"
try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
let bench = Bench(rearview: rearview, work: work, events: events)
let generator = FileManager.default.fileExists(atPath: "../shared/tools/gen-kubearmor-logs.py")
    ? "../shared/tools/gen-kubearmor-logs.py" : "/work/shared/tools/gen-kubearmor-logs.py"
let ndjson = "\(work)/gen-\(events)-seed1-hosts4.ndjson"
if bench.size(ndjson) == 0 {
    print("generating \(events) events with \(generator) …")
    bench.time("python3 \(generator) --events \(events) --seed 1 --hosts 4 --out \(ndjson).tmp 2>/dev/null && mv \(ndjson).tmp \(ndjson)")
}
let inputBytes = bench.size(ndjson)
print("input: \(ndjson): \(events) events, \(inputBytes / 1_000_000) MB (\(inputBytes / events) bytes/event)\n")
report("benchmark", "rearview", "baseline (same run)", "ratio", "target")
report("---------", "--------", "-------------------", "-----", "------")

// Import vs a jq pass over the same NDJSON.
let jq = bench.best(1, "jq -c . \(ndjson) > /dev/null")
let store = "\(work)/store"
var importTimes: [Double] = []
for _ in 0..<2 {
    bench.time("rm -rf \(store)")
    importTimes.append(bench.time("\(rearview) import --store \(store) \(ndjson) 2>/dev/null"))
}
let importTime = importTimes.min()!
report("import 1M (wall)", String(format: "%.2f s", importTime), String(format: "jq -c . %.2f s", jq),
       String(format: "%.1fx faster", jq / importTime), "≥ 5x")

// Store size vs zstd -3 of the file.
let storeBytes = bench.directorySize("\(store)/segments") + bench.size("\(store)/index.sqlite") + bench.size("\(store)/index.sqlite-wal")
bench.time("zstd -3 -q -f -T1 \(ndjson) -o \(work)/input.zst")
let zstdBytes = bench.size("\(work)/input.zst")
let storePerEvent = Double(storeBytes) / Double(events)
let zstdPerEvent = Double(zstdBytes) / Double(events)
report("store size (segments+index)", String(format: "%.1f B/event", storePerEvent), String(format: "zstd -3 %.1f B/event", zstdPerEvent),
       String(format: "%.2fx smaller", zstdPerEvent / storePerEvent), "≤ 20 B/event")

// Full decode: every block decompressed and every event materialised, in time order.
let opened = try! Store.open(store)
let blocks = try! opened.blocks()
var decodeSeconds = Double.infinity
for _ in 0..<3 {
    var n = 0
    let started = Date()
    try! opened.scan(blocks) { _ in n += 1; return true }
    decodeSeconds = min(decodeSeconds, Date().timeIntervalSince(started))
    precondition(n == events, "scan returned \(n) events")
}
let rgSeconds = bench.best(2, "rg -c --no-mmap 'zzzz-no-such-text' \(ndjson) > /dev/null || true")
report("full decode (scan)", String(format: "%.1f M events/s", Double(events) / decodeSeconds / 1e6),
       String(format: "rg over NDJSON %.2f s", rgSeconds), String(format: "%.1fx faster", rgSeconds / decodeSeconds), "≥ 5 M events/s")

// Block encode alone (the writer's hot path), in-process over the decoded events.
var sample: [Event] = []
try! opened.scan(Array(blocks.prefix(16))) { sample.append($0); return true }
let encodeStarted = Date()
var encodedBytes = 0
for chunk in stride(from: 0, to: sample.count, by: 8192) {
    encodedBytes += BlockEncoding.encodedSize(of: Array(sample[chunk..<min(chunk + 8192, sample.count)]))
}
let encodeSeconds = Date().timeIntervalSince(encodeStarted)
report("block encode (1 thread)", String(format: "%.1f M events/s", Double(sample.count) / encodeSeconds / 1e6),
       "", "", String(format: "%.1f B/event", Double(encodedBytes) / Double(sample.count)))

// Export back to NDJSON vs jq writing the same.
let exportSeconds = bench.best(1, "\(rearview) export --store \(store) --format kubearmor > /dev/null")
report("export kubearmor NDJSON", String(format: "%.2f s (%.1f M ev/s)", exportSeconds, Double(events) / exportSeconds / 1e6),
       String(format: "jq -c . %.2f s", jq), String(format: "%.1fx faster", jq / exportSeconds), "")
