import CLZ4
import CZlib

/// How far a compressed input may expand before it is refused as a decompression bomb.
///
/// A gzip stream expands at most about 1030 times and an LZ4 frame about 255 times, so a small file can
/// stand for gigabytes. KubeArmor NDJSON compresses about 17x with `gzip -9` and 21x with `lz4 -9`
/// (generated logs), about 50x for a flood of one alert that differs only in times and PIDs, so the
/// default ratio leaves four times that room; only a file of one record repeated byte for byte comes
/// near it. The ratio is checked once the output passes ``ratioGrace``, so small, very repetitive
/// files always pass; the absolute cap bounds the work one input can cause at any ratio.
public struct DecompressionLimits: Sendable, Equatable {
    /// Decompressed bytes per compressed byte read, at most.
    public var maxRatio: Int
    /// Decompressed bytes of one input, at most.
    public var maxBytes: Int
    /// Output up to this size is never refused for its ratio.
    public var ratioGrace: Int

    public init(maxRatio: Int = 200, maxBytes: Int = 16 << 30, ratioGrace: Int = 64 << 20) {
        self.maxRatio = maxRatio
        self.maxBytes = maxBytes
        self.ratioGrace = ratioGrace
    }
}

/// A decompressor fed its input piece by piece: what ``InputByteStream`` reads compressed inputs with.
protocol StreamDecoder: AnyObject {
    /// Decompresses the next `input` bytes of the stream, appending what they give to `output`.
    func decode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws(InputError)
    /// Checks that the stream ended where it may end (after a complete member or frame).
    func finish() throws(InputError)
}

/// Where a decoder writes before its output is appended to the caller's array; it counts what the
/// stream produced and refuses output beyond the ``DecompressionLimits``.
private final class OutputScratch {
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 18)
    private let origin: String
    private let limits: DecompressionLimits
    /// Decompressed bytes handed over so far.
    private var produced = 0

    init(origin: String, limits: DecompressionLimits) {
        self.origin = origin
        self.limits = limits
    }

    deinit { buffer.deallocate() }

    /// Appends the first `count` bytes of the buffer to `output`, unless the stream's output, `consumed`
    /// compressed bytes having been read, then exceeds a limit.
    func append(_ count: Int, consumed: Int, to output: inout [UInt8]) throws(InputError) {
        produced += count
        if produced > limits.maxBytes {
            throw InputError(origin: origin, reason: .decompressedSizeExceedsLimit(maxBytes: limits.maxBytes))
        }
        let (allowed, overflow) = max(consumed, 1).multipliedReportingOverflow(by: limits.maxRatio)
        if produced > limits.ratioGrace, !overflow, produced > allowed {
            throw InputError(origin: origin, reason: .decompressedSizeExceedsRatio(
                maxRatio: limits.maxRatio, decompressed: produced, compressed: consumed))
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
    }
}

/// Decodes gzip data (RFC 1952) with zlib's `inflate`, member after member, as `gzip -d` does.
final class GzipStreamDecoder: StreamDecoder {
    private let origin: String
    /// zlib keeps a pointer to its stream: it lives at a fixed address.
    private let stream: UnsafeMutablePointer<z_stream>
    /// Compressed bytes taken so far (for messages).
    private var consumed = 0
    /// True between members: after one ended and before the next one's first byte.
    private var betweenMembers = false
    private let scratch: OutputScratch

    init(origin: String, limits: DecompressionLimits) throws(InputError) {
        self.origin = origin
        scratch = OutputScratch(origin: origin, limits: limits)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // inflateInit2 is a C macro; 16 + MAX_WBITS asks for a gzip header and the largest window.
        guard inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw InputError(origin: origin, reason: .corruptGzip(detail: "zlib could not start"))
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    private func corrupt(_ detail: String) -> InputError { InputError(origin: origin, reason: .corruptGzip(detail: detail)) }

    func decode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws(InputError) {
        var taken = 0
        while true {
            if betweenMembers {
                guard taken < input.count else { return }
                // Another member may follow; anything else after a member is damage.
                guard input[taken] == 0x1f, input.count - taken < 2 || input[taken + 1] == 0x8b else {
                    throw corrupt("unexpected data after a gzip member at byte \(consumed)")
                }
                inflateReset(stream)
                betweenMembers = false
            }
            // zlib counts in 32 bits: feed at most 1 GiB at a time.
            let feed = min(input.count - taken, 1 << 30)
            stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + taken) }
            stream.pointee.avail_in = uInt(feed)
            stream.pointee.next_out = scratch.buffer.baseAddress
            stream.pointee.avail_out = uInt(scratch.buffer.count)
            let status = inflate(stream, Z_NO_FLUSH)
            let used = feed - Int(stream.pointee.avail_in)
            taken += used
            consumed += used
            try scratch.append(scratch.buffer.count - Int(stream.pointee.avail_out), consumed: consumed, to: &output)
            switch status {
            case Z_STREAM_END: betweenMembers = true
            case Z_OK, Z_BUF_ERROR:
                // Out of input with room to spare: the rest of the member comes with the next input.
                if taken == input.count, stream.pointee.avail_out > 0 { return }
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                throw corrupt("\(message) near byte \(consumed)")
            }
        }
    }

    func finish() throws(InputError) {
        if !betweenMembers { throw corrupt("the stream is cut short after byte \(consumed)") }
    }
}

/// Decodes LZ4 frames (the `lz4` command's format) with liblz4's frame API, frame after frame.
final class LZ4FrameStreamDecoder: StreamDecoder {
    private let origin: String
    private let context: OpaquePointer
    /// Compressed bytes taken so far (for messages).
    private var consumed = 0
    /// liblz4's hint: 0 once the last frame begun is complete.
    private var expectsMore = 0
    private let scratch: OutputScratch

    init(origin: String, limits: DecompressionLimits) throws(InputError) {
        self.origin = origin
        scratch = OutputScratch(origin: origin, limits: limits)
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw InputError(origin: origin, reason: .corruptLZ4(detail: "liblz4 could not start"))
        }
        self.context = context
    }

    deinit { LZ4F_freeDecompressionContext(context) }

    private func corrupt(_ detail: String) -> InputError { InputError(origin: origin, reason: .corruptLZ4(detail: detail)) }

    func decode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws(InputError) {
        var taken = 0
        while true {
            var sourceSize = input.count - taken
            var destinationSize = scratch.buffer.count
            let hint = LZ4F_decompress(context, scratch.buffer.baseAddress, &destinationSize,
                                       input.baseAddress.map { $0 + taken }, &sourceSize, nil)
            if LZ4F_isError(hint) != 0 {
                throw corrupt("\(String(cString: LZ4F_getErrorName(hint))) near byte \(consumed)")
            }
            taken += sourceSize
            consumed += sourceSize
            try scratch.append(destinationSize, consumed: consumed, to: &output)
            expectsMore = hint
            // Done when all input is taken and the output had room to spare (nothing held back).
            if taken == input.count, destinationSize < scratch.buffer.count { return }
        }
    }

    func finish() throws(InputError) {
        if expectsMore != 0 { throw corrupt("the frame is cut short after byte \(consumed)") }
    }
}
