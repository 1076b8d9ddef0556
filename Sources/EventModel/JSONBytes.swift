/// Byte-level JSON helpers shared by the KubeArmor reader and writer: hashing, string scanning with
/// UTF-8 validation, and unescaping.
enum JSONBytes {
    static let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, colon: UInt8 = 0x3A, comma: UInt8 = 0x2C
    static let openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D, openBracket: UInt8 = 0x5B, closeBracket: UInt8 = 0x5D
    static let newline: UInt8 = 0x0A

    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// A 64-bit hash of `count` bytes, never 0 (0 marks an empty table slot).
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        FastHash.bytes(UnsafeRawBufferPointer(start: p, count: count)) | 1
    }

    /// Whether `count` bytes at `a` and `b` are equal (compared eight at a time, the last word
    /// overlapping the one before; the inputs are short).
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        if count >= 8 {
            var i = 0
            while i + 8 < count {
                if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            return ra.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
                && ra.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) == rb.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        var i = 0
        while i < count {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// Where a string scan stopped: at its closing quote, with whether it holds escapes.
    struct ScannedString {
        /// Index of the closing quote.
        var close: Int
        var hasEscapes: Bool
    }

    /// Why a string scan failed, and at which byte.
    enum StringProblem: Error {
        case unterminated(at: Int)
        case controlCharacter(UInt8, at: Int)
        case badEscape(at: Int)
        case invalidUTF8(at: Int)
    }

    /// Scans the string whose first content byte is at `start` (just after the opening quote) up to
    /// its closing quote, eight bytes at a time, checking escapes and UTF-8 as it goes.
    @inline(__always)
    static func scanString(_ p: UnsafePointer<UInt8>, from start: Int, end: Int) throws(StringProblem) -> ScannedString {
        var i = start
        var hasEscapes = false
        let raw = UnsafeRawPointer(p)
        while true {
            // Fast path: skip eight plain bytes (no quote, backslash, control or non-ASCII byte) at a time.
            while i + 8 <= end {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let q = w ^ 0x2222_2222_2222_2222, s = w ^ 0x5C5C_5C5C_5C5C_5C5C
                let special = ((q &- 0x0101_0101_0101_0101) & ~q) | ((s &- 0x0101_0101_0101_0101) & ~s)
                    | (w &- 0x2020_2020_2020_2020) | w
                let flagged = special & 0x8080_8080_8080_8080
                if flagged == 0 { i += 8; continue }
                // The lowest flag is exact (higher ones may be borrow artefacts).
                i += flagged.trailingZeroBitCount >> 3
                break
            }
            guard i < end else { throw .unterminated(at: end) }
            let b = p[i]
            if b == quote { return ScannedString(close: i, hasEscapes: hasEscapes) }
            if b == backslash {
                hasEscapes = true
                guard i + 1 < end else { throw .unterminated(at: end) }
                switch p[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 6 <= end, hexValue(p, i + 2) != nil else { throw .badEscape(at: i) }
                    i += 6
                default: throw .badEscape(at: i)
                }
            } else if b < 0x20 {
                throw .controlCharacter(b, at: i)
            } else if b >= 0x80 {
                let length = utf8SequenceLength(p, at: i, end: end)
                guard length > 0 else { throw .invalidUTF8(at: i) }
                i += length
            } else {
                i += 1
            }
        }
    }

    /// The length of the valid UTF-8 sequence starting at `i` (a byte ≥ 0x80), or 0 when it is invalid.
    @inline(__always)
    static func utf8SequenceLength(_ p: UnsafePointer<UInt8>, at i: Int, end: Int) -> Int {
        let b0 = p[i]
        func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i + k < end && p[i + k] >= low && p[i + k] <= high
        }
        switch b0 {
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }

    /// The value of four hex digits at `i`, or nil.
    @inline(__always)
    static func hexValue(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[i + k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Appends the decoded content of an escaped string (already scanned, so well formed) to `out`.
    /// A lone surrogate becomes U+FFFD, as Go's decoder does.
    static func unescape(_ p: UnsafePointer<UInt8>, from start: Int, to close: Int, into out: ByteScratch) {
        var i = start
        while i < close {
            let b = p[i]
            guard b == backslash else {
                var j = i + 1
                while j < close, p[j] != backslash { j += 1 }
                out.append(p + i, j - i)
                i = j
                continue
            }
            let e = p[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = hexValue(p, i)!
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= close, p[i] == backslash, p[i + 1] == 0x75,
                   let low = hexValue(p, i + 2), (0xDC00..<0xE000).contains(low) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: out)
            default: out.append(e)  // \" \\ \/
            }
        }
    }

    static func appendUTF8(_ scalar: Unicode.Scalar, to out: ByteScratch) {
        for unit in UTF8.encode(scalar)! { out.append(unit) }
    }

    /// How a byte reads in an error message: `'x'` for printable ASCII, else `byte 0xNN`.
    static func describe(_ b: UInt8) -> String {
        (0x21..<0x7F).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
    }
}
