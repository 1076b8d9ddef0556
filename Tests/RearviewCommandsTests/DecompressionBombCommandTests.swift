import Foundation
import Testing

/// `rearview import` of a decompression bomb: refused with one line, quickly, in bounded memory, and
/// the store stays sound.
@Suite struct DecompressionBombCommandTests {
    @Test func importRefusesAGzipBombInBoundedMemory() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        // One real record first, then 1 GiB of zeros in 64 gzip members: about 1 MB on disk.
        let record = try #require(lines(try String(contentsOfFile: Shared.repository + "/samples/demo-incident.ndjson", encoding: .utf8)).first)
        let head = scratch.write("head.ndjson", record + "\n")
        let zeros = scratch.path + "/zeros.gz"
        #expect(try Shell.run("gzip -9 -c \(head) > \(zeros).bomb && head -c 16M /dev/zero | gzip -9 > \(zeros)") == 0)
        var bomb = try Data(contentsOf: URL(fileURLWithPath: zeros + ".bomb"))
        let member = try Data(contentsOf: URL(fileURLWithPath: zeros))
        for _ in 0..<64 { bomb += member }
        let input = scratch.path + "/alerts.ndjson.gz"
        try bomb.write(to: URL(fileURLWithPath: input))
        #expect(bomb.count < 1_100_000)

        // GNU time reports the child's peak resident set.
        let started = Date()
        let run = try CLI.run(["-f", "peak-rss-kb %M", CLI.binary, "import", "--store", store, input], executable: "/usr/bin/time")
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 2, "\(run.stderr)")
        let errors = lines(run.stderr).filter { $0.hasPrefix("rearview:") }
        #expect(errors.count == 1 && errors[0].contains("\(input): decompressed size exceeds 200 times the compressed size"),
                "\(run.stderr)")
        let peak = try #require(lines(run.stderr).last.flatMap { Int($0.split(separator: " ").last ?? "") }, "\(run.stderr)")
        #expect(peak < 400_000, "peak RSS \(peak) kB")
        #expect(seconds < 30, "refused after \(seconds) s")

        #expect(errors.first?.hasSuffix("(--max-ratio and --max-decompressed raise the limits)") == true)
        // Refused inside the first chunk of input, before its one record was parsed; the store verifies.
        #expect(try CLI.run(["query", "--store", store, "--count"]).stdout == "0\n")
        #expect(try CLI.run(["verify", "--store", store]).status == 0)
    }
}
