@testable import Forwarding
import Foundation
import Glibc
import Testing

/// HTTP collectors that fight back or lie, over a real socket to a local server: responses that
/// once crashed the client or made it buffer without end are refused, and a batch counts as delivered
/// only when the collector acknowledges it in its own terms.
@Suite struct HostileCollectorTests {
    /// The client connected to `server`, with a short response timeout.
    static func client(_ server: LocalHTTPServer, responseTimeout: Double = 10) throws -> HTTPClient {
        HTTPClient(stream: try NetworkSocket(host: "127.0.0.1", port: server.port, datagram: false, timeout: 5),
                   host: "127.0.0.1", port: server.port, responseTimeout: responseTimeout)
    }

    /// The failure of one POST to a server answering with `answer`, and how long it took.
    static func failure(responseTimeout: Double = 10, _ answer: @escaping @Sendable (Int32) -> Void) throws -> (ForwardError?, Duration) {
        let server = try LocalHTTPServer(answer: answer)
        defer { server.stop() }
        let client = try client(server, responseTimeout: responseTimeout)
        defer { client.close() }
        let started = ContinuousClock.now
        do throws(ForwardError) {
            _ = try client.post("/services/collector/event", headers: [], body: Array("{}".utf8))
            return (nil, ContinuousClock.now - started)
        } catch {
            return (error, ContinuousClock.now - started)
        }
    }

    /// Sends `text` and then, while the client listens, `forever` again and again.
    static func endless(_ text: String, then forever: String) -> @Sendable (Int32) -> Void {
        { fd in
            guard LocalHTTPServer.send(fd, text) else { return }
            let block = String(repeating: forever, count: max(1, 65536 / max(1, forever.utf8.count)))
            while LocalHTTPServer.send(fd, block) {}
        }
    }

