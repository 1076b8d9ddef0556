import EventStore
import Foundation
import Glibc
import SIEMExport

/// How `forward` batches, paces, retries and authenticates (the command's options).
public struct ForwardSettings: Sendable {
    /// A batch is sent when it holds this many records…
    public var batchRecords: Int
    /// …or this many bytes, whichever comes first.
    public var batchBytes: Int
    /// Consecutive failed attempts (connect or send) before giving up; a delivered batch resets the count.
    public var maxRetries: Int
    /// Send at most this many records per second (nil: as fast as the receiver takes them).
    public var maxRate: Double?
    /// UDP: the largest datagram; longer messages are cut at a UTF-8 boundary and counted.
    public var udpMaxSize: Int
    /// TCP/TLS syslog: how long after the receiver's TCP acknowledged a batch it counts as delivered.
    public var acknowledgementHold: Double
    /// Seconds to wait for a connection, and (×3, at least 30) for a send or an acknowledgement.
    public var connectTimeout: Double
    public var tls: TLSSettings
    /// The HTTP `Authorization` header value (e.g. `Splunk <token>`, `ApiKey <key>`).
    public var authorization: String?
    /// Elastic `_bulk` to `/_bulk`: the index (or data stream) every document goes to.
    public var bulkIndex: String?
    /// First retry delay in seconds; doubles per attempt up to `maxBackoff`, with jitter.
    public var initialBackoff: Double
    public var maxBackoff: Double

