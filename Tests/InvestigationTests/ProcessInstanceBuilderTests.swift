import EventModel
import EventStore
import Testing
@testable import Investigation

/// Writes the events of a small scenario, in time order, the way the recorder and KubeArmor do.
struct ProcessScript {
    var host = "node-1"
    var timeNs: Int64 = 1_717_150_000_000_000_000
    var events: [Event] = []

    /// Moves the clock on (default 1 ms).
    mutating func wait(_ ns: Int64 = 1_000_000) { timeNs += ns }

    @discardableResult
    mutating func event(pid: Int32, ppid: Int32, name: String, parent: String = "", operation: String = "File",
                        data: String = "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY", resource: String = "/etc/hosts",
                        result: String = "Passed", nsPID: Int32? = nil, nsPPID: Int32? = nil, container: String = "",
                        uid: Int32 = 0, host: String? = nil) -> Event {
        wait()
        var e = Event()
        e.timeNs = timeNs
        e.timestamp = timeNs / 1_000_000_000
        e.hostName = host ?? self.host
        e.hostPID = pid
        e.hostPPID = ppid
        e.pid = nsPID ?? pid
        e.ppid = nsPPID ?? ppid
        e.uid = uid
        e.processName = name
        e.parentProcessName = parent
        e.operation = operation
        e.data = data
        e.resource = resource
        e.result = result
        e.containerID = container
        e.podName = container.isEmpty ? "" : "pod-" + container.prefix(4)
        e.type = container.isEmpty ? "HostLog" : "ContainerLog"
        events.append(e)
        return e
    }

    mutating func fork(pid: Int32, ppid: Int32, name: String, parent: String) {
        event(pid: pid, ppid: ppid, name: name, parent: parent, operation: "Process", data: "syscall=SYS_CLONE", resource: name)
    }

    mutating func exec(pid: Int32, ppid: Int32, name: String, parent: String = "", arguments: String = "",
                       result: String = "Passed", nsPID: Int32? = nil, nsPPID: Int32? = nil, container: String = "") {
        event(pid: pid, ppid: ppid, name: name, parent: parent, operation: "Process", data: "syscall=SYS_EXECVE",
              resource: arguments.isEmpty ? name : name + " " + arguments, result: result, nsPID: nsPID, nsPPID: nsPPID,
              container: container)
    }

    mutating func exit(pid: Int32, ppid: Int32, name: String, status: String = "code=0") {
        event(pid: pid, ppid: ppid, name: name, operation: "Process", data: "syscall=SYS_EXIT " + status, resource: name)
    }

    mutating func snapshot(pid: Int32, ppid: Int32, name: String, startedNsAgo: Int64 = 0) {
        var e = event(pid: pid, ppid: ppid, name: name, operation: "Process", data: "syscall=SYS_EXECVE snapshot=procfs",
                      resource: name)
        e.timeNs -= startedNsAgo
        events[events.count - 1] = e
    }

    /// Builds the table and checks that every event maps back to its instance by time.
    func build(_ options: ProcessInstanceBuilder.Options = .init()) -> (table: ProcessInstanceTable, ids: [Int64]) {
        var builder = ProcessInstanceBuilder(options: options)
        let ids = builder.add(events)
        let table = builder.table
        for (event, id) in zip(events, ids) {
            #expect(table.instanceID(hostName: event.hostName, hostPID: event.hostPID, at: event.timeNs) == id,
                    "event at \(event.timeNs) of \(event.hostPID) maps to another instance")
        }
        return (table, ids)
    }
}

extension ProcessInstanceTable {
    /// The instances of a HostPID on any host, oldest first.
    func of(_ hostPID: Int32) -> [ProcessInstance] { instances(hostPID: hostPID) }
}

