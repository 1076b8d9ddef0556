import EventModel

/// Writes event times as RFC 3339 text in UTC, reusing the date and time of day while the second
/// stays the same (events come in time order, so most share their second with the one before).
struct TimeText {
    private var second = Int64.min
    private var prefix: [UInt8] = []

    /// `2024-05-31T10:06:40.043498123Z` with `digits` fraction digits (9: nanoseconds, 6: microseconds).
    mutating func appendRFC3339(_ ns: Int64, fractionDigits digits: Int, to out: inout [UInt8]) {
        let (wholeSecond, nanos) = Self.split(ns)
        if wholeSecond != second {
            second = wholeSecond
            // `YYYY-MM-DDThh:mm:ss.` is the first 20 bytes of UnixTime's text.
            prefix = Array(UnixTime.rfc3339Nano(wholeSecond * 1_000_000_000).utf8.prefix(20))
        }
        out.append(contentsOf: prefix)
        var fraction = nanos
        for _ in digits..<9 { fraction /= 10 }
        out.append(padded: fraction, digits: digits)
        out.append(0x5A)
    }

    /// Whole unix seconds and the nanoseconds within that second (never negative).
    static func split(_ ns: Int64) -> (seconds: Int64, nanos: Int64) {
        let (s, sub) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        return sub < 0 ? (s - 1, sub + 1_000_000_000) : (s, sub)
    }

    /// Floor of `ns` in milliseconds.
    static func milliseconds(_ ns: Int64) -> Int64 {
        let (ms, sub) = ns.quotientAndRemainder(dividingBy: 1_000_000)
        return sub < 0 ? ms - 1 : ms
    }
}
