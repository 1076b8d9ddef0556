import Testing
@testable import EventModel

@Suite struct UnixTimeTests {
    @Test func formatsMicroAndNano() {
        #expect(UnixTime.rfc3339Micro(1_717_150_000_043_498_123) == "2024-05-31T10:06:40.043498Z")
        #expect(UnixTime.rfc3339Nano(1_717_150_000_043_498_123) == "2024-05-31T10:06:40.043498123Z")
        #expect(UnixTime.rfc3339Micro(0) == "1970-01-01T00:00:00.000000Z")
        #expect(UnixTime.rfc3339Micro(-1) == "1969-12-31T23:59:59.999999Z")
        #expect(UnixTime.rfc3339Micro(951_782_400_000_000_000) == "2000-02-29T00:00:00.000000Z")
    }

    /// Found by the importer's fuzzer (Fuzz/regressions/FuzzKubeArmorJSON): a date past 2262 overflowed.
    @Test func timesOutsideInt64NanosecondsAreNotParsed() throws {
        #expect(UnixTime.parseRFC3339("9999-12-31T23:59:59.999999Z") == nil)
        #expect(UnixTime.parseRFC3339("2262-04-11T23:47:16.854775Z") != nil)
        let text = "9999-12-31T23:59:59.999999Z"
        #expect(Array(text.utf8).withUnsafeBufferPointer { UnixTime.canonicalMicroNs($0.baseAddress!, $0.count) } == nil)
        let record = #"{"Timestamp":1,"UpdatedTime":"9999-12-31T23:59:59.999999Z","HostName":"h","Operation":"Process"}"#
        _ = try KubeArmorJSONReader.readAll(bytes: Array(record.utf8), origin: "t")
    }

    @Test func parsesRFC3339() {
        #expect(UnixTime.parseRFC3339("2024-05-31T10:06:40.043498Z") == 1_717_150_000_043_498_000)
        #expect(UnixTime.parseRFC3339("2024-05-31T10:06:40Z") == 1_717_150_000_000_000_000)
        #expect(UnixTime.parseRFC3339("2024-05-31T12:06:40.5+02:00") == 1_717_150_000_500_000_000)
        #expect(UnixTime.parseRFC3339("2024-05-31t10:06:40.1234567891z") == 1_717_150_000_123_456_789)
        #expect(UnixTime.parseRFC3339("2024-05-31 10:06:40Z") == 1_717_150_000_000_000_000)
        for bad in ["", "2024-05-31", "2024-05-31T10:06:40", "2024-13-01T00:00:00Z", "2024-05-31T10:06:40.Z", "2024-05-31T10:06:40Zx"] {
            #expect(UnixTime.parseRFC3339(bad) == nil, "\(bad)")
        }
    }

    @Test func formatAndParseRoundTrip() {
        var ns: Int64 = -86_400_000_000_000 * 400
        while ns < 4_102_444_800_000_000_000 {
            let micro = ns / 1000 * 1000
            #expect(UnixTime.parseRFC3339(UnixTime.rfc3339Micro(micro)) == micro)
            #expect(UnixTime.parseRFC3339(UnixTime.rfc3339Nano(ns)) == ns)
            ns += 7_777_777_777_777_777
        }
    }

    @Test func canonicalTextIsRecognisedExactly() {
        func canonical(_ text: String) -> Int64? {
            Array(text.utf8).withUnsafeBufferPointer { UnixTime.canonicalMicroNs($0.baseAddress!, $0.count) }
        }
        #expect(canonical("2024-05-31T10:06:40.043498Z") == 1_717_150_000_043_498_000)
        #expect(canonical("2024-02-29T23:59:59.999999Z") == UnixTime.parseRFC3339("2024-02-29T23:59:59.999999Z"))
        // Text that parses but that rfc3339Micro would not write back the same way.
        for other in ["2023-02-29T00:00:00.000000Z", "2024-04-31T00:00:00.000000Z", "2024-05-31T10:06:60.000000Z",
                      "2024-05-31T24:00:00.000000Z", "2024-05-31T10:06:40.04349Z", "2024-05-31T10:06:40.043498z",
                      "2024-05-31 10:06:40.043498Z", "1900-02-29T00:00:00.000000Z"] {
            #expect(canonical(other) == nil, "\(other)")
        }
        // Whatever is canonical is exactly what rfc3339Micro writes.
        var ns: Int64 = 0
        while ns < 4_102_444_800_000_000_000 {
            let text = UnixTime.rfc3339Micro(ns)
            #expect(canonical(text) == ns / 1000 * 1000)
            ns += 3_333_333_333_333_333
        }
    }
}
