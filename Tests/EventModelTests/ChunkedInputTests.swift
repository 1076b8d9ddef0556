import EventModel
import Foundation
import Testing

/// Reading inputs chunk by chunk (``InputByteStream``, ``KubeArmorInputReader``) gives what reading
/// them whole gives: the same bytes, records, rejections, lines and offsets.
@Suite struct ChunkedInputTests {
    let text = (0..<3000).map { i -> String in
        switch i % 211 {
        case 7: return "not json at all"
        case 50: return #"{"HostName":"n","HostPID":"#
        case 90: return ""
        default: return #"{"Timestamp":\#(1_717_150_000 + i / 10),"HostName":"node-\#(i % 7)","HostPID":\#(i)}"#
        }
    }.joined(separator: "\n") + "\n"

    /// `text` plain, gzip with two members, and LZ4 with two frames (the halves of `text`).
    func inputs(in dir: TemporaryDirectory) throws -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines[..<1500].joined(separator: "\n") + "\n"
        let second = lines[1500...].joined(separator: "\n")
        try dir.write("a.part", first)
        try dir.write("b.part", second)
        try run("/usr/bin/gzip", ["-k", dir.path("a.part"), dir.path("b.part")])
        try run("/usr/bin/lz4", ["-q", "-m", dir.path("a.part"), dir.path("b.part")])
        func joined(_ suffix: String) throws -> [UInt8] {
            try Array(Data(contentsOf: URL(fileURLWithPath: dir.path("a.part" + suffix))))
                + Array(Data(contentsOf: URL(fileURLWithPath: dir.path("b.part" + suffix))))
        }
        return [try dir.write("plain.ndjson", text), try dir.write("members.gz", joined(".gz")),
                try dir.write("frames.lz4", joined(".lz4"))]
    }

    @Test func chunkedDecodingEqualsWholeDecoding() throws {
        let dir = try TemporaryDirectory()
        for path in try inputs(in: dir) {
            let whole = try InputBytes.load(path: path)
            #expect(whole == Array(text.utf8), "\(path)")
            for (readBytes, chunk) in [(7, 1), (100, 333), (4096, 50_000)] {
                let stream = try InputByteStream(path: path, readBytes: readBytes)
                var pieces: [[UInt8]] = []
                while let piece = try stream.nextLines(atLeast: chunk) { pieces.append(piece) }
                #expect(pieces.joined().elementsEqual(whole), "\(path) read \(readBytes) at a time")
                // Every chunk but the last ends just after a newline.
                #expect(pieces.dropLast().allSatisfy { $0.last == 0x0A }, "\(path)")
                #expect(pieces.count > 1 || chunk > whole.count)
            }
        }
    }

    @Test func truncatedGzipHandsOverWhatCameBeforeTheCut() throws {
        let dir = try TemporaryDirectory()
        let whole = try Array(Data(contentsOf: URL(fileURLWithPath: try inputs(in: dir)[1])))
        let path = try dir.write("cut.gz", Array(whole.prefix(whole.count / 2)))
        let stream = try InputByteStream(path: path, readBytes: 64)
        var pieces: [[UInt8]] = []
        let error = #expect(throws: InputError.self) { while let piece = try stream.nextLines(atLeast: 100) { pieces.append(piece) } }
        #expect(error?.description == "\(path): corrupt gzip data: the stream is cut short after byte \(whole.count / 2)")
        // Every byte before the cut came out first: whole lines, then the line it cut.
        let read = Array(pieces.joined())
        #expect(read.count > text.utf8.count / 3 && Array(text.utf8).starts(with: read), "\(read.count) bytes")
        #expect(try stream.nextLines(atLeast: 100) == nil)
    }

    @Test func chunkedRecordsEqualWholeRecords() throws {
        let dir = try TemporaryDirectory()
        let reference = try KubeArmorJSONReader.readAll(bytes: Array(text.utf8), origin: "x")
        #expect(reference.contains { if case .failure(let r) = $0 { r.line == 2540 } else { false } })
        for path in try inputs(in: dir) {
            for chunk in [1, 500, 1 << 20] {
                var reader = KubeArmorInputReader(path: path)
                reader.chunkBytes = chunk
                var outcomes: [KubeArmorJSONReader.Outcome] = []
                try reader.read { outcomes += $0 }
                #expect(accepted(outcomes) == accepted(reference), "\(path) in chunks of \(chunk)")
                #expect(rejections(outcomes, origin: path) == rejections(reference, origin: path), "\(path) in chunks of \(chunk)")
            }
        }
    }

    @Test func otherFormsAreReadWholeWhateverTheChunkSize() throws {
        let dir = try TemporaryDirectory()
        let array = "\u{FEFF}\n\n[\n" + (0..<50).map { #"  {"HostName":"h","HostPID":\#($0)}"# }.joined(separator: ",\n") + "\n]\n"
        let path = try dir.write("array.json", array)
        var reader = KubeArmorInputReader(path: path)
        reader.chunkBytes = 1
        var outcomes: [KubeArmorJSONReader.Outcome] = []
        try reader.read { outcomes += $0 }
        #expect(events(outcomes) == events(try KubeArmorJSONReader.readAll(bytes: Array(array.utf8), origin: path)))
        #expect(events(outcomes).count == 50)
    }

    @Test func blankInputHasNoRecordsInChunksToo() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("blank.ndjson", String(repeating: " \n", count: 1000))
        var reader = KubeArmorInputReader(path: path)
        reader.chunkBytes = 10
        let error = #expect(throws: InputError.self) { try reader.read { _ in } }
        #expect(error?.reason == .noRecords)
    }

    private func accepted(_ outcomes: [KubeArmorJSONReader.Outcome]) -> [Event] {
        outcomes.compactMap { try? $0.get() }
    }

    /// The rejections with their lines, offsets, reasons and bytes (origins set alike).
    private func rejections(_ outcomes: [KubeArmorJSONReader.Outcome], origin: String) -> [RejectedRecord] {
        outcomes.compactMap {
            guard case .failure(let r) = $0 else { return nil }
            return RejectedRecord(origin: origin, line: r.line, byteOffset: r.byteOffset, reason: r.reason, raw: r.raw)
        }
    }
}
