import CBPF
import EventModel
import Testing
@testable import Recorder

/// The decoder on records built by hand: KubeArmor's forms, the process table, malformed input.
/// (Process IDs above the kernel's pid_max, so that no /proc lookup finds them.)
@Suite struct RecordDecoderTests {
    static let pid: UInt32 = 2_000_000_001
    static let parent: UInt32 = 2_000_000_000
    static let containerID = String(repeating: "ab12", count: 16)

    /// A record: the fixed part, then its strings back to back; sets header.size.
    static func record<Fixed>(_ fixed: Fixed, strings: [[UInt8]] = []) -> [UInt8] {
        var bytes = withUnsafeBytes(of: fixed) { Array($0) }
        for string in strings {
            bytes += string
        }
        let size = UInt32(bytes.count)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: size, toByteOffset: 20, as: UInt32.self) }
        return bytes
    }

    static func header(_ type: rv_record_type, pid: UInt32 = pid, bootNs: UInt64 = 5_000_000_123) -> rv_header {
        var header = rv_header()
        header.type = type.rawValue
        header.boot_ns = bootNs
        header.tgid = pid
        header.tid = pid
        header.ppid = parent
        header.ns_pid = 7
        header.ns_ppid = 1
        header.uid = 1000
        header.gid = 100
        header.mnt_ns = 4026531841
        header.pid_ns = 4026531836
        header.cgroup_id = 1234
        withUnsafeMutableBytes(of: &header.comm) { $0.copyBytes(from: Array("prog".utf8)) }
        return header
    }

    static func decoder() -> RecordDecoder {
        RecordDecoder(clusterName: "lab", hostName: "host1", deliveredKinds: Set(EventKind.allCases),
                      bootToWallOffsetNs: 1_700_000_000_000_000_000)
    }

    static func decode(_ decoder: RecordDecoder, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { decoder.decode($0) }
    }

    static func execRecord() -> [UInt8] {
        var exec = rv_exec_record()
        exec.header = header(RV_RECORD_EXEC)
        let strings: [[UInt8]] = [
            Array("./prog".utf8), Array("/opt/app/bin/prog".utf8), Array("./prog\0-x\0y z\0".utf8),
            Array("/home/u".utf8), Array("pts3".utf8), Array("/system.slice/docker-\(containerID).scope".utf8),
        ]
        exec.filename_len = UInt16(strings[0].count)
        exec.exe_len = UInt16(strings[1].count)
        exec.argv_len = UInt16(strings[2].count)
        exec.cwd_len = UInt16(strings[3].count)
        exec.tty_len = UInt16(strings[4].count)
        exec.cgroup_len = UInt16(strings[5].count)
        return record(exec, strings: strings)
    }

    @Test func execEvent() throws {
        let decoder = Self.decoder()
        Self.decode(decoder, Self.execRecord())
        let event = try #require(decoder.takeBatch().first)
        #expect(event.operation == "Process")
        #expect(event.data == "syscall=SYS_EXECVE")
        #expect(event.processName == "/opt/app/bin/prog")
        #expect(event.resource == "/home/u/prog -x y z")
        #expect(event.cwd == "/home/u/")
        #expect(event.tty == "pts3")
        #expect(event.containerID == Self.containerID)
        #expect(event.type == "ContainerLog")
        #expect(event.hostPID == Int32(Self.pid) && event.hostPPID == Int32(Self.parent))
        #expect(event.pid == 7 && event.ppid == 1 && event.uid == 1000)
        #expect(event.timeNs == 1_700_000_005_000_000_123)
        #expect(event.timestamp == 1_700_000_005)
        #expect(event.clusterName == "lab" && event.hostName == "host1")
        #expect(event.result == "Passed")
        #expect(event.extra("GID") == "100")
        #expect(event.extra("Comm") == "\"prog\"")
        #expect(event.extra("MntNS") == "4026531841")
        #expect(event.extra("CgroupID") == "1234")
    }

    @Test func fileEventsNameTheirProcess() throws {
        let decoder = Self.decoder()
        Self.decode(decoder, Self.execRecord())
        var file = rv_file_record()
        file.header = Self.header(RV_RECORD_FILE)
        file.ret = -13
        file.dirfd = -100
        file.flags = 0o1 | 0o100 | 0o1000
        file.syscall = UInt16(RV_SYS_OPENAT.rawValue)
        let path = Array("/home/u/./a/../b.txt".utf8)
        file.path_len = UInt16(path.count)
        Self.decode(decoder, Self.record(file, strings: [path]))
        let event = try #require(decoder.takeBatch().last)
        #expect(event.operation == "File")
        #expect(event.resource == "/home/u/b.txt")
        #expect(event.data == "syscall=SYS_OPENAT fd=-100 flags=O_WRONLY|O_CREAT|O_TRUNC")
        #expect(event.result == "Permission denied")
        #expect(event.processName == "/opt/app/bin/prog")
        #expect(event.source == "./prog -x y z")
        #expect(event.containerID == Self.containerID)
        #expect(event.cwd == "")
    }

    @Test func exitRemovesTheProcess() throws {
        let decoder = Self.decoder()
        Self.decode(decoder, Self.execRecord())
        var exit = rv_exit_record()
        exit.header = Self.header(RV_RECORD_EXIT)
        exit.status = 2 << 8
        Self.decode(decoder, Self.record(exit))
        var listen = rv_listen_record()
        listen.header = Self.header(RV_RECORD_LISTEN)
        listen.fd = 5
        listen.syscall = UInt16(RV_SYS_LISTEN.rawValue)
        Self.decode(decoder, Self.record(listen))
        let events = decoder.takeBatch()
        #expect(events.count == 3)
        #expect(events[1].data == "syscall=SYS_EXIT code=2")
        #expect(events[1].resource == "./prog -x y z")
        // Gone from the table: a later event names it by its comm only.
        #expect(events[2].processName == "prog")
        #expect(events[2].data == "syscall=SYS_LISTEN fd=5")
        #expect(events[2].type == "HostLog")
    }

    @Test func forkInheritsTheParentsImage() throws {
        let decoder = Self.decoder()
        Self.decode(decoder, Self.execRecord())
        var fork = rv_fork_record()
        fork.header = Self.header(RV_RECORD_FORK, pid: Self.pid + 1)
        fork.header.ppid = Self.pid
        fork.parent_tgid = Self.pid
        Self.decode(decoder, Self.record(fork))
        let event = try #require(decoder.takeBatch().last)
        #expect(event.data == "syscall=SYS_CLONE")
        #expect(event.hostPID == Int32(Self.pid + 1))
        #expect(event.processName == "/opt/app/bin/prog")
        #expect(event.parentProcessName == "/opt/app/bin/prog")
        #expect(event.source == "/opt/app/bin/prog")
        #expect(event.resource == "./prog -x y z")
        #expect(event.containerID == Self.containerID)
    }

    @Test func socketAddresses() throws {
        let decoder = Self.decoder()
        var address = rv_address_record()
        address.header = Self.header(RV_RECORD_ADDRESS)
        address.ret = -111
        address.fd = 3
        address.syscall = UInt16(RV_SYS_CONNECT.rawValue)
        address.family = 2
        address.port = 443
        withUnsafeMutableBytes(of: &address.addr) { $0.copyBytes(from: [10, 0, 0, 5]) }
        Self.decode(decoder, Self.record(address))
        address.ret = 0
        address.family = 1
        address.port = 0
        let path = Array("/run/app.sock".utf8) + [0]
        address.path_len = UInt16(path.count)
        Self.decode(decoder, Self.record(address, strings: [path]))
        var socket = rv_socket_record()
        socket.header = Self.header(RV_RECORD_SOCKET)
        socket.ret = 4
        socket.domain = 10
        socket.type = 1 | 0o2000000
        socket.protocol = 6
        socket.syscall = UInt16(RV_SYS_SOCKET.rawValue)
        Self.decode(decoder, Self.record(socket))
        let events = decoder.takeBatch()
        #expect(events.map(\.resource) == [
            "sa_family=AF_INET sin_port=443 sin_addr=10.0.0.5",
            "sa_family=AF_UNIX sun_path=/run/app.sock",
            "domain=AF_INET6 type=SOCK_STREAM|SOCK_CLOEXEC protocol=6",
        ])
        #expect(events.map(\.data) == ["syscall=SYS_CONNECT fd=3", "syscall=SYS_CONNECT fd=3", "syscall=SYS_SOCKET"])
        #expect(events.map(\.result) == ["Connection refused", "Passed", "Passed"])
        #expect(events.allSatisfy { $0.operation == "Network" })
    }

    @Test func tcpConnectOutcomes() throws {
        let decoder = Self.decoder()
        var connect = rv_address_record()
        connect.header = Self.header(RV_RECORD_TCP_CONNECT)
        connect.ret = -110
        connect.fd = -1
        connect.family = 10
        connect.port = 8443
        withUnsafeMutableBytes(of: &connect.addr) { $0.copyBytes(from: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [7]) }
        Self.decode(decoder, Self.record(connect))
        let event = try #require(decoder.takeBatch().first)
        #expect(event.resource == "remoteip=2001:db8::7 port=8443 protocol=TCP")
        #expect(event.data == "kprobe=tcp_connect domain=AF_INET6")
        #expect(event.result == "Connection timed out")
        #expect(event.operation == "Network")
    }

    @Test func undeliveredKindsAreCountedNotDelivered() {
        let decoder = RecordDecoder(clusterName: "", hostName: "", deliveredKinds: [.file], bootToWallOffsetNs: 0)
        Self.decode(decoder, Self.execRecord())
        #expect(decoder.takeBatch().isEmpty)
        #expect(decoder.decoded == [1, 0, 0])
    }

    @Test func malformedRecordsAreCountedAndSkipped() {
        let decoder = Self.decoder()
        var exec = Self.execRecord()
        exec.withUnsafeMutableBytes { $0.storeBytes(of: UInt16(60_000), toByteOffset: 84, as: UInt16.self) } // argv_len
        Self.decode(decoder, exec)
        Self.decode(decoder, Array(exec.prefix(40)))
        var unknown = Self.record(Self.header(RV_RECORD_EXEC))
        unknown.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(99), toByteOffset: 16, as: UInt32.self) }
        Self.decode(decoder, unknown)
        #expect(decoder.takeBatch().isEmpty)
        #expect(decoder.malformed == 3)
    }
}
