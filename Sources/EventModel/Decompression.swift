import CLZ4
import CZlib

/// Decodes gzip data (RFC 1952) with zlib's `inflate`, member after member, as `gzip -d` does.
enum GzipDecoder {
    static func decode(_ input: [UInt8], origin: String) throws(InputError) -> [UInt8] {
        func corrupt(_ detail: String) -> InputError { InputError(origin: origin, reason: .corruptGzip(detail: detail)) }
        var stream = z_stream()
        // inflateInit2 is a C macro; 16 + MAX_WBITS asks for a gzip header and the largest window.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var outputSize = 0
        var consumed = 0
        var failure: InputError?
        input.withUnsafeBufferPointer { source in
            var capacity = max(input.count * 4, 1 << 16)
            while true {
                if outputSize == output.count {
                    output.append(contentsOf: repeatElement(0, count: capacity - output.count))
                    capacity *= 2
                }
                // zlib counts in 32 bits: feed and fill at most 1 GiB at a time.
                let feed = min(source.count - consumed, 1 << 30)
                let room = min(output.count - outputSize, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress! + consumed)
                stream.avail_in = uInt(feed)
                let status: Int32 = output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + outputSize
                    stream.avail_out = uInt(room)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                consumed += feed - Int(stream.avail_in)
                outputSize += room - Int(stream.avail_out)
                switch status {
                case Z_STREAM_END:
                    if consumed == source.count { return }
                    // Another member may follow; anything else after a member is damage.
                    guard source.count - consumed >= 2, source[consumed] == 0x1f, source[consumed + 1] == 0x8b else {
                        failure = corrupt("unexpected data after a gzip member at byte \(consumed)")
                        return
                    }
                    inflateReset(&stream)
                case Z_OK, Z_BUF_ERROR:
                    // Stuck with room to spare and nothing left to feed: the member never ended.
                    if stream.avail_out > 0, consumed == source.count {
                        failure = corrupt("the stream is cut short")
                        return
                    }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                    failure = corrupt("\(message) near byte \(consumed)")
                    return
                }
            }
        }
        if let failure { throw failure }
        output.removeLast(output.count - outputSize)
        return output
    }
}

/// Decodes LZ4 frames (the `lz4` command's format) with liblz4's frame API, frame after frame.
enum LZ4FrameDecoder {
    static func decode(_ input: [UInt8], origin: String) throws(InputError) -> [UInt8] {
        func corrupt(_ detail: String) -> InputError { InputError(origin: origin, reason: .corruptLZ4(detail: detail)) }
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw corrupt("liblz4 could not start")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output = [UInt8]()
        var outputSize = 0
        var consumed = 0
        var expectsMore = 0
        var failure: InputError?
        input.withUnsafeBufferPointer { source in
            var capacity = max(input.count * 4, 1 << 16)
            while true {
                if outputSize == output.count {
                    output.append(contentsOf: repeatElement(0, count: capacity - output.count))
                    capacity *= 2
                }
                let room = output.count - outputSize
                var sourceSize = source.count - consumed
                var destinationSize = room
                let hint = output.withUnsafeMutableBufferPointer { out in
                    LZ4F_decompress(context, out.baseAddress! + outputSize, &destinationSize,
                                    source.baseAddress! + consumed, &sourceSize, nil)
                }
                if LZ4F_isError(hint) != 0 {
                    failure = corrupt("\(String(cString: LZ4F_getErrorName(hint))) near byte \(consumed)")
                    return
                }
                consumed += sourceSize
                outputSize += destinationSize
                expectsMore = hint
                // Done when all input is taken and the output had room to spare (nothing held back).
                if consumed == source.count, destinationSize < room { return }
            }
        }
        if let failure { throw failure }
        // A hint of 0 means the last frame is complete.
        if expectsMore != 0 { throw corrupt("the frame is cut short") }
        output.removeLast(output.count - outputSize)
        return output
    }
}
