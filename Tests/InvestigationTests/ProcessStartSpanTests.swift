import EventModel
import Testing
@testable import Investigation

/// `ProcessInstanceTable.startSpan`: the start it gives is `startNs`'s, and every time in its span
/// gives that same start (what lets `export` ask once per instance instead of once per event).
@Suite struct ProcessStartSpanTests {
    @Test func everyTimeInASpanGivesItsStart() throws {
        var s = ProcessScript()
        // PID 300 reused three times on node-1 and twice on node-2, interleaved; PID 301 never forked.
        for round in 0..<3 {
            s.fork(pid: 300, ppid: 10, name: "/usr/bin/sh", parent: "/usr/sbin/sshd")
            s.event(pid: 300, ppid: 10, name: "/usr/bin/sh")
            if round < 2 {
                s.event(pid: 300, ppid: 11, name: "/usr/bin/cat", operation: "Process", data: "syscall=SYS_CLONE", resource: "/usr/bin/cat",
                        host: "node-2")
                s.event(pid: 300, ppid: 11, name: "/usr/bin/cat", host: "node-2")
            }
            s.exit(pid: 300, ppid: 10, name: "/usr/bin/sh")
            s.event(pid: 300, ppid: 11, name: "/usr/bin/cat", operation: "Process", data: "syscall=SYS_EXIT code=0", resource: "/usr/bin/cat",
                    host: "node-2")
            s.event(pid: 301, ppid: 10, name: "/usr/bin/sleep")
            s.wait(50_000_000)
        }
        let (table, _) = s.build()
        // Three on node-1, three on node-2 (the last exit, seen after the second one's, starts one more).
        #expect(table.of(300).count == 6)
        let first = s.events.first!.timeNs, last = s.events.last!.timeNs
        var spans = Set<Int64>()
        for host in ["node-1", "node-2", "node-3"] {
            for pid: Int32 in [300, 301, 302] {
                for t in stride(from: first - 5_000_000, through: last + 5_000_000, by: 250_000) {
                    let span = table.startSpan(hostName: host, hostPID: pid, at: t)
                    #expect(span.startNs == table.startNs(hostName: host, hostPID: pid, at: t))
                    #expect(span.from <= t && t < span.until, "\(host) \(pid) at \(t)")
                    for probe in [span.from, span.until &- 1] where probe != .min && probe != .max - 1 {
                        #expect(table.startNs(hostName: host, hostPID: pid, at: probe) == span.startNs, "\(host) \(pid) at \(probe)")
                    }
                    if span.until != .max {
                        #expect(table.startNs(hostName: host, hostPID: pid, at: span.until) != span.startNs)
                    }
                    if let start = span.startNs { spans.insert(start) }
                }
            }
        }
        // Every instance of PID 300 and 301 was found by some time.
        #expect(spans == Set((table.of(300) + table.of(301)).map(\.startNs)))
    }
}
