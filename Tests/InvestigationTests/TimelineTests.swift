import EventModel
import Testing
@testable import Investigation

@Suite struct TimelineFormatterTests {
    let scenario = TreeScenario()

    func fields(_ line: String) -> [String] { line.components(separatedBy: "  ") }

    @Test func lineShowsTimeHostLineageOperationResourceAndResult() throws {
        let formatter = TimelineFormatter(table: scenario.table)
        let connect = try #require(scenario.script.events.first { $0.operation == "Network" })
        let line = formatter.line(for: connect)
        #expect(fields(line) == [
            UnixTime.rfc3339Micro(connect.timeNs), "node-1", "systemd › sshd › bash › curl(301)", "Network",
            "remoteip=93.184.216.34 port=80 protocol=TCP", "Passed",
        ])
    }

    @Test func lineageIsCutToItsDepthAndFallsBackToTheEvent() throws {
        let table = scenario.table
        let connect = try #require(scenario.script.events.first { $0.operation == "Network" })
        #expect(TimelineFormatter(table: table, lineageDepth: 2).lineage(for: connect) == ["…", "bash", "curl"])
        #expect(TimelineFormatter(table: table, lineageDepth: 9).lineage(for: connect) == ["systemd", "sshd", "bash", "curl"])
        var unknown = connect
        unknown.hostName = "elsewhere"
        #expect(TimelineFormatter(table: table).lineage(for: unknown) == ["bash", "curl"])
    }

    @Test func lineageNamesTheParentAsTheEventSawIt() throws {
        // The job's parent exec'd later: the event names its parent's image of that moment.
        var s = ProcessScript()
        s.exec(pid: 20, ppid: 1, name: "/usr/bin/dash", parent: "/usr/sbin/cron")
        s.exec(pid: 21, ppid: 20, name: "/usr/bin/logger", parent: "/usr/bin/dash")
        s.exec(pid: 20, ppid: 1, name: "/usr/bin/bash", parent: "/usr/sbin/cron")
        let table = s.build().table
        #expect(TimelineFormatter(table: table).lineage(for: s.events[1]) == ["cron", "dash", "logger"])
    }

    @Test func alertsAreMarkedAndColouredOnlyWhenAsked() {
        var s = ProcessScript()
        s.exec(pid: 30, ppid: 20, name: "/usr/bin/apt-get", parent: "/usr/bin/bash\u{1B}]0;x", result: "Permission denied")
        var alert = s.events[0]
        alert.type = "MatchedPolicy"
        alert.action = "Block"
        alert.policyName = "ksp-block-pkg-mgmt"
        alert.severity = "5"
        let table = s.build().table
        let plain = TimelineFormatter(table: table).line(for: alert)
        #expect(plain.hasSuffix("Permission denied  !! Block ksp-block-pkg-mgmt (severity 5)"))
        #expect(!plain.contains("\u{1B}"), "no escape from the event, and no colour unless asked")
        #expect(plain.contains(#"bash\x1b]0;x › apt-get(30)"#))
        let coloured = TimelineFormatter(table: table, colour: true).line(for: alert)
        #expect(coloured.hasSuffix("\u{1B}[1;31m!! Block ksp-block-pkg-mgmt (severity 5)\u{1B}[0m"))
        alert.action = "Audit"
        #expect(TimelineFormatter(table: table, colour: true).line(for: alert).contains("\u{1B}[1;33m!! Audit"))
        alert.type = "ContainerLog"
        #expect(!TimelineFormatter(table: table, colour: true).line(for: alert).contains("!!"))
    }
}

/// A clock that only counts: sleeping moves it on, and writing a line can be made to take time.
struct CountingClock: ReplayClock {
    var now: Int64 = 1_000
    var sleeps: [Int64] = []
    /// Added on every `nowNs()`: the time the caller spends between waits.
    var workNs: Int64 = 0

    mutating func nowNs() -> Int64 {
        now += workNs
        return now
    }

    mutating func sleep(ns: Int64) {
        sleeps.append(ns)
        now += ns
    }
}

@Suite struct TimelinePacerTests {
    let second: Int64 = 1_000_000_000

    @Test func gapsAreScaledBySpeedAndCapped() {
        let pacer = TimelinePacer(speed: 2, maxGapNs: 5 * second, clock: CountingClock())
        #expect(pacer.delayNs(from: 0, to: 2 * second) == second)
        #expect(pacer.delayNs(from: 0, to: 60 * second) == 5 * second / 2)
        #expect(pacer.delayNs(from: 10 * second, to: 9 * second) == 0, "out of order: no wait")
    }

    @Test func replayWaitsOnTheOriginalScheduleWithoutRealSleeping() {
        let t0: Int64 = 1_717_150_000 * 1_000_000_000
        var pacer = TimelinePacer(speed: 10, maxGapNs: 30 * second, clock: CountingClock())
        for offset in [0, 2, 2, 12, 3600] as [Int64] {
            pacer.waitForEvent(at: t0 + offset * second)
        }
        #expect(pacer.clock.sleeps == [second / 5, second, 3 * second])
    }

    @Test func timeSpentWritingIsTakenFromTheWait() {
        let t0: Int64 = 5 * 1_000_000_000
        var clock = CountingClock()
        clock.workNs = 300_000_000
        var pacer = TimelinePacer(speed: 1, clock: clock)
        for offset in [0, 1, 1, 3] as [Int64] {
            pacer.waitForEvent(at: t0 + offset * second)
        }
        // Due at +1 s, +1 s, +3 s; each look at the clock costs 0.3 s.
        #expect(pacer.clock.sleeps == [700_000_000, 1_400_000_000])
    }
}
