import EventModel
import EventStore

/// The record formats `export` writes and `forward` sends: what SIEMs ingest.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// KubeArmor's own JSON record, lossless (what `import` reads).
    case kubearmor
    /// Elastic Common Schema documents.
    case ecs
    /// OCSF 1.x events (Process, File System, Network Activity; Detection Finding for alerts).
    case ocsf
    /// ArcSight Common Event Format lines.
    case cef
    /// RFC 5424 syslog messages with structured data.
    case syslog
    /// Splunk HTTP Event Collector event objects.
    case splunkHEC = "splunk-hec"
}

/// Writes events as records of one ``ExportFormat``, one record per call, for `export` and `forward`:
/// from an ``Event``, or straight from a row of a store's column batch, byte for byte the same.
public protocol RecordEncoder {
    /// Appends `event` as one record, without a trailing newline.
    mutating func append(_ event: Event, to output: inout [UInt8])

    /// Appends the event at `row` of `batch` as one record, without a trailing newline: the bytes
    /// `append(batch.event(at: row), to:)` gives, written from the columns (each dictionary value
    /// escaped once per block). The encoder keeps the last batch's texts, so rows of one batch are
    /// best written together; a batch is read by one thread at a time, and so is an encoder.
    mutating func append(_ batch: ColumnBatch, row: Int, to output: inout [UInt8])
}

extension RecordEncoder {
    /// `events` as records, one per line, by a copy of this encoder: `export` encodes each block with
    /// its own copy on the decoding threads. (Copies share no state: what an encoder learns from the
    /// stream, such as process starts without a ``ProcessStartLookup``, stays within its copy.)
    public func lines(of events: some Sequence<Event>) -> [UInt8] {
        var copy = self
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.underestimatedCount * 512)
        for event in events {
            copy.append(event, to: &bytes)
            bytes.append(10)
        }
        return bytes
    }

    /// `rows` of `batch` as records, one per line, by a copy of this encoder (as ``lines(of:)``).
    public func lines(of batch: ColumnBatch, rows: some Collection<Int32>) -> [UInt8] {
        var bytes: [UInt8] = []
        appendLines(of: batch, rows: rows, to: &bytes)
        return bytes
    }

    /// Appends `rows` of `batch` as records, one per line, by a copy of this encoder (as ``lines(of:)``),
    /// to `bytes` (a buffer used before keeps its memory).
    public func appendLines(of batch: ColumnBatch, rows: some Collection<Int32>, to bytes: inout [UInt8]) {
        var copy = self
        let start = bytes.count
        for (n, row) in rows.enumerated() {
            copy.append(batch, row: Int(row), to: &bytes)
            bytes.append(10)
            // Room for the rest at the first record's size and half more, so that the block's records
            // are not copied as they grow (and a buffer used again is large enough for most blocks).
            if n == 0 { bytes.reserveCapacity(start + (bytes.count - start) * (rows.count * 3 / 2 + 1)) }
        }
    }
}
