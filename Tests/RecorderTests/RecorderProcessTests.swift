import EventModel
import Foundation
import Testing
@testable import Recorder

/// Real-kernel tests of process lifecycle: the recorder runs, workloads run as children of the test,
/// and each test looks for its own workload's events only (the machine runs other processes).
@Suite(.serialized, .enabled(if: KernelTests.available, "needs root, BPF and kernel BTF"))
struct RecorderProcessTests {
    @Test func shellScriptTree() throws {
        let startNs = Int64(Date().timeIntervalSince1970 * 1e9)
        let recording = try Recording.start()
        let (bash, bashParent, _) = try Workload.bash(
            "ps >/dev/null; pgrep x >/dev/null; sh -c 'cat /etc/hostname' >/dev/null; true")
        #expect(bashParent == getpid())
        recording.collector.waitUntil { events in
            events.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT") != nil
                && events.descendants(of: bash).contains { $0.processName == "/usr/bin/cat" && $0.data.hasPrefix("syscall=SYS_EXIT") }
        }
        let events = try recording.stop()
        let endNs = Int64(Date().timeIntervalSince1970 * 1e9)

        let bashExec = try #require(events.first(pid: bash, operation: "Process", data: "syscall=SYS_EXECVE"))
        #expect(bashExec.processName == "/usr/bin/bash")
        #expect(bashExec.resource.hasPrefix("/usr/bin/bash -c echo $$ $PPID; ps >/dev/null"))
        #expect(bashExec.hostPPID == getpid())
        #expect(bashExec.pid == bash)
        #expect(bashExec.uid == 0)
        #expect(bashExec.cwd == FileManager.default.currentDirectoryPath + "/")
        #expect(bashExec.type == "HostLog")
        #expect(bashExec.hostName == HostChecks.hostName())
        #expect(bashExec.result == "Passed")
        #expect(bashExec.timeNs > startNs && bashExec.timeNs < endNs)
        #expect(bashExec.timestamp == bashExec.timeNs / 1_000_000_000)
        #expect(bashExec.extra("Comm") == "\"bash\"")
        #expect(bashExec.extra("TID") == String(bash))
        #expect(bashExec.extra("GID") == "0")
        #expect(bashExec.extra("PidNS") == Self.namespaceInode("pid"))
        #expect(bashExec.extra("MntNS") == Self.namespaceInode("mnt"))
        #expect(bashExec.extra("CgroupID") == Self.cgroupID())

        let children = events.filter { $0.hostPPID == bash && $0.data == "syscall=SYS_EXECVE" }
        let ps = try #require(children.first { $0.processName == "/usr/bin/ps" })
        #expect(ps.resource == "/usr/bin/ps")
        #expect(ps.parentProcessName == "/usr/bin/bash")
        #expect(ps.source == "/usr/bin/bash")
        let pgrep = try #require(children.first { $0.processName == "/usr/bin/pgrep" })
        #expect(pgrep.resource == "/usr/bin/pgrep x")
        let sh = try #require(children.first { $0.resource == "/usr/bin/sh -c cat /etc/hostname" })
        #expect(sh.processName == "/usr/bin/dash")

        // Each child was forked by bash before it exec'd.
        for child in [ps, pgrep, sh] {
            let clone = try #require(events.first(pid: child.hostPID, operation: "Process", data: "syscall=SYS_CLONE"))
            #expect(clone.hostPPID == bash)
            #expect(clone.processName == "/usr/bin/bash")
            #expect(clone.timeNs <= child.timeNs)
        }

        let cat = try #require(events.descendants(of: bash).first { $0.processName == "/usr/bin/cat" && $0.data == "syscall=SYS_EXECVE" })
        #expect(cat.resource == "/usr/bin/cat /etc/hostname")
        let open = try #require(events.first { $0.hostPID == cat.hostPID && $0.operation == "File" && $0.resource == "/etc/hostname" })
        #expect(open.data == "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY")
        #expect(open.result == "Passed")
        #expect(open.source == "cat /etc/hostname")
        #expect(open.processName == "/usr/bin/cat")

        let exit = try #require(events.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT"))
        #expect(exit.data == "syscall=SYS_EXIT code=0")
        #expect(exit.timeNs >= bashExec.timeNs)
        #expect(recording.recorder.statistics.drops.values.allSatisfy { $0 == 0 })
        #expect(recording.recorder.statistics.malformedRecords == 0)
    }

    /// The inode of this process's namespace of a type (`pid`, `mnt`), as the kernel numbers it.
    static func namespaceInode(_ type: String) -> String? {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(type)")) ?? ""
        return link.split(separator: "[").last?.split(separator: "]").first.map(String.init)
    }

