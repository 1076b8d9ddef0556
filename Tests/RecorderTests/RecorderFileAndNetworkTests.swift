import EventModel
import Foundation
import Synchronization
import Testing
@testable import Recorder

/// Real-kernel tests of file and network events, and of the recorder's options.
@Suite(.serialized, .enabled(if: KernelTests.available, "needs root, BPF and kernel BTF"))
struct RecorderFileAndNetworkTests {
    @Test(arguments: [SyscallAttachment.syscallTracepoints, .rawTracepoints])
    func opensAsUnprivilegedUser(attachment: SyscallAttachment) throws {
        try KernelTests.mountTracefs()
        let directory = try TemporaryDirectory()
        let readable = try directory.write("readable.txt", "hello\n")
        let secret = try directory.write("secret.txt", "root only\n", mode: 0o600)
        let writable = directory.path + "/drop"
        try FileManager.default.createDirectory(atPath: writable, withIntermediateDirectories: false)
        chmod(writable, 0o777)

        let recording = try Recording.start { $0.syscallAttachment = attachment }
        #expect(recording.recorder.statistics.syscallAttachment == attachment)
        let script = "cat \(readable); cat missing.txt; cat \(secret); : > \(writable)/new.txt; true"
        let (shell, _, _) = try Workload.bash(
            "exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/sh -c '\(script)'",
            in: directory.path)
        recording.collector.waitUntil { $0.first(pid: shell, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop()

        let opens = events.descendants(of: shell).filter { $0.operation == "File" } + events.of(pid: shell).filter { $0.operation == "File" }
        let ok = try #require(opens.first { $0.resource == readable })
        #expect(ok.result == "Passed")
        #expect(ok.data == "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY")
        #expect(ok.uid == 65534)
        #expect(ok.extra("GID") == "65534")
        let missing = try #require(opens.first { $0.resource == directory.path + "/missing.txt" })
        #expect(missing.result == "No such file or directory")
        #expect(missing.data == "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY")
        let denied = try #require(opens.first { $0.resource == secret })
        #expect(denied.result == "Permission denied")
        #expect(denied.uid == 65534)
        let created = try #require(opens.first { $0.resource == writable + "/new.txt" })
        #expect(created.data == "syscall=SYS_OPENAT fd=-100 flags=O_WRONLY|O_CREAT|O_TRUNC")
        #expect(created.result == "Passed")
        #expect(created.processName == "/usr/bin/dash")
    }

    @Test func unlinkRenameChmod() throws {
        let directory = try TemporaryDirectory()
        let original = try directory.write("a.txt", "x")
        let recording = try Recording.start()
        let (bash, _, _) = try Workload.bash(
            "/usr/bin/chmod 600 a.txt; /usr/bin/mv a.txt b.txt; /usr/bin/rm b.txt; /usr/bin/unlink gone.txt; true",
            in: directory.path)
        recording.collector.waitUntil { $0.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop().descendants(of: bash).filter { $0.operation == "File" }

        let chmod = try #require(events.first { $0.data.hasPrefix("syscall=SYS_FCHMODAT") })
        #expect(chmod.resource == original)
        #expect(chmod.data.hasSuffix("mode=0600"))
        let rename = try #require(events.first { $0.data.hasPrefix("syscall=SYS_RENAME") })
        #expect(rename.resource == original)
        #expect(rename.data.contains("newpath=\(directory.path)/b.txt"))
        #expect(rename.result == "Passed")
        let unlink = try #require(events.first { $0.data.hasPrefix("syscall=SYS_UNLINKAT") && $0.resource == directory.path + "/b.txt" })
        #expect(unlink.data == "syscall=SYS_UNLINKAT flags=")
        #expect(unlink.result == "Passed")
        let gone = try #require(events.first { $0.resource == directory.path + "/gone.txt" })
        #expect(gone.data == "syscall=SYS_UNLINK")
        #expect(gone.result == "No such file or directory")
    }

    @Test func ignoredPathsAreDroppedInTheKernel() throws {
        let directory = try TemporaryDirectory()
        let ignored = directory.path + "/ignored"
        try FileManager.default.createDirectory(atPath: ignored, withIntermediateDirectories: false)
        let hidden = try directory.write("ignored/hidden.txt", "x")
        let visible = try directory.write("visible.txt", "x")
        let recording = try Recording.start { $0.ignoredPathPrefixes = [ignored + "/"] }
        let (bash, _, _) = try Workload.bash("/usr/bin/cat \(hidden) \(visible) >/dev/null; true")
        recording.collector.waitUntil { events in
            events.descendants(of: bash).contains { $0.resource == visible }
                && events.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT") != nil
        }
        let events = try recording.stop().descendants(of: bash)

        #expect(events.contains { $0.operation == "File" && $0.resource == visible })
        #expect(!events.contains { $0.resource.hasPrefix(ignored) })
        // Process lifecycle of the same program is kept.
        #expect(events.contains { $0.processName == "/usr/bin/cat" && $0.data == "syscall=SYS_EXECVE" })
    }

    @Test func tcpConnectsOverIPv4AndIPv6() throws {
        let listener4 = try LoopbackListener(family: AF_INET)
        let listener6 = try LoopbackListener(family: AF_INET6)
        let refusedPort = try LoopbackListener.unusedPort()
        let recording = try Recording.start()
        let (bash, _, _) = try Workload.bash("""
            exec 3<>/dev/tcp/127.0.0.1/\(listener4.port); exec 3>&-
            exec 4<>/dev/tcp/::1/\(listener6.port); exec 4>&-
            (exec 5<>/dev/tcp/127.0.0.1/\(refusedPort)) 2>/dev/null
            true
            """)
        recording.collector.waitUntil { $0.first(pid: bash, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop()
        let ours = (events.of(pid: bash) + events.descendants(of: bash)).filter { $0.operation == "Network" }

        let connect4 = try #require(ours.first { $0.resource == "sa_family=AF_INET sin_port=\(listener4.port) sin_addr=127.0.0.1" })
        #expect(connect4.data.hasPrefix("syscall=SYS_CONNECT fd="))
        #expect(connect4.result == "Passed")
        #expect(connect4.source.hasPrefix("/usr/bin/bash -c echo"))
        let connect6 = try #require(ours.first { $0.resource == "sa_family=AF_INET6 sin_port=\(listener6.port) sin_addr=::1" })
        #expect(connect6.data.hasPrefix("syscall=SYS_CONNECT fd="))
        #expect(connect6.result == "Passed")
        let refused = try #require(ours.first { $0.resource == "sa_family=AF_INET sin_port=\(refusedPort) sin_addr=127.0.0.1" })
        #expect(refused.result == "Connection refused")
        let socket = try #require(ours.first { $0.data == "syscall=SYS_SOCKET" && $0.resource.hasPrefix("domain=AF_INET6 ") })
        #expect(socket.resource == "domain=AF_INET6 type=SOCK_STREAM protocol=6")
        #expect(socket.result == "Passed")
    }

    @Test func nonBlockingConnectOutcomes() throws {
        let listener = try LoopbackListener(family: AF_INET)
        let refusedPort = try LoopbackListener.unusedPort()
        let recording = try Recording.start()
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        client.arguments = ["-c", """
            import select, socket, sys
            for port in sys.argv[1:]:
                s = socket.socket(); s.setblocking(False); s.connect_ex(("127.0.0.1", int(port)))
                select.select([], [s], [], 5); s.close()
            """, String(listener.port), String(refusedPort)]
        try client.run()
        client.waitUntilExit()
        let pid = client.processIdentifier
        recording.collector.waitUntil { $0.first(pid: pid, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop().of(pid: pid).filter { $0.data.hasPrefix("kprobe=tcp_connect") }

        let established = try #require(events.first { $0.resource == "remoteip=127.0.0.1 port=\(listener.port) protocol=TCP" })
        #expect(established.data == "kprobe=tcp_connect domain=AF_INET")
        #expect(established.result == "Passed")
        #expect(established.source.hasPrefix("/usr/bin/python3 -c"))
        let refused = try #require(events.first { $0.resource == "remoteip=127.0.0.1 port=\(refusedPort) protocol=TCP" })
        #expect(refused.result == "Connection refused")
    }

    @Test func serverSideAndUnixSockets() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/server.sock"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", """
            import socket, sys
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.bind(("127.0.0.1", 0)); tcp.listen(5)
            print(tcp.getsockname()[1], flush=True)
            conn, peer = tcp.accept(); print(peer[1], flush=True); conn.close()
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try: unix.connect(sys.argv[1])
            except OSError: pass
            """, socketPath]
        let output = Pipe()
        server.standardOutput = output
        let recording = try Recording.start()
        try server.run()
        let reader = output.fileHandleForReading
        let port = try #require(readLine(reader).flatMap { UInt16($0) })
        let client = try LoopbackListener.connect(port: port)
        let clientPort = try #require(readLine(reader).flatMap { UInt16($0) })
        close(client)
        server.waitUntilExit()
        let pid = server.processIdentifier
        recording.collector.waitUntil { $0.first(pid: pid, operation: "Process", data: "syscall=SYS_EXIT") != nil }
        let events = try recording.stop().of(pid: pid).filter { $0.operation == "Network" }

        let bind = try #require(events.first { $0.data.hasPrefix("syscall=SYS_BIND") })
        #expect(bind.resource == "sa_family=AF_INET sin_port=0 sin_addr=127.0.0.1")
        #expect(bind.result == "Passed")
        let listen = try #require(events.first { $0.data.hasPrefix("syscall=SYS_LISTEN") })
        #expect(listen.data == bind.data.replacingOccurrences(of: "SYS_BIND", with: "SYS_LISTEN"))
        let accept = try #require(events.first { $0.data.hasPrefix("syscall=SYS_ACCEPT") })
        #expect(accept.resource == "sa_family=AF_INET sin_port=\(clientPort) sin_addr=127.0.0.1")
        #expect(accept.result == "Passed")
        let unix = try #require(events.first { $0.resource.hasPrefix("sa_family=AF_UNIX") })
        #expect(unix.resource == "sa_family=AF_UNIX sun_path=\(socketPath)")
        #expect(unix.result == "No such file or directory")
    }

    @Test func selectedKindsOnly() throws {
        let listener = try LoopbackListener(family: AF_INET)
        let recording = try Recording.start { $0.eventKinds = [.network]; $0.includesStartupSnapshot = false }
        let (bash, _, _) = try Workload.bash("cat /etc/hostname >/dev/null; exec 3<>/dev/tcp/127.0.0.1/\(listener.port); true")
        recording.collector.waitUntil { $0.contains { $0.hostPID == bash && $0.data.hasPrefix("syscall=SYS_CONNECT") } }
        usleep(300_000)
        let statistics = recording.recorder.statistics
        let events = try recording.stop()

        #expect(events.allSatisfy { $0.operation == "Network" })
        #expect(events.contains { $0.hostPID == bash && $0.data.hasPrefix("syscall=SYS_CONNECT") })
        #expect(statistics.events[.process, default: 0] > 0) // captured for names, not delivered
        #expect(statistics.events[.file, default: 0] == 0)
    }

    @Test func dropsAreCountedWhenTheReaderFallsBehind() throws {
        let gate = EventGate()
        let collector = EventCollector()
        var configuration = RecorderConfiguration()
        configuration.ringBufferBytes = 1 << 16
        configuration.maxQueuedEvents = 1
        // The first batch is the snapshot: the sink holds it while bash runs, and with no room to queue
        // more, the drain thread stops draining too.
        let recorder = try Recorder.start(configuration) { batch in
            gate.wait()
            collector.append(batch)
        }
        gate.waitUntilSomeoneWaits()
        let (bash, _, _) = try Workload.bash("for i in $(seq 3000); do : < /etc/hostname; done")
        gate.open()
        try recorder.stop()
        #expect(recorder.statistics.drops[.file, default: 0] > 0)
        let recorded = collector.all.filter { $0.hostPID == bash && $0.resource == "/etc/hostname" }.count
        #expect(recorded > 0)
        #expect(recorded < 3000)
    }

    private func readLine(_ handle: FileHandle) -> String? {
        var line = Data()
        while let byte = try? handle.read(upToCount: 1), let first = byte.first {
            if first == 10 { return String(decoding: line, as: UTF8.self) }
            line.append(first)
        }
        return nil
    }
}

/// A gate the sink waits at until the test opens it.
final class EventGate: Sendable {
    private let condition = NSCondition()
    private let state = Mutex((opened: false, waiting: false))

    func wait() {
        condition.lock()
        state.withLock { $0.waiting = true }
        condition.broadcast()
        while !state.withLock({ $0.opened }) { condition.wait() }
        condition.unlock()
    }

    func waitUntilSomeoneWaits() {
        condition.lock()
        while !state.withLock({ $0.waiting }) { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        state.withLock { $0.opened = true }
        condition.broadcast()
        condition.unlock()
    }
}

/// A TCP listener on the loopback address, in the test process (whose own activity is not recorded).
final class LoopbackListener {
    let fd: Int32
    let port: UInt16

    init(family: Int32) throws {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessFailure("socket failed") }
        var length = socklen_t(family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            if family == AF_INET6 {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_addr = in6addr_loopback
                withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
            } else {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
            }
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw HarnessFailure("bind/listen failed")
        }
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
    }

    deinit {
        close(fd)
    }

    /// A loopback port nothing listens on (bound and closed).
    static func unusedPort() throws -> UInt16 {
        let listener = try LoopbackListener(family: AF_INET)
        return listener.port
    }

    /// Connects to 127.0.0.1:port; returns the socket.
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw HarnessFailure("connect to \(port) failed") }
        return fd
    }
}
