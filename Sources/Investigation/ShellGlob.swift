/// A shell-style wildcard pattern matched against a whole string: `*`, `?`, `[...]`.
///
/// `*` matches any run of characters **including `/`** (unlike path globbing: `/usr/*` matches
/// `/usr/local/bin/x`), `?` exactly one character, `[abc]`, `[a-z]` one character of a set, and `[!…]`
/// or `[^…]` one character outside it; a `]` right after the opening `[` (or `[!`) is a member.
/// A backslash makes the next character literal. Characters are Unicode scalars; comparison is exact
/// (case-sensitive).
struct ShellGlob: Sendable {
    let pattern: String
    private let tokens: [Token]

    private enum Token: Sendable {
        case literal([UInt8])
        case anyCharacter
        case anyRun
        case set(ranges: [ClosedRange<UInt32>], negated: Bool)
    }

    /// The reason a pattern is malformed and the byte offset in it.
    struct SyntaxError: Error {
        let offset: Int
        let reason: String
    }

    init(_ pattern: String) throws(SyntaxError) {
        let scalars = Array(pattern.unicodeScalars)
        var byteOffsets = [Int]()
        var offset = 0
        for scalar in scalars {
            byteOffsets.append(offset)
            offset += UTF8.width(scalar)
        }
        var tokens = [Token]()
        var literal = [UInt8]()
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)); literal = [] }
        }
        var i = 0
        while i < scalars.count {
            let scalar = scalars[i]
            switch scalar {
            case "*":
                flush()
                if case .anyRun? = tokens.last {} else { tokens.append(.anyRun) }
                i += 1
            case "?":
                flush()
                tokens.append(.anyCharacter)
                i += 1
            case "[":
                flush()
                let start = i
                i += 1
                var negated = false
                if i < scalars.count, scalars[i] == "!" || scalars[i] == "^" { negated = true; i += 1 }
                var ranges = [ClosedRange<UInt32>]()
                var first = true
                while i < scalars.count, scalars[i] != "]" || first {
                    first = false
                    var low = scalars[i]
                    if low == "\\", i + 1 < scalars.count { i += 1; low = scalars[i] }
                    if i + 2 < scalars.count, scalars[i + 1] == "-", scalars[i + 2] != "]" {
                        var high = scalars[i + 2]
                        i += 2
                        if high == "\\", i + 1 < scalars.count { i += 1; high = scalars[i] }
                        guard low.value <= high.value else {
                            throw SyntaxError(offset: byteOffsets[i], reason: "range '\(low)-\(high)' is reversed")
                        }
                        ranges.append(low.value...high.value)
                    } else {
                        ranges.append(low.value...low.value)
                    }
                    i += 1
                }
                guard i < scalars.count else {
                    throw SyntaxError(offset: byteOffsets[start], reason: "'[' has no closing ']'")
                }
                tokens.append(.set(ranges: ranges, negated: negated))
                i += 1
            case "\\" where i + 1 < scalars.count:
                literal.append(contentsOf: String(scalars[i + 1]).utf8)
                i += 2
            default:
                literal.append(contentsOf: String(scalar).utf8)
                i += 1
            }
        }
        flush()
        self.pattern = pattern
        self.tokens = tokens
    }

    /// Whether the whole of `text` matches.
    func matches(_ text: String) -> Bool {
        text.utf8.withContiguousBytes { matches(utf8: $0) }
    }

    /// Whether the whole of `bytes` (valid UTF-8) matches. Greedy with backtracking to the last `*`
    /// only, so the cost is at most patterns × subject, never exponential.
    func matches(utf8 s: UnsafeBufferPointer<UInt8>) -> Bool {
        var ti = 0, si = 0
        var runToken = -1, runResume = 0
        while si < s.count {
            if ti < tokens.count, step(tokens[ti], s, &si, &runToken, &runResume, ti) {
                ti += 1
                continue
            }
            guard runToken >= 0 else { return false }
            runResume += ShellGlob.scalarWidth(s[runResume])
            si = runResume
            ti = runToken + 1
        }
        while ti < tokens.count, case .anyRun = tokens[ti] { ti += 1 }
        return ti == tokens.count
    }

    /// Tries token `t` (at index `ti`) at `si`; advances `si` and returns true when it matches there.
    @inline(__always)
    private func step(_ t: Token, _ s: UnsafeBufferPointer<UInt8>, _ si: inout Int,
                      _ runToken: inout Int, _ runResume: inout Int, _ ti: Int) -> Bool {
        switch t {
        case .anyRun:
            runToken = ti
            runResume = si
            return true
        case .anyCharacter:
            si += ShellGlob.scalarWidth(s[si])
            return true
        case .literal(let bytes):
            guard s.count - si >= bytes.count else { return false }
            for k in 0..<bytes.count where s[si + k] != bytes[k] { return false }
            si += bytes.count
            return true
        case .set(let ranges, let negated):
            let (scalar, width) = ShellGlob.decodeScalar(s, at: si)
            guard ranges.contains(where: { $0.contains(scalar) }) != negated else { return false }
            si += width
            return true
        }
    }

    /// Number of bytes of the UTF-8 sequence that starts with `lead`.
    @inline(__always)
    static func scalarWidth(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// The scalar value at `i` of valid UTF-8 and its width in bytes.
    @inline(__always)
    private static func decodeScalar(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let lead = s[i]
        let width = min(scalarWidth(lead), s.count - i)
        guard width > 1 else { return (UInt32(lead), 1) }
        var value = UInt32(lead) & (0xFF >> (width + 1))
        for k in 1..<width { value = value << 6 | UInt32(s[i + k] & 0x3F) }
        return (value, width)
    }
}