    public init(batchRecords: Int = 1000, batchBytes: Int = 1 << 20, maxRetries: Int = 8, maxRate: Double? = nil,
                udpMaxSize: Int = 2048, acknowledgementHold: Double = 1, connectTimeout: Double = 10,
                tls: TLSSettings = TLSSettings(), authorization: String? = nil, bulkIndex: String? = nil,
                initialBackoff: Double = 0.25, maxBackoff: Double = 30) {
        self.batchRecords = batchRecords
        self.batchBytes = batchBytes
        self.maxRetries = maxRetries
        self.maxRate = maxRate
        self.udpMaxSize = udpMaxSize
        self.acknowledgementHold = acknowledgementHold
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.authorization = authorization
        self.bulkIndex = bulkIndex
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

/// What a forward run did, for progress lines and the summary.
public struct ForwardStatistics: Sendable, Equatable {
    /// Records sent for the first time in this run, and their framed bytes.
    public var recordsSent = 0
    public var bytesSent = 0
    /// Records sent again after a broken connection or a refused batch (not yet known to be delivered).
    public var recordsResent = 0
    /// Records that became delivered in this run (the checkpoint moved past them).
    public var recordsDelivered = 0
    /// Connection or send attempts that failed and were retried.
    public var retries = 0
    /// UDP messages cut to the datagram size, and the bytes cut off them.
    public var truncated = 0
    public var truncatedBytes = 0
    /// `_bulk` documents the index already held (resent after a lost response; not duplicated).
    public var alreadyPresent = 0

    public init() {}
}

/// Extra knowledge of the destinations `forward` delivers to.
extension ForwardDestination {
    /// The record format the receiver takes: RFC 5424 syslog for syslog transports, ECS documents for
    /// an Elastic `_bulk` path, Splunk HEC events for any other https path.
    public var defaultFormat: ExportFormat {
        switch transport {
        case .syslogTCP, .syslogUDP, .syslogTLS: .syslog
        case .https: isElasticBulk ? .ecs : .splunkHEC
        }
    }

    /// Whether the https path is Elastic's bulk API (`/_bulk` or `/<index>/_bulk`).
    public var isElasticBulk: Bool { transport == .https && (path.hasSuffix("/_bulk") || path.contains("/_bulk?")) }
}

/// Sends a store's events to one destination in batches, checkpointing what the receiver acknowledged.
///
/// Events come from an ``EventSource`` in Seq order (the store's append order). After a failure the
/// connection is reopened (exponential backoff with jitter) and the source is read again from the
/// checkpoint, so records that were sent but not acknowledged are sent again. What "acknowledged"
/// means depends on the transport: for HTTP the collector's own acknowledgement (HEC `code` 0, one
/// created `_bulk` item per document), the TCP acknowledgement plus a hold for syslog over TCP and
/// TLS (see ``ForwardSettings/acknowledgementHold``), having been sent for UDP.
public final class Forwarder {
    /// Hands the events to forward with Seq greater than `after` to `body` as rows of the store's
    /// column batches, in Seq order, until `body` returns false; returns the highest Seq it looked at
    /// (matching or not), or `after`. Records are encoded straight from the columns.
    public typealias EventSource = (_ after: UInt64, _ body: (_ batch: ColumnBatch, _ row: Int) throws -> Bool) throws -> UInt64

    public let destination: ForwardDestination
    public private(set) var checkpoint: ForwardCheckpoint
    public private(set) var statistics = ForwardStatistics()
    /// Polled between records and during waits: true ends the run after the batch in flight.
    public var shouldStop: () -> Bool = { false }
    /// Called about twice a second while records flow.
    public var progress: ((ForwardStatistics) -> Void)?
    /// Called before each retry with the failure and the delay.
    public var retrying: ((ForwardError, Double) -> Void)?

    private let settings: ForwardSettings
    private let file: CheckpointFile
    private let framing: RecordFraming
    private var encoder: any RecordEncoder
    private var connection: (any DeliveryConnection)?
    private var batch = RecordBatch()
    private var record: [UInt8] = []
    /// Sent batches not yet delivered: their last Seq and record count.
    private var undelivered: [(lastSeq: UInt64, records: Int)] = []
    private var highestSent: UInt64
    private var unsaved = false
    private var lastSave = 0.0
    private var lastProgress = 0.0
    private var paceStart = 0.0
    private var paced = 0.0

    /// A forwarder that continues from `checkpoint` (saved to `file` as records are delivered) and
    /// encodes records with `encoder`; `_bulk` ids are `<storeID>-<Seq>`.
    public init(destination: ForwardDestination, encoder: any RecordEncoder, settings: ForwardSettings,
                checkpoint: ForwardCheckpoint, file: CheckpointFile) throws(ForwardError) {
        self.destination = destination
        self.encoder = encoder
        self.settings = settings
        self.checkpoint = checkpoint
        self.file = file
        highestSent = checkpoint.lastSeq
        switch destination.transport {
        case .syslogTCP, .syslogTLS: framing = .octetCounted
        case .syslogUDP: framing = .datagram(maxSize: settings.udpMaxSize)
        case .https:
            if destination.isElasticBulk {
                let indexInPath = destination.path.split(separator: "/").count >= 2
                guard indexInPath || settings.bulkIndex != nil else {
                    throw ForwardError(.configuration, "\(destination): name the index, in the path (/INDEX/_bulk) or with --index")
                }
                framing = .bulkCreate(index: settings.bulkIndex, idPrefix: checkpoint.storeID)
            } else {
                framing = .hecEvents
            }
        }
    }

    /// Delivers what `source` yields after the checkpoint, retrying failures; returns when the source
    /// is exhausted and every record is delivered, or when ``shouldStop`` said so (after the batch in
    /// flight). Throws when the receiver stays unreachable or refuses records for good.
    public func deliver(_ source: EventSource) throws {
        var failures = 0
        var progressMark = checkpoint.lastSeq
        while true {
            do {
                try deliverOnce(source)
                return
            } catch let error as ForwardError where error.retryable {
                undelivered.removeAll()
                batch.removeAll()
                connection?.close()
                connection = nil
                try saveIfUnsaved()
                if checkpoint.lastSeq != progressMark { failures = 0 }
                progressMark = checkpoint.lastSeq
                failures += 1
                guard failures <= settings.maxRetries else {
                    throw ForwardError(.delivery, "\(destination): \(error.message) (gave up after \(settings.maxRetries) retries)")
                }
                statistics.retries += 1
                let delay = backoff(attempt: failures)
                retrying?(error, delay)
                pause(delay)
                if shouldStop() { return }
            }
        }
    }

    private func deliverOnce(_ source: EventSource) throws {
        let connection = try self.connection ?? connect()
        self.connection = connection
        var stopped = false
        let scanned = try source(checkpoint.lastSeq) { batch, row in
            if shouldStop() {
                stopped = true
                return false
            }
            try add(batch, row: row, to: connection)
            return true
        }
        if !batch.isEmpty { try send(on: connection) }
        try takeConfirmation(from: connection, waitingForAll: true)
        // Everything the source looked at is delivered or did not match: move past it, so the next
        // pass (--follow, a restart) does not read those blocks again.
        if !stopped && scanned > checkpoint.lastSeq && undelivered.isEmpty {
            checkpoint.lastSeq = scanned
            unsaved = true
        }
        try saveIfUnsaved()
    }

    private func add(_ rows: ColumnBatch, row: Int, to connection: any DeliveryConnection) throws {
        record.removeAll(keepingCapacity: true)
        encoder.append(rows, row: row, to: &record)
        let seq = rows.firstSeq &+ UInt64(row)
        let cut = framing.append(record, seq: seq, to: &batch)
        if seq > highestSent {
            highestSent = seq
            statistics.recordsSent += 1
            if cut > 0 {
                statistics.truncated += 1
                statistics.truncatedBytes += cut
            }
        } else {
            statistics.recordsResent += 1
        }
        if batch.records >= settings.batchRecords || batch.payload.count >= settings.batchBytes {
            try send(on: connection)
        }
        if let rate = settings.maxRate { try pace(rate, connection: connection) }
    }

    /// Sleeps so that records leave at most at `rate` per second; sends the batch first when the wait is long.
    private func pace(_ rate: Double, connection: any DeliveryConnection) throws {
        let now = monotonicSeconds()
        if paceStart == 0 || now - (paceStart + paced / rate) > 1 {
            paceStart = now
            paced = 0
        }
        paced += 1
        let due = paceStart + paced / rate
        guard due > now else { return }
        if due - now > 0.05 && !batch.isEmpty { try send(on: connection) }
        pause(due - monotonicSeconds())
    }

    private func send(on connection: any DeliveryConnection) throws {
        try connection.send(batch)
        undelivered.append((batch.lastSeq, batch.records))
        statistics.bytesSent += batch.payload.count
        batch.removeAll()
        try takeConfirmation(from: connection, waitingForAll: false)
        if !connection.isReusable {
            connection.close()
            self.connection = nil
            self.connection = try connect()
        }
        let now = monotonicSeconds()
        if now - lastProgress >= 0.5 {
            lastProgress = now
            progress?(statistics)
        }
    }

    private func takeConfirmation(from connection: any DeliveryConnection, waitingForAll: Bool) throws {
        let seq = try connection.confirmed(waitingForAll: waitingForAll)
        statistics.alreadyPresent = connection.alreadyPresent
        guard let seq else { return }
        var delivered = 0
        while let first = undelivered.first, first.lastSeq <= seq {
            delivered += first.records
            undelivered.removeFirst()
        }
        statistics.recordsDelivered += delivered
        checkpoint.records += UInt64(delivered)
        checkpoint.lastSeq = max(checkpoint.lastSeq, seq)
        unsaved = true
        if monotonicSeconds() - lastSave >= connection.checkpointInterval { try saveIfUnsaved() }
    }

    private func saveIfUnsaved() throws(ForwardError) {
        guard unsaved else { return }
        try file.save(checkpoint)
        unsaved = false
        lastSave = monotonicSeconds()
    }

    private func connect() throws(ForwardError) -> any DeliveryConnection {
        let host = destination.host, port = destination.port, timeout = settings.connectTimeout
        let ioTimeout = max(timeout * 3, 30)
        switch destination.transport {
        case .syslogTCP:
            return SyslogStreamConnection(stream: try NetworkSocket(host: host, port: port, datagram: false, timeout: timeout),
                                          hold: settings.acknowledgementHold, ackTimeout: ioTimeout)
        case .syslogTLS:
            return SyslogStreamConnection(stream: try TLSConnection(host: host, port: port, settings: settings.tls, timeout: timeout),
                                          hold: settings.acknowledgementHold, ackTimeout: ioTimeout)
        case .syslogUDP:
            return SyslogDatagramConnection(socket: try NetworkSocket(host: host, port: port, datagram: true, timeout: timeout))
        case .https:
            let stream = try TLSConnection(host: host, port: port, settings: settings.tls, timeout: timeout)
            return HTTPCollectorConnection(client: HTTPClient(stream: stream, host: host, port: port, responseTimeout: ioTimeout), path: destination.path,
                                           authorization: settings.authorization,
                                           kind: destination.isElasticBulk ? .bulk(idPrefix: checkpoint.storeID) : .hec)
        }
    }

    /// Exponential backoff with jitter: a random delay between half and all of initial × 2^(attempt−1), capped.
    private func backoff(attempt: Int) -> Double {
        let ceiling = min(settings.maxBackoff, settings.initialBackoff * pow(2, Double(min(attempt - 1, 30))))
        return Double.random(in: (ceiling / 2)...ceiling)
    }

    /// Sleeps `seconds`, waking early when ``shouldStop`` turns true.
    private func pause(_ seconds: Double) {
        let end = monotonicSeconds() + seconds
        while !shouldStop() {
            let left = end - monotonicSeconds()
            guard left > 0 else { return }
            usleep(UInt32(min(left, 0.05) * 1e6) + 1)
        }
    }

    /// Closes the connection (after ``deliver(_:)`` returned).
    public func close() {
        connection?.close()
        connection = nil
    }
}
