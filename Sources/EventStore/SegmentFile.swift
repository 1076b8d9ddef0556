import Crypto
import Glibc

/// An open file descriptor with the few POSIX calls segments need; failures become ``StoreError``.
final class PosixFile {
    let path: String
    let fd: Int32

    init(path: String, flags: Int32, mode: mode_t = 0o600) throws(StoreError) {
        self.path = path
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.system("open", path: path) }
        self.fd = fd
    }

    /// Takes ownership of a descriptor opened elsewhere (see ``DirectoryHandle``).
    init(fd: Int32, path: String) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    func size() throws(StoreError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.system("fstat", path: path) }
        return Int(st.st_size)
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.system("write", path: path)
            }
            done += n
        }
    }

    /// Reads `count` bytes at `offset`. A range past the end of the file (a length from a damaged or
    /// crafted index) is refused before a buffer is allocated for it.
    func read(count: Int, at offset: Int) throws(StoreError) -> [UInt8] {
        guard count >= 0, offset >= 0, count <= (try size()) - offset else {
            throw StoreError(.damaged, path: path, offset: max(offset, 0), "\(count) bytes asked for: file ends early")
        }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.system("read", path: path)
            }
            if n == 0 { throw StoreError(.damaged, path: path, offset: offset + done, "file ends early") }
            done += n
        }
        return buffer
    }

    func sync() throws(StoreError) {
        guard fsync(fd) == 0 else { throw StoreError.system("fsync", path: path) }
    }

    func truncate(to size: Int) throws(StoreError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw StoreError.system("ftruncate", path: path) }
    }
}

/// The fixed header at the start of every segment file.
///
/// Layout (80 bytes): magic `RVSEG\0\0\u{1}`, format version u32, reserved u32, store id (16 bytes),
/// segment number u64, SHA-256 of the previous segment (zeros for the first), header CRC-32 u32, reserved u32.
struct SegmentHeader: Equatable {
    static let size = 80
    static let magic: [UInt8] = Array("RVSEG".utf8) + [0, 0, 1]
    static let version: UInt32 = 1

    var storeID: [UInt8]  // 16 bytes
    var number: UInt64
    var previousHash: [UInt8]  // 32 bytes

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.raw(Self.magic)
        w.fixed(Self.version)
        w.fixed(UInt32(0))
        w.raw(storeID)
        w.fixed(number)
        w.raw(previousHash)
        let crc = w.bytes.withUnsafeBytes { BlockCompression.crc32($0) }
        w.fixed(crc)
        w.fixed(UInt32(0))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> SegmentHeader {
        guard bytes.count >= size, Array(bytes[0..<8]) == magic else {
            throw StoreError(.damaged, path: path, offset: 0, "not a rearview segment (bad magic)")
        }
        do {
            return try bytes.decoding { (raw) throws(DecodeFailure) -> SegmentHeader in
                var r = ByteReader(raw, offset: 8)
                let version = try r.fixed(UInt32.self)
                guard version == Self.version else { throw DecodeFailure(offset: 8, reason: "segment format version \(version) is not supported") }
                _ = try r.fixed(UInt32.self)
                let id = Array(try r.bytes(16))
                let number = try r.fixed(UInt64.self)
                let previous = Array(try r.bytes(32))
                let crc = try r.fixed(UInt32.self)
                guard crc == BlockCompression.crc32(UnsafeRawBufferPointer(rebasing: raw[0..<72])) else {
                    throw DecodeFailure(offset: 72, reason: "segment header checksum mismatch")
                }
                return SegmentHeader(storeID: id, number: number, previousHash: previous)
            }
        } catch {
            throw StoreError(.damaged, path: path, offset: error.offset, error.reason)
        }
    }
}

/// Where one block sits in a segment file and what it covers.
public struct BlockLocation: Hashable, Sendable {
    /// Byte offset of the block header in the segment file.
    public var offset: Int
    /// Header plus payload, in bytes.
    public var length: Int
    public var eventCount: Int
    public var minTimeNs: Int64
    public var maxTimeNs: Int64
    public var firstSeq: UInt64
}

