#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the KubeArmor records of an input file, or of stdin for `-`, in bounded memory.
///
/// The input is read through ``InputByteStream`` (so gzip and LZ4 are decompressed on the way) and its
/// form recognised from its first chunk. One object per line, the common and the large case, is read
/// chunk by chunk: chunks of about ``chunkBytes`` that end after a newline, each parsed on ``threads``
/// threads as ``KubeArmorJSONReader`` parses a whole input, with line numbers and byte offsets
/// counted from the start of the input. JSON arrays, concatenated objects and the pasted form are
/// read whole: a record there may span any number of lines, and such inputs are rarely large.
public struct KubeArmorInputReader {
    /// The file, or `-` for stdin.
    public let path: String
    /// Decompressed bytes per chunk of one-object-per-line input (at least; a chunk holds whole lines).
    public var chunkBytes = 32 << 20
    /// Parser threads.
    public var threads = 2
    /// How far compressed input may expand (see ``DecompressionLimits``).
    public var limits = DecompressionLimits()

    public init(path: String) { self.path = path }

    /// The `FILE` of rejections.
    private var origin: String { path == "-" ? "<stdin>" : path }

    /// Reads every record, handing them to `body` in input order in batches, on the calling thread.
    /// `progress` is called after each chunk with the bytes read from the file so far and the records
    /// delivered so far. Throws what `body` throws, or an ``InputError`` when the input cannot be read
    /// or holds no record at all (`noRecords`).
    public func read(progress: ((_ bytesRead: Int, _ records: Int) -> Void)? = nil,
                     _ body: ([KubeArmorJSONReader.Outcome]) throws -> Void) throws {
        let stream = try InputByteStream(path: path, limits: limits)
        var first = try stream.nextLines(atLeast: chunkBytes) ?? []
        // The form is told by the first line that is not blank.
        while Self.isBlank(first), let more = try stream.nextLines(atLeast: chunkBytes) { first += more }
        var reader = KubeArmorJSONReader(bytes: first, origin: origin)
        if reader.form != .lines {
            reader = KubeArmorJSONReader(bytes: first + (try stream.readToEnd()), origin: origin)
        }
        first = []
        // Each chunk is read (and decompressed) while the one before it is parsed.
        var readSoFar = stream.bytesRead
        var ahead = ChunkReadAhead(stream, atLeast: chunkBytes)
        var delivered = try reader.deliver(threads: threads, body)
        progress?(readSoFar, delivered)
        var lines = Self.newlines(in: reader.bytes), bytes = reader.bytes.count
        while let chunk = try ahead.take() {
            readSoFar = stream.bytesRead
            ahead = ChunkReadAhead(stream, atLeast: chunkBytes)
            reader = KubeArmorJSONReader(continuing: chunk, origin: origin, linesBefore: lines, bytesBefore: bytes)
            delivered += try reader.deliver(threads: threads, body)
            progress?(readSoFar, delivered)
            lines += Self.newlines(in: chunk)
            bytes += chunk.count
        }
        if delivered == 0 { throw InputError(origin: origin, reason: .noRecords) }
    }

    /// Whether `bytes` hold only whitespace after a byte order mark, if any.
    private static func isBlank(_ bytes: [UInt8]) -> Bool {
        let content = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
        return content.allSatisfy(JSONBytes.isWhitespace)
    }

    private static func newlines(in bytes: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            guard var p = buffer.baseAddress else { return 0 }
            let end = p + buffer.count
            var count = 0
            while p < end, let found = memchr(p, 0x0A, end - p) {
                count += 1
                p = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) + 1
            }
            return count
        }
    }
}

/// The next chunk of a stream, read on a thread of its own meanwhile. The stream is not touched by
/// anyone else until ``take()`` has returned.
private final class ChunkReadAhead: @unchecked Sendable {
    private let stream: InputByteStream
    private let size: Int
    private var result: Result<[UInt8]?, InputError> = .success(nil)
    private var thread: DedicatedThread?

    init(_ stream: InputByteStream, atLeast size: Int) {
        self.stream = stream
        self.size = size
        thread = DedicatedThread { [self] in read() }
        if thread == nil { read() }
    }

    deinit { thread?.join() }

    private func read() {
        result = Result { () throws(InputError) in try stream.nextLines(atLeast: size) }
    }

    /// The chunk (nil at the end of the input), once read.
    func take() throws(InputError) -> [UInt8]? {
        thread?.join()
        thread = nil
        return try result.get()
    }
}
