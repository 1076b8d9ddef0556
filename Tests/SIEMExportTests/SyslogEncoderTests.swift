import EventModel
import Foundation
import SIEMExport
import Testing

@Suite struct SyslogEncoderTests {
    @Test func headerStructuredDataAndMessage() throws {
        var writer = KubeArmorJSONWriter()
        let event = TestEvents.exec
        let text = Encode.text(event, .syslog)
        #expect(text == #"<110>1 2024-05-31T10:06:40.043498Z node-1 rearview 3945 ContainerLog [kubearmor@32473 seq="42" op="Process" "#
            + #"result="Passed" namespace="payments" pod="api-7d9f" container="api" process="/usr/bin/curl" "#
            + #"resource="/usr/bin/curl -s http://10.0.0.5"] "# + writer.json(event))
    }

    @Test func priorityFollowsFacilityAndSeverity() {
        #expect(Encode.text(TestEvents.fileOpen, .syslog).hasPrefix("<110>1 "))  // 13 × 8 + 6 informational
        #expect(Encode.text(TestEvents.auditFileAlert, .syslog).hasPrefix("<107>1 "))  // Severity 5: error
        var critical = TestEvents.blockAlert
        critical.severity = "9"
        #expect(Encode.text(critical, .syslog).hasPrefix("<106>1 "))
        critical.severity = ""
        #expect(Encode.text(critical, .syslog, ExportOptions(syslogFacility: 4)).hasPrefix("<36>1 "))  // 4 × 8 + 4 warning
    }

    @Test func headerFieldsKeepRFC5424Limits() {
        var event = TestEvents.exec
        event.hostName = String(repeating: "h", count: 300) + " é"
        event.type = String(repeating: "T", count: 40)
        event.hostPID = 0
        let options = ExportOptions(syslogAppName: String(repeating: "a", count: 60) + " x")
        let text = Encode.text(event, .syslog, options)
        let fields = text.split(separator: " ", maxSplits: 6)
        #expect(fields[2] == Substring(String(repeating: "h", count: 255)))
        #expect(fields[3] == Substring(String(repeating: "a", count: 48)))
        #expect(fields[4] == "-")
        #expect(fields[5] == Substring(String(repeating: "T", count: 32)))
        for field in fields.prefix(6) { #expect(field.utf8.allSatisfy { $0 >= 33 && $0 <= 126 }) }

        event.hostName = "bad host\u{7F}ü"
        let replaced = Encode.text(event, .syslog).split(separator: " ")[2]
        #expect(replaced == "bad_host___")
        event.hostName = ""
        #expect(Encode.text(event, .syslog).split(separator: " ")[2] == "-")
        #expect(Encode.text(event, .syslog, ExportOptions(defaultHostName: "fallback")).split(separator: " ")[2] == "fallback")
    }

    @Test func structuredDataValuesAreEscaped() throws {
        let event = TestEvents.hostileEvent
        let text = Encode.text(event, .syslog)
        let sd = try #require(text.range(of: #"policy=""#))
        let value = text[sd.upperBound...].prefix { _ in true }
        // " \ ] escaped with a backslash; control characters (line breaks, tab, NUL) are U+FFFD.
        #expect(value.hasPrefix(#"a\"b\\c"# + "\u{FFFD}d\u{FFFD}e\u{FFFD}f|g=h\\]i\u{FFFD}j\u{FFFD}k<>&\u{2028}é\u{FFFD}😀 end\""))
        #expect(!text.contains("\n") && !text.contains("\r"))
        // The message is the exact KubeArmor record.
        var writer = KubeArmorJSONWriter()
        #expect(text.hasSuffix("] " + writer.json(event)))
        #expect(try parseStructuredData(text)["policy"] == TestEvents.hostile
            .replacingOccurrences(of: "\n", with: "\u{FFFD}").replacingOccurrences(of: "\r", with: "\u{FFFD}")
            .replacingOccurrences(of: "\t", with: "\u{FFFD}").replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
            .replacingOccurrences(of: "\u{1F}", with: "\u{FFFD}"))
    }

    @Test func everyCorpusRecordIsOneWellFormedLine() throws {
        var writer = KubeArmorJSONWriter()
        let corpus = try TestEvents.corpus
        for (event, bytes) in zip(corpus, Encode.bytes(corpus, .syslog)) {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!bytes.contains(10) && !bytes.contains(13))
            let sd = try parseStructuredData(text)
            #expect(sd["seq"] == String(event.seq))
            #expect(sd["op"] == (event.operation.isEmpty ? nil : event.operation))
            #expect(text.hasSuffix("] " + writer.json(event)))
        }
    }

    /// Reads the header and the single SD element back as RFC 5424 defines them.
    private func parseStructuredData(_ text: String) throws -> [String: String] {
        var bytes = Array(text.utf8)[...]
        for _ in 0..<6 {  // PRI+VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID
            let space = try #require(bytes.firstIndex(of: 0x20))
            bytes = bytes[(space + 1)...]
        }
        #expect(bytes.starts(with: Array("[kubearmor@32473".utf8)))
        bytes = bytes.dropFirst(16)
        var params: [String: String] = [:]
        while bytes.first == 0x20 {
            bytes = bytes.dropFirst()
            let equals = try #require(bytes.firstIndex(of: 0x3D))
            let name = String(decoding: bytes[..<equals], as: UTF8.self)
            bytes = bytes[(equals + 1)...]
            #expect(bytes.first == 0x22)
            bytes = bytes.dropFirst()
            var value: [UInt8] = []
            while let byte = bytes.first, byte != 0x22 {
                bytes = bytes.dropFirst()
                if byte == 0x5C, let next = bytes.first, [0x22, 0x5C, 0x5D].contains(next) {
                    value.append(next)
                    bytes = bytes.dropFirst()
                } else {
                    #expect(byte != 0x5D, "unescaped ] in \(name)")
                    value.append(byte)
                }
            }
            bytes = bytes.dropFirst()
            params[name] = String(decoding: value, as: UTF8.self)
        }
        #expect(bytes.first == 0x5D)
        return params
    }
}
