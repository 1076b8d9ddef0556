import CBPF
import EventModel

/// Turns the kernel's ring-buffer records into ``Event``s in KubeArmor's forms, keeping the table of
/// live processes current so that every event names its process, command and parent.
///
/// Used by one thread at a time (the drain thread); `batch` collects the events of one drain.
final class RecordDecoder {
    private(set) var batch: [Event] = []
    /// Events decoded per kind (process, file, network), delivered or not.
    private(set) var decoded: [UInt64] = [0, 0, 0]
    /// Records shorter than their own lengths claim, or of an unknown type (a rearview bug if ever non-zero).
    private(set) var malformed: UInt64 = 0
    private var processes = ProcessTable()
    private let clusterName: String
    private let hostName: String
    private let deliveredKinds: UInt32
    /// CLOCK_REALTIME minus CLOCK_BOOTTIME, refreshed on every drain.
    var bootToWallOffsetNs: Int64

    init(clusterName: String, hostName: String, deliveredKinds: Set<EventKind>, bootToWallOffsetNs: Int64) {
        self.clusterName = clusterName
        self.hostName = hostName
        self.deliveredKinds = deliveredKinds.reduce(0) { $0 | 1 << $1.bpfKind }
        self.bootToWallOffsetNs = bootToWallOffsetNs
    }

    var trackedProcessCount: Int { processes.count }

    func takeBatch() -> [Event] {
        defer { batch = [] }
        return batch
    }

    // MARK: snapshot

    /// Enters the processes alive at start in the table and, if `deliver`, as events:
    /// `Data` `syscall=SYS_EXECVE snapshot=procfs`, at each process's start time.
    func addSnapshot(_ snapshot: [SnapshotProcess], deliver: Bool) {
        for process in snapshot {
            processes.set(process.pid, process.process)
        }
        guard deliver else { return }
        for process in snapshot {
            var event = Event()
            setTime(&event, bootNs: process.startBootNs)
            setPlace(&event, process: process.process)
            event.hostPID = process.pid
            event.hostPPID = process.ppid
            event.pid = process.namespacePID
            event.ppid = process.namespacePPID
            event.uid = process.uid
            event.operation = "Process"
            event.processName = process.process.executable
            event.resource = ([process.process.executable] + process.arguments.dropFirst()).joined(separator: " ")
            event.data = "syscall=SYS_EXECVE snapshot=procfs"
            event.cwd = Self.kubeArmorCwd(process.cwd)
            event.result = "Passed"
            let parent = processes[process.ppid]?.executable ?? ""
            event.parentProcessName = parent
            event.source = parent
            event.extras = [
                ExtraField(key: "GID", json: String(process.gid)),
                ExtraField(key: "Comm", json: JSONText.string(process.comm)),
            ]
            batch.append(event)
        }
    }

    // MARK: records

    /// Decodes one ring-buffer record.
    func decode(_ record: UnsafeRawBufferPointer) {
        guard let header = record.load(rv_header.self, at: 0), Int(header.size) <= record.count else {
            malformed += 1
            return
        }
        let decodedOK: Bool
        switch rv_record_type(rawValue: header.type) {
        case RV_RECORD_FORK: decodedOK = decodeFork(record, header)
        case RV_RECORD_EXEC: decodedOK = decodeExec(record, header)
        case RV_RECORD_EXIT: decodedOK = decodeExit(record, header)
        case RV_RECORD_EXEC_FAILED: decodedOK = decodeExecFailed(record, header)
        case RV_RECORD_FILE: decodedOK = decodeFile(record, header)
        case RV_RECORD_SOCKET: decodedOK = decodeSocket(record, header)
        case RV_RECORD_ADDRESS: decodedOK = decodeAddress(record, header)
        case RV_RECORD_LISTEN: decodedOK = decodeListen(record, header)
        default: decodedOK = false
        }
        if !decodedOK {
            malformed += 1
        }
    }

    private func decodeFork(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let fork = record.load(rv_fork_record.self, at: 0) else { return false }
        let inherited = processes.lookup(Int32(bitPattern: fork.parent_tgid))
        let child = Int32(bitPattern: header.tgid)
        if let inherited {
            processes.set(child, inherited)
        }
        var event = makeEvent(header, kind: RV_KIND_PROCESS, operation: "Process", process: inherited)
        event.resource = inherited?.command ?? ""
        event.data = "syscall=SYS_CLONE"
        event.source = event.parentProcessName
        event.result = "Passed"
        deliver(event, kind: RV_KIND_PROCESS)
        return true
    }

