/// Why `forward` stopped: a bad setting, a receiver that could not be reached or refused the records,
/// or a checkpoint that cannot be read or written.
public struct ForwardError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, which decides the exit code.
    public enum Kind: Sendable {
        /// A setting or input the user gave is wrong (missing token file, unreadable CA, other selection).
        case configuration
        /// The receiver could not be reached, broke the connection, or refused records, after all retries.
        case delivery
        /// The checkpoint file cannot be read or written.
        case checkpoint
    }

    public let kind: Kind
    public let message: String
    /// Whether trying again (reconnecting, resending) may succeed.
    public let retryable: Bool

    public init(_ kind: Kind, _ message: String, retryable: Bool = false) {
        self.kind = kind
        self.message = message
        self.retryable = retryable
    }

    /// A transient delivery failure: reconnect and resend from the checkpoint.
    static func transient(_ message: String) -> ForwardError { ForwardError(.delivery, message, retryable: true) }

    public var description: String { message }
}