@Suite struct RecordedLifecycleTests {
    @Test func forkExecExitMakeOneInstanceWithItsChain() throws {
        var s = ProcessScript()
        s.snapshot(pid: 100, ppid: 1, name: "/usr/bin/bash")
        s.fork(pid: 200, ppid: 100, name: "/usr/bin/bash", parent: "/usr/bin/bash")
        let forkNs = s.timeNs
        s.exec(pid: 200, ppid: 100, name: "/usr/bin/ps", parent: "/usr/bin/bash", arguments: "aux")
        s.event(pid: 200, ppid: 100, name: "/usr/bin/ps", parent: "/usr/bin/bash", resource: "/proc/1/stat")
        s.event(pid: 200, ppid: 100, name: "/usr/bin/ps", parent: "/usr/bin/bash", operation: "Network",
                data: "syscall=SYS_CONNECT fd=3", resource: "sa_family=AF_UNIX sun_path=/run/x")
        s.exit(pid: 200, ppid: 100, name: "/usr/bin/ps", status: "code=3")
        let (table, ids) = s.build()
        let shell = try #require(table.of(100).first)
        let ps = try #require(table.of(200).first)
        #expect(table.of(200).count == 1)
        #expect(ps.origin == .recorded)
        #expect(ps.parentID == shell.id)
        #expect(ps.images == ["/usr/bin/bash", "/usr/bin/ps"])
        #expect(ps.command == "/usr/bin/ps aux")
        #expect(ps.startNs == forkNs)
        #expect(ps.exitNs == s.timeNs)
        #expect(ps.exitCode == 3 && ps.exitSignal == nil)
        #expect(ps.events == OperationCounts(process: 3, file: 1, network: 1))
        #expect(shell.origin == .snapshot)
        #expect(table.parent(of: shell)?.isPlaceholder == true, "PID 1, never seen, is a placeholder")
        #expect(Set(ids).count == 2)
    }

    @Test func execChainKeepsEveryImage() throws {
        var s = ProcessScript()
        s.snapshot(pid: 50, ppid: 1, name: "/usr/sbin/cron")
        s.fork(pid: 60, ppid: 50, name: "/usr/sbin/cron", parent: "/usr/sbin/cron")
        s.exec(pid: 60, ppid: 50, name: "/usr/bin/dash", parent: "/usr/sbin/cron", arguments: "-c backup.sh")
        s.exec(pid: 60, ppid: 50, name: "/usr/bin/bash", parent: "/usr/sbin/cron", arguments: "backup.sh")
        s.exec(pid: 60, ppid: 50, name: "/usr/bin/tar", parent: "/usr/sbin/cron", arguments: "czf x", result: "Permission denied")
        let (table, _) = s.build()
        let job = try #require(table.of(60).first)
        #expect(job.images == ["/usr/sbin/cron", "/usr/bin/dash", "/usr/bin/bash"], "a failed exec adds no image")
        #expect(job.command == "/usr/bin/bash backup.sh")
        #expect(job.failedExecs == ["/usr/bin/tar czf x"])
    }

    @Test func orphanGoesToPIDOneThenToTheReaperItsEventsShow() throws {
        var s = ProcessScript()
        s.snapshot(pid: 1, ppid: 0, name: "/usr/lib/systemd/systemd")
        s.snapshot(pid: 40, ppid: 1, name: "/usr/bin/containerd-shim-runc-v2")
        s.fork(pid: 41, ppid: 40, name: "/usr/bin/containerd-shim-runc-v2", parent: "/usr/bin/containerd-shim-runc-v2")
        s.exec(pid: 41, ppid: 40, name: "/usr/bin/runc", parent: "/usr/bin/containerd-shim-runc-v2")
        s.fork(pid: 42, ppid: 41, name: "/usr/bin/runc", parent: "/usr/bin/runc")
        s.fork(pid: 43, ppid: 41, name: "/usr/bin/runc", parent: "/usr/bin/runc")
        s.exit(pid: 43, ppid: 41, name: "/usr/bin/runc")
        s.exit(pid: 41, ppid: 40, name: "/usr/bin/runc")
        var (table, _) = s.build()
        let runc = try #require(table.of(41).first)
        let shellAfterExit = try #require(table.of(42).first)
        #expect(shellAfterExit.parentID == runc.id)
        #expect(shellAfterExit.reaperID == table.of(1).first?.id, "no event shows the reaper yet: PID 1")
        #expect(table.of(43).first?.reaperID == nil, "a child that exited before its parent is not reparented")

        s.exec(pid: 42, ppid: 40, name: "/usr/bin/dash", parent: "/usr/bin/containerd-shim-runc-v2")
        (table, _) = s.build()
        let shell = try #require(table.of(42).first)
        #expect(table.of(42).count == 1)
        #expect(shell.parentID == runc.id, "the tree keeps where it came from")
        #expect(shell.reaperID == table.of(40).first?.id, "and who adopted it, as its events show")
        #expect(shell.images == ["/usr/bin/runc", "/usr/bin/dash"])
    }