    @Test(arguments: [
        ("Content-Length: -1", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "Content-Length \"-1\""),
        ("Content-Length: +2", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}", "Content-Length \"+2\""),
        ("two Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "Content-Length \"3\""),
        ("a huge Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n{}", "a body of 99999999999999 bytes"),
        ("a negative chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n{}\r\n0\r\n\r\n", "chunk size \"-1\""),
        ("an overflowing chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", "chunk size \"ffffffffffffffff\""),
        ("a bad status line", "HTTP/1.1 -200 OK\r\nContent-Length: 2\r\n\r\n{}", "status line"),
    ])
    func malformedFramingIsRefusedNotTrusted(what: String, response: String, expected: String) throws {
        let (error, _) = try Self.failure { fd in LocalHTTPServer.send(fd, response) }
        let failure = try #require(error, "\(what) must be refused")
        #expect(failure.retryable && failure.message.contains(expected), "\(what): \(failure.message)")
    }

    @Test func aHugeChunkIsRefusedBeforeItIsRead() throws {
        // 1 GiB announced, then zeros for as long as the client reads.
        let (error, elapsed) = try Self.failure(Self.endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40000000\r\n", then: "0"))
        #expect(error?.message == "bad HTTP response: a chunked body over 1048576 bytes")
        #expect(elapsed < .seconds(5))
    }

    @Test func chunksThatAddUpPastTheLimitAreRefused() throws {
        let chunk = "80000\r\n" + String(repeating: "x", count: 0x80000) + "\r\n"
        let (error, _) = try Self.failure(Self.endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", then: chunk))
        #expect(error?.message == "bad HTTP response: a chunked body over 1048576 bytes")
    }

    @Test func endlessLinesHeadersBodiesAndInterimResponsesAreCut() throws {
        let cases: [(String, @Sendable (Int32) -> Void, String)] = [
            ("a header line without end", Self.endless("HTTP/1.1 200 OK\r\nX-Long: ", then: "a"), "a line over 8192 bytes"),
            ("headers without end", Self.endless("HTTP/1.1 200 OK\r\n", then: "X-More: 1\r\n"), "more than 100 header lines"),
            ("1xx responses without end", Self.endless("", then: "HTTP/1.1 100 Continue\r\n\r\n"), "more than 8 interim (1xx) responses"),
            ("a close-delimited body without end", Self.endless("HTTP/1.1 200 OK\r\n\r\n", then: "{}"), "a body over 1048576 bytes"),
            ("trailers without end", Self.endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", then: "X-Trailer: 1\r\n"),
             "more than 100 header lines"),
        ]
        for (what, answer, expected) in cases {
            let (error, elapsed) = try Self.failure(answer)
            #expect(error?.message == "bad HTTP response: \(expected)", "\(what): \(String(describing: error))")
            #expect(elapsed < .seconds(5), "\(what): \(elapsed)")
        }
    }

    @Test func aServerThatTricklesIsGivenUpOn() throws {
        let (error, elapsed) = try Self.failure(responseTimeout: 1) { fd in
            for byte in "HTTP/1.1 200 OK\r\nX-Slow: ".utf8 + Array(repeating: UInt8(ascii: "z"), count: 1000) {
                guard LocalHTTPServer.send(fd, [byte]) else { return }
                usleep(100_000)
            }
        }
        #expect(error?.message == "the HTTP server did not answer within 1 s")
        #expect(elapsed < .seconds(3))
    }

    @Test func aWellFormedResponseStillReads() throws {
        let server = try LocalHTTPServer { fd in
            LocalHTTPServer.send(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n")
        }
        defer { server.stop() }
        let client = try Self.client(server)
        let response = try client.post("/x", headers: [("X-Test", "1")], body: Array("{}".utf8))
        #expect(response.status == 200 && response.body == Array("hello!".utf8))
        #expect(server.requests.first?.hasPrefix("POST /x HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n") == true)
    }

    // MARK: acknowledgement

    /// A batch of `count` `_bulk` records with Seq 1…count, ids `s-<Seq>`.
    static func bulkBatch(_ count: Int) -> RecordBatch {
        var batch = RecordBatch()
        for seq in 1...count { _ = RecordFraming.bulkCreate(index: "i", idPrefix: "s").append(Array("{}".utf8), seq: UInt64(seq), to: &batch) }
        return batch
    }

    static func hecBatch() -> RecordBatch {
        var batch = RecordBatch()
        _ = RecordFraming.hecEvents.append(Array(#"{"event":{}}"#.utf8), seq: 7, to: &batch)
        return batch
    }

    /// What sending `batch` to a collector answering `response` gives: the error, and the Seq it then confirms.
    static func deliver(_ batch: RecordBatch, kind: HTTPCollectorConnection.Collector, answering response: String) throws -> (ForwardError?, UInt64?) {
        let server = try LocalHTTPServer { fd in LocalHTTPServer.send(fd, response) }
        defer { server.stop() }
        let connection = HTTPCollectorConnection(client: try client(server), path: "/p", authorization: nil, kind: kind)
        defer { connection.close() }
        var error: ForwardError?
        do throws(ForwardError) { try connection.send(batch) } catch let failure { error = failure }
        return (error, try connection.confirmed(waitingForAll: true))
    }

    @Test func aProxysHTMLPageWithStatus200IsNotADelivery() throws {
        let page = LocalHTTPServer.response("200 OK", contentType: "text/html", "<html><body>Please log in\u{1b}[2J</body></html>")
        for kind in [HTTPCollectorConnection.Collector.hec, .bulk(idPrefix: "s")] {
            let (error, confirmed) = try Self.deliver(kind == .hec ? Self.hecBatch() : Self.bulkBatch(2), kind: kind, answering: page)
            #expect(confirmed == nil, "nothing is confirmed")
            #expect(error?.retryable == true && error?.message.contains("<html><body>Please log in?[2J") == true, "\(String(describing: error))")
        }
    }

    @Test func splunkHECMustAnswerCodeZero() throws {
        let ok = try Self.deliver(Self.hecBatch(), kind: .hec, answering: LocalHTTPServer.response("200 OK", #"{"text":"Success","code":0}"#))
        #expect(ok.0 == nil && ok.1 == 7)
        let invalid = try Self.deliver(Self.hecBatch(), kind: .hec, answering: LocalHTTPServer.response("200 OK", #"{"text":"Invalid data format","code":6}"#))
        #expect(invalid.1 == nil)
        #expect(invalid.0?.retryable == false && invalid.0?.message == "the collector refused the batch: Splunk HEC answered code 6 (Invalid data format)")
        let busy = try Self.deliver(Self.hecBatch(), kind: .hec, answering: LocalHTTPServer.response("200 OK", #"{"text":"Server is busy","code":9}"#))
        #expect(busy.1 == nil && busy.0?.retryable == true)
        for body in [#"{"text":"Success"}"#, #"{"code":false}"#, #"{"code":"0"}"#, "[]", ""] {
            let odd = try Self.deliver(Self.hecBatch(), kind: .hec, answering: LocalHTTPServer.response("200 OK", body))
            #expect(odd.1 == nil && odd.0?.retryable == true, "\(body)")
        }
    }

    @Test func bulkMustAnswerForEveryDocumentInItsPlace() throws {
        let created = #"{"create":{"_id":"s-1","status":201}},{"create":{"_id":"s-2","status":201}}"#
        let cases: [(String, String)] = [
            (#"{"took":1,"items":[\#(created)]}"#, "boolean \"errors\""),
            (#"{"took":1,"errors":"false","items":[\#(created)]}"#, "boolean \"errors\""),
            (#"{"took":1,"errors":false,"items":[{"create":{"_id":"s-1","status":201}}]}"#, "1 items for 2 documents"),
            (#"{"took":1,"errors":false,"items":[\#(created),\#(created)]}"#, "4 items for 2 documents"),
            (#"{"took":1,"errors":false,"items":[{"create":{"_id":"s-2","status":201}},{"create":{"_id":"s-1","status":201}}]}"#, "document s-1 in its place"),
            (#"{"took":1,"errors":false,"items":[{"index":{"_id":"s-1","status":201}},{"create":{"_id":"s-2","status":201}}]}"#, "document s-1 in its place"),
            (#"{"took":1,"errors":false,"items":[{"create":{"_id":"s-1","status":201}},{"create":{"_id":"s-2","status":503}}]}"#, "item status 503"),
        ]
        for (body, expected) in cases {
            let (error, confirmed) = try Self.deliver(Self.bulkBatch(2), kind: .bulk(idPrefix: "s"), answering: LocalHTTPServer.response("200 OK", body))
            #expect(confirmed == nil, "\(body)")
            #expect(error?.retryable == true && error?.message.contains(expected) == true, "\(body): \(String(describing: error))")
        }
        // `errors: false` does not hide an item the index refused.
        let refused = #"{"errors":false,"items":[{"create":{"_id":"s-1","status":201}},{"create":{"_id":"s-2","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}"#
        let (error, confirmed) = try Self.deliver(Self.bulkBatch(2), kind: .bulk(idPrefix: "s"), answering: LocalHTTPServer.response("200 OK", refused))
        #expect(confirmed == nil && error?.retryable == false)
        #expect(error?.message == "_bulk refused document s-2: status 400 mapper_parsing_exception: bad")

        let resent = #"{"errors":true,"items":[{"create":{"_id":"s-1","status":409,"error":{"type":"version_conflict_engine_exception"}}},{"create":{"_id":"s-2","status":201}}]}"#
        let server = try LocalHTTPServer { fd in LocalHTTPServer.send(fd, LocalHTTPServer.response("200 OK", resent)) }
        defer { server.stop() }
        let connection = HTTPCollectorConnection(client: try Self.client(server), path: "/p", authorization: nil, kind: .bulk(idPrefix: "s"))
        try connection.send(Self.bulkBatch(2))
        #expect(try connection.confirmed(waitingForAll: true) == 2 && connection.alreadyPresent == 1)
    }
}
