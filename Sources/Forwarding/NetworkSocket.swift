import Foundation
import Glibc

/// A byte stream to a receiver (plain TCP or TLS over TCP), with what the kernel knows about delivery.
protocol ByteStream: AnyObject {
    /// Writes all of `bytes` (blocking, bounded by the send timeout).
    func write(_ bytes: UnsafeRawBufferPointer) throws(ForwardError)
    /// Reads what is available into `buffer`, waiting up to the receive timeout; 0 when the peer closed.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ForwardError) -> Int
    /// Bytes put on the wire since the connection opened (TLS: record bytes, handshake included).
    var wireBytesWritten: UInt64 { get }
    /// Bytes written but not yet acknowledged by the peer's TCP (Linux SIOCOUTQ), nil if unknown.
    func unacknowledgedBytes() -> Int?
    /// Whether the peer closed or reset the connection (it sends nothing otherwise, so any hang-up counts).
    func peerHasClosed() -> Bool
    func close()
}

extension ByteStream {
    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws(ForwardError) {
        var result: Result<Void, ForwardError> = .success(())
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(ForwardError) in try write(raw) }
        }
        try result.get()
    }

    /// Reads what is available (at most `limit` bytes); empty when the peer closed.
    func read(atMost limit: Int) throws(ForwardError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: limit)
        var result: Result<Int, ForwardError> = .success(0)
        chunk.withUnsafeMutableBytes { raw in
            result = Result { () throws(ForwardError) in try read(into: raw) }
        }
        chunk.removeSubrange(try result.get()...)
        return chunk
    }
}

/// A connected TCP or UDP socket (Glibc `socket`, `connect`, `send`, `recv`), closed on deinit.
final class NetworkSocket: ByteStream {
    let fd: Int32
    let peer: String
    private(set) var wireBytesWritten: UInt64 = 0

    /// Resolves `host` (getaddrinfo) and connects to the first address that answers within `timeout` seconds.
    init(host: String, port: Int, datagram: Bool, timeout: Double) throws(ForwardError) {
        peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = datagram ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw .transient("\(peer): cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = Self.errorText(errno); continue }
            if Self.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: timeout, error: &lastError) {
                self.fd = fd
                if !datagram {
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                setTimeouts(seconds: max(timeout, 30))
                return
            }
            Glibc.close(fd)
        }
        throw .transient("\(peer): cannot connect: \(lastError)")
    }

    /// Non-blocking connect, then poll for writability up to `timeout`.
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t,
                                timeout: Double, error: inout String) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return true }
        guard errno == EINPROGRESS else { error = errorText(errno); return false }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&entry, 1, Int32(timeout * 1000))
        guard ready > 0 else { error = ready == 0 ? "timed out after \(timeout) s" : errorText(errno); return false }
        var code: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
        guard code == 0 else { error = errorText(code); return false }
        return true
    }

    private func setTimeouts(seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ForwardError) {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw .transient("\(peer): send failed: \(errno == EAGAIN ? "timed out" : Self.errorText(errno))")
            }
            offset += n
            wireBytesWritten += UInt64(n)
        }
    }

    /// Sends one datagram.
    func sendDatagram(_ bytes: ArraySlice<UInt8>) throws(ForwardError) {
        while true {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n >= 0 { wireBytesWritten += UInt64(n); return }
            if errno == EINTR { continue }
            // ECONNREFUSED: an ICMP port-unreachable for an earlier datagram; UDP keeps no state, go on.
            if errno == ECONNREFUSED { continue }
            throw .transient("\(peer): send failed: \(Self.errorText(errno))")
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ForwardError) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .transient("\(peer): receive failed: \(errno == EAGAIN ? "timed out" : Self.errorText(errno))")
        }
    }

    func unacknowledgedBytes() -> Int? {
        var queued: Int32 = 0
        // SIOCOUTQ (= TIOCOUTQ on Linux): bytes in the send queue not yet acknowledged by the peer.
        return ioctl(fd, UInt(TIOCOUTQ), &queued) == 0 ? Int(queued) : nil
    }

    func peerHasClosed() -> Bool {
        // POLLRDHUP (0x2000): the peer shut down its side; a syslog receiver never sends otherwise.
        var entry = pollfd(fd: fd, events: Int16(POLLIN) | 0x2000, revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        return entry.revents & (0x2000 | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    deinit { Glibc.close(fd) }
}