    @Test func reusedPIDAfterExitIsANewInstance() throws {
        var s = ProcessScript()
        s.snapshot(pid: 10, ppid: 1, name: "/usr/sbin/sshd")
        s.snapshot(pid: 20, ppid: 1, name: "/usr/sbin/cron")
        s.fork(pid: 300, ppid: 10, name: "/usr/sbin/sshd", parent: "/usr/sbin/sshd")
        let firstNs = s.timeNs
        s.exit(pid: 300, ppid: 10, name: "/usr/sbin/sshd", status: "signal=SIGSEGV core=dumped")
        s.fork(pid: 300, ppid: 20, name: "/usr/sbin/cron", parent: "/usr/sbin/cron")
        let secondNs = s.timeNs
        s.event(pid: 300, ppid: 20, name: "/usr/sbin/cron")
        s.event(pid: 301, ppid: 20, name: "/usr/sbin/cron")  // no fork seen: started before the recording
        let (table, _) = s.build()
        let both = table.of(300)
        #expect(both.count == 2)
        #expect(both.map(\.startNs) == [firstNs, secondNs])
        #expect(both[0].exitSignal == "SIGSEGV (core dumped)" && both[0].exitCode == nil)
        #expect(both[0].parentID == table.of(10).first?.id)
        #expect(both[1].parentID == table.of(20).first?.id)
        #expect(both[1].exitNs == nil)
        #expect(table.of(301).first?.origin == .recordedWithoutFork)
        #expect(table.instanceID(hostName: "node-1", hostPID: 300, at: secondNs - 1) == both[0].id)
    }

    @Test func snapshotOfAPlaceholderParentMakesItASnapshot() throws {
        var s = ProcessScript()
        s.snapshot(pid: 5, ppid: 4, name: "/usr/bin/sleep")
        s.snapshot(pid: 4, ppid: 1, name: "/usr/bin/bash")
        let (table, _) = s.build()
        #expect(table.of(4).count == 1)
        #expect(table.of(4).first?.origin == .snapshot && table.of(4).first?.images == ["/usr/bin/bash"])
        #expect(table.of(5).first?.parentID == table.of(4).first?.id)
    }

    @Test func snapshotOfAProcessAlreadyKnownIsTheSameInstance() throws {
        var s = ProcessScript()
        s.fork(pid: 70, ppid: 1, name: "/usr/bin/sleep", parent: "/usr/lib/systemd/systemd")
        let forkNs = s.timeNs
        s.snapshot(pid: 70, ppid: 1, name: "/usr/bin/sleep", startedNsAgo: 1_000_000 + 5_000_000)
        let (table, _) = s.build()
        #expect(table.of(70).count == 1)
        #expect(table.of(70).first?.startNs == forkNs - 5_000_000)
    }
}

@Suite struct InferredInstanceTests {
    @Test func firstSeenExecRanItsParentsImageFirst() throws {
        var s = ProcessScript()
        s.exec(pid: 500, ppid: 400, name: "/usr/bin/curl", parent: "/usr/bin/bash", arguments: "-sO http://x")
        s.event(pid: 500, ppid: 400, name: "/usr/bin/curl", parent: "/usr/bin/bash", operation: "Network",
                data: "kprobe=tcp_connect domain=AF_INET", resource: "remoteip=1.2.3.4 port=80 protocol=TCP")
        let (table, _) = s.build()
        let curl = try #require(table.of(500).first)
        let shell = try #require(table.of(400).first)
        #expect(curl.origin == .inferredFirstSeen)
        #expect(curl.images == ["/usr/bin/bash", "/usr/bin/curl"])
        #expect(shell.isPlaceholder && shell.images == ["/usr/bin/bash"] && shell.uid == nil)
        #expect(curl.parentID == shell.id)
        #expect(shell.lastActivityNs == s.timeNs, "the child's events show the parent alive")
    }

