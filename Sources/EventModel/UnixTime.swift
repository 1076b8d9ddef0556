import Glibc

/// Conversions between unix time and the text forms KubeArmor and investigators use.
public enum UnixTime {
    /// The wall clock now, in unix nanoseconds.
    public static func nowNs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// `2024-05-31T10:06:40.043498Z`: RFC 3339 in UTC with microseconds, as KubeArmor writes `UpdatedTime`.
    public static func rfc3339Micro(_ ns: Int64) -> String {
        let (seconds, subNs) = floorDivide(ns, 1_000_000_000)
        return rfc3339(seconds: seconds, fraction: subNs / 1000, digits: 6)
    }

    /// ``rfc3339Micro(_:)`` for showing to people, `-` for `TimeNs` 0: the time of a record that
    /// carried none (neither `Timestamp` nor `UpdatedTime`).
    public static func shown(_ ns: Int64) -> String { ns == 0 ? "-" : rfc3339Micro(ns) }

    /// `2024-05-31T10:06:40.043498123Z`: RFC 3339 in UTC with nanoseconds.
    public static func rfc3339Nano(_ ns: Int64) -> String {
        let (seconds, subNs) = floorDivide(ns, 1_000_000_000)
        return rfc3339(seconds: seconds, fraction: subNs, digits: 9)
    }

    /// Parses RFC 3339 (`2024-05-31T10:06:40Z`, `…40.043498Z`, `…40.5+02:00`) into unix nanoseconds.
    /// Fractions beyond nanoseconds are cut. Returns nil for anything else.
    public static func parseRFC3339(_ text: some StringProtocol) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                let d = b[i] &- 48
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            return v
        }
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116 || b[10] == 32,
              b[13] == 58, b[16] == 58,
              let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
              let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fractionNs: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] &- 48 < 10 {
                fractionNs += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch b[i] {
        case 90, 122: i += 1
        case 43, 45:
            guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i += 6
        default: return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return nanoseconds(seconds: seconds, plus: fractionNs)
    }

    /// `seconds` × 10⁹ + `fractionNs`, or nil outside the years Int64 nanoseconds reach (1677–2262).
    static func nanoseconds(seconds: Int64, plus fractionNs: Int64) -> Int64? {
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (ns, carry) = whole.addingReportingOverflow(fractionNs)
        return overflow || carry ? nil : ns
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    private static func rfc3339(seconds: Int64, fraction: Int64, digits: Int) -> String {
        let (days, secondOfDay) = floorDivide(seconds, 86400)
        let (year, month, day) = civilFromDays(days)
        var out = [UInt8]()
        out.reserveCapacity(32)
        func put(_ v: Int64, _ width: Int) {
            var digitsOut = [UInt8](repeating: 48, count: width)
            var x = v
            for k in stride(from: width - 1, through: 0, by: -1) {
                digitsOut[k] = UInt8(48 + x % 10)
                x /= 10
            }
            out += digitsOut
        }
        put(year, 4); out.append(45); put(month, 2); out.append(45); put(day, 2); out.append(84)
        put(secondOfDay / 3600, 2); out.append(58); put(secondOfDay / 60 % 60, 2); out.append(58); put(secondOfDay % 60, 2)
        out.append(46); put(fraction, digits); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
