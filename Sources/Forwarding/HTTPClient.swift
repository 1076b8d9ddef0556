import Foundation

/// A response of an HTTP collector: status code and body.
struct HTTPResponse {
    var status: Int
    var body: [UInt8]

    var bodyText: String { String(decoding: body.prefix(512), as: UTF8.self) }
}

/// A minimal HTTP/1.1 client for one collector: POST with Content-Length over a kept-alive stream;
/// reads the status line, the headers, and a Content-Length, chunked or close-delimited body.
final class HTTPClient {
    private let stream: any ByteStream
    private let hostHeader: String
    private var buffer: [UInt8] = []
    private var start = 0
    /// False once the server asked to close or the body ran to the end of the connection.
    private(set) var reusable = true

    init(stream: any ByteStream, host: String, port: Int) {
        self.stream = stream
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
        return try readResponse()
    }

    private func readResponse() throws(ForwardError) -> HTTPResponse {
        var status = 0
        repeat {
            // 1xx responses (100 Continue) precede the real one.
            let statusLine = try line()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
                throw .transient("bad HTTP status line: \(statusLine.prefix(80))")
            }
            status = code
            var length: Int?
            var chunked = false
            while true {
                let header = try line()
                if header.isEmpty { break }
                guard let colon = header.firstIndex(of: ":") else { continue }
                let name = header[..<colon].lowercased()
                let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch name {
                case "content-length": length = Int(value)
                case "transfer-encoding": chunked = value.lowercased().contains("chunked")
                case "connection": if value.lowercased() == "close" { reusable = false }
                default: break
                }
            }
            if status < 200 { continue }
            var body: [UInt8] = []
            if chunked {
                while true {
                    let sizeLine = try line()
                    guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                        throw .transient("bad chunk size in the HTTP response")
                    }
                    if size == 0 {
                        while try !line().isEmpty {}
                        break
                    }
                    body += try bytes(size)
                    _ = try line()
                }
            } else if let length {
                body = try bytes(length)
            } else {
                reusable = false
                while try fill() {}
                body = Array(buffer[start...])
                start = buffer.count
            }
            return HTTPResponse(status: status, body: body)
        } while true
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    private func fill() throws(ForwardError) -> Bool {
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
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                var end = newline
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                let text = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return text
            }
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