/// The sealing footer of a segment: block directory, metadata, and the SHA-256 that chains segments.
///
/// Layout: magic `RVFT`, block count u32, one 40-byte entry per block (offset u64, length u32, event
/// count u32, min time i64, max time i64, first seq u64), metadata length u32 and bytes (JSON), then the
/// trailer: footer offset u64, SHA-256 (32 bytes) over every byte of the file before it, magic `RVSEGEND`.
struct SegmentFooter {
    static let magic: UInt32 = 0x5446_5652  // "RVFT"
    static let trailerMagic: [UInt8] = Array("RVSEGEND".utf8)
    static let trailerSize = 48

    var blocks: [BlockLocation]
    var metadata: [UInt8]

    /// The footer bytes up to (not including) the hash, which the caller computes over the whole file.
    func encodedBody(footerOffset: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + blocks.count * 40 + metadata.count)
        w.fixed(Self.magic)
        w.fixed(UInt32(blocks.count))
        for b in blocks {
            w.fixed(UInt64(b.offset))
            w.fixed(UInt32(b.length))
            w.fixed(UInt32(b.eventCount))
            w.fixed(b.minTimeNs)
            w.fixed(b.maxTimeNs)
            w.fixed(b.firstSeq)
        }
        w.fixed(UInt32(metadata.count))
        w.raw(metadata)
        w.fixed(UInt64(footerOffset))
        return w.bytes
    }
}

/// What a segment file holds, read from its footer (sealed) or by scanning its blocks (open).
struct SegmentContents {
    var header: SegmentHeader
    var blocks: [BlockLocation]
    /// For sealed segments: the hash stored in the trailer, and the metadata.
    var sealedHash: [UInt8]?
    var metadata: [UInt8]
    /// Where the valid data ends: for an open segment, bytes after it are a torn tail.
    var validLength: Int
    var fileLength: Int
    /// Why the scan stopped before the end of an open segment, if it did.
    var tornTailReason: String?
}

/// Reads and writes segment files.
enum SegmentFile {
    static let sealedSuffix = ".rvseg"
    static let openSuffix = ".rvseg.open"

    static func name(number: UInt64, sealed: Bool) -> String {
        var digits = String(number)
        if digits.count < 6 { digits = String(repeating: "0", count: 6 - digits.count) + digits }
        return digits + (sealed ? sealedSuffix : openSuffix)
    }

    /// Reads a sealed segment's header and footer (without hashing the whole file).
    static func readSealed(_ file: PosixFile) throws(StoreError) -> SegmentContents {
        let length = try file.size()
        guard length >= SegmentHeader.size + SegmentFooter.trailerSize else {
            throw StoreError(.damaged, path: file.path, offset: length, "sealed segment too short (\(length) bytes)")
        }
        let header = try SegmentHeader.decode(try file.read(count: SegmentHeader.size, at: 0), path: file.path)
        let trailer = try file.read(count: SegmentFooter.trailerSize, at: length - SegmentFooter.trailerSize)
        guard Array(trailer[40..<48]) == SegmentFooter.trailerMagic else {
            throw StoreError(.damaged, path: file.path, offset: length - 8, "segment trailer magic missing (truncated?)")
        }
        let footerOffset = trailer.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let hash = Array(trailer[8..<40])
        guard footerOffset >= SegmentHeader.size, footerOffset < length - SegmentFooter.trailerSize else {
            throw StoreError(.damaged, path: file.path, offset: length - 48, "footer offset \(footerOffset) out of range")
        }
        let body = try file.read(count: length - SegmentFooter.trailerSize - footerOffset, at: footerOffset)
        do {
            return try body.decoding { (raw) throws(DecodeFailure) -> SegmentContents in
                var r = ByteReader(raw)
                guard try r.fixed(UInt32.self) == SegmentFooter.magic else { throw DecodeFailure(offset: 0, reason: "footer magic missing") }
                let count = Int(try r.fixed(UInt32.self))
                var blocks: [BlockLocation] = []
                blocks.reserveCapacity(count)
                for _ in 0..<count {
                    let offset = Int(try r.fixed(UInt64.self))
                    let len = Int(try r.fixed(UInt32.self))
                    let events = Int(try r.fixed(UInt32.self))
                    let minTime = try r.fixed(Int64.self)
                    let maxTime = try r.fixed(Int64.self)
                    let seq = try r.fixed(UInt64.self)
                    guard offset >= SegmentHeader.size, offset + len <= footerOffset else {
                        throw DecodeFailure(offset: r.offset, reason: "block at \(offset) lies outside the segment's data")
                    }
                    blocks.append(BlockLocation(offset: offset, length: len, eventCount: events,
                                                minTimeNs: minTime, maxTimeNs: maxTime, firstSeq: seq))
                }
                let metaLength = Int(try r.fixed(UInt32.self))
                let meta = Array(try r.bytes(metaLength))
                return SegmentContents(header: header, blocks: blocks, sealedHash: hash, metadata: meta,
                                       validLength: length, fileLength: length, tornTailReason: nil)
            }
        } catch {
            throw StoreError(.damaged, path: file.path, offset: footerOffset + error.offset, "footer: \(error.reason)")
        }
    }

