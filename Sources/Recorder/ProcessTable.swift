/// What the recorder knows about a live process, to name it in the events of it and its children.
struct TrackedProcess: Equatable {
    /// Absolute path of the running executable (`ProcessName`).
    var executable: String
    /// Its arguments joined by spaces (`Source` of its file and network events).
    var command: String
    /// Controlling terminal (`pts0`), or "".
    var tty: String
    /// Container ID from its cgroup, or "".
    var containerID: String
}

/// The live processes by host pid, kept current from the start-up snapshot and fork/exec/exit records.
///
/// A process the table has not seen (alive before recording without a snapshot, or one whose exec
/// record was lost) is looked up once in /proc; one /proc no longer has is remembered as unknown.
struct ProcessTable {
    private var processes: [Int32: TrackedProcess] = [:]
    private var unknown: Set<Int32> = []

    var count: Int { processes.count }

    subscript(pid: Int32) -> TrackedProcess? {
        processes[pid]
    }

    mutating func set(_ pid: Int32, _ process: TrackedProcess) {
        processes[pid] = process
        unknown.remove(pid)
    }

    mutating func remove(_ pid: Int32) {
        processes.removeValue(forKey: pid)
    }

    /// The process, from the table or else from /proc (then remembered); nil if /proc has it no more.
    mutating func lookup(_ pid: Int32) -> TrackedProcess? {
        if let known = processes[pid] {
            return known
        }
        guard pid > 0, !unknown.contains(pid) else { return nil }
        guard let process = Self.readProc(pid) else {
            if unknown.count >= 4096 {
                unknown.removeAll(keepingCapacity: true)
            }
            unknown.insert(pid)
            return nil
        }
        processes[pid] = process
        return process
    }

    /// A process as /proc describes it now.
    static func readProc(_ pid: Int32) -> TrackedProcess? {
        guard let executable = ProcFS.readLink("/proc/\(pid)/exe") else { return nil }
        let arguments = ProcFS.read("/proc/\(pid)/cmdline").map(ProcFS.arguments) ?? []
        let tty = ProcFS.readText("/proc/\(pid)/stat").flatMap(ProcStat.init)?.ttyName ?? ""
        let containerID = ProcFS.readText("/proc/\(pid)/cgroup").map(ContainerID.fromProcCgroupFile) ?? ""
        return TrackedProcess(executable: executable,
                              command: arguments.isEmpty ? executable : arguments.joined(separator: " "),
                              tty: tty, containerID: containerID)
    }
}

/// The fields of /proc/<pid>/stat the recorder uses.
struct ProcStat {
    var comm: String
    var ppid: Int32
    var ttyNumber: Int32
    var flags: UInt32
    /// Start time in clock ticks after boot.
    var startTicks: UInt64

    /// Parses the line; the command name may hold spaces and parentheses, so fields count from the last ")".
    init?(_ line: String) {
        guard let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")") else { return nil }
        comm = String(line[line.index(after: open)..<close])
        let fields = line[line.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state) of proc(5).
        guard fields.count > 19, let ppid = Int32(fields[1]), let tty = Int32(fields[4]),
              let flags = UInt32(fields[6]), let start = UInt64(fields[19]) else { return nil }
        self.ppid = ppid
        self.ttyNumber = tty
        self.flags = flags
        self.startTicks = start
    }

    /// PF_KTHREAD: kernel threads have no executable and are not part of the snapshot.
    var isKernelThread: Bool { flags & 0x0020_0000 != 0 }

    /// The terminal's name as the kernel's tty->name spells it: `pts0`, `tty1`, `ttyS0`.
    var ttyName: String {
        let major = (ttyNumber >> 8) & 0xfff
        let minor = (ttyNumber & 0xff) | ((ttyNumber >> 12) & 0xfff00)
        switch major {
        case 0: return ""
        case 136...143: return "pts\((major - 136) * 256 + minor)"
        case 4: return minor < 64 ? "tty\(minor)" : "ttyS\(minor - 64)"
        default: return "tty(\(major),\(minor))"
        }
    }
}
