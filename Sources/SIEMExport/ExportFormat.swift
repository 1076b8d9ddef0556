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
}
