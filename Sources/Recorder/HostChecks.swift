import CBPF

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Checks that this host lets rearview trace with BPF, naming what is missing when it does not.
enum HostChecks {
    /// Root, the capabilities BPF tracing needs, kernel BTF and ring buffers. (Whether tp_btf programs
    /// are allowed shows when they load: libbpf cannot probe for them without a target.)
    static func requireTracingSupport() throws(RecorderError) {
        guard geteuid() == 0 else {
            throw RecorderError(.notRoot, "recording needs root (effective uid is \(geteuid()))")
        }
        let effective = effectiveCapabilities()
        let admin = effective & (1 << 21) != 0
        if !admin && effective & (1 << 39) == 0 {
            throw RecorderError(.missingCapability, "recording needs CAP_BPF or CAP_SYS_ADMIN, which are not effective")
        }
        if !admin && effective & (1 << 38) == 0 {
            throw RecorderError(.missingCapability, "recording needs CAP_PERFMON or CAP_SYS_ADMIN, which are not effective")
        }
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0 else {
            throw RecorderError(.kernelBTFMissing,
                                "the kernel has no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF", errno: errno)
        }
        guard libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil) == 1 else {
            throw RecorderError(.kernelFeatureMissing, "the kernel has no BPF ring buffers (Linux 5.8 or later needed)")
        }
    }

    /// CapEff of this process from /proc/self/status.
    static func effectiveCapabilities() -> UInt64 {
        guard let status = ProcFS.readText("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }) else { return 0 }
        return UInt64(line.dropFirst("CapEff:".count).trimmingPrefix(while: { $0 == "\t" || $0 == " " }), radix: 16) ?? 0
    }

    /// Where tracefs shows the syscall tracepoints, or nil when it is not mounted.
    static func syscallTracepointDirectory() -> String? {
        ["/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"].first {
            access($0, F_OK) == 0
        }
    }

    /// CLOCK_REALTIME minus CLOCK_BOOTTIME in nanoseconds: added to a BPF timestamp
    /// (bpf_ktime_get_boot_ns) it gives unix time. Read between two boot-clock readings and taken
    /// from the closest pair of three tries.
    static func bootToWallOffsetNs() -> Int64 {
        func now(_ clock: clockid_t) -> Int64 {
            var time = timespec()
            clock_gettime(clock, &time)
            return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
        }
        var best: (gap: Int64, offset: Int64) = (.max, 0)
        for _ in 0..<3 {
            let before = now(CLOCK_BOOTTIME)
            let wall = now(CLOCK_REALTIME)
            let after = now(CLOCK_BOOTTIME)
            if after - before < best.gap {
                best = (after - before, wall - (before + (after - before) / 2))
            }
        }
        return best.offset
    }

    /// This host's name (uname's nodename).
    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "" }
        return String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