    @Test func placeholderBecomesRealWhenItsOwnEventsAppear() throws {
        var s = ProcessScript()
        s.exec(pid: 500, ppid: 400, name: "/usr/bin/id", parent: "/usr/bin/bash")
        s.event(pid: 400, ppid: 300, name: "/usr/bin/bash", parent: "/usr/sbin/sshd", resource: "/home/u/.bashrc")
        let (table, _) = s.build()
        let shell = try #require(table.of(400).first)
        #expect(table.of(400).count == 1)
        #expect(!shell.isPlaceholder && shell.origin == .inferredFirstSeen)
        #expect(shell.events.file == 1)
        #expect(table.parent(of: shell)?.images == ["/usr/sbin/sshd"])
    }

    @Test func reparentingToAReaperKeepsTheInstance() throws {
        var s = ProcessScript()
        // A background job of a shell; the shell exits and the job is adopted by PID 1.
        s.exec(pid: 900, ppid: 800, name: "/usr/bin/rsync", parent: "/usr/bin/bash")
        s.wait(60_000_000_000)
        s.event(pid: 900, ppid: 1, name: "/usr/bin/rsync", parent: "/usr/lib/systemd/systemd")
        // In a container, orphans go to the container's init (PPID 1 in its namespace).
        let c = "c0ffee00c0ffee00c0ffee00"
        s.exec(pid: 910, ppid: 905, name: "/tmp/.x", parent: "/usr/bin/dash", nsPID: 30, nsPPID: 25, container: c)
        s.event(pid: 910, ppid: 901, name: "/tmp/.x", parent: "/usr/sbin/nginx", nsPID: 30, nsPPID: 1, container: c)
        let (table, _) = s.build()
        let job = try #require(table.of(900).first)
        #expect(table.of(900).count == 1)
        #expect(job.parentID == table.of(800).first?.id)
        #expect(job.reaperID == table.of(1).first?.id)
        let implant = try #require(table.of(910).first)
        #expect(table.of(910).count == 1)
        #expect(implant.parentID == table.of(905).first?.id && implant.reaperID == table.of(901).first?.id)
    }

    @Test func subreaperAncestorIsAPlausibleReaper() throws {
        var s = ProcessScript()
        s.event(pid: 40, ppid: 1, name: "/usr/bin/containerd-shim-runc-v2", parent: "/usr/lib/systemd/systemd")
        s.exec(pid: 41, ppid: 40, name: "/usr/bin/runc", parent: "/usr/bin/containerd-shim-runc-v2")
        s.exec(pid: 42, ppid: 41, name: "/usr/bin/dash", parent: "/usr/bin/runc")
        s.exec(pid: 42, ppid: 40, name: "/usr/bin/pg_isready", parent: "/usr/bin/containerd-shim-runc-v2")
        let (table, _) = s.build()
        let probe = try #require(table.of(42).first)
        #expect(table.of(42).count == 1)
        #expect(probe.images == ["/usr/bin/runc", "/usr/bin/dash", "/usr/bin/pg_isready"])
        #expect(probe.reaperID == table.of(40).first?.id)
    }

