import CBPF
import EventModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns the kernel's ring-buffer records into ``Event``s in KubeArmor's forms, keeping the table of
/// live processes current so that every event names its process, command and parent.
///
/// Every event: `TimeNs` (kernel boot time + the boot-to-wall offset), `Timestamp`, `HostName`,
/// `ClusterName`, `HostPID`/`HostPPID` (host tgid and real parent), `PID`/`PPID` (in the process's
/// pid namespace), `UID` (real), `ProcessName` (executable path; the comm if unknown),
/// `ParentProcessName`, `ContainerID` (from the cgroup path at exec), `Type` `ContainerLog` with a
/// container else `HostLog`, `TTY`; extras `TID`, `GID`, `Comm`, `CgroupID`, `MntNS`, `PidNS`.
///
/// | record | Operation | Resource | Data | Source |
/// | --- | --- | --- | --- | --- |
/// | exec | Process | path as invoked (absolute) + arguments | `syscall=SYS_EXECVE` (`SYS_EXECVEAT` for /dev/fd/N) | parent's executable |
/// | failed exec | Process (ProcessName = the program) | same | same, `Result` the error | caller's executable |
/// | fork/clone | Process | inherited command | `syscall=SYS_CLONE` | parent's executable |
/// | exit | Process | command | `syscall=SYS_EXIT code=N` or `… signal=SIGKILL[ core=dumped]` | parent's executable |
/// | snapshot | Process | executable + arguments | `syscall=SYS_EXECVE snapshot=procfs` (at the start time) | parent's executable |
/// | open* | File | absolute path | `syscall=SYS_OPENAT fd=-100 flags=O_RDONLY\|O_CLOEXEC` (`SYS_OPEN flags=…`) | command |
/// | unlink* / rmdir | File | path | `syscall=SYS_UNLINKAT flags=[AT_REMOVEDIR]`, `SYS_UNLINK`, `SYS_RMDIR` | command |
/// | rename* | File | old path | `syscall=SYS_RENAMEAT2 newpath=/x flags=RENAME_NOREPLACE` | command |
/// | chmod* | File | path | `syscall=SYS_FCHMODAT mode=0644` | command |
/// | socket | Network | `domain=AF_INET type=SOCK_STREAM\|SOCK_CLOEXEC protocol=6` | `syscall=SYS_SOCKET` | command |
/// | connect/bind/accept | Network | `sa_family=AF_INET sin_port=53 sin_addr=10.0.0.10` (`sun_path=` for Unix) | `syscall=SYS_CONNECT fd=3` | command |
/// | listen | Network | "" | `syscall=SYS_LISTEN fd=3` | command |
/// | TCP handshake end | Network | `remoteip=10.0.0.5 port=443 protocol=TCP` | `kprobe=tcp_connect domain=AF_INET` | command |
///
/// `Result` is `Passed`, or the error as glibc words it (`Permission denied`). `Cwd` (with a
/// trailing `/`, as KubeArmor writes it) is set on exec and snapshot events.
///
/// Used by one thread at a time (the drain thread); `batch` collects the events of one drain.
final class RecordDecoder {
    private(set) var batch: [Event] = []
    /// Events decoded per kind (process, file, network), delivered or not.
    private(set) var decoded: [UInt64] = [0, 0, 0]
    /// Records shorter than their own lengths claim, or of an unknown type (a rearview bug if ever non-zero).
    private(set) var malformed: UInt64 = 0
    private var processes = ProcessTable()
    /// Strings that repeat from event to event, made once (the decoder runs for every event).
    private var identities: [ThreadIdentity: (comm: String, extras: [ExtraField])] = [:]
    private var lastIdentity: (key: ThreadIdentity, value: (comm: String, extras: [ExtraField]))?
    private var dataTexts: [DataKey: String] = [:]
    private var resultTexts: [Int64: String] = [0: "Passed"]
    private let clusterName: String
    private let hostName: String
    private let deliveredKinds: UInt32
    private let containers: ContainerRuntimeState
    /// CLOCK_REALTIME minus CLOCK_BOOTTIME, refreshed on every drain.
    var bootToWallOffsetNs: Int64

    init(clusterName: String, hostName: String, deliveredKinds: Set<EventKind>, bootToWallOffsetNs: Int64,
         containers: ContainerRuntimeState = ContainerRuntimeState()) {
        self.clusterName = clusterName
        self.hostName = hostName
        self.containers = containers
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
                ExtraField(key: "Comm", json: KubeArmorJSONWriter.quoted(process.comm)),
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
        case RV_RECORD_TCP_CONNECT: decodedOK = decodeTCPConnect(record, header)
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
        emit(header, kind: RV_KIND_PROCESS, operation: "Process", process: inherited) { event in
            event.resource = inherited?.command ?? ""
            event.data = "syscall=SYS_CLONE"
            event.source = event.parentProcessName
            event.result = "Passed"
        }
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

        emit(header, kind: RV_KIND_PROCESS, operation: "Process", process: process) { event in
            event.resource = ([invoked] + arguments.dropFirst()).joined(separator: " ")
            event.data = filename.hasPrefix("/dev/fd/") ? "syscall=SYS_EXECVEAT" : "syscall=SYS_EXECVE"
            event.source = event.parentProcessName
            event.cwd = Self.kubeArmorCwd(cwd)
            event.result = "Passed"
        }
        return true
    }

