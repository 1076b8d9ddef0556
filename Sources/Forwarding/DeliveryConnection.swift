import Foundation
import Glibc

/// One open connection to a receiver: sends batches and says up to which record the receiver holds them.
protocol DeliveryConnection: AnyObject {
    /// Sends `batch`; request/response transports return once the receiver accepted it.
    func send(_ batch: RecordBatch) throws(ForwardError)
    /// The Seq up to which every sent record counts as delivered (by the transport's rule; see the
    /// types), or nil when that has not moved. With `waitingForAll`, waits until all sent records do.
    func confirmed(waitingForAll: Bool) throws(ForwardError) -> UInt64?
    /// The shortest time between two checkpoint writes (0: after every confirmed batch).
    var checkpointInterval: Double { get }
    /// Records the receiver reported it already held (Elastic `create` of an existing `_id`).
    var alreadyPresent: Int { get }
    /// False when the receiver asked to close the connection after the last response.
    var isReusable: Bool { get }
    func close()
}

extension DeliveryConnection {
    var alreadyPresent: Int { 0 }
    var isReusable: Bool { true }
}

/// Monotonic seconds (CLOCK_MONOTONIC), for deadlines and holds that wall-clock changes must not move.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Syslog over TCP or TLS (RFC 6587 octet counting). Syslog has no application acknowledgement, so
/// a batch counts as delivered when (1) the receiver's TCP acknowledged every byte of it (SIOCOUTQ:
/// the unacknowledged part of the send queue no longer reaches into it), (2) then `hold` seconds
/// passed, and (3) the connection is still up. A receiver that dies within `hold` of acknowledging
/// bytes it never wrote (killed with its queue in memory) makes those records count as undelivered,
/// and they are sent again after reconnecting: at-least-once, duplicates carry the same `seq`.
final class SyslogStreamConnection: DeliveryConnection {
    private struct InFlight {
        var wireEnd: UInt64
        var lastSeq: UInt64
        var acknowledgedAt: Double?
    }

    private let stream: any ByteStream
    private let hold: Double
    private let ackTimeout: Double
    private var inFlight: [InFlight] = []
    private var first = 0
    let checkpointInterval = 0.25

    init(stream: any ByteStream, hold: Double, ackTimeout: Double) {
        self.stream = stream
        self.hold = hold
        self.ackTimeout = ackTimeout
    }

    func send(_ batch: RecordBatch) throws(ForwardError) {
        if stream.peerHasClosed() { throw .transient("the receiver closed the connection") }
        try stream.write(batch.payload)
        inFlight.append(InFlight(wireEnd: stream.wireBytesWritten, lastSeq: batch.lastSeq))
    }

    func confirmed(waitingForAll: Bool) throws(ForwardError) -> UInt64? {
        guard first < inFlight.count else { return nil }
        var now = monotonicSeconds()
        try markAcknowledged(now: now)
        if waitingForAll {
            let deadline = now + ackTimeout
            while inFlight.last!.acknowledgedAt == nil {
                guard monotonicSeconds() < deadline else {
                    throw .transient("the receiver did not acknowledge \(stream.unacknowledgedBytes() ?? 0) bytes within \(Int(ackTimeout)) s")
                }
                usleep(2000)
                try markAcknowledged(now: monotonicSeconds())
            }
            let due = inFlight.last!.acknowledgedAt! + hold
            while monotonicSeconds() < due {
                usleep(UInt32(min(due - monotonicSeconds(), 0.05) * 1e6) + 1)
                if stream.peerHasClosed() { throw .transient("the receiver closed the connection") }
            }
            now = monotonicSeconds()
        }
        if stream.peerHasClosed() { throw .transient("the receiver closed the connection") }
        var seq: UInt64?
        while first < inFlight.count, let at = inFlight[first].acknowledgedAt, at + hold <= now {
            seq = inFlight[first].lastSeq
            first += 1
        }
        if first > 1024 && first * 2 > inFlight.count {
            inFlight.removeFirst(first)
            first = 0
        }
        return seq
    }

    /// Stamps the batches whose last byte the peer's TCP has acknowledged.
    private func markAcknowledged(now: Double) throws(ForwardError) {
        if stream.peerHasClosed() { throw .transient("the receiver closed the connection") }
        guard let queued = stream.unacknowledgedBytes() else { return }
        let acknowledged = stream.wireBytesWritten - UInt64(queued)
        var n = first
        while n < inFlight.count && inFlight[n].wireEnd <= acknowledged {
            if inFlight[n].acknowledgedAt == nil { inFlight[n].acknowledgedAt = now }
            n += 1
        }
    }

    func close() { stream.close() }
}

/// Syslog over UDP: one datagram per record, fire-and-forget. A sent record counts as delivered
/// (nothing tells otherwise), so the checkpoint advances as records are sent.
final class SyslogDatagramConnection: DeliveryConnection {
    private let socket: NetworkSocket
    private var lastSent: UInt64?
    let checkpointInterval = 0.25

    init(socket: NetworkSocket) { self.socket = socket }

    func send(_ batch: RecordBatch) throws(ForwardError) {
        for n in 0..<batch.records {
            try socket.sendDatagram(batch.record(n))
        }
        lastSent = batch.lastSeq
    }

    func confirmed(waitingForAll: Bool) throws(ForwardError) -> UInt64? {
        defer { lastSent = nil }
        return lastSent
    }

    func close() { socket.close() }
}

