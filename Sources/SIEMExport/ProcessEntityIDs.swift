import EventModel

/// When the process instance an event belongs to started, as the store's process table knows it, so
/// that `process.entity_id` does not depend on what else an export holds (a narrow selection, a
/// resumed `forward`).
public protocol ProcessStartLookup: Sendable {
    /// The start (ns) of the instance of `hostPID` on `hostName` alive at `timeNs`, or nil if unknown.
    func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64?
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

    init(lookup: (any ProcessStartLookup)?) {
        self.lookup = lookup
    }
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends the id of `pid`'s instance as a JSON string, after noting a start if `record` is one.
    mutating func appendQuotedID(pid: Int32, of record: some ExportRecord, startsProcess: Bool, to out: inout [UInt8]) {
        let key = FastHash.mix(record.hostNameHash ^ UInt64(UInt32(bitPattern: pid)), 0x9E37_79B9_7F4A_7C15)
        let timeNs = record.timeNs
        if startsProcess && pid == record.hostPID {
            if starts.count >= 1 << 20 { starts.removeAll(keepingCapacity: true) }
            starts[key] = timeNs
        }
        let start = lookup?.startNs(hostName: record.string(.hostName), hostPID: pid, at: timeNs) ?? starts[key] ?? 0
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
