import Foundation

/// A response of an HTTP collector: status code and body.
struct HTTPResponse {
    var status: Int
    var body: [UInt8]

    /// The start of the body for messages, with control characters shown as `?` (it is the server's text).
    var bodyText: String {
        var text = ""
        for scalar in String(decoding: body.prefix(200), as: UTF8.self).unicodeScalars {
            text.unicodeScalars.append(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? "?" : scalar)
        }
        return text
    }
}

/// A minimal HTTP/1.1 client for one collector: POST with Content-Length over a kept-alive stream;
/// reads the status line, the headers, and a Content-Length, chunked or close-delimited body.
///
/// The server is not trusted: a response is refused (a transient failure: reconnect and resend) when
/// a line is longer than ``maxLineBytes``, there are more than ``maxHeaderLines`` header or trailer
/// lines or ``maxInterimResponses`` 1xx responses, a Content-Length or chunk size is not a plain
/// non-negative number, the body is larger than ``maxBodyBytes``, or the whole response takes longer
/// than the response timeout.
final class HTTPClient {
    /// The longest status, header, chunk-size or trailer line.
    static let maxLineBytes = 8 << 10
    /// Header lines per response (trailers count too).
    static let maxHeaderLines = 100
    /// 1xx responses before the final one.
    static let maxInterimResponses = 8
    /// The largest body, however it is framed (a collector's answer is a few KiB).
    static let maxBodyBytes = 1 << 20

    private let stream: any ByteStream
    private let hostHeader: String
    private let responseTimeout: Double
    private var buffer: [UInt8] = []
    private var start = 0
    private var deadline = 0.0
    /// False once the server asked to close or the body ran to the end of the connection.
    private(set) var reusable = true

    /// A client on `stream` that waits at most `responseTimeout` seconds for a whole response.
    init(stream: any ByteStream, host: String, port: Int, responseTimeout: Double = 60) {
        self.stream = stream
        self.responseTimeout = responseTimeout
        let shownHost = host.contains(":") ? "[\(host)]" : host
        hostHeader = port == 443 ? shownHost : "\(shownHost):\(port)"
    }

    /// Sends `POST path` with `body` and returns the response.
    func post(_ path: String, headers: [(String, String)], body: [UInt8]) throws(ForwardError) -> HTTPResponse {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: rearview\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        var request = Array(head.utf8)
        request += body
        try stream.write(request)
        deadline = monotonicSeconds() + responseTimeout
        return try readResponse()
    }

    private static func refused(_ why: String) -> ForwardError { .transient("bad HTTP response: \(why)") }

    private func readResponse() throws(ForwardError) -> HTTPResponse {
        for _ in 0...Self.maxInterimResponses {
            let statusLine = try line()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Self.decimal(parts[1]) else {
                throw Self.refused("status line \"\(statusLine.prefix(80))\"")
            }
            var length: Int?
            var chunked = false
            try headerLines { (name, value) throws(ForwardError) in
                switch name {
                case "content-length":
                    guard let given = Self.decimal(value), length == nil || length == given else {
                        throw Self.refused("Content-Length \"\(value.prefix(40))\"")
                    }
                    length = given
                case "transfer-encoding": chunked = value.lowercased().contains("chunked")
                case "connection": if value.lowercased() == "close" { reusable = false }
                default: break
                }
            }
            // 1xx responses (100 Continue) precede the real one.
            if status < 200 { continue }
            let body: [UInt8]
            if chunked {
                body = try chunkedBody()
            } else if let length {
                guard length <= Self.maxBodyBytes else { throw Self.refused("a body of \(length) bytes (the limit is \(Self.maxBodyBytes))") }
                body = try bytes(length)
            } else {
                reusable = false
                while try fill() {
                    guard buffer.count - start <= Self.maxBodyBytes else { throw Self.refused("a body over \(Self.maxBodyBytes) bytes") }
                }
                body = Array(buffer[start...])
                start = buffer.count
            }
            return HTTPResponse(status: status, body: body)
        }
        throw Self.refused("more than \(Self.maxInterimResponses) interim (1xx) responses")
    }

    /// Reads header (or trailer) lines up to the empty line, handing each `name` (lowercased) and value.
    private func headerLines(_ body: (String, String) throws(ForwardError) -> Void) throws(ForwardError) {
        for _ in 0...Self.maxHeaderLines {
            let header = try line()
            if header.isEmpty { return }
            guard let colon = header.firstIndex(of: ":") else { continue }
            try body(header[..<colon].lowercased(), header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        throw Self.refused("more than \(Self.maxHeaderLines) header lines")
    }

    private func chunkedBody() throws(ForwardError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try line()
            let digits = (sizeLine.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces)
            guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy(\.isHexDigit), let size = Int(digits, radix: 16) else {
                throw Self.refused("chunk size \"\(sizeLine.prefix(40))\"")
            }
            if size == 0 {
                try headerLines { _, _ in }
                return body
            }
            guard body.count + size <= Self.maxBodyBytes else {
                throw Self.refused("a chunked body over \(Self.maxBodyBytes) bytes")
            }
            body += try bytes(size)
            guard try line().isEmpty else { throw Self.refused("no line end after a chunk") }
        }
    }

    /// A plain non-negative decimal number (no sign, no spaces), as Content-Length and status codes are.
    private static func decimal(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    private func fill() throws(ForwardError) -> Bool {
        guard monotonicSeconds() < deadline else {
            throw .transient("the HTTP server did not answer within \(Int(responseTimeout)) s")
        }
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        let chunk = try stream.read(atMost: 16384)
        guard !chunk.isEmpty else { return false }
        buffer += chunk
        return true
    }

    private func line() throws(ForwardError) -> String {
        var searched = 0
        while true {
            if let newline = buffer[(start + searched)...].firstIndex(of: 10) {
                var end = newline
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                guard end - start <= Self.maxLineBytes else { throw Self.refused("a line over \(Self.maxLineBytes) bytes") }
                let text = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return text
            }
            guard buffer.count - start <= Self.maxLineBytes else { throw Self.refused("a line over \(Self.maxLineBytes) bytes") }
            searched = buffer.count - start
            guard try fill() else { throw .transient("the HTTP server closed the connection mid-response") }
        }
    }

    private func bytes(_ count: Int) throws(ForwardError) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw .transient("the HTTP server closed the connection mid-body") }
        }
        defer { start += count }
        return Array(buffer[start..<start + count])
    }

    func close() { stream.close() }
}
