// Benchmarks of what leaves the store (issues 7 and 8): `export` in every SIEM format, `forward` over
// TCP, and `report`, each against a baseline measured in the same run on the same store.
import Foundation

/// `export` in every format to /dev/null, against jq re-printing the NDJSON and DuckDB's `COPY … (FORMAT JSON)`
/// of its table (`duckDBSeconds`, shown under the kubearmor row, the format closest to it).
func exportBenchmarks(_ bench: Bench, store: String, jqSeconds: Double, duckDBSeconds: Double) {
    for format in ["kubearmor", "ecs", "ocsf", "cef", "syslog", "splunk-hec"] {
        let seconds = bench.best(2, "\(bench.rearview) export --store \(store) --format \(format) > /dev/null")
        report("export --format \(format)", String(format: "%.2f s (%.2f M ev/s)", seconds, Double(bench.events) / seconds / 1e6),
               String(format: "jq -c . %.2f s", jqSeconds), String(format: "%.1fx faster", jqSeconds / seconds),
               format == "kubearmor" ? "≥ 1 M events/s" : "≥ 0.5 M events/s")
        if format == "kubearmor" {
            report("", "", String(format: "DuckDB COPY JSON %.2f s", duckDBSeconds), String(format: "%.1fx faster", duckDBSeconds / seconds), "")
        }
    }
}

/// `query --format csv` (every KubeArmor field) against `query --format ndjson` of the same events: CSV is
/// written from the columns too, so it should cost about what JSON lines cost.
func csvBenchmark(_ bench: Bench, store: String) {
    let ndjson = bench.best(2, "\(bench.rearview) query --store \(store) --format ndjson > /dev/null")
    let csv = bench.best(2, "\(bench.rearview) query --store \(store) --format csv > /dev/null")
    report("query --format csv", String(format: "%.2f s (%.2f M ev/s)", csv, Double(bench.events) / csv / 1e6),
           String(format: "query ndjson %.2f s", ndjson), String(format: "%.2fx its time", csv / ndjson), "≤ 1.5x ndjson")
}

/// `forward` over TCP: to a sink that reads and discards (rearview's own rate) and to a real rsyslog
/// writing every message to a file (the receiver's rate), against `export --format syslog` to /dev/null.
func forwardBenchmarks(_ bench: Bench, store: String) {
    let dir = "\(bench.work)/forward"
    bench.time("rm -rf \(dir) && mkdir -p \(dir)/rsyslog-work")
    try! """
        import socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
        while True:
            c, _ = s.accept()
            while c.recv(1 << 20): pass
            c.close()
        """.write(toFile: "\(dir)/sink.py", atomically: true, encoding: .utf8)
    try! """
        global(workDirectory="\(dir)/rsyslog-work" maxMessageSize="256k")
        template(name="exact" type="string" string="%rawmsg%\\n")
        ruleset(name="forwarded") { action(type="omfile" file="\(dir)/received.log" template="exact") }
        module(load="imtcp")
        input(type="imtcp" address="127.0.0.1" port="17602" ruleset="forwarded")
        """.write(toFile: "\(dir)/rsyslog.conf", atomically: true, encoding: .utf8)
    let export = bench.best(2, "\(bench.rearview) export --store \(store) --format syslog > /dev/null")

    guard let sink = BackgroundProgram(["/usr/bin/env", "python3", "\(dir)/sink.py", "17601"], ready: nil, settle: 0.5) else { return }
    let toSink = bench.time("\(bench.rearview) forward --store \(store) --to syslog+tcp://127.0.0.1:17601 --ack-hold 0 --from-start 2>/dev/null")
    _ = sink.stop()
    report("forward syslog+tcp, null sink", String(format: "%.2f s (%.0fk ev/s)", toSink, Double(bench.events) / toSink / 1e3),
           String(format: "export syslog %.2f s", export), String(format: "%.2fx its time", toSink / export), "")

    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/rsyslogd") else {
        return print("  SKIPPED: forward to rsyslog: /usr/sbin/rsyslogd missing (apt-get install rsyslog)")
    }
    guard let rsyslog = BackgroundProgram(["/usr/sbin/rsyslogd", "-n", "-f", "\(dir)/rsyslog.conf", "-i", "\(dir)/rsyslog.pid"],
                                          ready: nil, settle: 1) else { return }
    let toRsyslog = bench.time("\(bench.rearview) forward --store \(store) --to syslog+tcp://127.0.0.1:17602 --from-start 2>/dev/null")
    // Wait until rsyslog has written everything, then stop it.
    bench.time("for i in $(seq 300); do [ \"$(wc -l < \(dir)/received.log 2>/dev/null)\" -ge \(bench.events) ] && break; sleep 0.1; done")
    let written = Int(shellOutput("wc -l < \(dir)/received.log")) ?? 0
    _ = rsyslog.stop()
    report("forward syslog+tcp, rsyslog", String(format: "%.2f s (%.0fk ev/s)", toRsyslog, Double(bench.events) / toRsyslog / 1e3),
           "", String(format: "%.2fx the null sink", toRsyslog / toSink), "receiver-bound")
    print("  (rsyslog wrote \(written) of \(bench.events) messages; forward's time includes its 1 s TCP acknowledgement hold)")
}

/// `report` (HTML, default row cap) against `query --format ndjson` of the same selection.
func reportBenchmarks(_ bench: Bench, store: String) {
    let query = bench.best(2, "\(bench.rearview) query --store \(store) --format ndjson > /dev/null")
    let html = bench.best(2, "SOURCE_DATE_EPOCH=0 \(bench.rearview) report --store \(store) --out \(bench.work)/report.html")
    report("report --format html (\(eventsLabel(bench.events)))", String(format: "%.2f s", html), String(format: "query ndjson %.2f s", query),
           String(format: "%.2fx its time", html / query), "")
}
