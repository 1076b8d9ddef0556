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

/// An HTTP collector (Splunk HEC or Elastic `_bulk`): a batch is delivered when the response is 2xx
/// and, for `_bulk`, every item was created or already existed (409 on `create` with the same `_id`).
final class HTTPCollectorConnection: DeliveryConnection {
    /// How the collector answers.
    enum Collector { case hec, bulk }

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
        var headers = [("Content-Type", kind == .bulk ? "application/x-ndjson" : "application/json")]
        if let authorization { headers.append(("Authorization", authorization)) }
        self.headers = headers
    }

    var isReusable: Bool { client.reusable }

    func send(_ batch: RecordBatch) throws(ForwardError) {
        let response = try client.post(path, headers: headers, body: batch.payload)
        switch response.status {
        case 200..<300:
            if kind == .bulk { alreadyPresent += try Self.checkBulkItems(response.body) }
            accepted = batch.lastSeq
        case 408, 429, 500..<600:
            throw .transient("HTTP \(response.status) from the collector: \(response.bodyText)")
        default:
            throw ForwardError(.delivery, "the collector refused the batch: HTTP \(response.status): \(response.bodyText)")
        }
    }

    /// Checks a `_bulk` response's `errors` and item statuses; returns how many items already existed.
    static func checkBulkItems(_ body: [UInt8]) throws(ForwardError) -> Int {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw .transient("the _bulk response is not a JSON object")
        }
        guard object["errors"] as? Bool == true else { return 0 }
        var existing = 0
        var retry: String?
        for item in object["items"] as? [[String: Any]] ?? [] {
            guard let result = item.values.first as? [String: Any], let status = result["status"] as? Int else { continue }
            switch status {
            case 200..<300: continue
            case 409: existing += 1
            case 429, 500..<600: retry = retry ?? "item status \(status)"
            default:
                let error = result["error"] as? [String: Any]
                let reason = [error?["type"] as? String, error?["reason"] as? String].compactMap { $0 }.joined(separator: ": ")
                throw ForwardError(.delivery, "_bulk refused document \(result["_id"] ?? "?"): status \(status) \(reason)")
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