    @Test func pidReuseIsRecognisedByEachContradiction() throws {
        var s = ProcessScript()
        s.event(pid: 20, ppid: 1, name: "/usr/sbin/cron")
        s.event(pid: 30, ppid: 1, name: "/usr/bin/kubelet")
        // 1: a new parent that cannot be a reaper.
        s.exec(pid: 600, ppid: 20, name: "/usr/bin/dash", parent: "/usr/sbin/cron")
        s.exec(pid: 600, ppid: 30, name: "/usr/sbin/iptables", parent: "/usr/bin/kubelet")
        // 2: another image without an exec (a forked child of the same parent).
        s.event(pid: 600, ppid: 30, name: "/usr/bin/kubelet")
        // 3: another namespace PID.
        s.event(pid: 600, ppid: 30, name: "/usr/bin/kubelet", nsPID: 77)
        // 4: an exec after a long silence.
        s.wait(120_000_000_000)
        s.exec(pid: 600, ppid: 30, name: "/usr/bin/du", parent: "/usr/bin/kubelet")
        // Within a chain the exec continues the instance.
        s.exec(pid: 600, ppid: 30, name: "/usr/bin/nice", parent: "/usr/bin/kubelet")
        let (table, _) = s.build()
        #expect(table.of(600).map(\.origin) == [
            .inferredFirstSeen, .inferredNewParent, .inferredNewImage, .inferredNewNamespacePID, .inferredExecAfterIdle,
        ])
        #expect(table.of(600).last?.images == ["/usr/bin/kubelet", "/usr/bin/du", "/usr/bin/nice"])
    }

    @Test func quietProcessContinuesUnlessAReappearanceGapIsSet() throws {
        var s = ProcessScript()
        s.event(pid: 263, ppid: 1, name: "/usr/sbin/sshd")
        s.wait(7_200_000_000_000)
        s.event(pid: 263, ppid: 1, name: "/usr/sbin/sshd")
        #expect(s.build().table.of(263).count == 1)
        let gap = s.build(.init(reappearanceGapNs: 3_600_000_000_000)).table.of(263)
        #expect(gap.map(\.origin) == [.inferredFirstSeen, .inferredAfterGap])
    }

    @Test func parentNamedWithAnotherImageIsAReusedPID() throws {
        var s = ProcessScript()
        s.event(pid: 700, ppid: 1, name: "/usr/bin/vim")
        s.exec(pid: 710, ppid: 700, name: "/usr/bin/ls", parent: "/usr/bin/bash")
        let (table, _) = s.build()
        let parents = table.of(700)
        #expect(parents.count == 2)
        #expect(parents[1].isPlaceholder && parents[1].images == ["/usr/bin/bash"])
        #expect(table.of(710).first?.parentID == parents[1].id)
    }

    @Test func blockedExecLeavesTheOldImage() throws {
        var s = ProcessScript()
        s.exec(pid: 820, ppid: 810, name: "/usr/bin/apt-get", parent: "/usr/bin/bash", result: "Permission denied")
        s.event(pid: 820, ppid: 810, name: "/usr/bin/bash", parent: "/usr/bin/bash")
        let (table, _) = s.build()
        #expect(table.of(820).count == 1)
        #expect(table.of(820).first?.images == ["/usr/bin/bash"])
    }

    @Test func eventsOutOfOrderAreCounted() {
        var s = ProcessScript()
        s.event(pid: 5, ppid: 1, name: "/a")
        s.event(pid: 5, ppid: 1, name: "/a")
        s.events.swapAt(0, 1)
        var builder = ProcessInstanceBuilder()
        _ = builder.add(s.events)
        #expect(builder.statistics.outOfOrderEvents == 1)
        #expect(builder.statistics.events == 2)
    }
}

@Suite struct BadProcessInputTests {
    @Test func ownParentIsRefused() throws {
        var s = ProcessScript()
        s.event(pid: 66, ppid: 66, name: "/bin/evil")
        var builder = ProcessInstanceBuilder()
        _ = builder.add(s.events)
        #expect(builder.statistics.rejectedParentLinks == 1)
        #expect(builder.table.of(66).first?.parentID == nil)
        #expect(builder.table.count == 1)
    }

    @Test func ancestorCycleIsRefusedAndTreesEnd() throws {
        var s = ProcessScript()
        s.event(pid: 10, ppid: 20, name: "/bin/a", parent: "/bin/b")
        s.event(pid: 20, ppid: 30, name: "/bin/b", parent: "/bin/c")
        s.event(pid: 30, ppid: 10, name: "/bin/c", parent: "/bin/a")
        var builder = ProcessInstanceBuilder()
        _ = builder.add(s.events)
        #expect(builder.statistics.rejectedParentLinks == 1)
        let table = builder.table
        #expect(table.lineage(of: table.of(10)[0].id).map(\.hostPID) == [30, 20, 10])
        let tree = ProcessTree(table: table, selecting: .hostPID(10))
        #expect(tree.nodesInOrder.map(\.node.instance.hostPID) == [30, 20, 10])
    }

    @Test func storedTableWithACycleRendersEveryInstanceOnce() throws {
        func instance(_ id: Int64, parent: Int64) -> ProcessInstance {
            ProcessInstance(id: id, hostName: "h", hostPID: Int32(id + 100), pid: Int32(id + 100), startNs: id,
                            lastActivityNs: id, images: ["/bin/x\(id)"], uid: 0, parentID: parent, origin: .inferredFirstSeen)
        }
        let table = ProcessInstanceTable([instance(0, parent: 2), instance(1, parent: 0), instance(2, parent: 1)])
        #expect(table.lineage(of: 0).count == 3)
        let tree = ProcessTree(table: table, selecting: .all)
        #expect(tree.nodesInOrder.map(\.node.instance.id).sorted() == [0, 1, 2])
        let renderer = ProcessTreeRenderer(tree)
        #expect(renderer.text().split(separator: "\n").count == 3)
        #expect(renderer.json().components(separatedBy: "\"HostName\"").count == 4)
        #expect(ProcessTree(table: table, selecting: .hostPID(101)).nodesInOrder.count == 3)
    }
}

