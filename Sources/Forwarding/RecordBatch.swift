import Foundation

/// Encoded records framed for one transport, with the store positions they cover: what one send delivers.
struct RecordBatch {
    /// The bytes to send (for datagrams: the records back to back, split at `recordEnds`).
    var payload: [UInt8] = []
    /// Where each record ends in `payload`.
    var recordEnds: [Int] = []
    /// Seq of each record, in order.
    var seqs: [UInt64] = []
    /// Seq of the last record in the batch.
    var lastSeq: UInt64 = 0

    var records: Int { recordEnds.count }
    var isEmpty: Bool { recordEnds.isEmpty }

    mutating func removeAll() {
        payload.removeAll(keepingCapacity: true)
        recordEnds.removeAll(keepingCapacity: true)
        seqs.removeAll(keepingCapacity: true)
    }

    /// The record bytes of record `n` (datagram transports send them one by one).
    func record(_ n: Int) -> ArraySlice<UInt8> {
        payload[(n == 0 ? 0 : recordEnds[n - 1])..<recordEnds[n]]
    }
}

/// How records are delimited on the wire for each transport.
enum RecordFraming {
    /// RFC 6587 octet counting for syslog over TCP and TLS: `LEN SP MSG`.
    case octetCounted
    /// One record per UDP datagram, cut to `maxSize` bytes at a UTF-8 character boundary.
    case datagram(maxSize: Int)
    /// Splunk HEC: event objects one after the other (a newline between them).
    case hecEvents
    /// Elastic `_bulk` NDJSON: a `create` action with a stable `_id` (`<prefix>-<Seq>`), then the document.
    case bulkCreate(index: String?, idPrefix: String)

    /// Appends `record` (one encoded event with store position `seq`) to `batch`; returns how many
    /// bytes were cut off to fit a datagram (0 when nothing was).
    func append(_ record: [UInt8], seq: UInt64, to batch: inout RecordBatch) -> Int {
        var cut = 0
        switch self {
        case .octetCounted:
            batch.payload.append(contentsOf: String(record.count).utf8)
            batch.payload.append(0x20)
            batch.payload.append(contentsOf: record)
        case .datagram(let maxSize):
            let kept = record.count <= maxSize ? record.count : Self.utf8Boundary(record, atMost: maxSize)
            cut = record.count - kept
            batch.payload.append(contentsOf: record[..<kept])
        case .hecEvents:
            if !batch.isEmpty { batch.payload.append(0x0A) }
            batch.payload.append(contentsOf: record)
        case .bulkCreate(let index, let idPrefix):
            batch.payload.append(contentsOf: #"{"create":{"#.utf8)
            if let index {
                batch.payload.append(contentsOf: #""_index":"#.utf8)
                batch.payload.append(contentsOf: JSONText.quoted(index).utf8)
                batch.payload.append(0x2C)
            }
            batch.payload.append(contentsOf: #""_id":""#.utf8)
            batch.payload.append(contentsOf: JSONText.idText(idPrefix, seq).utf8)
            batch.payload.append(contentsOf: "\"}}\n".utf8)
            batch.payload.append(contentsOf: record)
            batch.payload.append(0x0A)
        }
        batch.recordEnds.append(batch.payload.count)
        batch.seqs.append(seq)
        batch.lastSeq = seq
        return cut
    }

    /// The largest length ≤ `limit` that does not split a UTF-8 sequence.
    static func utf8Boundary(_ bytes: [UInt8], atMost limit: Int) -> Int {
        var end = limit
        // Step back over continuation bytes (10xxxxxx) to the start of the character that crosses the limit.
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return end
    }
}

/// JSON text bits the framing needs.
enum JSONText {
    /// `s` as a JSON string literal (ids and index names: quotes, backslashes and controls escaped).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The document id of the record with store position `seq`: `<prefix>-<seq>` (prefix: the store id).
    static func idText(_ prefix: String, _ seq: UInt64) -> String { "\(prefix)-\(seq)" }
}
