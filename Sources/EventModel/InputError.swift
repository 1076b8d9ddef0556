/// Why a whole input (a file or stdin) cannot be read as KubeArmor records.
///
/// Problems with single records are ``RejectedRecord``s instead; an `InputError` means nothing of the
/// input can be used. Its description is one line, `FILE: reason`.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Equatable {
        /// The file could not be opened or read; `detail` is the system's message.
        case unreadable(detail: String)
        /// The gzip stream is damaged or cut short.
        case corruptGzip(detail: String)
        /// The LZ4 frame is damaged or cut short.
        case corruptLZ4(detail: String)
        /// A compression rearview does not decode (named by its magic bytes).
        case unsupportedCompression(name: String)
        /// Compressed input that expands more than `maxRatio` times what was read of it (a
        /// decompression bomb): `decompressed` bytes came from `compressed` bytes.
        case decompressedSizeExceedsRatio(maxRatio: Int, decompressed: Int, compressed: Int)
        /// Compressed input that expands to more than `maxBytes`.
        case decompressedSizeExceedsLimit(maxBytes: Int)
        /// The input holds no record at all (it is empty, only whitespace, or `[]`).
        case noRecords
    }

    /// The file name, or `-` for stdin.
    public let origin: String
    public let reason: Reason

    public init(origin: String, reason: Reason) {
        self.origin = origin
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unreadable(let detail): return "\(origin): cannot read: \(detail)"
        case .corruptGzip(let detail): return "\(origin): corrupt gzip data: \(detail)"
        case .corruptLZ4(let detail): return "\(origin): corrupt LZ4 data: \(detail)"
        case .unsupportedCompression(let name):
            return "\(origin): \(name)-compressed input is not supported; decompress it first"
        case .decompressedSizeExceedsRatio(let maxRatio, let decompressed, let compressed):
            return "\(origin): decompressed size exceeds \(maxRatio) times the compressed size "
                + "(\(decompressed) bytes from the first \(compressed)); refused as a decompression bomb"
        case .decompressedSizeExceedsLimit(let maxBytes):
            return "\(origin): decompressed size exceeds \(maxBytes) bytes; refused as a decompression bomb"
        case .noRecords: return "\(origin): no records"
        }
    }
}
