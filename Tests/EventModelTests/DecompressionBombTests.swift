import EventModel
import Foundation
import Testing

/// Compressed input that expands without bound: real gzip and LZ4 bombs made with the system's
/// tools, read the way `import` reads its inputs.
@Suite struct DecompressionBombTests {
    /// Runs a shell pipeline (for `head -c … /dev/zero | gzip`).
    static func shell(_ script: String) throws {
        try run("/bin/sh", ["-c", script])
    }

    /// Reads `path` to its end in import-sized chunks; returns the error that stopped it, if any.
    static func readAll(_ path: String, limits: DecompressionLimits = DecompressionLimits()) -> (bytes: Int, error: InputError?) {
        var total = 0
        do throws(InputError) {
            let stream = try InputByteStream(path: path, limits: limits)
            while let chunk = try stream.nextLines(atLeast: 32 << 20) { total += chunk.count }
            return (total, nil)
        } catch {
            return (total, error)
        }
    }

    /// Checks that `error` is the ratio refusal, raised just past the grace output.
    static func expectRatioRefusal(_ error: InputError?, path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        guard case .decompressedSizeExceedsRatio(let ratio, let decompressed, let compressed)? = error?.reason else {
            Issue.record("expected a ratio refusal, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(ratio == 200, sourceLocation: sourceLocation)
        // Stopped within one decoder round (256 KiB) of the grace: memory stays bounded by it.
        #expect(decompressed > 64 << 20 && decompressed <= (64 << 20) + (1 << 18), "\(decompressed)", sourceLocation: sourceLocation)
        #expect(decompressed > 200 * compressed, sourceLocation: sourceLocation)
        #expect(error?.description.hasPrefix("\(path): decompressed size exceeds 200 times the compressed size (") == true,
                "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test func aGigabyteFromAMegabyteOfGzipIsRefusedQuickly() throws {
        let dir = try TemporaryDirectory()
        // 64 gzip members of 16 MiB of zeros each: 1 GiB from about 1 MB, as `gzip -d` reads it.
        try Self.shell("head -c 16M /dev/zero | gzip -9 > \(dir.path("member.gz"))")
        let member = try Array(Data(contentsOf: dir.url.appendingPathComponent("member.gz")))
        let path = try dir.write("bomb.ndjson.gz", Array((0..<64).map { _ in member }.joined()))
        #expect(member.count * 64 < 1_100_000)
        let started = ContinuousClock.now
        let (_, error) = Self.readAll(path)
        #expect(ContinuousClock.now - started < .seconds(10))
        Self.expectRatioRefusal(error, path: path)
    }

    @Test func aGigabyteLZ4FrameIsRefusedQuickly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("bomb.ndjson.lz4")
        try Self.shell("head -c 1G /dev/zero | lz4 -1 -q -c > \(path)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size < 5_000_000, "one frame of about 4 MB")
        let started = ContinuousClock.now
        let (_, error) = Self.readAll(path)
        #expect(ContinuousClock.now - started < .seconds(10))
        Self.expectRatioRefusal(error, path: path)
    }

    @Test func theAbsoluteCapHoldsAtAnyRatio() throws {
        let dir = try TemporaryDirectory()
        let text = (0..<40_000).map { #"{"HostName":"node-\#($0 % 7)","HostPID":\#($0)}"# }.joined(separator: "\n") + "\n"
        try dir.write("a.ndjson", text)
        try run("/usr/bin/gzip", [dir.path("a.ndjson")])
        let path = dir.path("a.ndjson.gz")
        let (_, error) = Self.readAll(path, limits: DecompressionLimits(maxBytes: 1 << 20))
        #expect(error?.description == "\(path): decompressed size exceeds 1048576 bytes; refused as a decompression bomb")
        #expect(Self.readAll(path).bytes == text.utf8.count, "the default cap passes it")
    }

    /// Generated KubeArmor logs, compressed as hard as gzip and lz4 go, stay well inside the default
    /// ratio even when it is checked from the first byte; a ratio under theirs is refused (the check is live).
    @Test(.enabled(if: SharedMaterial.generatorAvailable, "needs the log generator"))
    func realLogsPassTheRatioWithRoomToSpare() throws {
        let dir = try TemporaryDirectory()
        let logs = try SharedMaterial.generate(["--events", "5000", "--seed", "15"], into: dir, name: "logs.ndjson")
        let plain = try #require(try FileManager.default.attributesOfItem(atPath: logs)[.size] as? Int)
        try run("/usr/bin/gzip", ["-9", "-k", logs])
        try run("/usr/bin/lz4", ["-9", "-q", logs, logs + ".lz4"])
        for compressed in [logs + ".gz", logs + ".lz4"] {
            let strict = DecompressionLimits(ratioGrace: 0)
            #expect(Self.readAll(compressed, limits: strict) == (plain, nil), "\(compressed)")
            var tight = strict
            tight.maxRatio = 5
            guard case .decompressedSizeExceedsRatio? = Self.readAll(compressed, limits: tight).error?.reason else {
                Issue.record("\(compressed): a 5x ratio should be refused")
                continue
            }
        }
    }
}
