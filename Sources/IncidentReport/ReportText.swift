import EventModel

/// Event text made safe for the report formats.
///
/// Event strings come from monitored hosts, so an attacker chooses them. Every string is first made
/// visible (``TerminalText``: newlines, escapes, direction overrides and raw bytes written as
/// `\n`, `\x1b`, `\u{202e}`, `\xff`), then escaped for the format, so it can be neither markup nor
/// an invisible trick.
enum ReportText {
    /// `text` made visible and escaped for HTML text and quoted attribute values.
    static func html(_ text: String) -> String {
        htmlEscaped(TerminalText.escaped(text))
    }

    /// `text` made visible, cut to `limit` characters (with `…`), and escaped for HTML.
    static func html(_ text: String, limit: Int) -> String {
        htmlEscaped(cut(TerminalText.escaped(text), limit))
    }

    /// `text` (already visible: written by rearview, or through ``TerminalText``) escaped for HTML.
    /// The `:` of `://` is written `&#58;`, so a URL in an event (a downloader's command line)
    /// reads the same but the file holds no URL that a scanner or a careless tool could follow.
    static func htmlEscaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 || $0 == 0x3A })
        else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let scalar = scalars[index]
            index = scalars.index(after: index)
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case ":" where startsWithTwoSlashes(scalars[index...]): out += "&#58;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func startsWithTwoSlashes(_ rest: Substring.UnicodeScalarView) -> Bool {
        var slashes = 0
        for scalar in rest.prefix(2) where scalar == "/" { slashes += 1 }
        return slashes == 2
    }

    /// `text` made visible and escaped for Markdown (inline text and table cells): every character
    /// with a meaning inside a CommonMark line or a GitHub table gets a backslash, so `|` cannot end
    /// a cell and `<script>` stays text. (Characters that matter only at the start of a line, `-`
    /// `+` `=` `1.`, need none: a visible value never starts a line.)
    static func markdown(_ text: String) -> String {
        markdownEscaped(TerminalText.escaped(text))
    }

    /// `text` made visible, cut to `limit` characters, and escaped for Markdown.
    static func markdown(_ text: String, limit: Int) -> String {
        markdownEscaped(cut(TerminalText.escaped(text), limit))
    }

    /// Already visible text escaped for Markdown.
    static func markdownEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let scalar = scalars[index]
            index = scalars.index(after: index)
            switch scalar {
            case ":" where startsWithTwoSlashes(scalars[index...]):
                // `http\://` is no autolink.
                out += "\\:"
            case "\\", "`", "*", "_", "{", "}", "[", "]", "<", ">", "(", ")", "#", "!", "|", "~", "&", "$":
                out += "\\"
                out.unicodeScalars.append(scalar)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The first `limit` characters of `text`, with `…` when it was longer.
    static func cut(_ text: String, _ limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(max(0, limit - 1))) + "…"
    }

    /// `2024-05-31T10:06:40.043498Z`: the time of an event in the report.
    static func time(_ ns: Int64) -> String { UnixTime.rfc3339Micro(ns) }

    /// A duration in words for spans and windows: `2 h 3 min`, `4.5 s`, `120 ms`.
    static func duration(_ ns: Int64) -> String {
        let seconds = Double(ns) / 1e9
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds < 60 { return "\((seconds * 10).rounded() / 10) s" }
        let minutes = Int(seconds / 60)
        if minutes < 60 { return "\(minutes) min \(Int(seconds) % 60) s" }
        return "\(minutes / 60) h \(minutes % 60) min"
    }

    /// The program name of a path (`/usr/bin/bash` → `bash`), `?` when empty; not escaped.
    static func programName(_ path: String) -> String {
        guard !path.isEmpty else { return "?" }
        return path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }

    /// The exec chain of a process (`apache2 → sh → bash`), not escaped.
    static func execChain(_ images: [String]) -> String {
        images.isEmpty ? "?" : images.map(programName).joined(separator: " → ")
    }
}

/// The fields of an event, as KubeArmor names them, with their values: what the report shows when
/// an event row is opened.
enum EventFields {
    /// `TimeNs`, `Seq`, every non-empty typed field in KubeArmor's order (`PPID` and `UID` always),
    /// then the extra fields of the record with their JSON text.
    static func of(_ event: Event) -> [(key: String, value: String)] {
        var fields: [(key: String, value: String)] = [("TimeNs", String(event.timeNs)), ("Seq", String(event.seq))]
        for field in EventField.allCases {
            let value = event.string(field)
            if !value.isEmpty || field == .ppid || field == .uid { fields.append((field.rawValue, value)) }
        }
        for extra in event.extras { fields.append((extra.key, extra.json)) }
        return fields
    }
}