    private func decodeExit(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let exit = record.load(rv_exit_record.self, at: 0) else { return false }
        let pid = Int32(bitPattern: header.tgid)
        let process = processes[pid]
        emit(header, kind: RV_KIND_PROCESS, operation: "Process", process: process) { event in
            event.resource = process?.command ?? ""
            event.data = KubeArmorText.exitData(waitStatus: exit.status)
            event.source = event.parentProcessName
            event.result = "Passed"
        }
        processes.remove(pid)
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
        emit(header, kind: RV_KIND_PROCESS, operation: "Process", process: caller) { event in
            event.processName = path
            event.parentProcessName = caller?.executable ?? ""
            event.source = event.parentProcessName
            event.resource = ([path] + ProcFS.arguments(argv).dropFirst()).joined(separator: " ")
            event.data = failed.syscall == UInt16(RV_SYS_EXECVEAT.rawValue) ? "syscall=SYS_EXECVEAT" : "syscall=SYS_EXECVE"
            event.result = result(failed.ret)
        }
        return true
    }

    private func decodeFile(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let file = record.load(rv_file_record.self, at: 0) else { return false }
        var strings = StringCursor(record, at: MemoryLayout<rv_file_record>.size)
        guard let rawPath = strings.next(file.path_len), let rawNewPath = strings.next(file.new_path_len)
        else { return false }
        let path = PathText.normalized(rawPath)
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        emit(header, kind: RV_KIND_FILE, operation: "File", process: process) { event in
            event.resource = path
            event.source = process?.command ?? event.processName
            if file.new_path_len > 0 {
                event.data = Self.fileData(file, newPath: PathText.normalized(rawNewPath))
            } else {
                let key = DataKey(syscall: file.syscall, fd: file.dirfd, flags: file.flags, mode: file.mode)
                event.data = cachedData(key) { Self.fileData(file, newPath: "") }
            }
            event.result = result(file.ret)
        }
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
        emit(header, kind: RV_KIND_NETWORK, operation: "Network", process: process) { event in
            event.resource = "domain=\(KubeArmorText.addressFamily(socket.domain)) type=\(KubeArmorText.socketType(socket.type)) protocol=\(socket.protocol)"
            event.data = "syscall=SYS_SOCKET"
            event.source = process?.command ?? event.processName
            event.result = result(socket.ret)
        }
        return true
    }

    private func decodeAddress(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let address = record.load(rv_address_record.self, at: 0) else { return false }
        var strings = StringCursor(record, at: MemoryLayout<rv_address_record>.size)
        guard let unixPath = strings.nextBytes(address.path_len) else { return false }
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        emit(header, kind: RV_KIND_NETWORK, operation: "Network", process: process) { event in
            let bytes = withUnsafeBytes(of: address.addr) { Array($0) }
            event.resource = address.family == 0 ? "" : KubeArmorText.socketAddress(
                family: address.family, port: address.port, address: bytes, unixPath: Array(unixPath))
            event.data = cachedData(DataKey(syscall: address.syscall, fd: address.fd, flags: 0, mode: 0)) {
                "syscall=\(Self.syscallName(rv_syscall(rawValue: UInt32(address.syscall)))) fd=\(address.fd)"
            }
            event.source = process?.command ?? event.processName
            event.result = result(address.ret)
        }
        return true
    }

    /// The outcome of a TCP handshake, in the form of KubeArmor's `tcp_connect` records.
    private func decodeTCPConnect(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let connect = record.load(rv_address_record.self, at: 0) else { return false }
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        emit(header, kind: RV_KIND_NETWORK, operation: "Network", process: process) { event in
            let bytes = withUnsafeBytes(of: connect.addr) { Array($0) }
            let address = Int32(connect.family) == AF_INET6 ? KubeArmorText.ipv6(bytes) : KubeArmorText.ipv4(bytes.prefix(4))
            event.resource = "remoteip=\(address) port=\(connect.port) protocol=TCP"
            event.data = "kprobe=tcp_connect domain=\(KubeArmorText.addressFamily(Int32(connect.family)))"
            event.source = process?.command ?? event.processName
            event.result = result(connect.ret)
        }
        return true
    }

    private func decodeListen(_ record: UnsafeRawBufferPointer, _ header: rv_header) -> Bool {
        guard let listen = record.load(rv_listen_record.self, at: 0) else { return false }
        let process = processes.lookup(Int32(bitPattern: header.tgid))
        emit(header, kind: RV_KIND_NETWORK, operation: "Network", process: process) { event in
            event.data = cachedData(DataKey(syscall: listen.syscall, fd: listen.fd, flags: 0, mode: 0)) {
                "syscall=SYS_LISTEN fd=\(listen.fd)"
            }
            event.source = process?.command ?? event.processName
            event.result = result(listen.ret)
        }
        return true
    }

