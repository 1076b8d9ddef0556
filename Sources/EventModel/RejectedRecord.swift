/// A record of an input that could not be imported: where it is, why, and its bytes as given.
///
/// Importers report it as `FILE:LINE: reason` (its ``description``), keep ``raw`` verbatim among the
/// store's rejects, count it, and go on with the next record.
public struct RejectedRecord: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file name, or `-` for stdin.
    public let origin: String
    /// The 1-based line of the problem (for one-object-per-line input, the record's line).
    public internal(set) var line: Int
    /// Where the problem is, in bytes from the start of the (decompressed) input.
    public let byteOffset: Int
    /// One line saying what is wrong, e.g. `field HostPID: expected a number, found a string`.
    public let reason: String
    /// The record's bytes as given: the whole line for one-object-per-line input, else from the
    /// record's first byte to where reading resumed.
    public let raw: [UInt8]

    public init(origin: String, line: Int, byteOffset: Int, reason: String, raw: [UInt8]) {
        self.origin = origin
        self.line = line
        self.byteOffset = byteOffset
        self.reason = reason
        self.raw = raw
    }

    /// `FILE:LINE: reason`.
    public var description: String { "\(origin):\(line): \(reason)" }
}
