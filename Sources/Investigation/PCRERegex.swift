import CPCRE2

/// A PCRE2 regular expression, compiled once and matched against UTF-8 text without copying it.
///
/// Patterns compile in UTF mode and, where the platform allows, to machine code (`pcre2_jit_compile`);
/// otherwise matching falls back to PCRE2's interpreter. A compiled regex is immutable and may be used
/// from several threads at once: each thread matches with its own match-data block. Matching is
/// unanchored (`~` finds the pattern anywhere); a subject on which PCRE2 gives up (match or depth limit)
/// counts as not matching.
public final class PCRERegex: @unchecked Sendable {
    // Sendable: `code` is written once in init and only read afterwards; PCRE2 documents compiled
    // patterns as safe for concurrent matching when each thread has its own match data.

    /// Compile options.
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Letters match regardless of case (`PCRE2_CASELESS`, like a leading `(?i)`).
        public static let caseless = Options(rawValue: 1)
    }

    /// The pattern as given.
    public let pattern: String
    /// The options it was compiled with.
    public let options: Options
    /// Whether matching runs JIT-compiled code (false when the platform has no PCRE2 JIT).
    public let isJITCompiled: Bool
    private let code: OpaquePointer

    /// Compiles `pattern` (`pcre2_compile` with `PCRE2_UTF`, then `pcre2_jit_compile`).
    public init(_ pattern: String, options: Options = []) throws(RegexCompileError) {
        var flags = UInt32(PCRE2_UTF)
        if options.contains(.caseless) { flags |= UInt32(PCRE2_CASELESS) }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled = pattern.utf8.withContiguousBytes { bytes in
            rv_pcre2_compile(bytes.baseAddress, bytes.count, flags, &errorCode, &errorOffset)
        }
        guard let compiled else {
            throw RegexCompileError(pattern: pattern, offset: errorOffset, message: PCRERegex.message(errorCode))
        }
        self.pattern = pattern
        self.options = options
        self.code = compiled
        self.isJITCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
    }

    deinit { pcre2_code_free_8(code) }

    /// Whether the pattern matches somewhere in `text`.
    public func matches(_ text: String) -> Bool {
        text.utf8.withContiguousBytes { matches(utf8: $0) }
    }

    /// Whether the pattern matches somewhere in `bytes`, which must be valid UTF-8 (not checked again).
    func matches(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        rv_pcre2_matches(code, bytes.baseAddress, bytes.count, isJITCompiled ? 1 : 0) == 1
    }

    /// PCRE2's text for an error code (`pcre2_get_error_message`).
    private static func message(_ errorCode: Int32) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buffer in
            let length = pcre2_get_error_message_8(errorCode, buffer.baseAddress, buffer.count)
            guard length > 0 else { return "PCRE2 error \(errorCode)" }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<Int(length)]), as: UTF8.self)
        }
    }
}

/// A regular expression that PCRE2 refused to compile.
///
/// Carries the pattern, the byte offset in it where PCRE2 stopped, and PCRE2's own message.
public struct RegexCompileError: Error, Equatable, CustomStringConvertible {
    public var pattern: String
    /// Byte offset into ``pattern`` at which compilation failed.
    public var offset: Int
    /// PCRE2's message (`pcre2_get_error_message`).
    public var message: String

    public var description: String { "bad regular expression '\(pattern)' at offset \(offset): \(message)" }
}

extension String.UTF8View {
    /// Runs `body` on the bytes in place (every native Swift string is contiguous); copies only for the
    /// rare string that is not.
    @inline(__always)
    func withContiguousBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = withContiguousStorageIfAvailable(body) { return result }
        return Array(self).withUnsafeBufferPointer(body)
    }
}
