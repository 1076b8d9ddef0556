import EventModel

/// The time values `--since` and `--until` take, as unix nanoseconds.
///
/// | form | example | means |
/// | --- | --- | --- |
/// | RFC 3339 | `2024-05-31T10:06:40Z`, `2024-05-31T12:06:40.5+02:00` | that instant |
/// | date | `2024-05-31` | midnight UTC of that day |
/// | date and time without a zone | `2024-05-31T11:00:00`, `2024-05-31 11:00`, `…11:00:00.25` | that time in UTC |
/// | unix seconds | `1717149600`, `1717149600.25` | that instant |
/// | duration | `90s`, `30m`, `2h`, `1d`, `1h30m`, `500ms` | that long before the reference time |
/// | `now`, `now-DURATION` | `now`, `now-1h` | the clock, or that long before it (for live stores) |
///
/// Units: `d` (24 h), `h`, `m`, `s`, `ms`; a duration is one or more whole-number-and-unit pairs.
public enum TimeArgument {
    /// What a relative time counts back from.
    public enum Anchor: Sendable, Equatable {
        /// The reference time (for `query`, the newest stored event).
        case reference
        /// The clock.
        case clock
    }

    /// Parses `text`; durations count back from `referenceNs` (for `query`, the store's last event),
    /// `now` forms from `clockNs`.
    public static func parse(_ text: String, relativeTo referenceNs: Int64,
                             clockNs: Int64 = UnixTime.nowNs()) throws(TimeArgumentError) -> Int64 {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw TimeArgumentError(argument: text, reason: "the time is empty") }
        if trimmed.lowercased() == "now" { return clockNs }
        if trimmed.lowercased().hasPrefix("now-") {
            return try before(clockNs, duration: String(trimmed.dropFirst(4)), argument: text)
        }
        if let ns = UnixTime.parseRFC3339(trimmed) { return ns }
        if trimmed.utf8.count == 10, let ns = UnixTime.parseRFC3339(trimmed + "T00:00:00Z") { return ns }
        if let ns = UnixSeconds.nanoseconds(trimmed) { return ns }
        if Self.looksLikeDate(trimmed) {
            if let ns = Self.withoutZone(trimmed) { return ns }
            throw TimeArgumentError(argument: text, reason: "expected a date and time such as 2024-05-31T10:06:40Z, "
                                    + "2024-05-31T12:06:40+02:00 or 2024-05-31 10:06:40 (UTC when no zone is given)")
        }
        if let first = trimmed.first, first.isASCIIDigit { return try before(referenceNs, duration: trimmed, argument: text) }
        throw TimeArgumentError(argument: text, reason: "expected an RFC 3339 time (2024-05-31T10:06:40Z), "
                                + "unix seconds (1717149600), a duration before the last event (2h, 30m, 1h30m), "
                                + "or now-DURATION (before the clock)")
    }

    /// What `text` counts back from, or nil for an absolute time.
    public static func anchor(of text: String) -> Anchor? {
        let trimmed = text.trimmingSpaces.lowercased()
        if trimmed == "now" || trimmed.hasPrefix("now-") { return .clock }
        if Self.looksLikeDate(trimmed) || UnixSeconds.nanoseconds(trimmed) != nil { return nil }
        return trimmed.first?.isASCIIDigit == true ? .reference : nil
    }

    /// `duration` before `ns`.
    private static func before(_ ns: Int64, duration: String, argument: String) throws(TimeArgumentError) -> Int64 {
        guard !duration.isEmpty else { throw TimeArgumentError(argument: argument, reason: "expected a duration after now- (now-1h)") }
        let (start, overflow) = ns.subtractingReportingOverflow(try durationNs(duration, argument: argument))
        guard !overflow else { throw TimeArgumentError(argument: argument, reason: "the duration reaches before year 1678") }
        return start
    }

    /// `YYYY-MM-DD` followed by more: meant as a date, whatever else is wrong with it.
    private static func looksLikeDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8.prefix(10))
        return bytes.count == 10 && bytes[4] == UInt8(ascii: "-") && bytes[7] == UInt8(ascii: "-")
            && bytes.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (48...57).contains($0.element) }
    }

    /// `2024-05-31T11:00[:00[.frac]]` or with a space for `T`, no zone: as UTC.
    private static func withoutZone(_ text: String) -> Int64? {
        var scalars = Array(text.unicodeScalars)
        guard scalars.count > 11, scalars[10] == " " || scalars[10] == "T" || scalars[10] == "t" else { return nil }
        scalars[10] = "T"
        let clock = scalars[11...]
        guard !clock.contains(where: { "Zz+-".unicodeScalars.contains($0) }) else { return nil }
        var time = String(String.UnicodeScalarView(scalars))
        if clock.filter({ $0 == ":" }).count == 1 { time += ":00" }
        return UnixTime.parseRFC3339(time + "Z")
    }

    private static let unitNs: [(String, Int64)] = [
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
    ]

    /// `1h30m` as nanoseconds.
    private static func durationNs(_ text: String, argument: String) throws(TimeArgumentError) -> Int64 {
        var rest = Substring(text)
        var total: Int64 = 0
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            guard !digits.isEmpty else {
                throw TimeArgumentError(argument: argument, reason: "expected a number before '\(rest)'")
            }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix(while: { $0.isLetter })
            guard let (unit, ns) = unitNs.first(where: { $0.0 == unitText.lowercased() }) else {
                let found = unitText.isEmpty ? rest.first.map { "'\($0)'" } ?? "the end" : "'\(unitText)'"
                throw TimeArgumentError(argument: argument, reason: "expected a unit (d, h, m, s, ms) after \(digits), found \(found)")
            }
            rest = rest.dropFirst(unit.count)
            guard let count = Int64(digits) else {
                throw TimeArgumentError(argument: argument, reason: "\(digits) is too large")
            }
            let (part, o1) = count.multipliedReportingOverflow(by: ns)
            let (sum, o2) = total.addingReportingOverflow(part)
            guard !o1, !o2 else { throw TimeArgumentError(argument: argument, reason: "the duration is too long") }
            total = sum
        }
        return total
    }
}

/// A `--since`/`--until` value that is not a time: the argument and why.
public struct TimeArgumentError: Error, Equatable, CustomStringConvertible {
    public var argument: String
    public var reason: String

    public var description: String { "bad time '\(argument)': \(reason)" }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let end = scalars.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(scalars[start...end])
    }
}
