// libFuzzer target: any bytes a server sends are read as responses within the client's limits or
// refused with a ForwardError, never a crash or an unbounded buffer. The first byte chooses how the
// rest arrives (read sizes of 1 to 256 bytes), so lines and chunks are split at every boundary.
import FuzzSupport
@testable import Forwarding

/// A server's bytes, handed out in reads of `step` bytes; writes go nowhere.
final class ScriptedStream: ByteStream {
    private let bytes: [UInt8]
    private let step: Int
    private var offset = 0
    let wireBytesWritten: UInt64 = 0

    init(_ bytes: [UInt8], step: Int) {
        self.bytes = bytes
        self.step = step
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ForwardError) {}

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ForwardError) -> Int {
        let n = min(buffer.count, step, bytes.count - offset)
        for i in 0..<n { buffer[i] = bytes[offset + i] }
        offset += n
        return n
    }

    func unacknowledgedBytes() -> Int? { 0 }
    func peerHasClosed() -> Bool { offset == bytes.count }
    func close() {}
}

FuzzDriver.run(fuzzOne)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 1, let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let client = HTTPClient(stream: ScriptedStream(Array(input.dropFirst()), step: Int(input[0]) + 1),
                            host: "collector.example", port: 443, responseTimeout: 60)
    // Keep-alive: as many responses as the bytes hold.
    for _ in 0..<4 {
        guard let response = try? client.post("/services/collector/event", headers: [], body: Array("{}".utf8)) else { break }
        precondition((200...999).contains(response.status), "status \(response.status)")
        precondition(response.body.count <= HTTPClient.maxBodyBytes, "body of \(response.body.count) bytes")
        _ = try? HTTPCollectorConnection.checkBulkItems(response.body, ids: ["s-1", "s-2"])
        if !client.reusable { break }
    }
    return 0
}
