import EventModel
import EventStore
import Foundation
import Testing

/// `prune`, and `record --max-size`/`--retain` as a flight recorder: the oldest segments retired
/// within the budget while the recording goes on, the store verifying at every point.
@Suite(.serialized) struct RetentionCommandTests {
    /// The sealed segments' numbers and their events' times, from the index.
    func segments(_ store: String) throws -> [(number: UInt64, events: Int, first: Int64, last: Int64)] {
        let blocks = Dictionary(grouping: try Store.open(store).blocks(), by: \.segment)
        return blocks.keys.sorted().map { n in
            let b = blocks[n]!
            return (n, b.reduce(0) { $0 + $1.location.eventCount }, b.map(\.location.minTimeNs).min()!, b.map(\.location.maxTimeNs).max()!)
        }
    }

    func count(_ store: String) throws -> Int {
        Int(try CLI.run(["query", "--store", store, "--count"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func pruneRetiresTheOldestSegmentsAndVerifySaysSo() throws {
        let scratch = Scratch()
        let input = scratch.path + "/input.ndjson", store = scratch.path + "/store"
        try Shared.generate(input, ["--events", "20000", "--seed", "4", "--hosts", "2"])
        #expect(try CLI.run(["import", "--store", store, "--segment-size", "32K", "--block-events", "500", input]).status == 0)
        let before = try segments(store)
        #expect(before.count > 6)

        // A dry run names what would go and changes nothing.
        let dry = try CLI.run(["prune", "--store", store, "--keep-size", "400K", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.hasPrefix("would retire segment 1: "), "\(dry.stdout)")
        #expect(try segments(store).map(\.number) == before.map(\.number))

        // --before a time inside the third segment retires exactly the two before it.
        let cut = before[2].first + (before[2].last - before[2].first) / 2
        let seconds = String(format: "%.6f", Double(cut) / 1e9)
        let pruned = try CLI.run(["prune", "--store", store, "--before", seconds])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.split(separator: "\n").map { $0.prefix(19) } == ["retired segment 1: ", "retired segment 2: "], "\(pruned.stdout)")
        #expect(try count(store) == 20000 - before[0].events - before[1].events)

        let sized = try CLI.run(["prune", "--store", store, "--keep-size", "400K"])
        #expect(sized.status == 0, "\(sized.stderr)")
        let onDisk = Self.bytesOnDisk(store)
        #expect(onDisk <= 400 << 10, "prune --keep-size leaves the store within the size (it compacts the index)")
        let left = try segments(store)
        #expect(left.map(\.number) == Array(before.map(\.number).suffix(left.count)), "what is left is the newest part")
        #expect(try count(store) == left.reduce(0) { $0 + $1.events })

        let verify = try CLI.run(["verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stdout)")
        let firstKept = left[0].number
        #expect(verify.stdout.contains("retired: segments 1–2 retired by prune --before at "), "\(verify.stdout)")
        #expect(verify.stdout.contains("retired: segments 3–\(firstKept - 1) retired by prune --keep-size at ")
                || verify.stdout.contains("retired: segment 3 retired by prune --keep-size at "), "\(verify.stdout)")
        #expect(verify.stdout.contains("retirement ledger: unsigned"))
        let info = try CLI.run(["info", "--store", store, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let runs = try #require(object["retired"] as? [[String: Any]])
        #expect(runs.map { $0["reason"] as? String } == ["prune --before", "prune --keep-size"])
        #expect(runs.reduce(0) { $0 + (($1["events"] as? Int) ?? 0) } == 20000 - left.reduce(0) { $0 + $1.events })
        #expect(try CLI.run(["info", "--store", store]).stdout.contains("coverage   no data "), "retired segments are a coverage hole")
        // The tree is built again from what is left.
        #expect(try CLI.run(["tree", "--store", store, "--pid", "1"]).status == 0)
    }

    @Test func aSignedStoreIsPrunedOnlyWithItsKey() throws {
        let scratch = Scratch()
        let input = scratch.path + "/input.ndjson", store = scratch.path + "/store", key = scratch.path + "/seal.key"
        try Shared.generate(input, ["--events", "8000", "--seed", "6", "--hosts", "1"])
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        #expect(try CLI.run(["import", "--store", store, "--sign-key", key, "--segment-size", "64K", "--block-events", "1000", input]).status == 0)
        let refused = try CLI.run(["prune", "--store", store, "--keep-size", "100K"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("this store is signed") && refused.stderr.contains("--sign-key"), "\(refused.stderr)")
        #expect(try CLI.run(["prune", "--store", store, "--keep-size", "100K", "--sign-key", key]).status == 0)
        let verify = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("retirement ledger: signed by SHA256:"), "\(verify.stdout)")
        #expect(try CLI.run(["prune", "--store", store]).status == 2, "prune needs --before or --keep-size")
    }

    /// A flight recorder under a tiny budget: segments are retired many times while a workload runs;
    /// the store never grows past the budget by more than a segment (sampled throughout), what is
    /// kept has no gap, and a SIGKILL at a random moment leaves a store that recovers and verifies.
    @Test(.enabled(if: geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs root and BTF to record"))
    func recordKeepsARollingWindowWithinTheBudget() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", key = scratch.path + "/seal.key", work = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        let budget = 512 << 10, segment = 32 << 10
        let recorder = try Recording(["record", "--store", store, "--events", "file", "--flush", "200ms", "--max-size", "512K",
                                      "--segment-size", "32K", "--sign-key", key])
        guard recorder.waitUntilRecording() else {
            recorder.kill()
            Issue.record("record did not start: \(recorder.stderr)")
            return
        }
        let workload = try OpenWorkload.start(in: work)
        var largest = 0
        let until = Date().addingTimeInterval(Double.random(in: 3...5))
        while Date() < until {
            largest = max(largest, Self.bytesOnDisk(store))
            Thread.sleep(forTimeInterval: 0.05)
        }
        recorder.kill()
        Glibc.kill(workload.processIdentifier, SIGKILL)
        workload.waitUntilExit()
        #expect(recorder.stderr.contains("retired segment"), "\(recorder.stderr)")
        // A flush's blocks (200 ms of events) can land before retirement catches up.
        #expect(largest <= budget + segment + 128 << 10, "the store reached \(largest) bytes (budget \(budget), segment \(segment))")

        let flushed = try StoredEvents.read(store)
        let signer = try SegmentSigner(privateKeyFile: key)
        try CrashCheck.recoverAndVerify(store: store, signer: signer, publicKey: key + ".pub", flushed: flushed, context: "budgeted record")
        let verify = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(verify.stdout.contains("retired by the disk budget (--max-size)"), "\(verify.stdout)")
        // What is kept is one run of the workload's files, without a hole.
        let kept = CrashSafetyTests.sequenceNumbers(try StoredEvents.read(store).values, directory: work)
        let low = try #require(kept.min()), high = try #require(kept.max())
        #expect(low > 1, "the oldest files were retired")
        #expect(kept.count == high - low + 1, "\(high - low + 1 - kept.count) files missing inside the kept window \(low)…\(high)")
    }

    @Test(.enabled(if: geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs root and BTF to record"))
    func recordRetainsAWindowOfTime() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", work = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let recorder = try Recording(["record", "--store", store, "--events", "file", "--flush", "200ms", "--retain", "2s",
                                      "--segment-size", "64K", "--duration", "7s"])
        guard recorder.waitUntilRecording() else {
            recorder.kill()
            Issue.record("record did not start: \(recorder.stderr)")
            return
        }
        let workload = try FileWorkload.start(opening: "seq-{i}", in: work, pause: 0.0002)
        #expect(recorder.waitUntilExit() == 0, "\(recorder.stderr)")
        Glibc.kill(workload.processIdentifier, SIGKILL)
        workload.waitUntilExit()
        let ledger = try #require(try Store.open(store).retirementLedger(), "\(recorder.stderr)")
        #expect(!ledger.entries.isEmpty)
        for entry in ledger.entries {
            #expect(entry.reason == .retainWindow)
            #expect(entry.lastTimeNs < entry.retiredAtNs - 2_000_000_000, "segment \(entry.number) retired before it was 2 s old")
        }
        #expect(try CLI.run(["verify", "--store", store]).status == 0)
    }

    /// `--keep-around`: the segments holding the window around a match survive, while retention
    /// retires segments older and newer than them; the window is complete.
    @Test(.enabled(if: geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs root and BTF to record"))
    func recordKeepsTheWindowAroundAKeepAroundMatch() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", work = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let marker = work + "/marker"
        let recorder = try Recording(["record", "--store", store, "--events", "file", "--flush", "200ms", "--max-size", "512K",
                                      "--segment-size", "32K", "--keep-around", "Resource = \"\(marker)\"", "--keep-window", "100ms"])
        guard recorder.waitUntilRecording() else {
            recorder.kill()
            Issue.record("record did not start: \(recorder.stderr)")
            return
        }
        // 60,000 opens, the marker, then 120,000 more: the store outgrows the budget several times over.
        let workload = try OpenWorkload.start(in: work, count: 180_000, markerAt: 60_000)
        workload.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.5)
        #expect(recorder.stop() == 0, "\(recorder.stderr)")

        let opened = try Store.open(store)
        let pins = try opened.pinnedWindows()
        #expect(pins.count == 1 && pins.first?.reason.contains("keep-around") == true, "\(pins) \(recorder.stderr.suffix(600))")
        let events = try StoredEvents.read(store).values
        let markerEvent = try #require(events.first { $0.resource == marker }, "the match itself is kept")
        let ledger = try #require(try opened.retirementLedger(), "retention ran")
        let window = (markerEvent.timeNs - 100_000_000)...(markerEvent.timeNs + 100_000_000)
        let pinnedSegments = try opened.blocks(from: window.lowerBound, through: window.upperBound).map(\.segment)
        let spans = try segments(store).map { "\($0.number): \($0.first % 100_000_000_000)…\($0.last % 100_000_000_000)" }
        #expect(ledger.entries.contains { $0.number < pinnedSegments.min()! }, "older segments were retired: \(ledger.entries.map { "\($0.number): \($0.firstTimeNs % 100_000_000_000)…\($0.lastTimeNs % 100_000_000_000)" }) kept \(spans) window \(window.lowerBound % 100_000_000_000)")
        #expect(ledger.entries.contains { $0.number > pinnedSegments.max()! }, "newer segments were retired past the pinned ones")
        // Every file the workload opened within the window is there.
        let inWindow = CrashSafetyTests.sequenceNumbers(events.filter { window.contains($0.timeNs) }, directory: work)
        let low = try #require(inWindow.min()), high = try #require(inWindow.max())
        #expect(inWindow.count == high - low + 1, "\(high - low + 1 - inWindow.count) files missing in the pinned window")
        #expect(events.contains { $0.timeNs < window.lowerBound } && events.contains { $0.timeNs > window.upperBound },
                "the kept segments reach past both ends of the window")
        let info = try CLI.run(["info", "--store", store])
        #expect(info.stdout.contains("pinned     ") && info.stdout.contains("keep-around 'Resource = \"\(marker)\"'"), "\(info.stdout)")
        #expect(try CLI.run(["verify", "--store", store]).status == 0)
    }

    static func bytesOnDisk(_ store: String) -> Int {
        var total = 0
        for directory in [store, store + "/segments"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name),
                      attributes[.type] as? FileAttributeType == .typeRegular else { continue }
                total += (attributes[.size] as? Int) ?? 0
            }
        }
        return total
    }
}
