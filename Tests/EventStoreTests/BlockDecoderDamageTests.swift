import Foundation
import Testing
@testable import EventStore

/// Damage the fuzzer found (inputs kept in Fuzz/regressions/FuzzBlockDecoder): counts that claim more
/// entries than the block has bytes must be refused before anything is allocated for them.
@Suite struct BlockDecoderDamageTests {
    static func header(events: Int) -> BlockHeader {
        BlockHeader(eventCount: events, rawLength: 0, compressedLength: 0, timeUnit: 1, minTimeNs: 0, maxTimeNs: 0,
                    firstSeq: 0, payloadCRC: 0)
    }

    static func decode(_ payload: [UInt8], events: Int = 1) -> DecodeFailure? {
        do throws(DecodeFailure) {
            _ = try BlockCodec.decodeRaw(header: header(events: events), payload)
            return nil
        } catch {
            return error
        }
    }

    @Test func aHugeStringCountIsRefused() throws {
        var w = ByteWriter()
        w.varint(UInt64(Int32.max))   // strings in the dictionary
        w.raw([1, 2, 3])
        let failure = try #require(Self.decode(w.bytes))
        #expect(failure.reason.contains("exceeds the 3 bytes left"))
    }

    @Test(arguments: ["oom-huge-string-count", "overflow-time-near-int64-min"])
    func theFuzzersInputsDecodeOrFail(name: String) throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/regressions/FuzzBlockDecoder/" + name)
        let input = [UInt8](try Data(contentsOf: file))
        // The fuzzer's mapping: two bytes of event count, a byte of time unit, then the payload.
        let events = 1 + Int(input[0]) | Int(input[1] & 0x1F) << 8
        _ = Self.decode(Array(input[3...]), events: events)
    }

    @Test func secondsOfTheExtremeTimesDoNotOverflow() {
        #expect(BlockCodec.floorSeconds(.min) == Int64.min / 1_000_000_000 - 1)
        #expect(BlockCodec.floorSeconds(-1) == -1 && BlockCodec.floorSeconds(-1_000_000_000) == -1)
        #expect(BlockCodec.floorSeconds(-1_000_000_001) == -2 && BlockCodec.floorSeconds(.max) == Int64.max / 1_000_000_000)
    }
}
