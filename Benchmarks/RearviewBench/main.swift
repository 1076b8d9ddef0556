// rearview's benchmarks (`make bench`, release build). Every figure is printed next to a baseline
// measured in the same run on the same data, since these machines are noisy.
import Foundation

struct Bench {
    let rearview: String
    let work: String
    let events: Int

    /// Runs a shell command and returns its wall time in seconds (fails loudly on a non-zero exit).
    @discardableResult
    func time(_ command: String) -> Double {
        run(["/bin/bash", "-c", command], describing: command)
    }

    /// Runs `arguments` (the program first) and returns its wall time, waited for with `waitpid`:
    /// Foundation's `Process` notices an exit only at its run loop's next turn, which rounds short
    /// commands up to ~50 ms.
    func run(_ arguments: [String], describing command: String) -> Double {
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let started = DispatchTime.now().uptimeNanoseconds
        guard posix_spawn(&pid, arguments[0], nil, nil, &argv, environ) == 0 else { fatalError("cannot start \(arguments[0])") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        // A normal exit with status 0: WIFEXITED and WEXITSTATUS, spelled out (the C macros do not import).
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else { fatalError("benchmark command failed (\(status)): \(command)") }
        return seconds
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

    /// The generator's NDJSON of `count` events (4 hosts, seed 1) in the work directory, generated once.
    func generated(_ count: Int) -> String {
        let ndjson = "\(work)/gen-\(count)-seed1-hosts4.ndjson"
        if size(ndjson) == 0 {
            let generator = FileManager.default.fileExists(atPath: "../shared/tools/gen-kubearmor-logs.py")
                ? "../shared/tools/gen-kubearmor-logs.py" : "/work/shared/tools/gen-kubearmor-logs.py"
            print("generating \(count) events with \(generator) …")
            time("python3 \(generator) --events \(count) --seed 1 --hosts 4 --out \(ndjson).tmp 2>/dev/null && mv \(ndjson).tmp \(ndjson)")
        }
        return ndjson
    }
}

/// "1M", "10M", "100k": an event count as the rows name it.
func eventsLabel(_ count: Int) -> String {
    count % 1_000_000 == 0 ? "\(count / 1_000_000)M" : count % 1000 == 0 ? "\(count / 1000)k" : "\(count)"
}


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

func report(_ name: String, _ value: String, _ baseline: String, _ ratio: String, _ target: String) {
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    print(pad(name, 34) + pad(value, 20) + pad(baseline, 26) + pad(ratio, 18) + target)
    fflush(nil)  // each row as it is measured, into a file too
}

let usage = "usage: RearviewBench [--rearview PATH] [--events N] [--scale N] [--soak-seconds N] [--only store|recorder|scale|aggregates|salvage|soak[,…]]"
var arguments = CommandLine.arguments.dropFirst()
var rearview = ".build/release/rearview"
var events = 1_000_000
var scale: Int?
var soakSeconds = 600.0
var parts: Set<String> = ["store", "recorder", "scale"]
while let a = arguments.popFirst() {
    switch a {
    case "--rearview": rearview = arguments.popFirst()!
    case "--events": events = Int(arguments.popFirst()!)!
    case "--scale": scale = Int(arguments.popFirst()!)!
    case "--soak-seconds": soakSeconds = Double(arguments.popFirst()!)!
    case "--only": parts = Set(arguments.popFirst()!.split(separator: ",").map(String.init))
    default: fatalError(usage)
    }
}
guard parts.isSubset(of: ["store", "recorder", "scale", "aggregates", "salvage", "soak"]) else { fatalError(usage) }
// Scale runs at 10M events unless told otherwise, and not at all after a small `--events` unless asked for.
let scaleEvents = scale ?? (events >= 1_000_000 ? 10_000_000 : 0)
let work = ProcessInfo.processInfo.environment["REARVIEW_BENCH_DIR"] ?? "/tmp/rearview-bench"
try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
let bench = Bench(rearview: rearview, work: work, events: events)
report("benchmark", "rearview", "baseline (same run)", "ratio", "target")
report("---------", "--------", "-------------------", "-----", "------")
if parts.contains("recorder") { recorderBenchmarks(rearview: rearview, work: work) }
if parts.contains("store") { storeBenchmarks(bench) }
if parts.contains("aggregates") && !parts.contains("store") {
    // The aggregate rows alone, on the store and DuckDB database an earlier `store` run left (made here if missing).
    let store = "\(work)/store", database = "\(work)/duckdb-\(events).duckdb", ndjson = bench.generated(events)
    if bench.size(store + "/index.sqlite") == 0 { bench.time("\(rearview) import --store \(store) \(ndjson) 2>/dev/null") }
    let duckDB = bench.size(database) > 0 ? DuckDB(database: database) : DuckDB.load(ndjson, into: database).duckDB
    print("\naggregates on \(store) (\(events) events)")
    aggregateBenchmarks(bench, store: store, duckDBSeconds: duckDB.best(duckDBAggregates))
}
if parts.contains("salvage") && !parts.contains("store") {
    // The salvage rows alone, on the store an earlier `store` run left (made here if missing).
    let store = "\(work)/store", ndjson = bench.generated(events)
    if bench.size(store + "/index.sqlite") == 0 { bench.time("\(rearview) import --store \(store) \(ndjson) 2>/dev/null") }
    print("\nsalvage on \(store) (\(events) events)")
    salvageBenchmarks(bench, ndjson: ndjson, store: store)
}
if parts.contains("scale") {
    if scaleEvents > events { scaleBenchmarks(bench, scale: scaleEvents) }
    else { print("\n  SKIPPED: scale: --scale \(scaleEvents) (it runs when above --events \(events))") }
}
if parts.contains("soak") { soakBenchmark(rearview: rearview, work: work, seconds: soakSeconds) }
