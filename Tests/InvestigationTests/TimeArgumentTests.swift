import Testing
import EventModel
@testable import Investigation

@Suite struct TimeArgumentTests {
    let reference: Int64 = 1_717_149_600_000_000_000  // 2024-05-31T10:00:00Z

    @Test func rfc3339DateAndUnixSeconds() throws {
        #expect(try TimeArgument.parse("2024-05-31T10:00:00Z", relativeTo: 0) == reference)
        #expect(try TimeArgument.parse("2024-05-31T12:00:00.5+02:00", relativeTo: 0) == reference + 500_000_000)
        #expect(try TimeArgument.parse("2024-05-31", relativeTo: 0) == reference - 36_000_000_000_000)
        #expect(try TimeArgument.parse("1717149600", relativeTo: 0) == reference)
        #expect(try TimeArgument.parse(" 1717149600.25 ", relativeTo: 0) == reference + 250_000_000)
    }

    /// `now` and `now-DURATION` count from the clock, not from the newest stored event (issue 16).
    @Test func nowFormsCountFromTheClock() throws {
        let clock = reference + 86_400_000_000_000
        #expect(try TimeArgument.parse("now", relativeTo: reference, clockNs: clock) == clock)
        #expect(try TimeArgument.parse("NOW-1h30m", relativeTo: reference, clockNs: clock) == clock - 5_400_000_000_000)
        #expect(TimeArgument.anchor(of: "now-1h") == .clock)
        #expect(TimeArgument.anchor(of: "2h") == .reference)
        #expect(TimeArgument.anchor(of: "1717149600") == nil)
        #expect(TimeArgument.anchor(of: "2024-05-31 10:00") == nil)
        #expect(throws: TimeArgumentError.self) { try TimeArgument.parse("now-", relativeTo: reference, clockNs: clock) }
        #expect(throws: TimeArgumentError.self) { try TimeArgument.parse("now-1x", relativeTo: reference, clockNs: clock) }
        let real = UnixTime.nowNs()
        #expect(abs(try TimeArgument.parse("now", relativeTo: reference) - real) < 60_000_000_000)
    }

    /// A date and time without a zone is UTC (issue 16: it failed with "expected a unit … after 2024").
    @Test(arguments: [
        ("2024-05-31T10:00:00", 0), ("2024-05-31 10:00:00", 0), ("2024-05-31T10:00", 0), ("2024-05-31 10:00", 0),
        ("2024-05-31t10:00:00.25", 250_000_000), (" 2024-05-31 11:30:00 ", 5_400_000_000_000),
    ] as [(String, Int64)])
    func dateAndTimeWithoutAZoneIsUTC(text: String, offset: Int64) throws {
        #expect(try TimeArgument.parse(text, relativeTo: 0) == reference + offset)
    }

    @Test(arguments: [
        ("90s", 90_000_000_000), ("30m", 1_800_000_000_000), ("2h", 7_200_000_000_000),
        ("1d", 86_400_000_000_000), ("1h30m", 5_400_000_000_000), ("500ms", 500_000_000), ("1m30s", 90_000_000_000),
    ] as [(String, Int64)])
    func durationsCountBackFromTheReference(text: String, ns: Int64) throws {
        #expect(try TimeArgument.parse(text, relativeTo: reference) == reference - ns)
    }

    @Test(arguments: [
        ("", "empty"), ("yesterday", "expected an RFC 3339 time"), ("2h30", "after 30, found the end"),
        ("5x", "found 'x'"), ("2024-13-01T00:00:00Z", "expected a date and time"), ("2024-05-31 25:00", "UTC when no zone"),
        ("2024-05-31 10:00:00+0", "expected a date and time"), ("99999999999999999999d", "too large"),
        ("200000d", "too long"),
    ])
    func errorsSayWhy(text: String, reason: String) {
        do {
            _ = try TimeArgument.parse(text, relativeTo: reference)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.argument == text)
            #expect(error.reason.contains(reason), "\(error.reason)")
            #expect(error.description.hasPrefix("bad time '\(text)': "))
        }
    }
}