@Suite struct ProcessTableStorageTests {
    func scenario() -> ProcessScript {
        var s = ProcessScript()
        s.snapshot(pid: 100, ppid: 1, name: "/usr/bin/bash")
        s.fork(pid: 200, ppid: 100, name: "/usr/bin/bash", parent: "/usr/bin/bash")
        s.exec(pid: 200, ppid: 100, name: "/usr/bin/\"odd\"\n<name>", parent: "/usr/bin/bash", arguments: "é\u{1B}[2J")
        s.exit(pid: 100, ppid: 1, name: "/usr/bin/bash", status: "signal=SIGKILL")
        s.event(pid: 200, ppid: 1, name: "/usr/bin/\"odd\"\n<name>", operation: "Capabilities", host: nil)
        s.event(pid: 9, ppid: 8, name: "/bin/other", host: "node-2")
        return s
    }

    @Test func rowsRoundTrip() throws {
        let (table, _) = scenario().build()
        let rows = table.rows
        #expect(rows.count == table.count)
        let back = try ProcessInstanceTable(rows: rows)
        #expect(back.instances == table.instances)
        #expect(rows.first { $0.hostPID == 200 }?.images == #"["/usr/bin/bash","/usr/bin/\"odd\"\n\u003cname\u003e"]"#)
    }

    @Test func malformedRowsAreTypedErrors() {
        var row = ProcessInstanceRow(ProcessInstance(id: 4, hostName: "h", hostPID: 1, pid: 1, startNs: 0, lastActivityNs: 0,
                                                     images: [], uid: 0, origin: .recorded))
        row.images = "[\"a\""
        #expect(throws: ProcessTableError(reason: .malformedField(id: 4, field: "images", value: "[\"a\""))) { try row.instance() }
        row.images = "[]"
        row.origin = "guessed"
        #expect(throws: ProcessTableError.self) { try row.instance() }
        row.origin = "recorded"
        row.hostPID = 1 << 40
        #expect(throws: ProcessTableError(reason: .malformedField(id: 4, field: "hostPID", value: String(1 << 40)))) {
            try row.instance()
        }
    }

    @Test func resumingFromStoredRowsGivesTheSameTable() throws {
        let s = scenario()
        let whole = s.build().table
        for cut in 1..<s.events.count {
            var first = ProcessInstanceBuilder()
            _ = first.add(Array(s.events[..<cut]))
            let stored = try ProcessInstanceTable(rows: first.table.rows)
            var second = try ProcessInstanceBuilder(resuming: stored)
            _ = second.add(Array(s.events[cut...]))
            #expect(second.table.instances == whole.instances, "cut at \(cut)")
        }
    }

    @Test func resumingRejectsTablesItDidNotNumber() {
        let gap = ProcessInstance(id: 3, hostName: "h", hostPID: 1, pid: 1, startNs: 0, lastActivityNs: 0, images: [],
                                  uid: 0, origin: .recorded)
        #expect(throws: ProcessTableError(reason: .idsNotDense(expected: 0, found: 3))) {
            try ProcessInstanceBuilder(resuming: ProcessInstanceTable([gap]))
        }
    }

    @Test func changedInstancesAreHandedOutOnce() throws {
        let s = scenario()
        var builder = ProcessInstanceBuilder()
        _ = builder.add(Array(s.events.prefix(2)))
        #expect(builder.takeChangedInstances().map(\.hostPID) == [100, 1, 200])
        #expect(builder.takeChangedInstances().isEmpty)
        builder.add(s.events[2])
        let changed = builder.takeChangedInstances()
        #expect(changed.map(\.hostPID) == [100, 200], "the exec changes the child and shows the parent alive")
        #expect(changed.last?.images.count == 2)
    }
}
