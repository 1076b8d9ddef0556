import EventModel

/// When the process instance an event belongs to started, as the store's process table knows it, so
/// that `process.entity_id` does not depend on what else an export holds (a narrow selection, a
/// resumed `forward`).
public protocol ProcessStartLookup: Sendable {
    /// The start (ns) of the instance of `hostPID` on `hostName` alive at `timeNs`, or nil if unknown.
    func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64?

    /// ``startNs(hostName:hostPID:at:)`` and the times that give the same answer, so that an encoder
    /// asks again only when an event's time leaves them (the default: that instant alone).
    func startSpan(hostName: String, hostPID: Int32, at timeNs: Int64) -> ProcessStartSpan
}

extension ProcessStartLookup {
    public func startSpan(hostName: String, hostPID: Int32, at timeNs: Int64) -> ProcessStartSpan {
        ProcessStartSpan(startNs: startNs(hostName: hostName, hostPID: hostPID, at: timeNs), from: timeNs, until: timeNs &+ 1)
    }
}

/// What a ``ProcessStartLookup`` answers for every time in `from..<until`.
public struct ProcessStartSpan: Sendable, Equatable {
    public var startNs: Int64?
    public var from: Int64
    public var until: Int64

    public init(startNs: Int64?, from: Int64, until: Int64) {
        self.startNs = startNs
        self.from = from
        self.until = until
    }
}

/// Stable ids for process instances, `(HostName, HostPID, start)`, as ECS `process.entity_id` and
/// OCSF `process.uid` want them.
///
/// The start comes from a ``ProcessStartLookup`` (the store's process table) when there is one and it
/// knows the instance; otherwise it is the `TimeNs` of the latest exec or clone event of that HostPID
/// on that host seen earlier in the stream (0 while none has been seen). The id is 16 hex digits of a
/// 64-bit hash of the three. Events come in time order, so a reused PID gets a new id.
struct ProcessEntityIDs {
    let lookup: (any ProcessStartLookup)?
    private var starts: [UInt64: Int64] = [:]
    /// The lookup's last answers, by host and PID (keyed as `starts`), in a table of 4096 places
    /// indexed by the key's low bits: an answer stays until another key takes its place.
    private var spans: [(key: UInt64, span: ProcessStartSpan)] = []

    init(lookup: (any ProcessStartLookup)?) {
        self.lookup = lookup
    }
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The lookup's start for `pid` at the record's time, asked again only when the time leaves the
    /// span of the last answer for that host and PID.
    private mutating func known(_ key: UInt64, pid: Int32, of record: some ExportRecord) -> Int64? {
        guard lookup != nil else { return nil }
        let timeNs = record.timeNs
        if spans.isEmpty { spans = Array(repeating: (0, ProcessStartSpan(startNs: nil, from: 0, until: 0)), count: 4096) }
        let place = Int(key & 4095)
        let cached = spans[place]
        if cached.key == key, cached.span.from <= timeNs, timeNs < cached.span.until { return cached.span.startNs }
        let span = lookup!.startSpan(hostName: record.string(.hostName), hostPID: pid, at: timeNs)
        spans[place] = (key, span)
        return span.startNs
    }

    /// Appends the id of `pid`'s instance as a JSON string, after noting a start if `record` is one.
    mutating func appendQuotedID(pid: Int32, of record: some ExportRecord, startsProcess: Bool, to out: inout [UInt8]) {
        let key = FastHash.mix(record.hostNameHash ^ UInt64(UInt32(bitPattern: pid)), 0x9E37_79B9_7F4A_7C15)
        let timeNs = record.timeNs
        if startsProcess && pid == record.hostPID {
            if starts.count >= 1 << 20 { starts.removeAll(keepingCapacity: true) }
            starts[key] = timeNs
        }
        let start = known(key, pid: pid, of: record) ?? starts[key] ?? 0
        var id = FastHash.mix(key ^ UInt64(bitPattern: start), 0xC2B2_AE3D_27D4_EB4F)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 18) { text in
            text[0] = 0x22
            for i in 1...16 {
                text[i] = Self.hexDigits[Int(id >> 60)]
                id <<= 4
            }
            text[17] = 0x22
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }
}
