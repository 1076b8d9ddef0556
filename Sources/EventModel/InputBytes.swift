#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of an input file, or of stdin for `-`, decompressed when they are gzip or LZ4.
///
/// Importers read whole inputs into memory and hand them to ``KubeArmorJSONReader``; compression is
/// recognised by its magic bytes, not by the file name, so `karmor logs --json | gzip` piped in works too.
public enum InputBytes {
    /// Reads `path` (`-` reads stdin to its end) and decompresses gzip (`1f 8b`, several members
    /// allowed) and LZ4 frames (`04 22 4d 18`, several frames allowed).
    public static func load(path: String) throws(InputError) -> [UInt8] {
        let raw = path == "-" ? try readAll(fd: STDIN_FILENO, origin: path) : try readFile(path)
        return try decompressed(raw, origin: path)
    }

    /// `bytes` decompressed if they start with the gzip or LZ4 frame magic, else unchanged.
    public static func decompressed(_ bytes: [UInt8], origin: String) throws(InputError) -> [UInt8] {
        switch Compression(magic: bytes) {
        case .none: return bytes
        case .gzip: return try GzipDecoder.decode(bytes, origin: origin)
        case .lz4: return try LZ4FrameDecoder.decode(bytes, origin: origin)
        case .zstd: throw InputError(origin: origin, reason: .unsupportedCompression(name: "zstd"))
        case .bzip2: throw InputError(origin: origin, reason: .unsupportedCompression(name: "bzip2"))
        case .xz: throw InputError(origin: origin, reason: .unsupportedCompression(name: "xz"))
        }
    }

    private enum Compression {
        case none, gzip, lz4, zstd, bzip2, xz

        init(magic b: [UInt8]) {
            func starts(_ m: [UInt8]) -> Bool { b.count >= m.count && b[..<m.count].elementsEqual(m) }
            if starts([0x1f, 0x8b]) { self = .gzip }
            else if starts([0x04, 0x22, 0x4d, 0x18]) { self = .lz4 }
            else if starts([0x28, 0xb5, 0x2f, 0xfd]) { self = .zstd }
            else if starts([0x42, 0x5a, 0x68]) { self = .bzip2 }
            else if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { self = .xz }
            else { self = .none }
        }
    }

    private static func readFile(_ path: String) throws(InputError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unreadable(path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw unreadable(path) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw InputError(origin: path, reason: .unreadable(detail: "is a directory"))
        }
        return try readAll(fd: fd, origin: path, sizeHint: Int(info.st_size))
    }

    /// Reads `fd` to its end in pieces (the first sized to the file), retrying `read(2)` on EINTR.
    private static func readAll(fd: Int32, origin: String, sizeHint: Int = 0) throws(InputError) -> [UInt8] {
        var bytes = [UInt8]()
        // One more than the expected size, so that a file read whole ends with a short read.
        var pieceSize = max(sizeHint + 1, 1 << 16)
        while true {
            var failure: Int32 = 0
            let piece = [UInt8](unsafeUninitializedCapacity: pieceSize) { buffer, count in
                count = 0
                while count < pieceSize {
                    let n = read(fd, buffer.baseAddress! + count, pieceSize - count)
                    if n > 0 { count += n; continue }
                    if n < 0, errno == EINTR { continue }
                    if n < 0 { failure = errno }
                    break
                }
            }
            if failure != 0 {
                throw InputError(origin: origin, reason: .unreadable(detail: String(cString: strerror(failure))))
            }
            if bytes.isEmpty { bytes = piece } else { bytes += piece }
            if piece.count < pieceSize { return bytes }
            pieceSize = max(pieceSize, bytes.count)
        }
    }

    private static func unreadable(_ path: String) -> InputError {
        InputError(origin: path, reason: .unreadable(detail: String(cString: strerror(errno))))
    }
}
