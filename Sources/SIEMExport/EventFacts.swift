import EventModel

/// What an event did, read from KubeArmor's `Operation`, `Data` and `Resource` text: the facts every
/// export format maps (the call, the kind of activity, the network peers, the outcome, the severity).
struct EventFacts {
    /// What kind of activity the event records.
    enum Activity: Equatable {
        case processExec, processFork, processExit, processSetID, processOther
        case fileRead, fileWrite, fileCreate, fileDelete, fileRename, fileAttributes, fileOther
        case networkConnect, networkAccept, networkSocket, networkSend, networkTraffic, networkOther
        case capability, other

        var isProcess: Bool {
            switch self {
            case .processExec, .processFork, .processExit, .processSetID, .processOther: true
            default: false
            }
        }
        var isFile: Bool {
            switch self {
            case .fileRead, .fileWrite, .fileCreate, .fileDelete, .fileRename, .fileAttributes, .fileOther: true
            default: false
            }
        }
        var isNetwork: Bool {
            switch self {
            case .networkConnect, .networkAccept, .networkSocket, .networkSend, .networkTraffic, .networkOther: true
            default: false
            }
        }
    }

    /// Whether the operation succeeded (`Result`).
    enum Outcome { case success, failure, unknown }

    /// The call or hook that raised the event, lowercased, without `SYS_`: `execve`, `openat`,
    /// `tcp_connect`, `security_bprm_check`, `udp_sendmsg`; empty when `Data` names none.
    let call: String
    let activity: Activity
    let outcome: Outcome
    /// KubeArmor's `Severity` as a number (alerts carry 1–10), nil when absent or not a number.
    let severity: Int?
    /// The network peers and transport, for network events.
    let network: NetworkFacts

    /// Whether `Operation` is `Process` (its command line is `Resource`, else `Source`).
    let isProcessOperation: Bool
    /// Whether `Action` is `Block`.
    let isBlocked: Bool

    init(_ record: some ExportRecord) {
        let data = record.string(.data), operation = record.string(.operation)
        call = Self.call(in: data)
        activity = Self.activity(operation: operation, call: call, data: data)
        isProcessOperation = operation == "Process"
        isBlocked = record.string(.action) == "Block"
        outcome = switch record.string(.result) {
        case "Passed": .success
        case "", "Operation now in progress": .unknown
        default: .failure
        }
        let severity = record.string(.severity)
        self.severity = severity.isEmpty ? nil : Int(severity)
        network = activity.isNetwork ? NetworkFacts(resource: record.string(.resource), data: data, accept: activity == .networkAccept)
            : NetworkFacts()
    }

    private static func call(in data: String) -> String {
        guard let value = KeyValueText.value(of: "syscall", in: data) ?? KeyValueText.value(of: "kprobe", in: data)
            ?? KeyValueText.value(of: "lsm", in: data) ?? KeyValueText.value(of: "kfunc", in: data) else { return "" }
        var name = value.lowercased()
        if name.hasPrefix("sys_") { name.removeFirst(4) }
        return name
    }

    private static func activity(operation: String, call: String, data: String) -> Activity {
        switch operation {
        case "Process":
            switch call {
            case "execve", "execveat", "security_bprm_check": return .processExec
            case "clone", "clone3", "fork", "vfork": return .processFork
            case "exit", "exit_group": return .processExit
            case "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid": return .processSetID
            default: return .processOther
            }
        case "File", "Syscall":
            switch call {
            case "open", "openat", "openat2", "security_file_open":
                guard operation == "File", let flags = KeyValueText.value(of: "flags", in: data) else { return .fileRead }
                if ByteText.contains(flags, "O_CREAT") { return .fileCreate }
                if ByteText.contains(flags, "O_WRONLY") || ByteText.contains(flags, "O_RDWR") || ByteText.contains(flags, "O_TRUNC") {
                    return .fileWrite
                }
                return .fileRead
            case "creat", "mkdir", "mkdirat", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat": return .fileCreate
            case "unlink", "unlinkat", "rmdir": return .fileDelete
            case "rename", "renameat", "renameat2": return .fileRename
            case "chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown", "setxattr": return .fileAttributes
            case "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid": return .processSetID
            default: return operation == "File" ? .fileOther : .other
            }
        case "Network":
            switch call {
            case "connect", "tcp_connect", "security_socket_connect": return .networkConnect
            case "accept", "accept4", "tcp_accept", "security_socket_accept": return .networkAccept
            case "socket", "security_socket_create": return .networkSocket
            case "udp_sendmsg", "socket_sendmsg", "sendmsg", "sendto": return .networkSend
            default: return .networkOther
            }
        case "NetworkFirewall": return .networkTraffic
        case "Capabilities": return .capability
        default: return .other
        }
    }
}

