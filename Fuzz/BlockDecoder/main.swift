// libFuzzer target: a damaged block payload is rejected with a DecodeFailure, never a crash. The first
// bytes choose the header's event count and time unit; the rest is the payload, decoded both below
// LZ4 (the columnar decoder itself) and through it.
import FuzzSupport
@testable import EventStore

FuzzDriver.run(fuzzOne)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 4 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let eventCount = 1 + Int(input[0]) | Int(input[1] & 0x1F) << 8
    let header = BlockHeader(eventCount: eventCount, rawLength: min(size * 4, 1 << 20), compressedLength: size - 3,
                             timeUnit: UInt32(input[2] % 8) * 1000 + 1, minTimeNs: 0, maxTimeNs: 0, firstSeq: 0, payloadCRC: 0)
    let payload = UnsafeRawBufferPointer(rebasing: input[3...])
    _ = try? BlockCodec.decodeRaw(header: header, Array(payload)).events()
    _ = try? BlockCodec.decode(header: header, payload: payload).events()
    return 0
}
