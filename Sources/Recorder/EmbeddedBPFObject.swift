/// The BPF objects built from bpf/*.bpf.c and embedded by the BPFObjectPlugin build plugin.
///
/// The plugin generates `static let <name>Base64` members in an extension of this type (base64,
/// because a byte-array literal of this size takes the Swift type checker minutes).
enum EmbeddedBPFObject {
    /// bpf/rearview.bpf.c, ready for `bpf_object__open_mem`.
    static var rearview: [UInt8] { Base64.decode(rearviewBase64) }
}

/// A small strict base64 decoder (RFC 4648 alphabet, padding optional, line breaks ignored).
enum Base64 {
    static func decode(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: continue // "=", "\n"
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
