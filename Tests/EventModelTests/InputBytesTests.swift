import EventModel
import Foundation
import Testing

@Suite struct InputBytesTests {
    let text = (0..<2000).map { #"{"HostName":"node-\#($0 % 7)","HostPID":\#($0)}"# }.joined(separator: "\n") + "\n"

    @Test func plainFileIsReadUnchanged() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("plain.ndjson", text)
        #expect(try InputBytes.load(path: path) == Array(text.utf8))
    }

    @Test func gzipIsDecompressedIncludingSeveralMembers() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.ndjson", text)
        try dir.write("b.ndjson", "second member\n")
        try run("/usr/bin/gzip", ["-k", dir.path("a.ndjson"), dir.path("b.ndjson")])
        #expect(try InputBytes.load(path: dir.path("a.ndjson.gz")) == Array(text.utf8))

        let joined = try Array(Data(contentsOf: dir.url.appendingPathComponent("a.ndjson.gz")))
            + Array(Data(contentsOf: dir.url.appendingPathComponent("b.ndjson.gz")))
        let path = try dir.write("joined.gz", joined)
        #expect(try InputBytes.load(path: path) == Array((text + "second member\n").utf8))
    }

    @Test func lz4FramesAreDecompressedIncludingSeveralFrames() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.ndjson", text)
        try dir.write("b.ndjson", "second frame\n")
        try run("/usr/bin/lz4", ["-q", "-m", dir.path("a.ndjson"), dir.path("b.ndjson")])
        #expect(try InputBytes.load(path: dir.path("a.ndjson.lz4")) == Array(text.utf8))

        let joined = try Array(Data(contentsOf: dir.url.appendingPathComponent("a.ndjson.lz4")))
            + Array(Data(contentsOf: dir.url.appendingPathComponent("b.ndjson.lz4")))
        let path = try dir.write("joined.lz4", joined)
        #expect(try InputBytes.load(path: path) == Array((text + "second frame\n").utf8))
    }

    @Test func truncatedGzipIsReportedWithTheFileName() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.ndjson", text)
        try run("/usr/bin/gzip", [dir.path("a.ndjson")])
        let whole = try Array(Data(contentsOf: dir.url.appendingPathComponent("a.ndjson.gz")))
        let path = try dir.write("cut.gz", Array(whole.prefix(whole.count / 2)))
        let error = #expect(throws: InputError.self) { try InputBytes.load(path: path) }
        #expect(error?.description == "\(path): corrupt gzip data: the stream is cut short after byte \(whole.count / 2)")
    }

    @Test func damagedGzipIsReported() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.gz", [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xff, 0xff, 0xff, 0xff])
        let error = #expect(throws: InputError.self) { try InputBytes.load(path: path) }
        guard case .corruptGzip = error?.reason else {
            Issue.record("expected corrupt gzip, got \(String(describing: error))")
            return
        }
    }

    @Test func truncatedLZ4IsReportedWithTheFileName() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.ndjson", text)
        try run("/usr/bin/lz4", ["-q", "-m", dir.path("a.ndjson")])
        let whole = try Array(Data(contentsOf: dir.url.appendingPathComponent("a.ndjson.lz4")))
        let path = try dir.write("cut.lz4", Array(whole.prefix(whole.count / 2)))
        let error = #expect(throws: InputError.self) { try InputBytes.load(path: path) }
        #expect(error?.description == "\(path): corrupt LZ4 data: the frame is cut short after byte \(whole.count / 2)")
    }

    @Test func zstdIsRefusedByName() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("x.zst", [0x28, 0xb5, 0x2f, 0xfd, 0, 0])
        let error = #expect(throws: InputError.self) { try InputBytes.load(path: path) }
        #expect(error?.description == "\(path): zstd-compressed input is not supported; decompress it first")
    }

    @Test func missingFileIsReported() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("absent.json")
        let error = #expect(throws: InputError.self) { try InputBytes.load(path: path) }
        #expect(error?.description == "\(path): cannot read: No such file or directory")
    }

    @Test func directoryIsReported() throws {
        let dir = try TemporaryDirectory()
        let error = #expect(throws: InputError.self) { try InputBytes.load(path: dir.url.path) }
        #expect(error?.description == "\(dir.url.path): cannot read: is a directory")
    }

    @Test func compressedRecordsReadLikePlainOnes() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.ndjson", text)
        try run("/usr/bin/gzip", ["-k", dir.path("a.ndjson")])
        let plain = try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: dir.path("a.ndjson")), origin: "a")
        let gzipped = try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: dir.path("a.ndjson.gz")), origin: "a")
        #expect(events(plain).count == 2000)
        #expect(events(plain) == events(gzipped))
    }
}
