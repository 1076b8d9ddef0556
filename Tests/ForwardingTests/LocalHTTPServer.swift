import Foundation
import Glibc

/// A plain-TCP HTTP server on 127.0.0.1 that answers each request with whatever `answer` writes:
/// well-formed, malformed or endless. It reads the request (headers and Content-Length body) first,
/// records it, then hands the connection's descriptor to `answer`, which writes with ``send(_:_:)``.
final class LocalHTTPServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private let done = DispatchSemaphore(value: 0)
    private var stopped = false

    /// The requests read so far (head and body as text).
    var requests: [String] { lock.withLock { received } }

    init(answer: @escaping @Sendable (Int32) -> Void) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 8) == 0 else {
            close(listener)
            throw CocoaError(.featureUnsupported, userInfo: ["listen": String(cString: strerror(errno))])
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { break }
                if let request = Self.readRequest(connection) {
                    lock.withLock { received.append(request) }
                    answer(connection)
                }
                close(connection)
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops accepting and waits for the serving thread.
    func stop() {
        guard lock.withLock({ () -> Bool in
            defer { stopped = true }
            return !stopped
        }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        _ = done.wait(timeout: .now() + 10)
        close(listener)
    }

    deinit { stop() }

    /// Writes `text` (or bytes) on `fd`; false once the client has gone.
    @discardableResult
    static func send(_ fd: Int32, _ text: String) -> Bool { send(fd, Array(text.utf8)) }

    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// An HTTP/1.1 response with a Content-Length body.
    static func response(_ status: String, contentType: String = "application/json", _ body: String) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// The request head and Content-Length body, or nil when the client went away first.
    private static func readRequest(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func more() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            bytes += chunk[..<n]
            return true
        }
        var headEnd: Int?
        while headEnd == nil {
            guard more() else { return nil }
            headEnd = bytes.indices.dropLast(3).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
        }
        let head = String(decoding: bytes[..<headEnd!], as: UTF8.self)
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while bytes.count < headEnd! + 4 + length {
            guard more() else { return nil }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
