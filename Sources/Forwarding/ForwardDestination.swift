import Foundation

/// Where `rearview forward` delivers records: a syslog receiver or an HTTPS collector, from `--to URL`.
public struct ForwardDestination: Hashable, Sendable, CustomStringConvertible {
    /// How records travel to the receiver.
    public enum Transport: String, Hashable, Sendable {
        case syslogTCP = "syslog+tcp", syslogUDP = "syslog+udp", syslogTLS = "syslog+tls", https
    }

    public let transport: Transport
    public let host: String
    public let port: Int
    /// The request path for `https` (e.g. /services/collector/event or /_bulk); empty for syslog.
    public let path: String

    /// Parses `syslog+tcp://host:port`, `syslog+udp://…`, `syslog+tls://…` or `https://host[:port]/path`;
    /// syslog ports default to 514 (6514 for TLS), https to 443.
    public init(parsing url: String) throws(ForwardDestinationError) {
        guard let schemeEnd = url.range(of: "://") else { throw .init(url: url, reason: "expected scheme://host:port") }
        let scheme = String(url[..<schemeEnd.lowerBound]).lowercased()
        guard let transport = Transport(rawValue: scheme) else {
            throw .init(url: url, reason: "unknown scheme '\(scheme)' (syslog+tcp, syslog+udp, syslog+tls, https)")
        }
        var rest = url[schemeEnd.upperBound...]
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if transport != .https, !path.isEmpty, path != "/" { throw .init(url: url, reason: "a syslog destination has no path") }
        var host = String(rest)
        var port: Int
        switch transport {
        case .syslogTCP, .syslogUDP: port = 514
        case .syslogTLS: port = 6514
        case .https: port = 443
        }
        if host.hasPrefix("[") {
            // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else { throw .init(url: url, reason: "unclosed '[' in the host") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw .init(url: url, reason: "bad port") }
                port = p
            } else if !after.isEmpty {
                throw .init(url: url, reason: "unexpected text after the IPv6 address")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw .init(url: url, reason: "bad port")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw .init(url: url, reason: "no host") }
        self.transport = transport
        self.host = host
        self.port = port
        self.path = transport == .https ? (path.isEmpty ? "/" : path) : ""
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(transport.rawValue)://\(shownHost):\(port)\(path)"
    }
}

/// A `--to` URL that does not name a destination rearview can deliver to.
public struct ForwardDestinationError: Error, CustomStringConvertible {
    public let url: String
    public let reason: String
    public var description: String { "--to \(url): \(reason)" }
}
