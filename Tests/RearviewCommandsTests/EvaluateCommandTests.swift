import Foundation
import Testing

@Suite(.serialized) struct EvaluateCommandTests {
    /// One store with the demo incident, shared by the tests of this suite.
    static let fixture = DemoStore.imported()
    var store: String { Self.fixture.store }
    var scratch: Scratch { Self.fixture.scratch }
    static let samplePolicy = Shared.repository + "/samples/policies/ksp-discovery-process-discovery.yaml"

    func objects(_ text: String) throws -> [[String: Any]] {
        try lines(text).map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// The demo incident's executions of ps and pgrep, as `HostPID Resource`.
    func discoveryExecutions() throws -> [String] {
        let demo = try objects(String(contentsOfFile: Shared.repository + "/samples/demo-incident.ndjson", encoding: .utf8))
        return demo.filter {
            $0["Operation"] as? String == "Process" && ["/usr/bin/ps", "/usr/bin/pgrep"].contains($0["ProcessName"] as? String)
                && ($0["Data"] as? String ?? "").hasPrefix("syscall=SYS_EXECVE")
        }.map { "\($0["HostPID"] as! Int) \($0["Resource"] as! String)" }
    }

    @Test func theSamplePolicyFindsEveryPsAndPgrepExecution() throws {
        let run = try CLI.run(["evaluate", "--store", store, "--policy", Self.samplePolicy, "--scope", "everywhere",
                               "--format", "kubearmor"])
        #expect(run.status == 0, "\(run.stderr)")
        let alerts = try objects(run.stdout)
        let expected = try discoveryExecutions()
        #expect(expected.count == 26)
        #expect(alerts.map { "\($0["HostPID"] as! Int) \($0["Resource"] as! String)" }.sorted() == expected.sorted())
        for alert in alerts {
            #expect(alert["PolicyName"] as? String == "ksp-discovery-process-discovery")
            #expect(alert["Type"] as? String == "MatchedPolicy")
            #expect(alert["Action"] as? String == "Audit" && alert["Result"] as? String == "Passed")
            #expect(alert["Severity"] as? String == "5" && alert["Tags"] as? String == "MITRE,Discovery")
            #expect(alert["Message"] as? String == "Someone accessed running process")
            #expect(alert["Reevaluated"] as? Bool == true)
        }
        let count = try CLI.run(["evaluate", "--store", store, "--policy", Self.samplePolicy, "--scope", "everywhere", "--count"])
        #expect(count.stdout == "26\n")
        let summary = try CLI.run(["evaluate", "--store", store, "--policy", Self.samplePolicy, "--scope", "everywhere",
                                   "--summary", "--format", "ndjson"])
        let rows = try objects(summary.stdout)
        #expect(Set(rows.map { $0["Rule"] as! String }) == ["process /usr/bin/ps (line 18)", "process /usr/bin/pgrep (line 19)"])
        #expect(rows.map { $0["Count"] as! Int }.reduce(0, +) == 26)
        let csv = try CLI.run(["evaluate", "--store", store, "--policy", Self.samplePolicy, "--scope", "everywhere",
                               "--format", "csv", "--columns", "HostPID,PolicyName,Action"])
        #expect(csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 27)
    }

    /// A file rule `fromSource` a shell covers what the shell runs (KubeArmor's feeder compares the
    /// source with ProcessName or ParentProcessName): the web shell's `cat /etc/shadow` under dash.
    @Test func aFileRuleFromAShellCoversWhatTheShellRuns() throws {
        let policy = scratch.write("shadow-from-dash.yaml", """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
              name: shadow-from-shells
              namespace: wordpress-mysql
            spec:
              selector:
                matchLabels:
                  app: wordpress
              file:
                matchPaths:
                - path: /etc/shadow
                  fromSource:
                  - path: /usr/bin/dash
              action: Block
            """)
        let run = try CLI.run(["evaluate", "--store", store, "--policy", policy, "--format", "kubearmor"])
        #expect(run.status == 0, "\(run.stderr)")
        let demo = try objects(String(contentsOfFile: Shared.repository + "/samples/demo-incident.ndjson", encoding: .utf8))
        let expected = demo.filter {
            $0["Operation"] as? String == "File" && $0["Resource"] as? String == "/etc/shadow"
                && $0["NamespaceName"] as? String == "wordpress-mysql"
                && ($0["ProcessName"] as? String == "/usr/bin/dash" || $0["ParentProcessName"] as? String == "/usr/bin/dash")
        }.map { "\($0["HostPID"] as! Int) \($0["ProcessName"] as! String)" }
        #expect(expected == ["9915 /usr/bin/cat"])
        let alerts = try objects(run.stdout)
        #expect(alerts.map { "\($0["HostPID"] as! Int) \($0["ProcessName"] as! String)" } == expected)
        #expect(alerts.first?["PolicyName"] as? String == "shadow-from-shells" && alerts.first?["Action"] as? String == "Block")
    }

    @Test func asWrittenTheHostPolicyForAnotherNodeCatchesNothingAndSaysSo() throws {
        let run = try CLI.run(["evaluate", "--store", store, "--policy", Self.samplePolicy, "--format", "ndjson"])
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("no operation was in the scope of ksp-discovery-process-discovery"))
    }

    /// A tuned copy of a policy the incident recorded alerts for.
    func tunedPolicy(action: String) -> String {
        scratch.write("tuned-\(action).yaml", """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
              name: ksp-wordpress-mysql-audit-discovery-tools
              namespace: wordpress-mysql
            spec:
              selector:
                matchLabels:
                  app: mysql
              process:
                matchPaths:
                - path: /usr/bin/ps
              action: \(action)
            """)
    }

