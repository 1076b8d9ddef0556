import EventModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Text of system errors as KubeArmor's `Result` gives it: glibc's `strerror` wording.
enum SystemErrorText {
    /// `Permission denied` for EACCES; `Unknown (-N)` for numbers the C library does not name
    /// (KubeArmor's form for kernel-internal codes such as -512).
    static func result(errno: Int32) -> String {
        let text = describe(errno: errno)
        return text.hasPrefix("Unknown error") ? "Unknown (\(-errno))" : text
    }

    static func describe(errno: Int32) -> String {
        guard let text = strerror(errno) else { return "Unknown error \(errno)" }
        return String(cString: text)
    }
}

/// Renders system call arguments in the words KubeArmor's `Resource` and `Data` fields use.
enum KubeArmorText {
    /// `open` flags as `O_WRONLY|O_CREAT|O_TRUNC`: the access mode first, then the other flags in
    /// KubeArmor's order.
    static func openFlags(_ flags: UInt32) -> String {
        var parts: [String] = []
        if flags & 0o1 != 0 {
            parts.append("O_WRONLY")
        } else if flags & 0o2 != 0 {
            parts.append("O_RDWR")
        } else {
            parts.append("O_RDONLY")
        }
        for (bits, name) in openFlagNames where flags & bits == bits {
            parts.append(name)
        }
        return parts.joined(separator: "|")
    }

    private static let openFlagNames: [(UInt32, String)] = [
        (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"), (0o20000, "O_ASYNC"),
        (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"),
        (0o2000000, "O_CLOEXEC"), (0o40000, "O_DIRECT"), (0o1000000, "O_NOATIME"),
        (0o10000000, "O_PATH"), (0o20000000, "O_TMPFILE"),
    ]

    /// `unlinkat` flags: `AT_REMOVEDIR` or nothing.
    static func unlinkFlags(_ flags: UInt32) -> String {
        flags == 0x200 ? "AT_REMOVEDIR" : ""
    }

    /// `renameat2` flags: `RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT`, `0` for none.
    static func renameFlags(_ flags: UInt32) -> String {
        let names = [(UInt32(1), "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")]
        let parts = names.filter { flags & $0.0 != 0 }.map(\.1)
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }

    /// A mode as four octal digits: `0644`.
    static func mode(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `socket` type as `SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC`.
    static func socketType(_ type: Int32) -> String {
        let bits = UInt32(bitPattern: type)
        var parts = [socketTypeNames[bits & 0xf] ?? String(type)]
        if bits & 0o4000 != 0 { parts.append("SOCK_NONBLOCK") }
        if bits & 0o2000000 != 0 { parts.append("SOCK_CLOEXEC") }
        return parts.joined(separator: "|")
    }

    private static let socketTypeNames: [UInt32: String] = [
        1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
        6: "SOCK_DCCP", 10: "SOCK_PACKET",
    ]

    /// An address family's name (`AF_INET6`), or its number when Linux has no name for it.
    static func addressFamily(_ family: Int32) -> String {
        family >= 0 && Int(family) < addressFamilyNames.count ? addressFamilyNames[Int(family)] : String(family)
    }

    /// Linux's address families by number (include/linux/socket.h).
    private static let addressFamilyNames = [
        "AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE",
        "AF_ATMPVC", "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI", "AF_SECURITY", "AF_KEY",
        "AF_NETLINK", "AF_PACKET", "AF_ASH", "AF_ECONET", "AF_ATMSVC", "AF_RDS", "AF_SNA", "AF_IRDA",
        "AF_PPPOX", "AF_WANPIPE", "AF_LLC", "AF_IB", "AF_MPLS", "AF_CAN", "AF_TIPC", "AF_BLUETOOTH",
        "AF_IUCV", "AF_RXRPC", "AF_ISDN", "AF_PHONET", "AF_IEEE802154", "AF_CAIF", "AF_ALG", "AF_NFC",
        "AF_VSOCK", "AF_KCM", "AF_QIPCRTR", "AF_SMC", "AF_XDP", "AF_MCTP",
    ]

    /// A socket address as KubeArmor's `Resource` gives it: `sa_family=AF_INET sin_port=53
    /// sin_addr=10.0.0.10`, with `sin_` keys for IPv6 too, `sun_path=` for Unix sockets (`@name` for
    /// an abstract one), and only the family for others.
    static func socketAddress(family: UInt16, port: UInt16, address: [UInt8], unixPath: [UInt8]) -> String {
        let familyText = "sa_family=" + addressFamily(Int32(family))
        switch Int32(family) {
        case AF_INET:
            return "\(familyText) sin_port=\(port) sin_addr=\(ipv4(address.prefix(4)))"
        case AF_INET6:
            return "\(familyText) sin_port=\(port) sin_addr=\(ipv6(address))"
        case AF_UNIX:
            return "\(familyText) sun_path=\(unixSocketPath(unixPath))"
        default:
            return familyText
        }
    }

    static func ipv4(_ bytes: some Collection<UInt8>) -> String {
        bytes.map(String.init).joined(separator: ".")
    }

    /// RFC 5952 text, and IPv4-mapped addresses in dotted form as Go (and so KubeArmor) prints them.
    static func ipv6(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return "" }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return ipv4(bytes[12..<16])
        }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        // The longest run of two or more zero groups becomes "::" (the first such run on a tie).
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength && index - runStart >= 2 {
                    bestStart = runStart
                    bestLength = index - runStart
                }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// A `sun_path` up to its first NUL; an abstract name (leading NUL) as `@name`.
    static func unixSocketPath(_ bytes: [UInt8]) -> String {
        guard let first = bytes.first else { return "" }
        if first == 0 {
            let name = bytes.dropFirst()
            let end = name.lastIndex(where: { $0 != 0 }).map { $0 + 1 } ?? name.startIndex
            return "@" + KernelText.string(name[name.startIndex..<end])
        }
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return KernelText.string(bytes[..<end])
    }

    /// KubeArmor-style `Data` of an exit: `syscall=SYS_EXIT code=N`, or for a process a signal ended
    /// `syscall=SYS_EXIT signal=SIGKILL` (with ` core=dumped` when it left a core).
    static func exitData(waitStatus status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 {
            return "syscall=SYS_EXIT code=\((status >> 8) & 0xff)"
        }
        let core = status & 0x80 != 0 ? " core=dumped" : ""
        return "syscall=SYS_EXIT signal=\(signalName(signal))\(core)"
    }

    /// `SIGKILL` for 9; real-time signals as `SIGRTMIN+n`.
    static func signalName(_ signal: Int32) -> String {
        if signal >= 1 && Int(signal) <= signalNames.count {
            return signalNames[Int(signal) - 1]
        }
        if signal >= 34 && signal <= 64 {
            return signal == 34 ? "SIGRTMIN" : "SIGRTMIN+\(signal - 34)"
        }
        return String(signal)
    }

    /// Linux's signals 1…31 (x86 and arm64 numbering).
    private static let signalNames = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
        "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
        "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]
}
