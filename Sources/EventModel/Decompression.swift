import CLZ4
import CZlib

/// A decompressor fed its input piece by piece: what ``InputByteStream`` reads compressed inputs with.
protocol StreamDecoder: AnyObject {
    /// Decompresses the next `input` bytes of the stream, appending what they give to `output`.
    func decode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) throws(InputError)
    /// Checks that the stream ended where it may end (after a complete member or frame).
    func finish() throws(InputError)
}

/// Output room added per decoder call: the decoders write straight into the output array.
private let outputStep = 1 << 18

/// Runs `fill` on `room` new bytes at the end of `output` and keeps as many as it reports written.
private func appending(room: Int, to output: inout [UInt8], _ fill: (UnsafeMutablePointer<UInt8>, Int) -> Int) {
    let start = output.count
    output.append(contentsOf: repeatElement(0, count: room))
    let written = output.withUnsafeMutableBufferPointer { fill($0.baseAddress! + start, room) }
    output.removeLast(room - written)
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

    init(origin: String) throws(InputError) {
        self.origin = origin
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
        while taken < input.count {
            if betweenMembers {
                // Another member may follow; anything else after a member is damage.
                let left = input.count - taken
                guard input[taken] == 0x1f, left < 2 || input[taken + 1] == 0x8b else {
                    throw corrupt("unexpected data after a gzip member at byte \(consumed)")
                }
                inflateReset(stream)
                betweenMembers = false
            }
            // zlib counts in 32 bits: feed at most 1 GiB at a time.
            let feed = min(input.count - taken, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + taken)
            stream.pointee.avail_in = uInt(feed)
            var status = Z_OK
            appending(room: max(outputStep, feed * 4), to: &output) { out, room in
                stream.pointee.next_out = out
                stream.pointee.avail_out = uInt(room)
                status = inflate(stream, Z_NO_FLUSH)
                return room - Int(stream.pointee.avail_out)
            }
            let used = feed - Int(stream.pointee.avail_in)
            taken += used
            consumed += used
            switch status {
            case Z_STREAM_END: betweenMembers = true
            case Z_OK, Z_BUF_ERROR: continue
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                throw corrupt("\(message) near byte \(consumed)")
            }
        }
        // Output zlib still holds back for want of room comes out before more input goes in.
        while !betweenMembers, stream.pointee.avail_out == 0 {
            var status = Z_OK
            appending(room: outputStep, to: &output) { out, room in
                stream.pointee.next_in = nil
                stream.pointee.avail_in = 0
                stream.pointee.next_out = out
                stream.pointee.avail_out = uInt(room)
                status = inflate(stream, Z_NO_FLUSH)
                return room - Int(stream.pointee.avail_out)
            }
            if status == Z_STREAM_END { betweenMembers = true }
            else if status != Z_OK, status != Z_BUF_ERROR { throw corrupt("inflate error \(status) near byte \(consumed)") }
        }
    }

    func finish() throws(InputError) {
        if !betweenMembers { throw corrupt("the stream is cut short") }
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

    init(origin: String) throws(InputError) {
        self.origin = origin
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
            var hint = 0
            var sourceSize = 0
            var full = false
            appending(room: max(outputStep, (input.count - taken) * 4), to: &output) { out, room in
                sourceSize = input.count - taken
                var destinationSize = room
                hint = LZ4F_decompress(context, out, &destinationSize, input.baseAddress.map { $0 + taken }, &sourceSize, nil)
                if LZ4F_isError(hint) != 0 { return 0 }
                full = destinationSize == room
                return destinationSize
            }
            if LZ4F_isError(hint) != 0 {
                throw corrupt("\(String(cString: LZ4F_getErrorName(hint))) near byte \(consumed)")
            }
            taken += sourceSize
            consumed += sourceSize
            expectsMore = hint
            // Done when all input is taken and the output had room to spare (nothing held back).
            if taken == input.count, !full { return }
        }
    }

    func finish() throws(InputError) {
        if expectsMore != 0 { throw corrupt("the frame is cut short") }
    }
}
