/// Text from the kernel or /proc (paths, arguments, process names), which is bytes and need not be
/// UTF-8, kept byte for byte in a Swift string.
///
/// Valid UTF-8 is decoded as usual. Each byte of an invalid sequence becomes one private-use scalar,
/// U+10FD00 + byte (U+10FD80…U+10FDFF), so `bytes(of:)` gives back exactly what the kernel reported,
/// the JSON rearview writes stays valid UTF-8 and reads back to the same string, and displays show
/// the byte as `\xHH` (see ``TerminalText``). KubeArmor replaces such bytes with U+FFFD, losing them.
public enum KernelText {
    /// The first scalar of the range that stands for raw bytes 0x80…0xFF.
    static let rawByteBase: UInt32 = 0x10FD00

    /// `bytes` as a string: valid UTF-8 decoded, each byte of an invalid sequence as its stand-in scalar.
    public static func string<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        let array = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < array.count {
            if let (scalar, length) = decodeScalar(array, at: i) {
                scalars.append(scalar)
                i += length
            } else {
                scalars.append(Unicode.Scalar(rawByteBase + UInt32(array[i]))!)
                i += 1
            }
        }
        return String(scalars)
    }

    /// The bytes `text` stands for: its UTF-8, with each stand-in scalar turned back into its raw byte.
    public static func bytes(of text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let byte = rawByte(scalar) { out.append(byte) } else { out.append(contentsOf: UTF8.encode(scalar)!) }
        }
        return out
    }

    /// The raw byte `scalar` stands for, or nil for an ordinary scalar.
    public static func rawByte(_ scalar: Unicode.Scalar) -> UInt8? {
        let offset = scalar.value &- rawByteBase
        return offset >= 0x80 && offset <= 0xFF ? UInt8(offset) : nil
    }

    /// The well-formed UTF-8 scalar starting at `i` and its length, or nil (RFC 3629: no overlong
    /// forms, no surrogates, nothing above U+10FFFF).
    private static func decodeScalar(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let lead = b[i]
        let length: Int, minimum: UInt32
        var value: UInt32
        switch lead {
        case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(lead & 0x07)
        default: return nil
        }
        guard i + length <= b.count else { return nil }
        for k in 1..<length {
            let continuation = b[i + k]
            guard continuation & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}

/// Text from events made safe for a terminal (and for any display that must not be steered by it).
///
/// Event strings come from the monitored hosts, so an attacker can choose them: a name with a
/// newline, an escape sequence or a right-to-left override could forge or hide lines. Those become
/// visible escapes. A backslash is doubled, so a name that spells `\x1b` out cannot pass for one
/// that holds an escape character.
public enum TerminalText {
    /// `text` with `\` doubled; `\n` `\r` `\t` written so; other C0/C1 controls and DEL, and raw
    /// bytes kept by ``KernelText``, as `\xhh`; invisible direction and layout controls as `\u{hhhh}`.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if let byte = KernelText.rawByte(scalar) {
                    out += "\\x" + hex(UInt32(byte), digits: 2)
                } else if scalar.value < 0x100 {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else {
                    out += "\\u{" + hex(scalar.value, digits: 4) + "}"
                }
            }
        }
        return out
    }

    /// `text` cut to at most `width` characters with `…` in the middle, so both ends stay visible: a
    /// command line's first words and its last argument (`bash -c cat /etc/p…; cat /etc/shadow`).
    public static func middleTruncated(_ text: String, to width: Int) -> String {
        guard text.count > width else { return text }
        guard width > 1 else { return width == 1 ? "…" : "" }
        let kept = width - 1
        let tail = kept / 2
        return String(text.prefix(kept - tail)) + "…" + String(text.suffix(tail))
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x5C, 0x7F...0x9F: return true
        // Bidirectional marks, embeddings, overrides and isolates; zero-width and line/paragraph separators.
        case 0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: return true
        case KernelText.rawByteBase + 0x80...KernelText.rawByteBase + 0xFF: return true
        default: return false
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
