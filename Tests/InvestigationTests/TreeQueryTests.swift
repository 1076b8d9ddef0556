import EventModel
import Foundation
import Testing
@testable import Investigation

/// A recorded host with an ssh session (a shell that ran curl and left a job behind) and an imported
/// host with a container whose PID 400 was used twice.
struct TreeScenario {
    static let container = "6e3d6e3dfa2c1b7a9c0d6e3d6e3dfa2c1b7a9c0d6e3d6e3dfa2c1b7a9c0d1234"
    var script = ProcessScript()
    var reuseNs: (first: Int64, second: Int64) = (0, 0)

    init() {
        var s = ProcessScript()
        s.snapshot(pid: 1, ppid: 0, name: "/usr/lib/systemd/systemd")
        s.snapshot(pid: 10, ppid: 1, name: "/usr/sbin/sshd")
        s.fork(pid: 300, ppid: 10, name: "/usr/sbin/sshd", parent: "/usr/sbin/sshd")
        s.exec(pid: 300, ppid: 10, name: "/usr/bin/bash", parent: "/usr/sbin/sshd")
        s.fork(pid: 301, ppid: 300, name: "/usr/bin/bash", parent: "/usr/bin/bash")
        s.exec(pid: 301, ppid: 300, name: "/usr/bin/curl", parent: "/usr/bin/bash", arguments: "-sO http://example.com/")
        s.event(pid: 301, ppid: 300, name: "/usr/bin/curl", parent: "/usr/bin/bash", operation: "Network",
                data: "kprobe=tcp_connect domain=AF_INET", resource: "remoteip=93.184.216.34 port=80 protocol=TCP")
        s.event(pid: 301, ppid: 300, name: "/usr/bin/curl", parent: "/usr/bin/bash", resource: "/home/u/index.html")
        s.exit(pid: 301, ppid: 300, name: "/usr/bin/curl")
        s.fork(pid: 302, ppid: 300, name: "/usr/bin/bash", parent: "/usr/bin/bash")
        s.exec(pid: 302, ppid: 300, name: "/usr/bin/sleep", parent: "/usr/bin/bash", arguments: "600")
        s.exit(pid: 300, ppid: 10, name: "/usr/bin/bash", status: "code=130")
        // Imported logs of another node: a container init and two processes that had host PID 400.
        let c = Self.container
        func containerEvent(_ s: inout ProcessScript, pid: Int32, ppid: Int32, ns: Int32, nsParent: Int32, name: String, parent: String,
                            exec: Bool = false) {
            s.event(pid: pid, ppid: ppid, name: name, parent: parent, operation: exec ? "Process" : "File",
                    data: exec ? "syscall=SYS_EXECVE" : "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY",
                    resource: exec ? name : "/etc/passwd", nsPID: ns, nsPPID: nsParent, container: c, uid: 33, host: "node-2")
        }
        containerEvent(&s, pid: 350, ppid: 340, ns: 1, nsParent: 340, name: "/usr/sbin/apache2", parent: "/usr/bin/containerd-shim-runc-v2")
        containerEvent(&s, pid: 400, ppid: 350, ns: 7, nsParent: 1, name: "/usr/bin/dash", parent: "/usr/sbin/apache2", exec: true)
        reuseNs.first = s.timeNs
        s.wait(600_000_000_000)
        containerEvent(&s, pid: 400, ppid: 350, ns: 9, nsParent: 1, name: "/usr/bin/id", parent: "/usr/sbin/apache2", exec: true)
        reuseNs.second = s.timeNs
        script = s
    }

    var table: ProcessInstanceTable { script.build().table }
}

@Suite struct TreeQueryTests {
    let scenario = TreeScenario()

    func hostPIDs(_ tree: ProcessTree) -> [Int32] { tree.nodesInOrder.map(\.node.instance.hostPID) }

    @Test func pidSelectsAncestorsAndDescendantsByDefault() {
        let tree = ProcessTree(table: scenario.table, selecting: .hostPID(300))
        #expect(hostPIDs(tree) == [1, 10, 300, 301, 302])
        #expect(tree.roots.count == 1)
        #expect(tree.selectedIDs == Set(scenario.table.of(300).map(\.id)))
    }

    @Test func ancestorsOrDescendantsOnlyAndDepth() {
        let table = scenario.table
        #expect(hostPIDs(ProcessTree(table: table, selecting: .hostPID(300), descendants: false)) == [1, 10, 300])
        #expect(hostPIDs(ProcessTree(table: table, selecting: .hostPID(300), ancestors: false)) == [300, 301, 302])
        #expect(hostPIDs(ProcessTree(table: table, selecting: .hostPID(10), depth: 1)) == [1, 10, 300])
        #expect(hostPIDs(ProcessTree(table: table, selecting: .hostPID(1), ancestors: false, depth: 0)) == [1])
    }

    @Test func reparentedProcessStaysUnderTheParentThatStartedIt() throws {
        let tree = ProcessTree(table: scenario.table, selecting: .hostPID(302))
        let job = try #require(tree.nodesInOrder.last?.node.instance)
        #expect(job.hostPID == 302)
        #expect(tree.instancesByID[job.parentID!]?.hostPID == 300)
        #expect(tree.instancesByID[job.reaperID!]?.hostPID == 1)
    }

    @Test func atPicksTheInstanceAliveThenWhenThePIDWasReused() throws {
        let table = scenario.table
        let both = ProcessTree(table: table, selecting: .hostPID(400, hostName: "node-2"))
        #expect(both.selectedIDs.count == 2)
        let first = ProcessTree(table: table, selecting: .hostPID(400, at: scenario.reuseNs.first))
        let second = ProcessTree(table: table, selecting: .hostPID(400, at: scenario.reuseNs.second + 1))
        let early = ProcessTree(table: table, selecting: .hostPID(400, at: scenario.reuseNs.first - 10_000_000_000))
        let instances = table.of(400)
        #expect(first.selectedIDs == [instances[0].id])
        #expect(second.selectedIDs == [instances[1].id])
        #expect(early.selectedIDs == [instances[0].id], "before the first event: the first instance")
        #expect(instances[1].origin == .inferredExecAfterIdle)
        #expect(hostPIDs(second) == [340, 350, 400])
    }

    @Test func containerPodHostAndInstanceSelectors() {
        let table = scenario.table
        let containerIDs = ProcessSelector.containerID(TreeScenario.container).select(in: table)
        #expect(containerIDs.count == 3)
        #expect(ProcessSelector.containerID(String(TreeScenario.container.prefix(12))).select(in: table) == containerIDs)
        #expect(ProcessSelector.containerID("6e3d").select(in: table).isEmpty, "short prefixes are too ambiguous")
        #expect(ProcessSelector.podName("pod-6e3d").select(in: table) == containerIDs)
        #expect(ProcessSelector.hostName("node-2").select(in: table).count == 4, "with the shim placeholder")
        #expect(ProcessSelector.instances([0, 9999]).select(in: table) == [0])
        let tree = ProcessTree(table: table, selecting: .containerID(TreeScenario.container))
        #expect(hostPIDs(tree) == [340, 350, 400, 400])
        #expect(ProcessTree(table: table, selecting: .all).nodesInOrder.count == table.count)
    }
}
