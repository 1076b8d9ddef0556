import EventModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Investigation

/// The instances and parent edges rebuilt from generated KubeArmor logs, compared with the
/// generator's ground truth (`--truth`): PIDs wrap often (`--pid-max 1000`), processes are reparented
/// to subreapers and container inits, exec chains and blocked execs occur.
@Suite struct ProcessGroundTruthTests {
    @Test(.enabled(if: GroundTruthRun.isAvailable, "needs python3 and ../shared/tools/gen-kubearmor-logs.py"))
    func rebuiltParentEdgesMatchTheTruth() throws {
        let run = try GroundTruthRun.generated(events: 60_000, seed: 17, hosts: 2, pidMax: 1000, attack: true)
        let score = run.score()
        #expect(run.truth.pidWraps >= 4, "the log should reuse PIDs")
        #expect(score.eventsWithoutTruth == 0)
        #expect(score.mergedInstances == 0, "instances holding the events of several true processes")
        #expect(score.splitProcesses == 0, "true processes whose events went to several instances")
        #expect(score.precision == 1, "wrong edges: \(score.wrongEdges.prefix(5))")
        #expect(score.recall == 1, "missed edges: \(score.missedEdges.prefix(5))")
        #expect(score.reaperMismatches == 0)
        #expect(score.lookupMismatches == 0, "events the table's time lookup gives another instance")
        #expect(score.imageMismatchesOfProcessesStartedInLog == 0, "exec chains of processes started in the log")
    }

    /// The same check on a log made elsewhere (say 1M events): set `REARVIEW_TRUTH_LOG` and
    /// `REARVIEW_TRUTH_FILE`. Prints the score and how long the build took.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["REARVIEW_TRUTH_LOG"] != nil, "REARVIEW_TRUTH_LOG not set"))
    func givenLogMatchesItsTruth() throws {
        let environment = ProcessInfo.processInfo.environment
        let run = try GroundTruthRun(log: environment["REARVIEW_TRUTH_LOG"]!, truth: environment["REARVIEW_TRUTH_FILE"]!)
        let score = run.score()
        print("""
            ground truth: \(run.eventTimes.count) events, \(run.table.count) instances, \(run.truth.processes.count) true processes, \
            \(run.truth.pidWraps) PID wraps; edges: precision \(score.precision), recall \(score.recall) \
            (\(score.wrongEdges.count) wrong, \(score.missedEdges.count) missed); merged \(score.mergedInstances), \
            split \(score.splitProcesses), reaper mismatches \(score.reaperMismatches), \
            lookup mismatches \(score.lookupMismatches), image chains differing \(score.imageMismatches) \
            (\(score.imageMismatchesOfProcessesStartedInLog) of processes started in the log); \
            build \(run.buildSeconds) s (\(run.buildCPUSeconds) s CPU)
            """)
        #expect(score.precision == 1)
        #expect(score.recall == 1)

        // What `tree --pid` costs on this table once the rows are loaded.
        let rows = run.table.rows
        let clock = ContinuousClock()
        var text = ""
        var table = run.table
        let loading = try clock.measure { table = try ProcessInstanceTable(rows: rows) }
        let querying = (0..<3).map { _ in
            clock.measure {
                let instance = table.instances[table.count / 2]
                let selector = ProcessSelector.hostPID(instance.hostPID, hostName: instance.hostName, at: instance.startNs)
                text = ProcessTreeRenderer(ProcessTree(table: table, selecting: selector)).text()
            }
        }.min()!
        print("tree --pid on \(rows.count) rows: table from rows \(loading), select and render \(querying) (\(text.split(separator: "\n").count) lines)")
        #expect(!text.isEmpty)
    }
}

/// A generated (or given) log, its truth, and the instances rebuilt from it.
struct GroundTruthRun {
    let truth: GroundTruth
    let table: ProcessInstanceTable
    /// Per event: host, HostPID, time (ns) and the instance the builder gave it.
    let eventTimes: [(host: String, hostPID: Int32, timeNs: Int64, instance: Int64)]
    let buildSeconds: Double
    /// CPU time of the build on its thread (less disturbed by other work on the machine).
    let buildCPUSeconds: Double

