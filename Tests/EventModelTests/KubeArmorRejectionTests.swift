import EventModel
import Foundation
import Testing

/// Bad input gives one-line rejections `FILE:LINE: reason`, never a crash, and reading goes on.
@Suite struct KubeArmorRejectionTests {
    static let good = #"{"Timestamp":1717156232,"HostName":"node-1","HostPID":200,"Operation":"Process"}"#

    /// Reads `bad` between two good lines; expects exactly one rejection, on line 2, with `reason`.
    private func expectRejected(_ bad: String, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let outcomes = try read(Self.good + "\n" + bad + "\n" + Self.good + "\n", origin: "logs.ndjson")
        #expect(outcomes.count == 3, sourceLocation: sourceLocation)
        #expect(outcomes[0].event != nil && outcomes[2].event != nil, "reading resumes after the bad line", sourceLocation: sourceLocation)
        let rejection = try #require(outcomes[1].rejection, sourceLocation: sourceLocation)
        #expect(rejection.description == "logs.ndjson:2: " + reason, sourceLocation: sourceLocation)
        #expect(rejection.raw == Array(bad.utf8), sourceLocation: sourceLocation)
        #expect(rejection.byteOffset > Self.good.utf8.count, sourceLocation: sourceLocation)
    }

    @Test func invalidJSONSaysWhatWasExpectedAndWhere() throws {
        try expectRejected(#"{"HostName":"a" "PID":1}"#,
                           #"invalid JSON at column 17: expected ',' or '}' after the value of HostName, found '"'"#)
        try expectRejected(#"{"HostName":"a","PID":}"#, "invalid JSON at column 23: expected a value, found '}'")
        try expectRejected(#"{"HostName" "a"}"#, #"invalid JSON at column 13: expected ':' after the key, found '"'"#)
        try expectRejected(#"{HostName:"a"}"#, "invalid JSON at column 2: expected a key in double quotes, found 'H'")
        try expectRejected(#"{"HostName":"a","#, "invalid JSON at column 17: expected a key in double quotes, found the end of the record")
        try expectRejected(#"{"HostName":"unclosed}"#, #"invalid JSON at column 23: expected '"' to close the string, found the end of the record"#)
        try expectRejected(#"{"a":tru}"#, "invalid JSON at column 6: expected 'true', found 't'")
        try expectRejected(#"{"a":01}"#, "invalid JSON at column 6: expected no leading zeros in a number, found '0'")
        try expectRejected(#"{"a":"x\q"}"#, "invalid JSON at column 8: invalid escape sequence in a string")
        try expectRejected("{\"a\":\"tab\there\"}", "invalid JSON at column 10: control character byte 0x9 inside a string (it must be escaped)")
        try expectRejected("not json at all", "invalid JSON at column 1: expected '{' to start a record, found 'n'")
        try expectRejected(#"["a"]"#, "invalid JSON at column 1: expected '{' to start a record, found '['")
    }

    @Test func wrongTypesNameTheField() throws {
        try expectRejected(#"{"HostPID":"200"}"#, "field HostPID: expected a number, found a string")
        try expectRejected(#"{"HostName":5}"#, "field HostName: expected a string, found a number")
        try expectRejected(#"{"hostPid":null}"#, "field hostPid: expected a number, found null")
        try expectRejected(#"{"Timestamp":[1]}"#, "field Timestamp: expected a number, found an array")
        try expectRejected(#"{"UpdatedTime":{"s":1}}"#, "field UpdatedTime: expected a string, found an object")
        try expectRejected(#"{"Result":true}"#, "field Result: expected a string, found a boolean")
        try expectRejected(#"{"PID":1.5}"#, "field PID: expected an integer, found 1.5")
        try expectRejected(#"{"PID":1e3}"#, "field PID: expected an integer, found 1e3")
        try expectRejected(#"{"PID":4294967296}"#, "field PID: 4294967296 does not fit in a 32-bit integer")
        try expectRejected(#"{"Timestamp":99999999999999999999}"#, "field Timestamp: 99999999999999999999 does not fit in a 64-bit integer")
        // A wrong type whose value is not even JSON is a syntax error.
        try expectRejected(#"{"HostPID":"200}"#, #"invalid JSON at column 17: expected '"' to close the string, found the end of the record"#)
    }

    @Test func invalidUTF8NamesTheByteOffset() throws {
        let bad: [UInt8] = Array(#"{"HostName":"ab"#.utf8) + [0xC3, 0x28] + Array(#"c"}"#.utf8)
        let input = Array((Self.good + "\n").utf8) + bad + [0x0A] + Array((Self.good + "\n").utf8)
        let outcomes = try KubeArmorJSONReader.readAll(bytes: input, origin: "logs.ndjson")
        let rejection = try #require(outcomes[1].rejection)
        let offset = Self.good.utf8.count + 1 + 15
        #expect(rejection.description == "logs.ndjson:2: invalid UTF-8 at byte offset \(offset) (column 16)")
        #expect(rejection.byteOffset == offset)
        #expect(rejection.raw == bad)
        #expect(outcomes[2].event != nil)
        // Overlong encodings and surrogates are not UTF-8 either.
        for sequence: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] {
            let record = Array(#"{"Data":""#.utf8) + sequence + Array(#""}"#.utf8)
            #expect(try KubeArmorJSONReader.readAll(bytes: record, origin: "x")[0].rejection?.reason.hasPrefix("invalid UTF-8 at byte offset 9") == true)
        }
        // Valid multi-byte characters pass.
        let fine = try #require(events(try read(#"{"Data":"é ✓ 𝄞"}"#)).first)
        #expect(fine.data == "é ✓ 𝄞")
    }

    @Test func tenMegabyteLineIsRejectedWithoutParsing() throws {
        let huge = #"{"Data":""# + String(repeating: "x", count: 10 << 20) + #""}"#
        let outcomes = try read(Self.good + "\n" + huge + "\n" + Self.good + "\n", origin: "big.ndjson")
        #expect(outcomes.count == 3)
        #expect(outcomes[1].rejection?.description == "big.ndjson:2: record is larger than the 4 MiB limit (\(huge.utf8.count) bytes)")
        #expect(outcomes[1].rejection?.raw.count == huge.utf8.count)
        #expect(outcomes[2].event != nil)
    }

    @Test func hugeRecordInMultiLineInputIsRejectedAndReadingResumes() throws {
        let huge = "{\n  \"Data\": \"" + String(repeating: "x", count: 5 << 20) + "\"\n}"
        let text = "{\n  \"HostName\": \"a\"\n}\n" + huge + "\n{\n  \"HostName\": \"b\"\n}\n"
        let outcomes = try read(text, origin: "big.json")
        #expect(outcomes.count == 3)
        #expect(outcomes[1].rejection?.description == "big.json:4: record is larger than the 4 MiB limit")
        #expect(outcomes[2].event?.hostName == "b")
    }

    @Test func emptyInputsHaveNoRecords() throws {
        for text in ["", "  \n\n\t ", "[]", "[ ]\n", "\u{FEFF}"] {
            let error = #expect(throws: InputError.self) { try read(text, origin: "empty.json") }
            #expect(error?.description == "empty.json: no records")
            #expect(error?.reason == .noRecords)
        }
        let reader = KubeArmorJSONReader(bytes: [], origin: "-")
        #expect(throws: InputError(origin: "-", reason: .noRecords)) { try reader.read { _ in } }
    }

    @Test func trailingGarbage() throws {
        let end = Self.good.utf8.count
        try expectRejected(Self.good + " trailing", "invalid JSON at column \(end + 2): expected the end of the line after the record, found 't'")
        try expectRejected(Self.good + "}", "invalid JSON at column \(end + 1): expected the end of the line after the record, found '}'")
        let array = "[" + Self.good + "]\ngarbage\n"
        let outcomes = try read(array, origin: "a.json")
        #expect(outcomes.count == 2)
        #expect(outcomes[0].event != nil)
        #expect(outcomes[1].rejection?.description == "a.json:2: invalid JSON at column 1: expected '{' or '[', found 'g'")
    }

    @Test func emptyObjectIsNoRecord() throws {
        try expectRejected("{}", "the record has no fields")
    }

    @Test func deepNestingIsRejected() throws {
        let deep = #"{"x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        try expectRejected(deep, "values nest deeper than 64 levels")
    }

    @Test func badRecordInPrettyPrintedInputIsSkippedToTheNextObject() throws {
        let text = """
        {
          "HostName": "a",
          "HostPID": 1
        }
        {
          "HostName": "b",
          "HostPID": "two",
          "Owner": {
            "Ref": "Deployment"
          }
        }
        {
          "HostName": "c"
          "HostPID": 3
        }
        {
          "HostName": "d"
        }
        """
        let outcomes = try read(text, origin: "pretty.json")
        #expect(outcomes.count == 4)
        #expect(outcomes[0].event?.hostName == "a")
        #expect(outcomes[1].rejection?.description == "pretty.json:7: field HostPID: expected a number, found a string")
        #expect(outcomes[2].rejection?.description == "pretty.json:14: invalid JSON at column 3: expected ',' or '}' after the value of HostName, found '\"'")
        #expect(outcomes[3].event?.hostName == "d")
        #expect(String(decoding: try #require(outcomes[1].rejection).raw, as: UTF8.self).hasPrefix("{\n  \"HostName\": \"b\""))
        #expect(String(decoding: try #require(outcomes[1].rejection).raw, as: UTF8.self).hasSuffix("}\n}"))
    }

    @Test func missingClosingBraceCostsOnlyThatRecord() throws {
        let text = "{\n  \"HostName\": \"a\",\n  \"HostPID\": 1\n\n{\n  \"HostName\": \"b\"\n}\n"
        let outcomes = try read(text, origin: "p.json")
        #expect(outcomes.count == 2)
        #expect(outcomes[0].rejection?.description == "p.json:5: invalid JSON at column 1: expected ',' or '}' after the value of HostPID, found '{'")
        #expect(outcomes[1].event?.hostName == "b")
    }

    @Test func badElementOfAnArrayIsSkipped() throws {
        let text = "[\n" + Self.good + ",\n{\"HostPID\":true},\n" + Self.good + "\n]\n"
        let outcomes = try read(text, origin: "a.json")
        #expect(outcomes.count == 3)
        #expect(outcomes[1].rejection?.description == "a.json:3: field HostPID: expected a number, found a boolean")
        #expect(outcomes[2].event != nil)
    }

    @Test func unclosedArrayIsReported() throws {
        let outcomes = try read("[\n" + Self.good + ",\n" + Self.good + "\n", origin: "a.json")
        #expect(outcomes.count == 3)
        #expect(outcomes[2].rejection?.description == "a.json:4: the JSON array that starts at line 1 is not closed")
    }

    @Test(.enabled(if: SharedMaterial.corpusAvailable, "needs ../shared/corpus"))
    func docSamplesWithATrailingCommaAreRejectedAtThatLine() throws {
        let path = SharedMaterial.corpusFile("KubeArmor/as-shown/getting-started__kubearmor_visibility.md__L225.json")
        let outcomes = try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: path), origin: path)
        #expect(outcomes.count == 1)
        #expect(outcomes[0].rejection?.description == "\(path):18: invalid JSON at column 5: expected a key in double quotes, found '}'")
    }
}
