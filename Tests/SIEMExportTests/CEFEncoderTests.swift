import EventModel
import Foundation
import SIEMExport
import Testing

@Suite struct CEFEncoderTests {
    @Test func alertLine() {
        let text = Encode.text(TestEvents.blockAlert, .cef, ExportOptions(productVersion: "1.2.3"))
        #expect(text == "CEF:0|rearview|rearview|1.2.3|block-curl|curl blocked|7|rt=1717150000043 dvchost=node-1 externalId=42 "
            + "cat=Process act=Block outcome=failure reason=Permission denied dpid=3945 dproc=/usr/bin/curl duid=33 spid=3943 "
            + "sproc=/bin/bash msg=curl blocked cs1=block-curl cs1Label=PolicyName cs2=MITRE,T1105 cs2Label=Tags "
            + "cs3=/usr/bin/curl -s http://10.0.0.5 cs3Label=Resource cs4=syscall\\=SYS_EXECVE cs4Label=Data cs5=/bin/bash cs5Label=Source "
            + "cs6=api cs6Label=ContainerName flexString1=payments flexString1Label=NamespaceName flexString2=api-7d9f flexString2Label=PodName")
    }

    @Test func logSignatureNameSeverityAndPeers() {
        let file = Encode.text(TestEvents.fileOpen, .cef)
        #expect(file.hasPrefix("CEF:0|rearview|rearview|0.0.0|File:openat|File openat|1|"))
        #expect(file.contains(" filePath=/etc/shadow fname=shadow "))
        let audit = Encode.text(TestEvents.auditFileAlert, .cef)
        #expect(audit.hasPrefix("CEF:0|rearview|rearview|0.0.0|audit-shadow|Audit File openat|5|"))
        #expect(Encode.text(TestEvents.connect, .cef).contains(" dst=10.0.0.5 dpt=443 "))
        #expect(Encode.text(TestEvents.accept, .cef).contains(" src=10.0.0.9 dpt=22 proto=TCP "))
        var v6 = TestEvents.connect
        v6.resource = "sa_family=AF_INET6 sin6_port=443 sin6_addr=2001:db8::1"
        #expect(Encode.text(v6, .cef).contains(" c6a3=2001:db8::1 dpt=443 "))
    }

    @Test func escapingFollowsTheSpec() throws {
        let text = Encode.text(TestEvents.hostileEvent, .cef)
        let fields = Self.split(text)
        #expect(fields.count == 8)
        // Header: \ and | escaped, line breaks as spaces.
        #expect(fields[4] == TestEvents.hostile.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " "))
        #expect(text.contains(#"|a"b\\c d e"#))
        #expect(text.contains(#"f\|g=h]i"#))
        // Extension: \ = escaped, line breaks as \n and \r; | is not escaped there.
        let extensions = Self.extensions(fields[7])
        #expect(extensions["msg"] == TestEvents.hostile)
        #expect(extensions["filePath"] == "/tmp/" + TestEvents.hostile)
        #expect(text.contains(#"msg=a"b\\c\nd\re"# + "\tf|g\\=h]i"))
        #expect(!text.contains("\n") && !text.contains("\r"))
    }

    @Test func everyCorpusLineParsesBackAndNamesOnlyMappedKeys() throws {
        let mapped = ExportFormat.cef.fieldMappings.map(\.target).joined(separator: " ")
        let corpus = try TestEvents.corpus
        for (event, bytes) in zip(corpus, Encode.bytes(corpus, .cef)) {
            let text = String(decoding: bytes, as: UTF8.self)
            let fields = Self.split(text)
            #expect(fields.count == 8 && fields[0] == "CEF:0")
            let extensions = Self.extensions(fields[7])
            #expect(extensions["rt"] == String(event.timeNs / 1_000_000))
            if !event.resource.isEmpty { #expect(extensions["cs3"] == event.resource) }
            if !event.data.isEmpty { #expect(extensions["cs4"] == event.data) }
            for key in extensions.keys where !key.hasSuffix("Label") {
                #expect(mapped.contains(key), "\(key) is not in the mapping table")
            }
        }
    }

    /// The header fields and the extension, undoing the header escapes.
    static func split(_ line: String) -> [String] {
        var fields: [String] = [""]
        var escaped = false
        for character in line {
            if fields.count == 8 { fields[7].append(character); continue }
            if escaped { fields[fields.count - 1].append(character); escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "|": fields.append("")
            default: fields[fields.count - 1].append(character)
            }
        }
        return fields
    }

    /// The `key=value` pairs of an extension, unescaped (a key starts after a space and ends at an unescaped `=`).
    static func extensions(_ text: String) -> [String: String] {
        var pairs: [(String, String)] = []
        var current = ""
        var key: String?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character == "n" ? "\n" : character == "r" ? "\r" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "=" {
                // The last word before an unescaped = is the next key; what precedes it is the previous value.
                let split = current.lastIndex(of: " ")
                let name = String(split.map { current[current.index(after: $0)...] } ?? current[...])
                if let key { pairs.append((key, String(current[..<(split ?? current.startIndex)]))) }
                key = name
                current = ""
            } else {
                current.append(character)
            }
        }
        if let key { pairs.append((key, current)) }
        return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
    }
}