    private func decodeExec(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let exec = record.load(rv_exec_record.self, at: 0) else { return false }
        var strings = StringCursor(record, at: MemoryLayout<rv_exec_record>.size)
        guard let filename = strings.next(exec.filename_len), let executable = strings.next(exec.exe_len),
              let argv = strings.nextBytes(exec.argv_len), let cwd = strings.next(exec.cwd_len),
              let tty = strings.next(exec.tty_len), let cgroup = strings.next(exec.cgroup_len) else { return false }
        let arguments = ProcFS.arguments(argv)
        let invoked = filename.hasPrefix("/") || cwd.isEmpty ? filename : PathText.normalized(cwd + "/" + filename)
        let process = TrackedProcess(
            executable: executable,
            command: arguments.isEmpty ? invoked : arguments.joined(separator: " "),
            tty: tty, containerID: ContainerID.fromCgroupPath(cgroup))
        processes.set(Int32(bitPattern: header.tgid), process)

        var event = makeEvent(header, kind: RV_KIND_PROCESS, operation: "Process", process: process)
        event.resource = ([invoked] + arguments.dropFirst()).joined(separator: " ")
        event.data = filename.hasPrefix("/dev/fd/") ? "syscall=SYS_EXECVEAT" : "syscall=SYS_EXECVE"
        event.source = event.parentProcessName
        event.cwd = Self.kubeArmorCwd(cwd)
        event.result = "Passed"
        deliver(event, kind: RV_KIND_PROCESS)
        return true
    }

    private func decodeExit(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let exit = record.load(rv_exit_record.self, at: 0) else { return false }
        let pid = Int32(bitPattern: header.tgid)
        let process = processes[pid]
        var event = makeEvent(header, kind: RV_KIND_PROCESS, operation: "Process", process: process)
        event.resource = process?.command ?? ""
        event.data = KubeArmorText.exitData(waitStatus: exit.status)
        event.source = event.parentProcessName
        event.result = "Passed"
        processes.remove(pid)
        deliver(event, kind: RV_KIND_PROCESS)
        return true
    }

    /// KubeArmor reports an exec that failed (or was blocked) under the program it tried to run,
    /// with the caller as its parent.
    private func decodeExecFailed(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let failed = record.load(rv_exec_failed_record.self, at: 0) else { return false }
        var strings = StringCursor(record, at: MemoryLayout<rv_exec_failed_record>.size)
        guard let filename = strings.next(failed.filename_len), let argv = strings.nextBytes(failed.argv_len)
        else { return false }
        let caller = processes.lookup(Int32(bitPattern: header.tgid))
        let path = PathText.normalized(filename)
        var event = makeEvent(header, kind: RV_KIND_PROCESS, operation: "Process", process: caller)
        event.processName = path
        event.parentProcessName = caller?.executable ?? ""
        event.source = event.parentProcessName
        event.resource = ([path] + ProcFS.arguments(argv).dropFirst()).joined(separator: " ")
        event.data = failed.syscall == UInt16(RV_SYS_EXECVEAT.rawValue) ? "syscall=SYS_EXECVEAT" : "syscall=SYS_EXECVE"
        event.result = Self.result(failed.ret)
        deliver(event, kind: RV_KIND_PROCESS)
        return true
    }

    private func decodeFile(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let file = record.load(rv_file_record.self, at: 0) else { return false }
        var strings = StringCursor(record, at: MemoryLayout<rv_file_record>.size)
        guard let rawPath = strings.next(file.path_len), let rawNewPath = strings.next(file.new_path_len)
        else { return false }
        let path = PathText.normalized(rawPath)
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        var event = makeEvent(header, kind: RV_KIND_FILE, operation: "File", process: process)
        event.resource = path
        event.source = process?.command ?? event.processName
        event.data = Self.fileData(file, newPath: PathText.normalized(rawNewPath))
        event.result = Self.result(file.ret)
        deliver(event, kind: RV_KIND_FILE)
        return true
    }

