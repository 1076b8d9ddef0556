import Dispatch
import EventModel

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

/// Writes events as records of one ``ExportFormat``, one record per call, for `export` and `forward`.
public protocol RecordEncoder {
    /// Appends `event` as one record, without a trailing newline.
    mutating func append(_ event: Event, to output: inout [UInt8])
}

extension RecordEncoder {
    /// `events` as records, one per line, encoded in `pieces` parts in parallel by copies of this
    /// encoder, joined in event order. (Copies share no state: what an encoder learns from the
    /// stream, such as process starts without a ``ProcessStartLookup``, stays within its part.)
    public func lines(of events: [Event], pieces: Int) -> [UInt8] {
        let pieces = max(1, min(pieces, events.count / 1024))
        let size = (events.count + pieces - 1) / pieces
        // Each part copies the encoder (a value): the copies share nothing mutable.
        nonisolated(unsafe) let encoder = self
        let parts = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: pieces)
        parts.initialize(repeating: [])
        defer { parts.deinitialize().deallocate() }
        nonisolated(unsafe) let output = parts
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            var copy = encoder
            var bytes: [UInt8] = []
            bytes.reserveCapacity(size * 512)
            for event in events[min(piece * size, events.count)..<min((piece + 1) * size, events.count)] {
                copy.append(event, to: &bytes)
                bytes.append(10)
            }
            output[piece] = bytes
        }
        if pieces == 1 { return parts[0] }
        var joined: [UInt8] = []
        joined.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { joined += part }
        return joined
    }
}
