import EventModel
import Foundation
import Testing
@testable import EventStore

/// A store from another host is input too: a block header or an index row can claim any size, and
/// must be refused before anything of that size is allocated.
@Suite struct CraftedBlockTests {
    /// A sealed one-block store of 500 events, and that block.
    static func store(in dir: TemporaryDirectory) throws -> (Store, IndexedBlock) {
        var factory = EventFactory(seed: 15)
        let writer = try StoreWriter(path: dir.path)
        try writer.append(factory.events(500))
        try writer.close()
        let store = try Store.open(dir.path)
        let blocks = try store.blocks()
        #expect(blocks.count == 1)
        return (store, try #require(blocks.first))
    }

    /// The store error reading `block` gives, if any.
    static func readFailure(_ store: Store, _ block: IndexedBlock) -> StoreError? {
        do throws(StoreError) {
            _ = try store.events(in: block)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [UInt32.max - 15, 200 << 20])
    func aBlockHeaderClaimingAHugeDecodedSizeIsRefused(claim: UInt32) throws {
        let dir = TemporaryDirectory()
        let (store, block) = try Self.store(in: dir)
        // Rewrite the raw length (bytes 12…15 of the header) and the header's CRC, as an attacker can.
        let segment = dir.path + "/segments/" + SegmentFile.name(number: 1, sealed: true)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)))
        let header = block.location.offset
        withUnsafeBytes(of: claim.littleEndian) { bytes.replaceSubrange((header + 12)..<(header + 16), with: $0) }
        let crc = bytes[header..<(header + 60)].withUnsafeBytes { BlockCompression.crc32($0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((header + 60)..<(header + 64), with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: segment))

        let failure = try #require(Self.readFailure(store, block))
        #expect(failure.code == .damaged)
        #expect(failure.description.contains("cannot decompress to the \(claim) bytes claimed"), "\(failure)")
    }

    @Test func anIndexRowClaimingAHugeBlockIsRefused() throws {
        let dir = TemporaryDirectory()
        _ = try Self.store(in: dir)
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [dir.path + "/index.sqlite", "UPDATE blocks SET length = \(1 << 40)"]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)

        let store = try Store.open(dir.path)
        let block = try #require(try store.blocks().first)
        #expect(block.location.length == 1 << 40)
        let failure = try #require(Self.readFailure(store, block))
        #expect(failure.code == .damaged)
        #expect(failure.description.contains("\(1 << 40) bytes asked for: file ends early"), "\(failure)")
    }

    @Test func decompressionChecksTheClaimAgainstThePayload() throws {
        let raw = [UInt8](repeating: 7, count: 100_000)
        let lz4 = BlockCompression.compress(raw)
        let zlib = BlockCompression.deflate(raw)
        #expect(try lz4.withUnsafeBytes { try BlockCompression.decompress($0, rawLength: raw.count) } == raw)
        #expect(try zlib.withUnsafeBytes { try BlockCompression.inflate($0, rawLength: raw.count) } == raw)
        // One more byte than 255 (LZ4) or 1032 (deflate) times the payload, plus slack, cannot be real.
        let lz4Claim = lz4.count * 255 + 65, zlibClaim = zlib.count * 1032 + 65
        #expect(throws: DecodeFailure.self) { try lz4.withUnsafeBytes { try BlockCompression.decompress($0, rawLength: lz4Claim) } }
        #expect(throws: DecodeFailure.self) { try zlib.withUnsafeBytes { try BlockCompression.inflate($0, rawLength: zlibClaim) } }
        #expect(throws: DecodeFailure.self) { try lz4.withUnsafeBytes { try BlockCompression.decompress($0, rawLength: -1) } }
    }
}