    @Test func diffComparesWithTheRecordedAlertsOfTheSamePolicy() throws {
        // Recorded: 8 alerts, 5 for ps in mysql-0, 3 in the wordpress pod the tuned policy no longer selects.
        let audit = try CLI.run(["evaluate", "--store", store, "--policy", tunedPolicy(action: "Audit"), "--diff",
                                 "--format", "ndjson"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let records = try objects(audit.stdout)
        #expect(records.filter { $0["Diff"] as? String == "unchanged" }.count == 5)
        let gone = records.filter { $0["Diff"] as? String == "gone" }
        #expect(gone.count == 3)
        #expect(gone.allSatisfy { ($0["PodName"] as! String).hasPrefix("wordpress-") && $0["Reevaluated"] == nil })
        #expect(audit.stderr.contains("diff: 0 new, 3 gone, 0 changed, 5 unchanged"))

        // Blocking instead: the same five operations would have been denied.
        let block = try CLI.run(["evaluate", "--store", store, "--policy", tunedPolicy(action: "Block"), "--diff",
                                 "--format", "ndjson"])
        let changed = try objects(block.stdout).filter { $0["Diff"] as? String == "changed" }
        #expect(changed.count == 5)
        #expect(changed.allSatisfy {
            $0["Action"] as? String == "Block" && $0["Result"] as? String == "Permission denied"
                && $0["RecordedAction"] as? String == "Audit" && $0["RecordedResult"] as? String == "Passed"
        })
        let counts = try objects(CLI.run(["evaluate", "--store", store, "--policy", tunedPolicy(action: "Block"), "--diff",
                                          "--count", "--format", "ndjson"]).stdout)
        #expect(Dictionary(uniqueKeysWithValues: counts.map { ($0["Diff"] as! String, $0["Count"] as! Int) })
            == ["changed": 5, "gone": 3])
    }

    @Test func aRejectedPolicyIsReportedAndTheOthersStillRun() throws {
        let directory = scratch.path + "/policies"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.samplePolicy, toPath: directory + "/good.yaml")
        try Data("""
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
              name: bad
            spec:
              selector:
                matchLabels: {app: x}
              process:
                matchPaths:
                - path: relative/path
              action: Block
            """.utf8).write(to: URL(fileURLWithPath: directory + "/bad.yaml"))
        let run = try CLI.run(["evaluate", "--store", store, "--policy", directory, "--scope", "everywhere", "--count"])
        #expect(run.status == 2)
        #expect(run.stdout == "26\n")
        let rejection = try #require(lines(run.stderr).first)
        #expect(rejection.hasPrefix(directory + "/bad.yaml:10: "), "\(rejection)")
        let none = try CLI.run(["evaluate", "--store", store, "--policy", directory + "/bad.yaml"])
        #expect(none.status == 2 && none.stderr.contains("no policy loaded"))
    }
}

/// `record --policy`: the live side of the same matcher.
@Suite(.serialized) struct RecordPolicyTests {
    static let canRecord = geteuid() == 0 && FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux")

    static let hostPolicy = """
        apiVersion: security.kubearmor.com/v1
        kind: KubeArmorHostPolicy
        metadata:
          name: hsp-live-sleep
        spec:
          nodeSelector:
            matchLabels:
              kubearmor.io/hostname: "*"
          process:
            matchPaths:
            - path: /usr/bin/sleep
          action: Block
        """

    @Test(.enabled(if: canRecord, "needs root, BPF and kernel BTF"))
    func liveEventsAreStoredAsAuditAlerts() throws {
        let scratch = Scratch()
        let policy = scratch.write("live.yaml", Self.hostPolicy)
        let store = scratch.path + "/store"
        nonisolated(unsafe) var recording: CLI.Run?
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            recording = try? CLI.run(["record", "--store", store, "--duration", "4s", "--events", "process", "--policy", policy])
            done.signal()
        }
        // Execute until the recorder has stopped, so some executions fall inside the recording.
        while done.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            let sleep = try Process.run(URL(fileURLWithPath: "/usr/bin/sleep"), arguments: ["0.0123"])
            sleep.waitUntilExit()
        }
        let run = try #require(recording)
        #expect(run.status == 0, "\(run.stderr)")
        let query = try CLI.run(["query", "--store", store, "--type", "alert", "--format", "kubearmor"])
        let alerts = try lines(query.stdout).map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            .filter { $0["Resource"] as? String == "/usr/bin/sleep 0.0123" }
        #expect(!alerts.isEmpty)
        for alert in alerts {
            #expect(alert["Type"] as? String == "MatchedHostPolicy" && alert["PolicyName"] as? String == "hsp-live-sleep")
            // rearview does not enforce: the Block rule audits, and the execution passed
            #expect(alert["Action"] as? String == "Audit (Block)" && alert["Result"] as? String == "Passed")
            #expect(alert["Enforcer"] as? String == "rearview (live)" && alert["Reevaluated"] as? Bool == true)
        }
        #expect(run.stderr.contains(" alert(s) stored"))
    }

    @Test func aRejectedPolicyStopsTheRecordingBeforeItStarts() throws {
        let scratch = Scratch()
        let policy = scratch.write("bad.yaml", Self.hostPolicy.replacingOccurrences(of: "path: /usr/bin/sleep", with: "path: sleep"))
        let run = try CLI.run(["record", "--store", scratch.path + "/store", "--duration", "1s", "--policy", policy])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix(policy + ":11: "))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/store"))
    }
}