    /// The cgroup v2 id of this process: the inode of its directory in the cgroup2 mount.
    static func cgroupID() -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8),
              let mount = mounts.split(separator: "\n").map({ $0.split(separator: " ") }).first(where: { $0.count > 2 && $0[2] == "cgroup2" }),
              let cgroups = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let line = cgroups.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        var info = stat()
        guard stat(String(mount[1]) + line.dropFirst(3), &info) == 0 else { return nil }
        return String(info.st_ino)
    }

    @Test func pathWithSpacesAndLongArgv() throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path + "/dir with spaces"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let program = folder + "/my prog"
        try FileManager.default.copyItem(atPath: "/usr/bin/true", toPath: program)
        let arguments = (1...300).map { "argument-\($0)" }

        let recording = try Recording.start()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: program)
        child.arguments = arguments
        try child.run()
        child.waitUntilExit()
        let pid = child.processIdentifier
        recording.collector.waitUntil { $0.first(pid: pid, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop()

        let exec = try #require(events.first(pid: pid, operation: "Process", data: "syscall=SYS_EXECVE"))
        #expect(exec.processName == program)
        #expect(exec.resource == ([program] + arguments).joined(separator: " "))
        #expect(exec.cwd == FileManager.default.currentDirectoryPath + "/")
        #expect(events.first(pid: pid, operation: "Process", data: "syscall=SYS_EXIT")?.data == "syscall=SYS_EXIT code=0")
    }

    @Test func exitCodesAndSignals() throws {
        let recording = try Recording.start()
        let (exiting, _, _) = try Workload.bash("exit 7")
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/sleep")
        sleeper.arguments = ["100"]
        try sleeper.run()
        let sleeping = sleeper.processIdentifier
        recording.collector.waitUntil { $0.first(pid: sleeping, operation: "Process", data: "syscall=SYS_EXECVE") != nil }
        kill(sleeping, SIGKILL)
        sleeper.waitUntilExit()
        recording.collector.waitUntil { events in
            [exiting, sleeping].allSatisfy { events.first(pid: $0, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        }
        let events = try recording.stop()

        #expect(events.first(pid: exiting, operation: "Process", data: "syscall=SYS_EXIT")?.data == "syscall=SYS_EXIT code=7")
        let killed = try #require(events.first(pid: sleeping, operation: "Process", data: "syscall=SYS_EXIT"))
        #expect(killed.data == "syscall=SYS_EXIT signal=SIGKILL")
        #expect(killed.processName == "/usr/bin/sleep")
        #expect(killed.resource == "/usr/bin/sleep 100")
    }

    @Test func failedExecs() throws {
        let directory = try TemporaryDirectory()
        let notExecutable = try directory.write("data.txt", "not a program\n", mode: 0o644)
        let recording = try Recording.start()
        let (bash, _, _) = try Workload.bash("\(directory.path)/missing-program one two; \(notExecutable) three; true")
        recording.collector.waitUntil { $0.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop()

        let failures = events.filter { $0.operation == "Process" && $0.result != "Passed" }
        let missing = try #require(failures.first { $0.processName == directory.path + "/missing-program" })
        #expect(missing.result == "No such file or directory")
        #expect(missing.resource == directory.path + "/missing-program one two")
        #expect(missing.data == "syscall=SYS_EXECVE")
        #expect(missing.parentProcessName == "/usr/bin/bash")
        let denied = try #require(failures.first { $0.processName == notExecutable })
        #expect(denied.result == "Permission denied")
        #expect(denied.resource == notExecutable + " three")
    }

    @Test(.enabled(if: ContainerCgroup.parent != nil, "needs a writable cgroup2 hierarchy"))
    func containerProcessesAreRecognised() throws {
        let id = String(repeating: "c0ffee42", count: 8)
        let cgroup = try #require(ContainerCgroup.parent) + "/docker-\(id).scope"
        #expect(mkdir(cgroup, 0o755) == 0)
        defer {
            // The cgroup can be removed once the kernel has let go of the exited processes.
            for _ in 0..<50 where rmdir(cgroup) != 0 { usleep(20_000) }
        }
        let recording = try Recording.start()
        let (bash, _, _) = try Workload.bash("echo $$ > \(cgroup)/cgroup.procs; /usr/bin/cat /etc/hostname >/dev/null; true")
        recording.collector.waitUntil { $0.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop()

        let bashExec = try #require(events.first(pid: bash, operation: "Process", data: "syscall=SYS_EXECVE"))
        #expect(bashExec.type == "HostLog")
        #expect(bashExec.containerID == "")
        let cat = try #require(events.first { $0.hostPPID == bash && $0.processName == "/usr/bin/cat" && $0.data == "syscall=SYS_EXECVE" })
        #expect(cat.containerID == id)
        #expect(cat.type == "ContainerLog")
        let open = try #require(events.first { $0.hostPID == cat.hostPID && $0.resource == "/etc/hostname" })
        #expect(open.containerID == id)
        #expect(open.type == "ContainerLog")
    }

    @Test func snapshotHasProcessesStartedBefore() throws {
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer {
            kill(sleeper.processIdentifier, SIGKILL)
            sleeper.waitUntilExit()
        }
        usleep(100_000) // let it exec before the snapshot reads /proc
        let recording = try Recording.start()
        let pid = sleeper.processIdentifier
        recording.collector.waitUntil { $0.first(pid: pid, operation: "Process", data: "syscall=SYS_EXECVE") != nil }
        let snapshotSize = recording.recorder.statistics.snapshotProcesses
        let events = try recording.stop()

        let entry = try #require(events.first(pid: pid, operation: "Process", data: "syscall=SYS_EXECVE"))
        #expect(entry.data == "syscall=SYS_EXECVE snapshot=procfs")
        #expect(entry.processName == "/usr/bin/sleep")
        #expect(entry.resource == "/usr/bin/sleep 30")
        #expect(entry.hostPPID == getpid())
        #expect(entry.cwd == FileManager.default.currentDirectoryPath + "/")
        #expect(snapshotSize > 1)
        // Its ancestry is in the snapshot too, parents first.
        let parent = try #require(events.firstIndex { $0.hostPID == getpid() && $0.data.hasSuffix("snapshot=procfs") })
        let child = try #require(events.firstIndex { $0.hostPID == pid })
        #expect(parent < child)
        #expect(entry.parentProcessName == events[parent].processName)
    }
}
