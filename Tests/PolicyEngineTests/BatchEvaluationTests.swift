import EventModel
import EventStore
import Foundation
import Testing
@testable import PolicyEngine

/// Evaluating column batches (``PolicyEvaluator/verdicts(in:rows:_:)``, decided once per distinct id
/// tuple per block) must give exactly the verdicts, in the same order, and the same statistics as
/// evaluating the events built from those batches (``PolicyEvaluator/verdicts(for:_:)``).
@Suite(.serialized) struct BatchEvaluationTests {
    static let generator = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/tools/gen-kubearmor-logs.py").path
    static let corpusLogs = "/work/shared/corpus/kubearmor-logs"

    static var generatorIsAvailable: Bool {
        FileManager.default.fileExists(atPath: generator) && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    }

    /// Every policy of the shared corpus that loads.
    static let corpusPolicies: [KubeArmorPolicy] = PolicyLoader.load(paths: [Fixture.corpus]).policies

    /// Rules with every option whose outcome depends on more than the target (a terminal, the file's
    /// owner, writes, the source executable), on targets the generated logs are full of.
    static let optionsPolicy = """
        apiVersion: security.kubearmor.com/v1
        kind: KubeArmorPolicy
        metadata:
          name: options-under-test
          namespace: payments
        spec:
          selector:
            matchLabels:
              app: payments-api
          process:
            matchPaths:
            - path: /usr/bin/dash
              pts: false
            - path: /usr/lib/postgresql/16/bin/pg_isready
              fromSource:
              - path: /bin/sh
          file:
            matchPaths:
            - path: /etc/ld.so.cache
              pts: false
            - path: /lib/x86_64-linux-gnu/libc.so.6
              ownerOnly: true
            matchDirectories:
            - dir: /var/lib/postgresql/data/
              recursive: true
              readOnly: true
              fromSource:
              - path: /usr/lib/postgresql/16/bin/postgres
            - dir: /etc/
              recursive: true
              fromSource:
              - path: /usr/bin/bash
          network:
            matchProtocols:
            - protocol: tcp
              fromSource:
              - path: /bin/vault
          action: Block
        """

    /// The option sets evaluated: each scope, each default posture, audited namespaces and hosts.
    static func optionSets(events: [Event]) -> [(name: String, options: EvaluationOptions)] {
        var sets: [(String, EvaluationOptions)] = []
        let namespaces = Set(events.map(\.namespaceName).filter { !$0.isEmpty }.sorted().prefix(2))
        let hosts = Set(events.map(\.hostName).sorted().prefix(1))
        for scope in [EvaluationOptions.Scope.asWritten, .anyWorkload, .everywhere] {
            for posture in [DefaultPosture.Action.audit, .block, .allow] {
                var options = EvaluationOptions()
                options.scope = scope
                options.containerPosture = DefaultPosture(posture)
                options.hostPosture = DefaultPosture(posture)
                if posture == .block {
                    options.auditedNamespaces = namespaces
                    options.auditedHosts = hosts
                }
                sets.append(("\(scope.rawValue) \(posture)", options))
            }
        }
        return sets
    }

    /// A verdict as its fields, to compare.
    static func fields(_ verdict: PolicyVerdict) -> String {
        "\(verdict.policyName) | \(verdict.rule) | \(verdict.action) | \(verdict.result) | host \(verdict.isHostAlert) | "
            + "unverified \(verdict.ownerUnverified)"
    }

    /// The first verdict where `actual` and `expected` differ, as `actual ≠ expected`; nil when they are equal.
    static func firstDifference(_ actual: [String], _ expected: [String]) -> String? {
        for i in 0..<max(actual.count, expected.count) {
            let a = i < actual.count ? actual[i] : "(none)", e = i < expected.count ? expected[i] : "(none)"
            if a != e { return "\(a) ≠ \(e)" }
        }
        return nil
    }