    private static func fileData(_ file: rv_file_record, newPath: String) -> String {
        let syscall = rv_syscall(rawValue: UInt32(file.syscall))
        let name = syscallName(syscall)
        switch syscall {
        case RV_SYS_OPEN, RV_SYS_CREAT:
            return "syscall=\(name) flags=\(KubeArmorText.openFlags(file.flags))"
        case RV_SYS_OPENAT, RV_SYS_OPENAT2:
            return "syscall=\(name) fd=\(file.dirfd) flags=\(KubeArmorText.openFlags(file.flags))"
        case RV_SYS_UNLINKAT:
            return "syscall=\(name) flags=\(KubeArmorText.unlinkFlags(file.flags))"
        case RV_SYS_RENAME, RV_SYS_RENAMEAT:
            return "syscall=\(name) newpath=\(newPath)"
        case RV_SYS_RENAMEAT2:
            return "syscall=\(name) newpath=\(newPath) flags=\(KubeArmorText.renameFlags(file.flags))"
        case RV_SYS_CHMOD, RV_SYS_FCHMODAT, RV_SYS_FCHMODAT2:
            return "syscall=\(name) mode=\(KubeArmorText.mode(file.mode))"
        default:
            return "syscall=\(name)"
        }
    }

    private func decodeSocket(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let socket = record.load(rv_socket_record.self, at: 0) else { return false }
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        var event = makeEvent(header, kind: RV_KIND_NETWORK, operation: "Network", process: process)
        event.resource = "domain=\(KubeArmorText.addressFamily(socket.domain)) type=\(KubeArmorText.socketType(socket.type)) protocol=\(socket.protocol)"
        event.data = "syscall=SYS_SOCKET"
        event.source = process?.command ?? event.processName
        event.result = Self.result(socket.ret)
        deliver(event, kind: RV_KIND_NETWORK)
        return true
    }

    private func decodeAddress(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let address = record.load(rv_address_record.self, at: 0) else { return false }
        var strings = StringCursor(record, at: MemoryLayout<rv_address_record>.size)
        guard let unixPath = strings.nextBytes(address.path_len) else { return false }
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        var event = makeEvent(header, kind: RV_KIND_NETWORK, operation: "Network", process: process)
        let bytes = withUnsafeBytes(of: address.addr) { Array($0) }
        event.resource = address.family == 0 ? "" : KubeArmorText.socketAddress(
            family: address.family, port: address.port, address: bytes, unixPath: Array(unixPath))
        event.data = "syscall=\(Self.syscallName(rv_syscall(rawValue: UInt32(address.syscall)))) fd=\(address.fd)"
        event.source = process?.command ?? event.processName
        event.result = Self.result(address.ret)
        deliver(event, kind: RV_KIND_NETWORK)
        return true
    }

    private func decodeListen(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let listen = record.load(rv_listen_record.self, at: 0) else { return false }
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        var event = makeEvent(header, kind: RV_KIND_NETWORK, operation: "Network", process: process)
        event.data = "syscall=SYS_LISTEN fd=\(listen.fd)"
        event.source = process?.command ?? event.processName
        event.result = Self.result(listen.ret)
        deliver(event, kind: RV_KIND_NETWORK)
        return true
    }

    // MARK: common fields

    private func deliver(_ event: Event, kind: rv_kind) {
        decoded[Int(kind.rawValue)] += 1
        if deliveredKinds & (1 << kind.rawValue) != 0 {
            batch.append(event)
        }
    }

    /// The fields every recorded event has: time, host, process identity and names.
    private func makeEvent(_ header: rv_header, kind: rv_kind, operation: String, process: TrackedProcess?) -> Event {
        var event = Event()
        setTime(&event, bootNs: Int64(bitPattern: header.boot_ns))
        setPlace(&event, process: process)
        event.hostPID = Int32(bitPattern: header.tgid)
        event.hostPPID = Int32(bitPattern: header.ppid)
        event.pid = Int32(bitPattern: header.ns_pid)
        event.ppid = Int32(bitPattern: header.ns_ppid)
        event.uid = Int32(bitPattern: header.uid)
        event.operation = operation
        let comm = withUnsafeBytes(of: header.comm) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        event.processName = process?.executable ?? comm
        event.parentProcessName = processes.lookup(Int32(bitPattern: header.ppid))?.executable ?? ""
        event.extras = [
            ExtraField(key: "TID", json: String(header.tid)),
            ExtraField(key: "GID", json: String(header.gid)),
            ExtraField(key: "Comm", json: JSONText.string(comm)),
            ExtraField(key: "CgroupID", json: String(header.cgroup_id)),
            ExtraField(key: "MntNS", json: String(header.mnt_ns)),
            ExtraField(key: "PidNS", json: String(header.pid_ns)),
        ]
        return event
    }

