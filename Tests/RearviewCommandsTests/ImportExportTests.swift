import Foundation
import Testing

@Suite(.serialized) struct ImportExportTests {
    @Test func everyKubeArmorSampleComesBackByteIdentical() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let samples = Shared.logs + "/KubeArmor/samples.ndjson"
        let accuknox = Shared.logs + "/accuknox-docs/alerts.ndjson"
        let imported = try CLI.run(["import", "--store", store, samples, accuknox])
        #expect(imported.status == 0, "\(imported.stderr)")
        let exported = try CLI.run(["export", "--store", store, "--format", "kubearmor"])
        #expect(exported.status == 0)
        let input = lines(try String(contentsOfFile: samples, encoding: .utf8)) + lines(try String(contentsOfFile: accuknox, encoding: .utf8))
        // Export is in time order; as a multiset the lines must be exactly the input lines.
        #expect(lines(exported.stdout).sorted() == input.sorted())
        #expect(input.count == 55)
    }

    @Test func generatedLogsRoundTripThroughTheStore() throws {
        let scratch = Scratch()
        for (name, extra) in [("classic", ["--schema", "classic"]), ("current", ["--schema", "current", "--attack", "2"])] {
            let file = scratch.path + "/\(name).ndjson"
            try Shared.generate(file, ["--events", "100000", "--seed", "3", "--hosts", "3"] + extra)
            let store = scratch.path + "/store-\(name)"
            let imported = try CLI.run(["import", "--store", store, file])
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stderr.contains("imported 100000 event(s)"))
            let exported = try CLI.run(["export", "--store", store])
            let original = try String(contentsOfFile: file, encoding: .utf8)
            // Export is in time order (the generator's hosts interleave), so compare the lines as multisets.
            #expect(exported.stdoutBytes.count == original.utf8.count)
            #expect(lines(exported.stdout).sorted() == lines(original).sorted(), "\(name): export differs from the input")
            let verify = try CLI.run(["verify", "--store", store])
            #expect(verify.status == 0, "\(verify.stdout)")
        }
    }

    @Test func reimportAddsNoCopiesButKeepsRealRepeats() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let all = lines(try String(contentsOfFile: Shared.logs + "/KubeArmor/samples.ndjson", encoding: .utf8))
        let first = scratch.write("first.ndjson", all[0..<30].joined(separator: "\n") + "\n")
        // Overlaps the first file (lines 20..<30) and repeats line 40 three times.
        let second = scratch.write("second.ndjson", (all[20..<52] + [all[40], all[40]]).joined(separator: "\n") + "\n")
        #expect(try CLI.run(["import", "--store", store, first]).status == 0)
        let again = try CLI.run(["import", "--store", store, first])
        #expect(again.stderr.contains("imported 0 event(s)"))
        #expect(again.stderr.contains("30 already stored"))
        let overlap = try CLI.run(["import", "--store", store, second])
        #expect(overlap.stderr.contains("imported 24 event(s)"), "\(overlap.stderr)")
        let exported = lines(try CLI.run(["export", "--store", store]).stdout)
        #expect(exported.count == 54)
        #expect(exported.filter { $0 == all[40] }.count == 3)
    }

    @Test func everyInputFormIsDetected() throws {
        let scratch = Scratch()
        let accuknox = lines(try String(contentsOfFile: Shared.logs + "/accuknox-docs/alerts.ndjson", encoding: .utf8))
        let pasted = Shared.logs + "/accuknox-docs/alerts-as-shown.txt"
        let array = scratch.write("array.json", "[\n" + accuknox.joined(separator: ",\n") + "\n]\n")
        let pretty = scratch.path + "/pretty.json"
        try Shell.run("jq . \(Shared.logs)/accuknox-docs/alerts.ndjson > \(pretty) && gzip -k \(pretty) && lz4 -q \(pretty) \(pretty).lz4")
        for input in [pasted, array, pretty, pretty + ".gz", pretty + ".lz4"] {
            let store = scratch.path + "/store-" + URL(fileURLWithPath: input).lastPathComponent
            let run = try CLI.run(["import", "--store", store, input])
            #expect(run.status == 0, "\(input): \(run.stderr)")
            let exported = lines(try CLI.run(["export", "--store", store]).stdout)
            // Same JSON objects as the NDJSON form of the same alerts (key order of the input kept).
            #expect(exported.sorted() == accuknox.sorted(), "\(input)")
        }
        let stdinStore = scratch.path + "/store-stdin"
        let fromStdin = try CLI.run(["import", "--store", stdinStore, "-"], stdin: Data(accuknox.joined(separator: "\n").utf8))
        #expect(fromStdin.status == 0)
        #expect(lines(try CLI.run(["export", "--store", stdinStore]).stdout).count == 3)
    }

    @Test func badRecordsAreReportedKeptAndCounted() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let good = lines(try String(contentsOfFile: Shared.logs + "/accuknox-docs/alerts.ndjson", encoding: .utf8))
        let bad = scratch.write("bad.ndjson", [good[0], "{\"HostPID\":\"12\",\"Operation\":\"Process\"}", "{not json", good[1], "[1,2", good[2]].joined(separator: "\n") + "\n")
        let run = try CLI.run(["import", "--store", store, bad])
        #expect(run.status == 2)
        #expect(run.stderr.contains("bad.ndjson:2: "))
        #expect(run.stderr.contains("HostPID"))
        #expect(run.stderr.contains("bad.ndjson:3: "))
        #expect(run.stderr.contains("imported 3 event(s)"))
        #expect(run.stderr.contains("rejected"))
        let rejects = try FileManager.default.contentsOfDirectory(atPath: store + "/rejects")
        let kept = try String(contentsOfFile: store + "/rejects/" + rejects.first { $0.hasSuffix(".rejected") }!, encoding: .utf8)
        #expect(kept.contains("{\"HostPID\":\"12\""))
        #expect(kept.contains("{not json"))
        #expect(lines(try CLI.run(["export", "--store", store]).stdout).sorted() == good.sorted())
    }

    @Test func aCutGzipKeepsEveryCompleteRecordBeforeTheCut() throws {
        let scratch = Scratch()
        let cut = scratch.path + "/cut.ndjson.gz"
        // The demo incident gzipped and cut in the middle; Python's zlib says what came before the cut.
        try Shell.run("gzip -c \(Shared.repository)/samples/demo-incident.ndjson | head -c 20000 > \(cut)")
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import sys, zlib; sys.stdout.buffer.write(zlib.decompressobj(31).decompress(open(sys.argv[1], 'rb').read()))", cut]
        let pipe = Pipe()
        python.standardOutput = pipe
        try python.run()
        let before = pipe.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        let complete = before.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        try #require(complete.count > 100 && before.last != 0x0A)

        let store = scratch.path + "/store"
        let run = try CLI.run(["import", "--store", store, cut])
        #expect(run.status == 2)
        #expect(run.stderr.contains("rearview: \(cut): corrupt gzip data: the stream is cut short after byte 20000; "
                                    + "\(complete.count + 1) record(s) were read before it (one it cut is rejected below)"), "\(run.stderr)")
        #expect(run.stderr.contains("\(cut):\(complete.count + 1): invalid JSON"), "\(run.stderr)")
        #expect(run.stderr.contains("imported \(complete.count) event(s) from 1 file(s)"), "\(run.stderr)")
        #expect(lines(try CLI.run(["export", "--store", store]).stdout).sorted() == complete.sorted())
        // The same as decompressing it first and importing standard input.
        let piped = try CLI.run(["import", "--store", scratch.path + "/piped", "-"], stdin: before)
        #expect(piped.stderr.contains("imported \(complete.count) event(s)"), "\(piped.stderr)")
    }

    @Test func emptyAndUnreadableInputsFailWithOneLine() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let empty = scratch.write("empty.ndjson", "")
        let run = try CLI.run(["import", "--store", store, empty])
        #expect(run.status == 2)
        #expect(run.stderr.contains("empty.ndjson"))
        let missing = try CLI.run(["import", "--store", store, scratch.path + "/nope.json"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.json"))
        let invalidUTF8 = scratch.path + "/latin1.ndjson"
        try Data([0x7B, 0x22, 0x48, 0x6F, 0x73, 0x74, 0x4E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xE9, 0x22, 0x7D, 0x0A]).write(to: URL(fileURLWithPath: invalidUTF8))
        let utf8 = try CLI.run(["import", "--store", store, invalidUTF8])
        #expect(utf8.status == 2)
        #expect(utf8.stderr.contains("latin1.ndjson:1:"))
        let huge = scratch.path + "/huge.ndjson"
        try Data(("{\"Resource\":\"" + String(repeating: "a", count: 10 << 20) + "\"}\n").utf8).write(to: URL(fileURLWithPath: huge))
        let big = try CLI.run(["import", "--store", store, huge])
        #expect(big.status == 2)
        #expect(big.stderr.contains("huge.ndjson:1:"))
    }

    @Test func infoReportsHostsOperationsAndSize() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        try CLI.run(["import", "--store", store, Shared.repository + "/samples/demo-incident.ndjson"])
        let info = try CLI.run(["info", "--store", store, "--format", "json"])
        #expect(info.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as! [String: Any]
        #expect(object["events"] as? Int == 2000)
        #expect((object["hosts"] as? [String: Int])?.count == 2)
        #expect((object["operations"] as? [String: Int])?.values.reduce(0, +) == 2000)
        let text = try CLI.run(["info"], environment: ["REARVIEW_STORE": store])
        #expect(text.stdout.contains("bytes/event"))
        let none = try CLI.run(["info", "--store", scratch.path + "/nothing"])
        #expect(none.status == 2)
    }

    @Test func reindexThroughTheCLIKeepsEveryEvent() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        try CLI.run(["import", "--store", store, Shared.repository + "/samples/demo-incident.ndjson"])
        let before = try CLI.run(["export", "--store", store]).stdoutBytes
        try FileManager.default.removeItem(atPath: store + "/index.sqlite")
        #expect(try CLI.run(["export", "--store", store]).status == 3)
        #expect(try CLI.run(["reindex", "--store", store]).status == 0)
        #expect(try CLI.run(["export", "--store", store]).stdoutBytes == before)
    }
}
