// The store's benchmarks (issues 3, 8 and 14): import, store size, decode, queries and export on the
// generator's `--events` NDJSON, against jq, rg, sqlite3, zstd and DuckDB on the same file in the same run;
// then the commands built on the store (InvestigationBench.swift, DeliveryBench.swift).
import EventModel
import EventStore
import Foundation
import Investigation
import Reports

func storeBenchmarks(_ bench: Bench) {
    let rearview = bench.rearview, work = bench.work, events = bench.events
    print("")
    let ndjson = bench.generated(events)
    let inputBytes = bench.size(ndjson)
    print("store and queries: \(ndjson): \(events) events, \(inputBytes / 1_000_000) MB (\(inputBytes / events) bytes/event)")

    // Import vs DuckDB loading the same NDJSON into a table, and vs one jq pass over it (a select, and a re-print).
    guard DuckDB.isInstalled else { fatalError("DuckDB missing: python3 -m pip install duckdb (`make bench` installs it)") }
    let (duckDB, duckDBImport) = DuckDB.load(ndjson, into: "\(work)/duckdb-\(events).duckdb")
    let jqSelect = bench.best(1, "jq -c 'select(.HostPID==4242)' \(ndjson) > /dev/null")
    let jq = bench.best(1, "jq -c . \(ndjson) > /dev/null")
    let store = "\(work)/store"
    var importTimes: [Double] = []
    for _ in 0..<2 {
        bench.time("rm -rf \(store)")
        importTimes.append(bench.time("\(rearview) import --store \(store) \(ndjson) 2>/dev/null"))
    }
    let importTime = importTimes.min()!
    report("import \(eventsLabel(events)) (wall)", String(format: "%.2f s", importTime), String(format: "DuckDB read_json %.2f s", duckDBImport),
           String(format: "%.1fx faster", duckDBImport / importTime), "≥ 3x")
    report("", "", String(format: "jq select %.2f s", jqSelect), String(format: "%.1fx faster", jqSelect / importTime), "≥ 5x")
    report("", "", String(format: "jq -c . %.2f s", jq), String(format: "%.1fx faster", jq / importTime), "")

    // DuckDB's side of the scans and the export below, on its own table, in one process.
    let duckDBSeconds = duckDB.best(duckDBAggregates + [
        .init(name: "export", sql: "COPY (SELECT * FROM ev) TO '/dev/null' (FORMAT JSON)", runs: 2),
    ])

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

    // Full decode: every block decompressed and decoded into column batches (every column), in time
    // order; then the same with every event built as a record.
    let opened = try! Store.open(store)
    let blocks = try! opened.blocks()
    let sources = blocks.map { BlockSource(store: opened, block: $0) }
    func bestSeconds(_ body: () -> Int) -> Double {
        (0..<3).map { _ in
            let started = Date()
            let n = body()
            precondition(n == events, "scan returned \(n) events")
            return Date().timeIntervalSince(started)
        }.min()!
    }
    let decodeSeconds = bestSeconds {
        var n = 0
        try! BatchScan(sources).ordered { _, rows in n += rows.count; return true }
        return n
    }
    let recordSeconds = bestSeconds {
        var n = 0
        try! opened.scan(blocks) { _ in n += 1; return true }
        return n
    }
    let rgSeconds = bench.best(2, "rg -c --no-mmap 'zzzz-no-such-text' \(ndjson) > /dev/null || true")
    report("full decode (column batches)", String(format: "%.1f M events/s", Double(events) / decodeSeconds / 1e6),
           String(format: "rg over NDJSON %.2f s", rgSeconds), String(format: "%.1fx faster", rgSeconds / decodeSeconds), "≥ 5 M events/s")
    report("  and every event built", String(format: "%.1f M events/s", Double(events) / recordSeconds / 1e6), "", "", "")

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

    // Export in every format vs jq writing the same NDJSON (issue 8) and DuckDB writing its table as JSON.
    exportBenchmarks(bench, store: store, jqSeconds: jq, duckDBSeconds: duckDBSeconds["export"]!)
    csvBenchmark(bench, store: store)

    // Queries (issue 3): selective queries against jq's select over the NDJSON and sqlite3 over an indexed
    // table of the same records; a full-scan regex against rg over the NDJSON; full scans against DuckDB.
    let probe = shellOutput("grep '\"PodName\"' \(ndjson) | grep '\"Operation\":\"Process\"' | sed -n '2000p'")
    let probePID = shellOutput("echo '\(probe)' | jq -r .HostPID")
    let probePod = shellOutput("echo '\(probe)' | jq -r .PodName")
    let sqliteDB = "\(work)/records-\(events).sqlite"
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
        report("", "", "", String(format: "%.0f ms", ours * 1000), "≤ 50 ms whole process")
    }
    let regexOurs = bench.best(3, "\(rearview) query --store \(store) 'Resource ~ \"^/etc/(shadow|passwd)\"' --count > /dev/null")
    let regexRg = bench.best(3, "rg -c '\"Resource\":\"/etc/(shadow|passwd)' \(ndjson) > /dev/null")
    report("full-scan regex (--count)", String(format: "%.3f s", regexOurs), String(format: "rg -c %.3f s", regexRg),
           String(format: "%.2fx of rg", regexOurs / regexRg), "≤ 3x")
    aggregateBenchmarks(bench, store: store, regex: regexOurs, duckDBSeconds: duckDBSeconds)

    print("\nprocess trees and policy evaluation on the same store")
    processTableBenchmarks(bench, store: store)
    evaluateBenchmarks(bench, store: store, events: events)

    print("\nwhat leaves the store: forward and report")
    forwardBenchmarks(bench, store: store)
    reportBenchmarks(bench, store: store)
    salvageBenchmarks(bench, ndjson: ndjson, store: store)
}

