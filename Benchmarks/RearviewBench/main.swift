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
var parts: Set<String> = ["store", "recorder"]
while let a = arguments.popFirst() {
    switch a {
    case "--rearview": rearview = arguments.popFirst()!
    case "--events": events = Int(arguments.popFirst()!)!
    case "--only": parts = [arguments.popFirst()!]
    default: fatalError("usage: RearviewBench [--rearview PATH] [--events N] [--only store|recorder]")
    }
}
let work = ProcessInfo.processInfo.environment["REARVIEW_BENCH_DIR"] ?? "/tmp/rearview-bench"
try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
report("benchmark", "rearview", "baseline (same run)", "ratio", "target")
report("---------", "--------", "-------------------", "-----", "------")
if parts.contains("recorder") { recorderBenchmarks(rearview: rearview, work: work) }
guard parts.contains("store") else { exit(0) }
print("")
let bench = Bench(rearview: rearview, work: work, events: events)
let generator = FileManager.default.fileExists(atPath: "../shared/tools/gen-kubearmor-logs.py")
    ? "../shared/tools/gen-kubearmor-logs.py" : "/work/shared/tools/gen-kubearmor-logs.py"
let ndjson = "\(work)/gen-\(events)-seed1-hosts4.ndjson"
if bench.size(ndjson) == 0 {
    print("generating \(events) events with \(generator) …")
    bench.time("python3 \(generator) --events \(events) --seed 1 --hosts 4 --out \(ndjson).tmp 2>/dev/null && mv \(ndjson).tmp \(ndjson)")
}
let inputBytes = bench.size(ndjson)
print("store and queries: \(ndjson): \(events) events, \(inputBytes / 1_000_000) MB (\(inputBytes / events) bytes/event)")

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
// The process-instance table (for `tree`) lives in the same index; shown apart from the events' share.
let processTableBytes = Int(shellOutput("sqlite3 \(store)/index.sqlite \"SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'process%'\"")) ?? 0
let eventsPerEvent = Double(storeBytes - processTableBytes) / Double(events)
report("store size (segments+index)", String(format: "%.1f B/event", storePerEvent), String(format: "zstd -3 %.1f B/event", zstdPerEvent),
       String(format: "%.2fx smaller", zstdPerEvent / storePerEvent), "≤ 20 B/event")
report("  of which events and postings", String(format: "%.1f B/event", eventsPerEvent), "", String(format: "%.2fx smaller", zstdPerEvent / eventsPerEvent), "")
report("  of which the process table", String(format: "%.1f B/event", Double(processTableBytes) / Double(events)), "", "", "")

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

// Export in every format vs jq writing the same NDJSON (issue 8).
exportBenchmarks(bench, store: store, ndjson: ndjson, jqSeconds: jq)

// Queries (issue 3): selective queries against jq's select over the NDJSON and sqlite3 over an indexed
// table of the same records; a full-scan regex against rg over the NDJSON.
func shellOutput(_ command: String) -> String {
    let p = Process()
    let pipe = Pipe()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", command]
    p.standardOutput = pipe
    try! p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
let probe = shellOutput("grep '\"PodName\"' \(ndjson) | grep '\"Operation\":\"Process\"' | sed -n '2000p'")
let probePID = shellOutput("echo '\(probe)' | jq -r .HostPID")
let probePod = shellOutput("echo '\(probe)' | jq -r .PodName")
let sqliteDB = "\(work)/records.sqlite"
if bench.size(sqliteDB) == 0 {
    print("building the sqlite3 baseline table …")
    bench.time("""
        python3 -c '
        import json, sqlite3, sys
        db = sqlite3.connect(sys.argv[2]); db.execute("CREATE TABLE ev(hostpid INTEGER, podname TEXT, operation TEXT, line TEXT)")
        db.executemany("INSERT INTO ev VALUES (?,?,?,?)", ((r.get("HostPID"), r.get("PodName"), r.get("Operation"), l) for l in open(sys.argv[1]) for r in [json.loads(l)]))
        db.execute("CREATE INDEX ev_pid ON ev(hostpid)"); db.execute("CREATE INDEX ev_pod ON ev(podname, operation)"); db.commit()
        ' \(ndjson) \(sqliteDB)
        """)
}
let selective: [(String, String, String, String)] = [
    ("query --pid \(probePID)", "--pid \(probePID)", "select(.HostPID == \(probePID))", "hostpid = \(probePID)"),
    ("query --pod P --operation Process", "--pod '^\(probePod)$' --operation Process",
     "select(.PodName == \"\(probePod)\" and .Operation == \"Process\")", "podname = '\(probePod)' AND operation = 'Process'"),
]
for (name, flags, jqFilter, sql) in selective {
    let ours = bench.best(3, "\(rearview) query --store \(store) \(flags) --format kubearmor > /dev/null")
    let jqSelect = bench.best(1, "jq -c '\(jqFilter)' \(ndjson) > /dev/null")
    let sqlite = bench.best(3, "sqlite3 \(sqliteDB) \"SELECT line FROM ev WHERE \(sql)\" > /dev/null")
    report(name, String(format: "%.3f s", ours), String(format: "jq select %.2f s", jqSelect),
           String(format: "%.0fx faster", jqSelect / ours), "≥ 200x")
    report("", "", String(format: "sqlite3 indexed %.3f s", sqlite), String(format: "%.2fx of sqlite3", ours / sqlite), "≤ 3x")
}
let regexOurs = bench.best(3, "\(rearview) query --store \(store) 'Resource ~ \"^/etc/(shadow|passwd)\"' --count > /dev/null")
let regexRg = bench.best(3, "rg -c '\"Resource\":\"/etc/(shadow|passwd)' \(ndjson) > /dev/null")
report("full-scan regex (--count)", String(format: "%.3f s", regexOurs), String(format: "rg -c %.3f s", regexRg),
       String(format: "%.2fx of rg", regexOurs / regexRg), "≤ 3x")

print("\nprocess trees and policy evaluation on the same store")
processTableBenchmarks(bench, store: store)
evaluateBenchmarks(bench, store: store, events: events)

print("\nwhat leaves the store: forward and report")
forwardBenchmarks(bench, store: store)
reportBenchmarks(bench, store: store)