    /// Scans an open segment block by block, checking each block's header and payload CRC; stops at the
    /// first block that is incomplete or damaged (the torn tail).
    static func scanOpen(_ file: PosixFile) throws(StoreError) -> SegmentContents {
        let length = try file.size()
        let header = try SegmentHeader.decode(try file.read(count: min(length, SegmentHeader.size), at: 0), path: file.path)
        var blocks: [BlockLocation] = []
        var offset = SegmentHeader.size
        var reason: String?
        while offset < length {
            guard length - offset >= BlockHeader.size else {
                reason = "incomplete block header (\(length - offset) bytes)"
                break
            }
            let headerBytes = try file.read(count: BlockHeader.size, at: offset)
            let blockHeader: BlockHeader
            do {
                blockHeader = try headerBytes.decoding { (raw) throws(DecodeFailure) in try BlockHeader.decode(raw) }
            } catch {
                reason = error.reason
                break
            }
            let total = BlockHeader.size + blockHeader.compressedLength
            guard offset + total <= length else {
                reason = "block payload cut short (\(length - offset - BlockHeader.size) of \(blockHeader.compressedLength) bytes)"
                break
            }
            let payload = try file.read(count: blockHeader.compressedLength, at: offset + BlockHeader.size)
            guard payload.withUnsafeBytes({ BlockCompression.crc32($0) }) == blockHeader.payloadCRC else {
                reason = "block payload checksum mismatch"
                break
            }
            blocks.append(BlockLocation(offset: offset, length: total, eventCount: blockHeader.eventCount,
                                        minTimeNs: blockHeader.minTimeNs, maxTimeNs: blockHeader.maxTimeNs,
                                        firstSeq: blockHeader.firstSeq))
            offset += total
        }
        return SegmentContents(header: header, blocks: blocks, sealedHash: nil, metadata: [],
                               validLength: offset, fileLength: length, tornTailReason: reason)
    }

    /// SHA-256 over the first `length` bytes of a file, read in large chunks.
    static func sha256(_ file: PosixFile, length: Int) throws(StoreError) -> [UInt8] {
        Array(try hasher(file, length: length).finalize())
    }

    /// A SHA-256 state that has consumed the first `length` bytes of a file.
    static func hasher(_ file: PosixFile, length: Int) throws(StoreError) -> SHA256 {
        var hasher = SHA256()
        var offset = 0
        let chunk = 4 << 20
        while offset < length {
            let n = min(chunk, length - offset)
            let bytes = try file.read(count: n, at: offset)
            hasher.update(data: bytes)
            offset += n
        }
        return hasher
    }

    /// Reads one block and decodes it, checking its header and payload checksum.
    static func readBlock(_ file: PosixFile, _ location: BlockLocation,
                          columns: BatchColumns = .all) throws(StoreError) -> ColumnBatch {
        let bytes = try file.read(count: location.length, at: location.offset)
        do {
            return try bytes.decoding { (raw) throws(DecodeFailure) -> ColumnBatch in
                let header = try BlockHeader.decode(raw)
                guard BlockHeader.size + header.compressedLength == location.length else {
                    throw DecodeFailure(offset: 0, reason: "block length disagrees with the directory")
                }
                let payload = UnsafeRawBufferPointer(rebasing: raw[BlockHeader.size...])
                guard BlockCompression.crc32(payload) == header.payloadCRC else {
                    throw DecodeFailure(offset: BlockHeader.size, reason: "block payload checksum mismatch")
                }
                return try BlockCodec.decode(header: header, payload: payload, columns: columns)
            }
        } catch {
            throw StoreError(.damaged, path: file.path, offset: location.offset + error.offset, error.reason)
        }
    }
}

import EventModel