    static let generator = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/tools/gen-kubearmor-logs.py").path

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: generator) && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    }

    static func generated(events: Int, seed: Int, hosts: Int, pidMax: Int, attack: Bool) throws -> GroundTruthRun {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rearview-truth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("log.ndjson").path
        let truth = directory.appendingPathComponent("truth.json").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [generator, "--events", String(events), "--seed", String(seed), "--hosts", String(hosts),
                             "--pid-max", String(pidMax), "--truth", truth, "--out", log] + (attack ? ["--attack", "1"] : [])
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the generator failed")
        return try GroundTruthRun(log: log, truth: truth)
    }

    init(log: String, truth truthPath: String) throws {
        truth = try GroundTruth(contentsOf: truthPath)
        let outcomes = try KubeArmorJSONReader.readAll(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: log))),
                                                       origin: log, threads: 2)
        let events = outcomes.compactMap { try? $0.get() }
        var builder = ProcessInstanceBuilder()
        func threadCPUSeconds() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        let clock = ContinuousClock()
        var ids: [Int64] = []
        let cpuBefore = threadCPUSeconds()
        let elapsed = clock.measure { ids = builder.add(events) }
        buildCPUSeconds = threadCPUSeconds() - cpuBefore
        buildSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        table = builder.table
        eventTimes = zip(events, ids).map { ($0.hostName, $0.hostPID, $0.timeNs, $1) }
    }

    /// Compares instances and parent edges with the truth. A rebuilt instance stands for the true
    /// process most of its events belong to; a placeholder (no events) for the true process that had
    /// its HostPID when its first child started.
    func score() -> GroundTruthScore {
        var score = GroundTruthScore()
        var votes: [Int64: [Int: Int]] = [:]
        for event in eventTimes {
            if table.instanceID(hostName: event.host, hostPID: event.hostPID, at: event.timeNs) != event.instance {
                score.lookupMismatches += 1
            }
            guard let process = truth.process(host: event.host, hostPID: event.hostPID, atUs: event.timeNs / 1000) else {
                score.eventsWithoutTruth += 1
                continue
            }
            votes[event.instance, default: [:]][process, default: 0] += 1
        }
        var trueProcessOf: [Int64: Int] = [:]
        var instancesOfProcess: [Int: Int] = [:]
        for (instance, counts) in votes {
            if counts.count > 1 { score.mergedInstances += 1 }
            let process = counts.max { $0.value < $1.value }!.key
            trueProcessOf[instance] = process
            instancesOfProcess[process, default: 0] += 1
        }
        score.splitProcesses = instancesOfProcess.values.filter { $0 > 1 }.count
        func trueProcess(_ id: Int64?, childStartUs: Int64) -> Int? {
            guard let id, let instance = table[id] else { return nil }
            if let known = trueProcessOf[id] { return known }
            return truth.process(host: instance.hostName, hostPID: instance.hostPID, atUs: childStartUs)
        }
        var rebuilt = Set<GroundTruthScore.Edge>()
        for (id, process) in trueProcessOf {
            let instance = table[id]!
            let parent = trueProcess(instance.parentID, childStartUs: instance.startNs / 1000)
            rebuilt.insert(.init(host: instance.hostName, child: process, parent: parent))
            let truthProcess = truth.processes[process]!
            if truthProcess.images != instance.images {
                score.imageMismatches += 1
                if truthProcess.startUs >= truth.startUs { score.imageMismatchesOfProcessesStartedInLog += 1 }
            }
            if let reaper = instance.reaperID {
                let last = truthProcess.reaperIDs.last
                if last == nil || trueProcess(reaper, childStartUs: instance.lastActivityNs / 1000) != last { score.reaperMismatches += 1 }
            }
        }
        let expected = Set(truth.processes.values.filter { $0.records > 0 }.map {
            GroundTruthScore.Edge(host: $0.host, child: $0.key, parent: $0.parentKey)
        })
        score.wrongEdges = Array(rebuilt.subtracting(expected))
        score.missedEdges = Array(expected.subtracting(rebuilt))
        let correct = Double(rebuilt.intersection(expected).count)
        score.precision = rebuilt.isEmpty ? 0 : correct / Double(rebuilt.count)
        score.recall = expected.isEmpty ? 0 : correct / Double(expected.count)
        return score
    }
}

struct GroundTruthScore {
    struct Edge: Hashable {
        var host: String
        var child: Int
        var parent: Int?
    }

    var precision = 0.0
    var recall = 0.0
    var wrongEdges: [Edge] = []
    var missedEdges: [Edge] = []
    var mergedInstances = 0
    var splitProcesses = 0
    var eventsWithoutTruth = 0
    var reaperMismatches = 0
    var lookupMismatches = 0
    /// Processes whose rebuilt exec chain differs (expected for processes started before the log,
    /// whose earlier images no record shows).
    var imageMismatches = 0
    /// Of those, processes that started while the log ran (all their images are in it).
    var imageMismatchesOfProcessesStartedInLog = 0
}

/// The generator's `--truth` file: every process of every host with its HostPID, lifetime, parent
/// at birth, images and reparentings.
struct GroundTruth {
    struct TrueProcess {
        var host: String
        var key: Int
        var hostPID: Int32
        var parentKey: Int?
        var startUs: Int64
        var exitUs: Int64?
        var images: [String]
        var reaperIDs: [Int]
        var records: Int
    }

    /// By a key unique over hosts (the generator's ids are global).
    var processes: [Int: TrueProcess] = [:]
    var pidWraps = 0
    /// Unix µs of the start of the log.
    var startUs: Int64 = 0
    private var byHostPID: [String: [Int32: [Int]]] = [:]

    init(contentsOf path: String) throws {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        startUs = Int64(root["start"] as! Int) * 1_000_000
        for host in root["hosts"] as! [[String: Any]] {
            let name = host["HostName"] as! String
            pidWraps = max(pidWraps, host["pid_wraps"] as! Int)
            for p in host["processes"] as! [[String: Any]] {
                let id = p["id"] as! Int
                let process = TrueProcess(
                    host: name, key: id, hostPID: Int32(p["HostPID"] as! Int), parentKey: p["parent"] as? Int,
                    startUs: Int64(p["start_us"] as! Int), exitUs: (p["exit_us"] as? Int).map(Int64.init),
                    images: p["images"] as! [String],
                    reaperIDs: ((p["reparented"] as? [[Any]]) ?? []).map { $0[2] as! Int },
                    records: p["records"] as! Int)
                processes[id] = process
                byHostPID[name, default: [:]][process.hostPID, default: []].append(id)
            }
        }
    }

    /// The true process that had `hostPID` on `host` at `atUs`.
    func process(host: String, hostPID: Int32, atUs: Int64) -> Int? {
        byHostPID[host]?[hostPID]?.first { id in
            let p = processes[id]!
            return p.startUs <= atUs && (p.exitUs.map { atUs <= $0 } ?? true)
        }
    }
}
