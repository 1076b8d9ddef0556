#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A process alive when recording started, as /proc describes it.
struct SnapshotProcess: Equatable {
    var pid: Int32
    var ppid: Int32
    /// PID and parent's PID in the process's own pid namespace (0 when the parent is outside it).
    var namespacePID: Int32
    var namespacePPID: Int32
    var uid: Int32
    var gid: Int32
    var comm: String
    /// Start time, nanoseconds after boot (CLOCK_BOOTTIME), at clock-tick precision.
    var startBootNs: Int64
    var process: TrackedProcess
    var arguments: [String]
    var cwd: String
}

/// Reads every user-space process from /proc, parents before children, so that trees recorded
/// afterwards have roots and names.
enum ProcessSnapshot {
    static func read() -> [SnapshotProcess] {
        let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))
        var processes: [SnapshotProcess] = []
        var namespacePIDs: [Int32: [Int32]] = [:]
        for pid in ProcFS.processIDs() {
            guard let stat = ProcFS.readText("/proc/\(pid)/stat").flatMap(ProcStat.init), !stat.isKernelThread,
                  let status = ProcFS.readText("/proc/\(pid)/status"),
                  let executable = ProcFS.readLink("/proc/\(pid)/exe") else { continue }
            let fields = statusFields(status)
            let nsPIDs = fields["NSpid"]?.split(separator: "\t").compactMap { Int32($0) } ?? [pid]
            namespacePIDs[pid] = nsPIDs
            let arguments = ProcFS.read("/proc/\(pid)/cmdline").map(ProcFS.arguments) ?? []
            let containerID = ProcFS.readText("/proc/\(pid)/cgroup").map(ContainerID.fromProcCgroupFile) ?? ""
            let tracked = TrackedProcess(
                executable: executable,
                command: arguments.isEmpty ? executable : arguments.joined(separator: " "),
                tty: stat.ttyName, containerID: containerID)
            processes.append(SnapshotProcess(
                pid: pid, ppid: stat.ppid,
                namespacePID: nsPIDs.last ?? pid, namespacePPID: 0,
                uid: firstNumber(fields["Uid"]), gid: firstNumber(fields["Gid"]),
                comm: stat.comm,
                startBootNs: Int64(stat.startTicks) * (1_000_000_000 / max(ticksPerSecond, 1)),
                process: tracked, arguments: arguments,
                cwd: ProcFS.readLink("/proc/\(pid)/cwd") ?? ""))
        }
        // The parent's PID at the child's namespace level, when the parent is in that namespace.
        for index in processes.indices {
            let level = (namespacePIDs[processes[index].pid]?.count ?? 1) - 1
            if let parentPIDs = namespacePIDs[processes[index].ppid], parentPIDs.count > level {
                processes[index].namespacePPID = parentPIDs[level]
            }
        }
        return processes.sorted { ($0.startBootNs, $0.pid) < ($1.startBootNs, $1.pid) }
    }

    private static func statusFields(_ text: String) -> [Substring: Substring] {
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...].drop(while: { $0 == "\t" || $0 == " " })
        }
        return fields
    }

    private static func firstNumber(_ field: Substring?) -> Int32 {
        let text = field?.split(whereSeparator: { $0 == "\t" || $0 == " " }).first
        return text.flatMap { UInt32($0) }.map { Int32(bitPattern: $0) } ?? 0
    }
}