    private func setTime(_ event: inout Event, bootNs: Int64) {
        event.timeNs = bootNs + bootToWallOffsetNs
        event.timestamp = event.timeNs >= 0 ? event.timeNs / 1_000_000_000 : (event.timeNs + 1) / 1_000_000_000 - 1
    }

    private func setPlace(_ event: inout Event, process: TrackedProcess?) {
        event.clusterName = clusterName
        event.hostName = hostName
        event.containerID = process?.containerID ?? ""
        event.type = event.containerID.isEmpty ? "HostLog" : "ContainerLog"
        event.tty = process?.tty ?? ""
    }

    /// KubeArmor writes the working directory with a trailing slash (`/root/`, `/`).
    static func kubeArmorCwd(_ cwd: String) -> String {
        cwd.isEmpty || cwd.hasSuffix("/") ? cwd : cwd + "/"
    }

    static func result(_ ret: Int64) -> String {
        ret >= 0 ? "Passed" : SystemErrorText.result(errno: Int32(truncatingIfNeeded: -ret))
    }

    static func syscallName(_ syscall: rv_syscall) -> String {
        switch syscall {
        case RV_SYS_OPEN: return "SYS_OPEN"
        case RV_SYS_OPENAT: return "SYS_OPENAT"
        case RV_SYS_OPENAT2: return "SYS_OPENAT2"
        case RV_SYS_CREAT: return "SYS_CREAT"
        case RV_SYS_UNLINK: return "SYS_UNLINK"
        case RV_SYS_UNLINKAT: return "SYS_UNLINKAT"
        case RV_SYS_RMDIR: return "SYS_RMDIR"
        case RV_SYS_RENAME: return "SYS_RENAME"
        case RV_SYS_RENAMEAT: return "SYS_RENAMEAT"
        case RV_SYS_RENAMEAT2: return "SYS_RENAMEAT2"
        case RV_SYS_CHMOD: return "SYS_CHMOD"
        case RV_SYS_FCHMODAT: return "SYS_FCHMODAT"
        case RV_SYS_FCHMODAT2: return "SYS_FCHMODAT2"
        case RV_SYS_SOCKET: return "SYS_SOCKET"
        case RV_SYS_CONNECT: return "SYS_CONNECT"
        case RV_SYS_ACCEPT: return "SYS_ACCEPT"
        case RV_SYS_ACCEPT4: return "SYS_ACCEPT4"
        case RV_SYS_BIND: return "SYS_BIND"
        case RV_SYS_LISTEN: return "SYS_LISTEN"
        case RV_SYS_EXECVE: return "SYS_EXECVE"
        case RV_SYS_EXECVEAT: return "SYS_EXECVEAT"
        default: return String(syscall.rawValue)
        }
    }
}

/// Reads the strings that follow a record's fixed part, each as long as the record says.
struct StringCursor {
    private let record: UnsafeRawBufferPointer
    private var offset: Int

    init(_ record: UnsafeRawBufferPointer, at offset: Int) {
        self.record = record
        self.offset = offset
    }

    mutating func nextBytes(_ length: UInt16) -> UnsafeRawBufferPointer.SubSequence? {
        let end = offset + Int(length)
        guard end <= record.count else { return nil }
        defer { offset = end }
        return record[offset..<end]
    }

    mutating func next(_ length: UInt16) -> String? {
        nextBytes(length).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension UnsafeRawBufferPointer {
    /// A fixed-size C struct at `offset`, if the buffer holds it.
    func load<T>(_ type: T.Type, at offset: Int) -> T? {
        guard offset + MemoryLayout<T>.size <= count, let base = baseAddress else { return nil }
        return base.loadUnaligned(fromByteOffset: offset, as: type)
    }
}

/// Lexical path clean-up for paths assembled from a directory and a name as a program passed it.
enum PathText {
    /// Removes `.` and empty components and resolves `..` without touching the file system:
    /// `/home/a/./b/../c` is `/home/a/c`. Relative paths are returned as they are.
    static func normalized(_ path: String) -> String {
        guard path.hasPrefix("/"), path.contains("/.") || path.contains("//") else { return path }
        var components: [Substring] = []
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}

/// Compact JSON text for ``ExtraField`` values.
enum JSONText {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