    // MARK: common fields

    /// Counts an event and, if its kind is delivered, makes it (common fields, then `fill`) into
    /// the batch. Built in place: an `Event` copy would retain each of its strings.
    private func emit(_ header: rv_header, kind: rv_kind, operation: String, process: TrackedProcess?,
                      _ fill: (inout Event) -> Void) {
        decoded[Int(kind.rawValue)] += 1
        guard deliveredKinds & (1 << kind.rawValue) != 0 else { return }
        batch.append(Event())
        let index = batch.count - 1
        setCommonFields(&batch[index], header, operation: operation, process: process)
        fill(&batch[index])
    }

    /// The fields every recorded event has: time, host, process identity and names.
    private func setCommonFields(_ event: inout Event, _ header: rv_header, operation: String, process: TrackedProcess?) {
        setTime(&event, bootNs: Int64(bitPattern: header.boot_ns))
        setPlace(&event, process: process)
        event.hostPID = Int32(bitPattern: header.tgid)
        event.hostPPID = Int32(bitPattern: header.ppid)
        event.pid = Int32(bitPattern: header.ns_pid)
        event.ppid = Int32(bitPattern: header.ns_ppid)
        event.uid = Int32(bitPattern: header.uid)
        event.operation = operation
        let identity = threadIdentity(header)
        event.processName = process?.executable ?? identity.comm
        event.parentProcessName = processes.lookup(Int32(bitPattern: header.ppid))?.executable ?? ""
        event.extras = identity.extras
    }

    /// The fields KubeArmor's record has no place for, as extras: `TID`, `GID`, `Comm`, `CgroupID`,
    /// `MntNS`, `PidNS` (made once per thread and shared by its events).
    private func threadIdentity(_ header: rv_header) -> (comm: String, extras: [ExtraField]) {
        let key = ThreadIdentity(header)
        if let last = lastIdentity, last.key == key {
            return last.value
        }
        if let known = identities[key] {
            lastIdentity = (key, known)
            return known
        }
        let comm = withUnsafeBytes(of: header.comm) { KernelText.string($0.prefix(while: { $0 != 0 })) }
        let extras = [
            ExtraField(key: "TID", json: String(header.tid)),
            ExtraField(key: "GID", json: String(header.gid)),
            ExtraField(key: "Comm", json: KubeArmorJSONWriter.quoted(comm)),
            ExtraField(key: "CgroupID", json: String(header.cgroup_id)),
            ExtraField(key: "MntNS", json: String(header.mnt_ns)),
            ExtraField(key: "PidNS", json: String(header.pid_ns)),
        ]
        if identities.count >= 16_384 {
            identities.removeAll(keepingCapacity: true)
        }
        identities[key] = (comm, extras)
        lastIdentity = (key, (comm, extras))
        return (comm, extras)
    }

    private func cachedData(_ key: DataKey, _ make: () -> String) -> String {
        if let known = dataTexts[key] {
            return known
        }
        let text = make()
        if dataTexts.count >= 4096 {
            dataTexts.removeAll(keepingCapacity: true)
        }
        dataTexts[key] = text
        return text
    }

    private func result(_ ret: Int64) -> String {
        if ret >= 0 {
            return "Passed"
        }
        if let known = resultTexts[ret] {
            return known
        }
        let text = Self.result(ret)
        resultTexts[ret] = text
        return text
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
        if !event.containerID.isEmpty {
            let container = containers.identity(of: event.containerID)
            event.podName = container.podName
            event.namespaceName = container.namespaceName
            event.containerName = container.containerName
            event.containerImage = container.image
        }
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

/// What distinguishes the extras of one thread's events from another's.
private struct ThreadIdentity: Hashable {
    let tid: UInt32
    let gid: UInt32
    let cgroupID: UInt64
    let mountNamespace: UInt32
    let pidNamespace: UInt32
    let comm: UInt128

    init(_ header: rv_header) {
        tid = header.tid
        gid = header.gid
        cgroupID = header.cgroup_id
        mountNamespace = header.mnt_ns
        pidNamespace = header.pid_ns
        comm = withUnsafeBytes(of: header.comm) { $0.loadUnaligned(as: UInt128.self) }
    }
}

/// The numbers a `Data` text is made of, for system calls whose `Data` repeats.
private struct DataKey: Hashable {
    let syscall: UInt16
    let fd: Int32
    let flags: UInt32
    let mode: UInt32
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
        nextBytes(length).map { KernelText.string($0) }
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
        guard path.utf8.first == UInt8(ascii: "/"), needsCleaning(path) else { return path }
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

    /// Whether the path has a `//`, `/./` or `/../` (or ends in `/.`, `/..`): a byte scan.
    private static func needsCleaning(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { bytes in
            var previous: UInt8 = 0
            for byte in bytes {
                if previous == UInt8(ascii: "/") && (byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".")) {
                    return true
                }
                previous = byte
            }
            return false
        }
    }
}