/// The peers of a network event as KubeArmor writes them: `remoteip=… port=… protocol=TCP`
/// (tcp_connect, tcp_accept), `sa_family=AF_INET sin_addr=… sin_port=…` (connect), `daddr=…` in
/// `Data` (udp_sendmsg), `SourceIP=… DestinationPort=…` (network firewall).
struct NetworkFacts {
    var sourceIP: Substring?
    var sourcePort: Int?
    var destinationIP: Substring?
    var destinationPort: Int?
    /// `tcp`, `udp`, … (lowercase), when given.
    var transport: String?
    /// `ingress` for accepted connections, `egress` for outgoing ones, nil when unknown.
    var direction: StaticString?

    init() {}

    /// For an accept, the remote address is the source and the port the local (destination) one.
    init(resource: String, data: String, accept: Bool) {
        func value(_ key: StaticString) -> Substring? {
            KeyValueText.value(of: key, in: resource) ?? KeyValueText.value(of: key, in: data)
        }
        func ip(_ key: StaticString) -> Substring? { value(key).flatMap { IPText.isIP($0) ? $0 : nil } }
        func port(_ key: StaticString) -> Int? { value(key).flatMap { Int($0) }.flatMap { (0...65535).contains($0) ? $0 : nil } }
        if let source = ip("SourceIP") {
            sourceIP = source
            sourcePort = port("SourcePort")
            destinationIP = ip("DestinationIP")
            destinationPort = port("DestinationPort")
            transport = value("Protocol")?.lowercased()
            return
        }
        let remote = ip("remoteip") ?? ip("sin_addr") ?? ip("sin6_addr") ?? ip("daddr")
        let remotePort = port("port") ?? port("sin_port") ?? port("sin6_port")
        transport = value("protocol").flatMap { Int($0) == nil ? $0.lowercased() : nil }
        if transport == nil, data.hasPrefix("kfunc=UDP_") { transport = "udp" }
        if accept {
            sourceIP = remote
            destinationPort = remotePort
            direction = "ingress"
        } else {
            destinationIP = remote
            destinationPort = remotePort
            if remote != nil || remotePort != nil { direction = "egress" }
        }
    }
}

/// `key=value` pairs in KubeArmor's `Resource` and `Data` text, separated by spaces or commas.
enum KeyValueText {
    /// The value of the first `key=` that starts a pair, up to the next space or comma; nil if absent.
    static func value(of key: StaticString, in text: String) -> Substring? {
        guard let range = valueRange(of: key, in: text) else { return nil }
        let utf8 = text.utf8
        return Substring(utf8[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)])
    }

    /// Where the value of `key=` is, as UTF-8 offsets.
    static func valueRange(of key: StaticString, in text: String) -> Range<Int>? {
        let keyStart = key.utf8Start, keyCount = key.utf8CodeUnitCount
        let found = text.utf8.withContiguousStorageIfAvailable { bytes -> Range<Int>? in
            let n = bytes.count
            var pairStart = 0
            while pairStart < n {
                var pairEnd = pairStart
                while pairEnd < n && bytes[pairEnd] != 0x20 && bytes[pairEnd] != 0x2C { pairEnd += 1 }
                if pairEnd - pairStart > keyCount, bytes[pairStart + keyCount] == 0x3D,
                   memcmpBytes(bytes.baseAddress! + pairStart, keyStart, keyCount) {
                    return (pairStart + keyCount + 1)..<pairEnd
                }
                pairStart = pairEnd + 1
            }
            return nil
        }
        if let found { return found }
        // Not contiguous (a bridged string): copy once.
        var copy = text
        copy.makeContiguousUTF8()
        return valueRange(of: key, in: copy)
    }

    @inline(__always)
    private static func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }
}

/// Byte-level text tests (String's own `contains` goes through a general substring searcher).
enum ByteText {
    /// Whether `needle` occurs in `text`.
    static func contains(_ text: Substring, _ needle: StaticString) -> Bool {
        let needleStart = needle.utf8Start, m = needle.utf8CodeUnitCount
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= m else { return false }
            var i = 0
            outer: while i + m <= bytes.count {
                for k in 0..<m where bytes[i + k] != needleStart[k] {
                    i += 1
                    continue outer
                }
                return true
            }
            return false
        }
    }
}

/// Whether text is an IPv4 or IPv6 address (the characters and shape, not a full parse).
enum IPText {
    static func isIP(_ s: Substring) -> Bool {
        let bytes = s.utf8
        guard !bytes.isEmpty, bytes.count <= 45 else { return false }
        if bytes.contains(0x3A) {
            return bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x3A) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) || $0 == 0x2E }
        }
        var parts = 0, digits = 0, value = 0
        for byte in bytes {
            if byte == 0x2E {
                guard digits > 0 else { return false }
                parts += 1
                digits = 0
                value = 0
            } else if byte >= 0x30 && byte <= 0x39 {
                digits += 1
                value = value * 10 + Int(byte - 0x30)
                guard digits <= 3, value <= 255 else { return false }
            } else {
                return false
            }
        }
        return parts == 3 && digits > 0
    }
}