/// An HTTP collector (Splunk HEC or Elastic `_bulk`). A batch is delivered only when the response
/// says so in the collector's own terms, so that a proxy's or captive portal's page with status 200
/// does not count: Splunk HEC must answer 2xx with a JSON object whose `code` is 0; `_bulk` must
/// answer 2xx with a JSON object holding a boolean `errors` and one item per record, in order, each
/// naming the record's `_id` with status 2xx, or 409 (`create` of an `_id` the index holds: already
/// delivered). Item statuses decide, whatever `errors` says: 429 and 5xx resend the batch, any other
/// failure stops `forward`.
final class HTTPCollectorConnection: DeliveryConnection {
    /// How the collector answers; `_bulk` ids are `<idPrefix>-<Seq>`.
    enum Collector: Equatable { case hec, bulk(idPrefix: String) }

    private let client: HTTPClient
    private let path: String
    private let headers: [(String, String)]
    private let kind: Collector
    private var accepted: UInt64?
    /// `_bulk` items the index already held (a batch sent again after a lost response).
    private(set) var alreadyPresent = 0
    let checkpointInterval = 0.0

    init(client: HTTPClient, path: String, authorization: String?, kind: Collector) {
        self.client = client
        self.path = path
        self.kind = kind
        var contentType = "application/json"
        if case .bulk = kind { contentType = "application/x-ndjson" }
        var headers = [("Content-Type", contentType)]
        if let authorization { headers.append(("Authorization", authorization)) }
        self.headers = headers
    }

    var isReusable: Bool { client.reusable }

    func send(_ batch: RecordBatch) throws(ForwardError) {
        let response = try client.post(path, headers: headers, body: batch.payload)
        switch response.status {
        case 200..<300:
            switch kind {
            case .hec: try Self.checkHECAcknowledgement(response)
            case .bulk(let idPrefix):
                alreadyPresent += try Self.checkBulkItems(response.body, ids: batch.seqs.map { JSONText.idText(idPrefix, $0) })
            }
            accepted = batch.lastSeq
        case 408, 429, 500..<600:
            throw .transient("HTTP \(response.status) from the collector: \(response.bodyText)")
        default:
            throw ForwardError(.delivery, "the collector refused the batch: HTTP \(response.status): \(response.bodyText)")
        }
    }

    /// Splunk HEC's answer: `{"text":"Success","code":0}`.
    private struct HECAnswer: Decodable {
        var code: Int
        var text: String?
    }

    /// HEC codes that mean "busy or unhealthy, try again" (internal error, server busy, queues full,
    /// acknowledgement service unavailable); every other non-zero code refuses the batch for good.
    static let retryableHECCodes: Set<Int> = [8, 9, 18, 19, 20]

    /// Checks that a 2xx response is Splunk HEC's success (`code` 0).
    static func checkHECAcknowledgement(_ response: HTTPResponse) throws(ForwardError) {
        guard let answer = try? JSONDecoder().decode(HECAnswer.self, from: Data(response.body)) else {
            throw .transient("HTTP \(response.status) without Splunk HEC's acknowledgement (a JSON object with \"code\"): \(response.bodyText)")
        }
        guard answer.code != 0 else { return }
        let message = "Splunk HEC answered code \(answer.code)\(answer.text.map { " (\($0))" } ?? "")"
        if retryableHECCodes.contains(answer.code) { throw .transient(message) }
        throw ForwardError(.delivery, "the collector refused the batch: \(message)")
    }

    /// An Elastic `_bulk` response, as far as acknowledging needs it.
    private struct BulkAnswer: Decodable {
        var errors: Bool
        var items: [[String: BulkItem]]
    }

    private struct BulkItem: Decodable {
        var id: String?
        var status: Int
        var errorType: String?
        var errorReason: String?

        private enum Keys: String, CodingKey { case _id, status, error }
        private enum ErrorKeys: String, CodingKey { case type, reason }

        init(from decoder: any Decoder) throws {
            let item = try decoder.container(keyedBy: Keys.self)
            id = try item.decodeIfPresent(String.self, forKey: ._id)
            status = try item.decode(Int.self, forKey: .status)
            if let error = try? item.nestedContainer(keyedBy: ErrorKeys.self, forKey: .error) {
                errorType = try? error.decodeIfPresent(String.self, forKey: .type)
                errorReason = try? error.decodeIfPresent(String.self, forKey: .reason)
            } else {
                errorReason = try? item.decodeIfPresent(String.self, forKey: .error)
            }
        }
    }

    /// Checks a 2xx `_bulk` response against the batch's document `ids`: one item per document, in
    /// order, each created or already present. Returns how many were already present.
    static func checkBulkItems(_ body: [UInt8], ids: [String]) throws(ForwardError) -> Int {
        guard let answer = try? JSONDecoder().decode(BulkAnswer.self, from: Data(body)) else {
            throw .transient("the _bulk response is not a JSON object with a boolean \"errors\" and \"items\": "
                + HTTPResponse(status: 200, body: body).bodyText)
        }
        guard answer.items.count == ids.count else {
            throw .transient("the _bulk response has \(answer.items.count) items for \(ids.count) documents")
        }
        var existing = 0
        var retry: String?
        for (entry, id) in zip(answer.items, ids) {
            guard entry.count == 1, let (action, item) = entry.first, action == "create", item.id == id else {
                throw .transient("the _bulk response does not answer for document \(id) in its place")
            }
            switch item.status {
            case 200..<300: continue
            case 409: existing += 1
            case 429, 500..<600: retry = retry ?? "item status \(item.status)"
            default:
                let reason = [item.errorType, item.errorReason].compactMap { $0 }.joined(separator: ": ")
                throw ForwardError(.delivery, "_bulk refused document \(id): status \(item.status) \(reason)")
            }
        }
        if let retry { throw .transient("_bulk asked to retry: \(retry)") }
        return existing
    }

    func confirmed(waitingForAll: Bool) throws(ForwardError) -> UInt64? {
        defer { accepted = nil }
        return accepted
    }

    func close() { client.close() }
}
