/// Why a recorder could not start or stopped: a missing privilege or kernel feature, a refused BPF
/// program, a bad configuration.
///
/// `code` tells a caller what to do (`rearview record` exits 4 for the privilege and kernel codes,
/// 2 for ``Code/invalidConfiguration``); `message` names the capability, feature, program or
/// attach point concerned, and `errno` is the system error behind it, when there is one.
public struct RecorderError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Not running as root.
        case notRoot
        /// A capability BPF tracing needs (CAP_BPF or CAP_SYS_ADMIN, CAP_PERFMON) is not effective.
        case missingCapability
        /// The kernel has no BTF (/sys/kernel/btf/vmlinux), which CO-RE and tp_btf programs need.
        case kernelBTFMissing
        /// The kernel lacks a BPF feature rearview needs (ring buffers, tp_btf programs).
        case kernelFeatureMissing
        /// The embedded BPF object could not be opened or prepared.
        case objectInvalid
        /// The kernel's verifier or the platform refused a program; the message has the verifier's last words.
        case programRefused
        /// A program loaded but could not be attached to its tracepoint.
        case attachFailed
        /// The ring buffer or a map could not be set up or read.
        case mapFailed
        /// The configuration is out of bounds.
        case invalidConfiguration
        /// A thread or file the recorder needs could not be created.
        case systemResource
    }

    public let code: Code
    public let message: String
    public let errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// Whether the failure is about this host (privileges, kernel) rather than about rearview or its input.
    public var isHostCapabilityMissing: Bool {
        switch code {
        case .notRoot, .missingCapability, .kernelBTFMissing, .kernelFeatureMissing, .programRefused, .attachFailed:
            return true
        case .objectInvalid, .mapFailed, .invalidConfiguration, .systemResource:
            return false
        }
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(SystemErrorText.describe(errno: errno))"
    }
}
