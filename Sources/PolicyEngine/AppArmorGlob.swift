import Investigation

/// A `matchPatterns` pattern, compiled for matching whole paths with AppArmor's glob rules.
///
/// `*` matches any run of characters except `/`, `**` any run including `/`, `?` one character
/// except `/`, `[…]`/`[^…]` one character of (not of) a set, `{a,b}` either alternative, and `\`
/// makes the next character literal. The pattern must match the whole subject.
///
/// This is what the AppArmor enforcer installs (KubeArmor copies patterns into the profile). KubeArmor's
/// feeder labels alerts with Go's `filepath.Match` instead, which has no `**` and no `{}`, and it
/// first compiles the pattern as a Go regular expression and silently drops the rule when that fails
/// (every pattern with `**` does); rearview keeps those rules, as the enforcer does.
///
/// Matching runs the translated PCRE2 expression (JIT-compiled) only on subjects that start with
/// the pattern's literal prefix and end with its literal suffix, which most subjects do not.
final class AppArmorGlob: Sendable {
    let pattern: String
    /// The literal text before the first wildcard.
    let literalPrefix: [UInt8]
    /// The literal text after the last wildcard (empty when the pattern ends in one).
    let literalSuffix: [UInt8]
    private let matcher: Matcher

    private enum Matcher {
        /// No wildcard: the subject must equal the literal prefix.
        case literal
        case regex(PCRERegex)
        /// A translation PCRE2 refused (not expected: every character is escaped or translated).
        case never
    }

    init(_ pattern: String) {
        self.pattern = pattern
        let tokens = Self.tokens(pattern)
        let leading = tokens.prefix { if case .literal = $0 { true } else { false } }
        let trailing = tokens.reversed().prefix { if case .literal = $0 { true } else { false } }
        self.literalPrefix = leading.flatMap(\.literalBytes)
        if leading.count == tokens.count {
            literalSuffix = []
            matcher = .literal
        } else {
            literalSuffix = trailing.reversed().flatMap(\.literalBytes)
            let body = tokens.map(\.regex).joined()
            // `\z`: the end of the subject (PCRE2's `$` would also accept a final newline).
            matcher = (try? PCRERegex("^(?:" + body + ")\\z")).map(Matcher.regex) ?? .never
        }
    }

    /// Whether the whole of `subject` matches.
    func matches(_ subject: String) -> Bool {
        subject.utf8.withContiguousBuffer { matches($0, subject) }
    }

