import EventModel

/// Stable ids for process instances, `(HostName, HostPID, start)`, as ECS `process.entity_id` and
/// OCSF `process.uid` want them.
///
/// The start is the `TimeNs` of the latest exec or clone event of that HostPID on that host seen
/// earlier in the stream (0 while none has been seen); the id is 16 hex digits of a 64-bit hash of the
/// three. Events come in time order, so a reused PID gets a new id from its next exec on.
struct ProcessEntityIDs {
    private var starts: [UInt64: Int64] = [:]
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends the id of `pid`'s instance as a JSON string, after noting a start if `event` is one.
    mutating func appendQuotedID(pid: Int32, of event: Event, startsProcess: Bool, to out: inout [UInt8]) {
        var host = event.hostName
        let hostHash = host.withUTF8 { FastHash.bytes(UnsafeRawBufferPointer($0)) }
        let key = FastHash.mix(hostHash ^ UInt64(UInt32(bitPattern: pid)), 0x9E37_79B9_7F4A_7C15)
        if startsProcess && pid == event.hostPID {
            if starts.count >= 1 << 20 { starts.removeAll(keepingCapacity: true) }
            starts[key] = event.timeNs
        }
        let start = starts[key] ?? 0
        var id = FastHash.mix(key ^ UInt64(bitPattern: start), 0xC2B2_AE3D_27D4_EB4F)
        out.append(0x22)
        for _ in 0..<16 {
            out.append(Self.hexDigits[Int(id >> 60)])
            id <<= 4
        }
        out.append(0x22)
    }
}
