import Glibc

/// What went wrong with a store, with the file and place it concerns.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; callers choose exit codes from it.
    public enum Code: Sendable, Equatable {
        /// A system call failed (the errno is in the message).
        case io
        /// The store's files contradict their checksums or each other.
        case damaged
        /// Another writer holds the store.
        case locked
        /// The directory is not a rearview store, or has a format this version cannot read.
        case notAStore
        /// The caller asked for something the store cannot do (bad argument).
        case invalidRequest
        /// The store directory or a file in it is not safe to use: another user controls it, or it
        /// is a symbolic link or not a regular file (see ``DirectoryHandle``).
        case untrusted
    }

    public var code: Code
    /// The file the error concerns, if any.
    public var path: String?
    /// Byte offset in that file, if it matters.
    public var offset: Int?
    public var message: String

    public init(_ code: Code, path: String? = nil, offset: Int? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.offset = offset
        self.message = message
    }

    public var description: String {
        var where_ = path ?? ""
        if let offset { where_ += (where_.isEmpty ? "" : ":") + "offset \(offset)" }
        return where_.isEmpty ? message : "\(where_): \(message)"
    }

    /// The error for a failed system call, read from `errno` right after it.
    static func system(_ operation: String, path: String) -> StoreError {
        let code = errno
        let text = String(cString: strerror(code))
        return StoreError(.io, path: path, "\(operation) failed: \(text) (errno \(code))")
    }
}