    /// Whether the whole of `subject`, whose bytes are `bytes`, matches.
    @inline(__always)
    func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ subject: String) -> Bool {
        guard bytes.hasPrefix(literalPrefix) else { return false }
        switch matcher {
        case .literal: return bytes.count == literalPrefix.count
        case .never: return false
        case .regex(let regex):
            guard bytes.count >= literalPrefix.count + literalSuffix.count, bytes.hasSuffix(literalSuffix) else {
                return false
            }
            return regex.matches(subject)
        }
    }

    // MARK: translation

    private enum Token {
        case literal(String)
        case anyRun
        case anyRunAcrossDirectories
        case anyCharacter
        /// A bracket expression, already in PCRE2 syntax.
        case set(String)
        /// `{a,b}`: each alternative already in PCRE2 syntax.
        case alternatives([String])

        var literalBytes: [UInt8] {
            if case .literal(let text) = self { Array(text.utf8) } else { [] }
        }

        var regex: String {
            switch self {
            case .literal(let text): return AppArmorGlob.escaped(text)
            case .anyRun: return "[^/]*"
            case .anyRunAcrossDirectories: return ".*"
            case .anyCharacter: return "[^/]"
            case .set(let set): return set
            case .alternatives(let options): return "(?:" + options.joined(separator: "|") + ")"
            }
        }
    }

    private static func tokens(_ pattern: String) -> [Token] {
        var scalars = Array(pattern.unicodeScalars)[...]
        return parse(&scalars, insideBraces: false)
    }

    /// Reads tokens up to the end, or (inside braces) up to an unnested `,` or `}` (not consumed).
    private static func parse(_ s: inout ArraySlice<Unicode.Scalar>, insideBraces: Bool) -> [Token] {
        var tokens: [Token] = []
        var literal = ""
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)); literal = "" }
        }
        while let c = s.first {
            if insideBraces && (c == "," || c == "}") { break }
            s.removeFirst()
            switch c {
            case "*":
                flush()
                if s.first == "*" {
                    s.removeFirst()
                    while s.first == "*" { s.removeFirst() }
                    tokens.append(.anyRunAcrossDirectories)
                } else {
                    tokens.append(.anyRun)
                }
            case "?":
                flush()
                tokens.append(.anyCharacter)
            case "[":
                if let set = bracket(&s) {
                    flush()
                    tokens.append(.set(set))
                } else {
                    literal.unicodeScalars.append(c)
                }
            case "{":
                var probe = s
                if let options = braces(&probe) {
                    s = probe
                    flush()
                    tokens.append(.alternatives(options))
                } else {
                    literal.unicodeScalars.append(c)
                }
            case "\\":
                if let next = s.first {
                    s.removeFirst()
                    literal.unicodeScalars.append(next)
                } else {
                    literal.unicodeScalars.append(c)
                }
            default:
                literal.unicodeScalars.append(c)
            }
        }
        flush()
        return tokens
    }

    /// `{a,b,…}` after the `{`: the alternatives' PCRE2 text, or nil (and `s` untouched) if unclosed.
    private static func braces(_ s: inout ArraySlice<Unicode.Scalar>) -> [String]? {
        var options: [String] = []
        while true {
            let option = parse(&s, insideBraces: true)
            options.append(option.map(\.regex).joined())
            guard let c = s.first else { return nil }
            s.removeFirst()
            if c == "}" { return options }
        }
    }

    /// A bracket expression after the `[`, as a PCRE2 class; nil (and `s` untouched) if unclosed.
    private static func bracket(_ s: inout ArraySlice<Unicode.Scalar>) -> String? {
        var probe = s
        var set = "["
        if probe.first == "^" || probe.first == "!" {
            probe.removeFirst()
            set += "^"
        }
        var first = true
        while let c = probe.first {
            probe.removeFirst()
            if c == "]" && !first {
                s = probe
                return set + "]"
            }
            first = false
            switch c {
            case "\\":
                guard let next = probe.first else { return nil }
                probe.removeFirst()
                set += "\\" + String(next)
            case "-":
                set += "-"
            default:
                set += c.properties.isAlphabetic || ("0"..."9").contains(c) ? String(c) : "\\" + String(c)
            }
        }
        return nil
    }

    /// `text` with every PCRE2 metacharacter escaped.
    private static func escaped(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            if "\\^$.|?*+()[]{}/-#".unicodeScalars.contains(c) { out += "\\" }
            out.unicodeScalars.append(c)
        }
        return out
    }
}

extension String.UTF8View {
    /// Runs `body` on the bytes in place (native strings are contiguous); copies only otherwise.
    @inline(__always)
    func withContiguousBuffer<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = withContiguousStorageIfAvailable(body) { return result }
        return Array(self).withUnsafeBufferPointer(body)
    }
}

extension String {
    /// Whether `needle` occurs in the string, comparing bytes (no Unicode or locale rules; much faster
    /// than Foundation's `contains`).
    func containsBytes(of needle: String) -> Bool {
        utf8.withContiguousBuffer { haystack in
            needle.utf8.withContiguousBuffer { needle in
                guard !needle.isEmpty else { return true }
                guard haystack.count >= needle.count else { return false }
                let first = needle[0]
                var i = 0
                let last = haystack.count - needle.count
                while i <= last {
                    if haystack[i] == first {
                        var k = 1
                        while k < needle.count && haystack[i + k] == needle[k] { k += 1 }
                        if k == needle.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    @inline(__always)
    func equals(_ other: [UInt8]) -> Bool { count == other.count && hasPrefix(other) }

    @inline(__always)
    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        for i in 0..<prefix.count where self[i] != prefix[i] { return false }
        return true
    }

    @inline(__always)
    func hasSuffix(_ suffix: [UInt8]) -> Bool {
        guard count >= suffix.count else { return false }
        let start = count - suffix.count
        for i in 0..<suffix.count where self[start + i] != suffix[i] { return false }
        return true
    }
}