/// The regex `--count` and `--group-by ProcessName` against DuckDB's in-process times: rearview as a
/// whole process (`regex`, when measured already, else here) and in-process (``InProcessQueries``).
/// Also the `--only aggregates` section, on the store of an earlier `store` run.
func aggregateBenchmarks(_ bench: Bench, store: String, regex measured: Double? = nil, duckDBSeconds: [String: Double]) {
    let rearview = bench.rearview
    let regex = measured ?? bench.best(3, "\(rearview) query --store \(store) 'Resource ~ \"^/etc/(shadow|passwd)\"' --count > /dev/null")
    if measured == nil { report("full-scan regex (--count)", String(format: "%.3f s", regex), "", "", "") }
    report("", "", String(format: "DuckDB regex %.3f s", duckDBSeconds["regex"]!),
           String(format: "%.2fx of DuckDB", regex / duckDBSeconds["regex"]!), "≤ 1x (no slower)")
    let groupBy = bench.best(3, "\(rearview) query --store \(store) --group-by ProcessName --format ndjson > /dev/null")
    report("query --group-by ProcessName", String(format: "%.3f s", groupBy), String(format: "DuckDB GROUP BY %.3f s", duckDBSeconds["group-by"]!),
           String(format: "%.2fx of DuckDB", groupBy / duckDBSeconds["group-by"]!), "≤ 1x (no slower)")
    // The same two queries in-process, as DuckDB is timed: the store opened once, then each query
    // (filter, plan, count) timed through the library `query` uses, best of several runs.
    let inProcess = InProcessQueries(store: try! Store.open(store))
    let regexInProcess = inProcess.best(9) { try $0.count("Resource ~ \"^/etc/(shadow|passwd)\"") }
    let groupByInProcess = inProcess.best(9) { try $0.groupCount(by: "ProcessName") }
    report("  regex --count, in-process", String(format: "%.4f s", regexInProcess), String(format: "DuckDB regex %.4f s", duckDBSeconds["regex"]!),
           String(format: "%.2fx of DuckDB", regexInProcess / duckDBSeconds["regex"]!), "≤ 1x (no slower)")
    report("  --group-by, in-process", String(format: "%.4f s", groupByInProcess), String(format: "DuckDB GROUP BY %.4f s", duckDBSeconds["group-by"]!),
           String(format: "%.2fx of DuckDB", groupByInProcess / duckDBSeconds["group-by"]!), "≤ 1x (no slower)")
}

/// The DuckDB statements the aggregates are compared with.
let duckDBAggregates: [DuckDB.Statement] = [
    .init(name: "regex", sql: "SELECT count(*) FROM ev WHERE regexp_matches(Resource, '^/etc/(shadow|passwd)')", runs: 5),
    .init(name: "group-by", sql: "SELECT ProcessName, count(*) FROM ev GROUP BY ProcessName ORDER BY 2 DESC", runs: 5),
]

/// `query --count` and `--group-by` run through the library on a store opened once: rearview's
/// figures measured the way DuckDB's are (no process start, no opening of the store).
struct InProcessQueries {
    let store: Store

    /// Events matching `expression`, as `query EXPRESSION --count` counts them.
    func count(_ expression: String) throws -> Int {
        let filter = EventFilter(try FilterExpression(parsing: expression))
        return try QueryPlan(stores: [store], filter: filter).count(filter: filter)
    }

    /// Groups of `--group-by fields` (no filter), as `query --group-by` counts them before printing.
    func groupCount(by fields: String) throws -> Int {
        let filter = EventFilter(.everything)
        return try GroupCounts.counting(plan: try QueryPlan(stores: [store], filter: filter), filter: filter,
                                        columns: EventColumn.list(fields)).counts.count
    }

    /// The best wall time of `runs` runs of `query` (each must give the same result).
    func best(_ runs: Int, _ query: (InProcessQueries) throws -> Int) -> Double {
        var first: Int?
        return (0..<runs).map { _ in
            let started = DispatchTime.now().uptimeNanoseconds
            let result = try! query(self)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            precondition(first == nil || first == result, "in-process query gave \(result), then \(first!)")
            first = first ?? result
            return seconds
        }.min()!
    }
}
