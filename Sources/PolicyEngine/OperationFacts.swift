import EventModel

/// What kind of operation an event records, for the rules that could concern it.
///
/// - `Process` events are executions only when `Data` is `syscall=SYS_EXECVE`/`SYS_EXECVEAT` (or a
///   BPF-LSM `lsm=SECURITY_BPRM_CHECK` alert, or empty); rearview's fork, exit and start-up snapshot
///   records (`snapshot=procfs`) are not executions and no rule concerns them.
/// - `File`, `Network`, `Capabilities` and `Syscall` events are taken as they are.
enum OperationKind: Int32 {
    case execution
    case file
    case network
    case capability
    case syscall

    init?<E: PolicyEventFields>(_ event: E) {
        guard let kind = Self.named(event.operation) else { return nil }
        if kind == .execution {
            let data = event.data
            let isExecution = data.isEmpty || data.hasPrefix("syscall=SYS_EXECVE") || data.containsBytes(of: "BPRM_CHECK")
            guard isExecution, !data.containsBytes(of: "snapshot=") else { return nil }
        }
        self = kind
    }

    /// Whether some event with `Operation` `operation` is an operation a rule can concern (for
    /// `Process`, depending on its `Data`).
    static func mayName(_ operation: String) -> Bool { named(operation) != nil }

    /// The kind `Operation` names, before `Data` tells a `Process` event's execution from the rest.
    private static func named(_ operation: String) -> OperationKind? {
        switch operation {
        case "Process": return .execution
        case "File": return .file
        case "Network": return .network
        case "Capabilities": return .capability
        case "Syscall": return .syscall
        default: return nil
        }
    }
}

/// The socket an event concerns: its type, its IP protocol and whether it is an internet socket, read
/// from the `key=value` words of `Resource` and `Data` in KubeArmor's forms
/// (`domain=AF_INET type=SOCK_STREAM|SOCK_NONBLOCK protocol=0`, `remoteip=… port=… protocol=TCP`,
/// `kprobe=tcp_connect`).
///
/// As the enforcers do, protocol 0 means the type's default (TCP for stream, UDP for datagram
/// sockets). Protocol rules (`tcp`, `udp`, `icmp`, `icmpv6`, `sctp`) concern internet sockets only,
/// as AppArmor's `network tcp` does; type rules (`raw`, `stream`, …) any family. An event naming
/// neither type nor protocol (`sa_family=AF_INET sin_port=…` connects, `AF_UNIX` connects) tells
/// nothing about the socket, and no network rule or posture concerns it: KubeArmor's feeder skips
/// such events too (`protocol == "unknown"`).
struct SocketFacts: Equatable {
    enum SocketType: String, CaseIterable { case stream, dgram, raw, rdm, seqpacket, dccp, packet }
    enum IPProtocol: String, CaseIterable { case tcp, udp, icmp, icmpv6, sctp }

    var type: SocketType?
    var ipProtocol: IPProtocol?

    init?<E: PolicyEventFields>(_ event: E) {
        var words = Words()
        event.resource.utf8.withContiguousBuffer { words.read($0) }
        event.data.utf8.withContiguousBuffer { words.read($0) }
        var type = words.type
        var named = words.named ?? words.number.flatMap(Self.protocolNumbered)
        if named == nil {
            switch type {
            case .stream: named = .tcp
            case .dgram: named = .udp
            default: break
            }
        }
        if type == nil {
            switch named {
            case .tcp: type = .stream
            case .udp: type = .dgram
            default: break
            }
        }
        if words.isInternet == false { named = nil }
        guard type != nil || named != nil else { return nil }
        self.type = type
        self.ipProtocol = named
    }

    /// The `key=value` words that describe a socket, read from bytes without splitting the text.
    private struct Words {
        var type: SocketType?
        var number: Int?
        var named: IPProtocol?
        var isInternet: Bool?

        mutating func read(_ text: UnsafeBufferPointer<UInt8>) {
            var start = 0
            while start < text.count {
                var end = start
                while end < text.count && text[end] != UInt8(ascii: " ") { end += 1 }
                if let equals = text[start..<end].firstIndex(of: UInt8(ascii: "=")) {
                    word(key: UnsafeBufferPointer(rebasing: text[start..<equals]),
                         value: UnsafeBufferPointer(rebasing: text[(equals + 1)..<end]))
                }
                start = end + 1
            }
        }

        private mutating func word(key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
            if key.equals(Self.domain) || key.equals(Self.family) {
                if value.hasPrefix(Self.addressFamilyPrefix) {
                    isInternet = value.equals(Self.inet) || value.equals(Self.inet6)
                }
            } else if key.equals(Self.type) {
                let end = value.firstIndex(of: UInt8(ascii: "|")) ?? value.count
                let first = UnsafeBufferPointer(rebasing: value[..<end])
                if first.hasPrefix(Self.socketPrefix) {
                    type = SocketType(rawValue: String(decoding: first.dropFirst(5), as: UTF8.self).lowercased())
                }
            } else if key.equals(Self.protocolKey) {
                let text = String(decoding: value, as: UTF8.self)
                if let parsed = Int(text) { number = parsed } else { named = SocketFacts.protocolNamed(text) }
            } else if key.equals(Self.kprobe) && value.hasPrefix(Self.tcpPrefix) {
                named = .tcp
            }
        }

        private static let domain = Array("domain".utf8), family = Array("sa_family".utf8), type = Array("type".utf8)
        private static let protocolKey = Array("protocol".utf8), kprobe = Array("kprobe".utf8)
        private static let addressFamilyPrefix = Array("AF_".utf8), inet = Array("AF_INET".utf8)
        private static let inet6 = Array("AF_INET6".utf8), socketPrefix = Array("SOCK_".utf8), tcpPrefix = Array("tcp_".utf8)
    }

    static func protocolNamed(_ name: String) -> IPProtocol? {
        switch name.uppercased() {
        case "TCP": return .tcp
        case "UDP": return .udp
        case "ICMP": return .icmp
        case "IPV6-ICMP", "ICMPV6": return .icmpv6
        case "SCTP": return .sctp
        default: return nil
        }
    }

    private static func protocolNumbered(_ number: Int) -> IPProtocol? {
        switch number {
        case 6: return .tcp
        case 17: return .udp
        case 1: return .icmp
        case 58: return .icmpv6
        case 132: return .sctp
        default: return nil
        }
    }
}

/// What a `matchProtocols` rule names, compiled from its `protocol` text.
enum ProtocolSelector: Sendable, Equatable {
    case ipProtocol(SocketFacts.IPProtocol)
    case socketType(SocketFacts.SocketType)
    /// `all`: every socket type.
    case any
    /// A value no socket has (an unsplit `tcp,udp`, or a text that only ends like a protocol).
    case none

    init(_ text: String) {
        let lower = text.lowercased()
        if lower == "all" {
            self = .any
        } else if let ipProtocol = SocketFacts.IPProtocol(rawValue: lower) {
            self = .ipProtocol(ipProtocol)
        } else if let type = SocketFacts.SocketType(rawValue: lower) {
            self = .socketType(type)
        } else {
            self = .none
        }
    }
}