    /// Compares both evaluations of every block of `store`, over every option set, on all rows and on
    /// a selection of rows; returns the alerts counted per action.
    static func compare(_ store: Store, policies: [KubeArmorPolicy], sourceLocation: SourceLocation = #_sourceLocation) throws
        -> [String: Int] {
        let batches = try store.blocks().map { try store.batch(in: $0) }
        // What `evaluate --count` and `--summary` decode: only the columns verdicts are decided from.
        let projected = try store.blocks().map { try store.batch(in: $0, columns: PolicyEvaluator.columns) }
        let events = batches.map { $0.events() }
        var actions: [String: Int] = [:]
        for (name, options) in optionSets(events: events.flatMap { $0 }) {
            let policySet = PolicySet(policies, options: options)
            var byEvents = policySet.makeEvaluator(), byBatches = policySet.makeEvaluator()
            var selectedByEvents = policySet.makeEvaluator(), selectedByBatches = policySet.makeEvaluator()
            var byProjected = policySet.makeEvaluator()
            for ((batch, projectedBatch), blockEvents) in zip(zip(batches, projected), events) {
                var expected: [String] = [], actual: [String] = []
                byEvents.verdicts(for: blockEvents) { index, verdict in
                    expected.append("\(index): \(fields(verdict))")
                    actions[verdict.action, default: 0] += 1
                }
                byBatches.verdicts(in: batch, rows: 0..<Int32(batch.count)) { row, verdict in
                    actual.append("\(row): \(fields(verdict))")
                }
                #expect(firstDifference(actual, expected) == nil, "\(name)", sourceLocation: sourceLocation)
                var projectedActual: [String] = []
                byProjected.verdicts(in: projectedBatch, rows: 0..<Int32(projectedBatch.count)) { row, verdict in
                    projectedActual.append("\(row): \(fields(verdict))")
                }
                #expect(firstDifference(projectedActual, expected) == nil, "\(name), projected", sourceLocation: sourceLocation)
                // A selection (every third row, as a filter would leave): the rows given, in order.
                let rows = Array(stride(from: Int32(1), to: Int32(batch.count), by: 3))
                var selectedExpected: [String] = [], selectedActual: [String] = []
                selectedByEvents.verdicts(for: rows.map { blockEvents[Int($0)] }) { index, verdict in
                    selectedExpected.append("\(rows[index]): \(fields(verdict))")
                }
                selectedByBatches.verdicts(in: batch, rows: rows) { row, verdict in
                    selectedActual.append("\(row): \(fields(verdict))")
                }
                #expect(firstDifference(selectedActual, selectedExpected) == nil, "\(name), every third row",
                        sourceLocation: sourceLocation)
            }
            #expect(byBatches.statistics() == byEvents.statistics(), "\(name)", sourceLocation: sourceLocation)
            #expect(byProjected.statistics() == byEvents.statistics(), "\(name), projected", sourceLocation: sourceLocation)
            #expect(selectedByBatches.statistics() == selectedByEvents.statistics(), "\(name)", sourceLocation: sourceLocation)
        }
        return actions
    }

    /// Generated logs (with an intrusion), and a share of their events given the fields only some
    /// records carry (a file owner's `OID`, a terminal, results that never reached the enforcer),
    /// in a store of small blocks.
    @Test(.enabled(if: generatorIsAvailable, "needs python3 and ../shared/tools/gen-kubearmor-logs.py"))
    func batchVerdictsEqualEventVerdictsOnGeneratedStores() throws {
        let policies = Fixture.policies(Self.optionsPolicy) + Self.corpusPolicies
        try #require(policies.count > 100)
        for seed in [3] {
            let directory = NSTemporaryDirectory() + "rearview-batch-evaluate-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let log = directory + "/log.ndjson"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [Self.generator, "--events", "15000", "--seed", String(seed), "--hosts", "3",
                                 "--attack", "2", "--out", log]
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "the generator failed")
            var events = try KubeArmorJSONReader.readAll(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: log))),
                                                         origin: log).compactMap { try? $0.get() }
            var rng = SystemRandomNumberGenerator()
            for i in events.indices where Int.random(in: 0..<5, using: &rng) == 0 {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: events[i].extras.append(ExtraField(key: "OID", json: String(events[i].uid)))
                case 1: events[i].extras.append(ExtraField(key: "OID", json: "4242"))
                case 2: events[i].tty = "pts0"
                default: events[i].result = ["Permission denied", "No such file or directory"].randomElement(using: &rng)!
                }
            }
            events.sort { $0.timeNs < $1.timeNs }
            var options = WriterOptions()
            options.blockEvents = 900
            let path = directory + "/store"
            let writer = try StoreWriter(path: path, options: options)
            try writer.append(events)
            try writer.close()
            let actions = try Self.compare(try Store.open(path), policies: policies)
            // Only meaningful if the policies raise alerts of every action.
            #expect(actions["Audit", default: 0] > 1000 && actions["Block", default: 0] > 1000
                && actions["Audit (Block)", default: 0] > 100, "\(actions)")
        }
    }

    /// The corpus's KubeArmor logs (as the docs show them and as exporters write them), imported.
    @Test func batchVerdictsEqualEventVerdictsOnTheCorpusLogs() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.corpusLogs)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".json") || $0.hasSuffix(".ndjson") }.sorted().map { Self.corpusLogs + "/" + $0 }
        try #require(files.count > 20)
        let path = NSTemporaryDirectory() + "rearview-batch-evaluate-corpus-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        var importer = Importer(storePath: path)
        importer.options.blockEvents = 40
        let report = try importer.run(files: files)
        try #require(report.imported > 100, "\(report.imported) imported")
        let actions = try Self.compare(try Store.open(path), policies: Self.corpusPolicies)
        #expect(actions.values.reduce(0, +) > 50, "\(actions)")
        print("corpus logs: \(report.imported) events, alerts per action over the option sets: \(actions)")
    }
}
