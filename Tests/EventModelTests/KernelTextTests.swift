import EventModel
import Testing

@Suite struct KernelTextTests {
    @Test func validUTF8IsDecodedAsUsual() {
        let bytes = Array("/tmp/naïve ☃ 𝄞".utf8)
        #expect(KernelText.string(bytes) == "/tmp/naïve ☃ 𝄞")
        #expect(KernelText.bytes(of: "/tmp/naïve ☃ 𝄞") == bytes)
    }

    @Test(arguments: [
        [0xFF, 0xFE], [0xC0, 0xAF] /* overlong "/" */, [0xED, 0xA0, 0x80] /* a surrogate */,
        [0xF4, 0x90, 0x80, 0x80] /* above U+10FFFF */, [0xE2, 0x98] /* truncated ☃ */, [0x80],
    ] as [[UInt8]])
    func invalidSequencesRoundTripByteForByte(bad: [UInt8]) {
        let bytes = Array("/tmp/a".utf8) + bad + Array("é-z".utf8)
        let text = KernelText.string(bytes)
        #expect(KernelText.bytes(of: text) == bytes)
        #expect(text.hasPrefix("/tmp/a") && text.hasSuffix("é-z"))
        #expect(!text.unicodeScalars.contains("\u{FFFD}"))
        #expect(text.unicodeScalars.count == 6 + bad.count + 3)
    }

    @Test func rawBytesAreShownAsHexEscapes() {
        let text = KernelText.string(Array("bad".utf8) + [0xFF, 0xFE] + Array("utf8".utf8))
        #expect(TerminalText.escaped(text) == #"bad\xff\xfeutf8"#)
        #expect(TerminalText.escaped(#"back\x1bslash"#) == #"back\\x1bslash"#)
        #expect(TerminalText.escaped("esc\u{1B}[2J\n\u{202E}") == #"esc\x1b[2J\n\u{202e}"#)
        #expect(TerminalText.escaped("plain /usr/bin/ps") == "plain /usr/bin/ps")
    }

    @Test(arguments: 0...12)
    func middleTruncationKeepsBothEndsWithinTheWidth(width: Int) {
        let text = "/bin/sh -c cat /etc/shadow"
        let cut = TerminalText.middleTruncated(text, to: width)
        #expect(cut.count == min(width, text.count))
        if width > 1 {
            let parts = cut.split(separator: "…", omittingEmptySubsequences: false)
            #expect(parts.count == 2 && text.hasPrefix(parts[0]) && text.hasSuffix(parts[1]))
            #expect((0...1).contains(parts[0].count - parts[1].count), "the head is never shorter than the tail")
        }
        #expect(TerminalText.middleTruncated(text, to: text.count) == text)
    }

    @Test func rawBytesSurviveTheJSONWriterAndReader() throws {
        let resource = KernelText.string(Array("/tmp/bad".utf8) + [0xFF, 0xC3])
        let record = #"{"Timestamp":1,"HostName":"h","Operation":"File","Resource":"x","Type":"HostLog"}"#
        var event = try #require(try KubeArmorJSONReader.readAll(bytes: Array(record.utf8), origin: "t").first?.get())
        event.resource = resource
        var writer = KubeArmorJSONWriter()
        var line: [UInt8] = []
        writer.append(event, to: &line)
        #expect(String(validating: line, as: UTF8.self) != nil, "the JSON stays valid UTF-8")
        let back = try #require(try KubeArmorJSONReader.readAll(bytes: line, origin: "t").first?.get())
        #expect(KernelText.bytes(of: back.resource) == Array("/tmp/bad".utf8) + [0xFF, 0xC3])
    }
}
