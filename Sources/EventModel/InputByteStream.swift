#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of an input file, or of stdin for `-`, read piece by piece and decompressed on the way
/// when they are gzip or LZ4.
///
/// What importers read inputs with in bounded memory: ``nextLines(atLeast:)`` hands over the input
/// in chunks that end just after a newline, ``readToEnd()`` the rest at once. Compression is
/// recognised by its magic bytes, not by the file name, so `karmor logs --json | gzip` piped in works.
/// Compressed input that expands beyond its ``DecompressionLimits`` is refused as it is read.
public final class InputByteStream {
    /// The file name, or `-` for stdin.
    public let origin: String
    /// Bytes read from the file so far (compressed bytes for a compressed input).
    public private(set) var bytesRead = 0

    private let fd: Int32
    private let limits: DecompressionLimits
    private var decoder: (any StreamDecoder)?
    private var recognised = false
    private var atEnd = false
    /// Raw bytes read before the compression was recognised (fewer than its longest magic).
    private var head: [UInt8] = []
    /// Decompressed bytes after the last chunk handed over.
    private var carry: [UInt8] = []
    private var readBuffer: [UInt8]
    /// A failure met while reading (damaged compression, a read error) after some bytes came out:
    /// those bytes are handed over first, the failure with the next read.
    private var deferredFailure: InputError?

    /// Opens `path` (`-` is stdin), to be read `readBytes` raw bytes at a time and decompressed within `limits`.
    public init(path: String, readBytes: Int = 1 << 20, limits: DecompressionLimits = DecompressionLimits()) throws(InputError) {
        origin = path
        self.limits = limits
        readBuffer = [UInt8](repeating: 0, count: max(1, readBytes))
        if path == "-" {
            fd = STDIN_FILENO
            return
        }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.unreadable(path, errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = errno
            close(fd)
            throw Self.unreadable(path, error)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw InputError(origin: path, reason: .unreadable(detail: "is a directory"))
        }
    }

    deinit {
        if fd != STDIN_FILENO { close(fd) }
    }

    /// The next chunk of (decompressed) input: at least `size` bytes ending just after a newline, or
    /// all that is left when the input ends first. A line longer than `size` comes whole. Nil at the end.
    /// When the input fails part way, the bytes before the failure come first (the last of them
    /// perhaps an incomplete line), and the failure is thrown by the next call.
    public func nextLines(atLeast size: Int) throws(InputError) -> [UInt8]? {
        try throwDeferredFailure()
        var chunk: [UInt8] = []
        swap(&chunk, &carry)
        // Room for the whole chunk at once: growing by doubling would copy it several times.
        chunk.reserveCapacity(size + readBuffer.count)
        var searchedTo = 0
        while true {
            if atEnd { return chunk.isEmpty ? nil : chunk }
            if chunk.count >= size {
                if let cut = chunk.withUnsafeBufferPointer({ lastNewline(in: $0, from: searchedTo) }) {
                    carry = Array(chunk[(cut + 1)...])
                    chunk.removeLast(chunk.count - cut - 1)
                    return chunk
                }
                searchedTo = chunk.count
            }
            try fillDeferringFailure(&chunk)
        }
    }

    /// Everything not yet handed over, decompressed; a failure part way is thrown (nothing is handed over).
    public func readToEnd() throws(InputError) -> [UInt8] {
        try throwDeferredFailure()
        var rest: [UInt8] = []
        swap(&rest, &carry)
        while !atEnd { try fill(&rest) }
        return rest
    }

    private func throwDeferredFailure() throws(InputError) {
        if let failure = deferredFailure {
            deferredFailure = nil
            throw failure
        }
    }

    /// ``fill(_:)``, keeping a damaged-compression or read failure for the next read when `output` has
    /// bytes to hand over first (the stream then ends).
    private func fillDeferringFailure(_ output: inout [UInt8]) throws(InputError) {
        do {
            try fill(&output)
        } catch {
            // A bomb's output is not handed over: it is what the limit refuses.
            switch error.reason {
            case .corruptGzip, .corruptLZ4, .unreadable: break
            default: throw error
            }
            guard !output.isEmpty else { throw error }
            deferredFailure = error
            atEnd = true
        }
    }

    /// The offset of the last newline in `buffer` at or after `from`.
    private func lastNewline(in buffer: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = buffer.count - 1
        while i >= from, buffer[i] != 0x0A { i -= 1 }
        return i >= from ? i : nil
    }

    /// Reads one more round from the file and appends its decompressed bytes to `output`.
    private func fill(_ output: inout [UInt8]) throws(InputError) {
        let count = try readRound()
        if count == 0 {
            atEnd = true
            if !recognised { try recognise(final: true) }
            if !head.isEmpty { try pass(head, into: &output) }
            head = []
            try decoder?.finish()
            return
        }
        bytesRead += count
        if recognised {
            try readBuffer.withUnsafeBufferPointer { (raw) throws(InputError) in
                try pass(UnsafeBufferPointer(rebasing: raw[..<count]), into: &output)
            }
            return
        }
        head += readBuffer[..<count]
        try recognise(final: false)
        if recognised {
            try pass(head, into: &output)
            head = []
        }
    }

    private func pass(_ raw: [UInt8], into output: inout [UInt8]) throws(InputError) {
        try raw.withUnsafeBufferPointer { (raw) throws(InputError) in try pass(raw, into: &output) }
    }

    private func pass(_ raw: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws(InputError) {
        if let decoder { try decoder.decode(raw, into: &output) } else { output += raw }
    }

    /// Picks the decoder once enough bytes are in (the longest magic), or at the end of the input.
    private func recognise(final: Bool) throws(InputError) {
        guard final || head.count >= InputCompression.longestMagic else { return }
        recognised = true
        switch InputCompression(magic: head) {
        case .none: decoder = nil
        case .gzip: decoder = try GzipStreamDecoder(origin: origin, limits: limits)
        case .lz4: decoder = try LZ4FrameStreamDecoder(origin: origin, limits: limits)
        case .zstd: throw InputError(origin: origin, reason: .unsupportedCompression(name: "zstd"))
        case .bzip2: throw InputError(origin: origin, reason: .unsupportedCompression(name: "bzip2"))
        case .xz: throw InputError(origin: origin, reason: .unsupportedCompression(name: "xz"))
        }
    }

    /// One `read(2)` into the read buffer (retried on EINTR); 0 at the end.
    private func readRound() throws(InputError) -> Int {
        while true {
            let n = readBuffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n >= 0 { return n }
            if errno != EINTR { throw Self.unreadable(origin, errno) }
        }
    }

    private static func unreadable(_ path: String, _ error: Int32) -> InputError {
        InputError(origin: path, reason: .unreadable(detail: String(cString: strerror(error))))
    }
}

/// The compressions recognised by their magic bytes.
private enum InputCompression {
    case none, gzip, lz4, zstd, bzip2, xz

    static let longestMagic = 6

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
