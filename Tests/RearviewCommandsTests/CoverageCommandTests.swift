import Foundation
import Testing

/// What a store does not cover, shown as such: KubeArmor's alert throttling in imported logs.
@Suite struct CoverageCommandTests {
    /// `ps` run in one container at `seconds` past 10:00:00 (2024-05-31, UTC).
    func psExecution(at seconds: Int, pid: Int) -> String {
        """
        {"Timestamp":\(1717149600 + seconds),"UpdatedTime":"2024-05-31T10:00:\(String(format: "%02d", seconds % 60)).000000Z","ClusterName":"c","HostName":"node-2","NamespaceName":"shop","PodName":"cart-7","Labels":"app=cart","ContainerID":"c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00","ContainerName":"cart","HostPID":\(pid),"HostPPID":100,"PID":\(pid - 1000),"PPID":1,"UID":0,"ProcessName":"/usr/bin/ps","ParentProcessName":"/bin/sh","Source":"/bin/sh","Operation":"Process","Resource":"/usr/bin/ps aux","Data":"syscall=SYS_EXECVE","Result":"Passed","Type":"ContainerLog"}
        """
    }

    @Test func throttledAlertsAreAHoleAndEvaluateDoesNotCallThemNew() throws {
        let scratch = Scratch()
        // KubeArmor's throttle event at 10:00:10 (alerts of the container dropped for 30 s), then ps at
        // 10:00:25 (inside the hole) and at 10:00:50 (after it). No alert was recorded for either.
        let throttle = """
            {"Timestamp":1717149610,"UpdatedTime":"2024-05-31T10:00:10.000000Z","ClusterName":"c","HostName":"node-2","NamespaceName":"shop","PodName":"cart-7","ContainerID":"c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00","HostPID":1,"PID":1,"Operation":"AlertThreshold","Type":"SystemEvent","MaxAlertsPerSec":10,"DroppingAlertsInterval":30}
            """
        let input = scratch.write("logs.ndjson", [throttle, psExecution(at: 25, pid: 2001), psExecution(at: 50, pid: 2002)].joined(separator: "\n") + "\n")
        let store = scratch.path + "/store"
        #expect(try CLI.run(["import", "--store", store, input]).status == 0)

        let info = try CLI.run(["info", "--store", store])
        #expect(info.stdout.contains("coverage   no alerts 2024-05-31T10:00:10.000000Z .. 2024-05-31T10:00:40.000000Z on node-2 (container c0ffee00c0ff): KubeArmor alert throttling (more than 10 alerts/s; Audit alerts dropped for 30 s)"),
                "\(info.stdout)")
        let infoJSON = try #require(try JSONSerialization.jsonObject(with: Data(try CLI.run(["info", "--store", store, "--format", "json"]).stdout.utf8)) as? [String: Any])
        #expect((infoJSON["coverageHoles"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["alert-throttling"])

        // The timeline says where the hole begins, between the throttle event and the ps inside it.
        let timeline = try lines(try CLI.run(["timeline", "--store", store]).stdout)
        let hole = try #require(timeline.firstIndex { $0.hasPrefix("-- coverage: no alerts 2024-05-31T10:00:10.000000Z") }, "\(timeline)")
        #expect(timeline.count == 4 && hole >= 1 && timeline[hole + 1].contains("2001"), "\(timeline)")

        let policy = scratch.write("ps.yaml", """
            apiVersion: security.kubearmor.com/v1
            kind: KubeArmorPolicy
            metadata:
              name: audit-ps
              namespace: shop
            spec:
              selector:
                matchLabels:
                  app: cart
              process:
                matchPaths:
                - path: /usr/bin/ps
              action: Audit
            """)
        let diff = try CLI.run(["evaluate", "--store", store, "--policy", policy, "--diff", "--format", "ndjson"])
        #expect(diff.status == 0, "\(diff.stderr)")
        let marks = try lines(diff.stdout).map { line -> String in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return "\(object["HostPID"] as? Int ?? 0) \(object["Diff"] as? String ?? "")"
        }
        #expect(marks == ["2001 throttled", "2002 new"])

        // The report's evidence names the hole, in every format.
        let json = scratch.path + "/report.json", markdown = scratch.path + "/report.md", html = scratch.path + "/report.html"
        for (format, file) in [("json", json), ("md", markdown), ("html", html)] {
            #expect(try CLI.run(["report", "--store", store, "--format", format, "--out", file]).status == 0)
        }
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let stores = (report["Evidence"] as? [String: Any])?["Stores"] as? [[String: Any]]
        #expect((stores?.first?["CoverageHoles"] as? [String])?.first?.hasPrefix("no alerts 2024-05-31T10:00:10.000000Z") == true, "\(stores ?? [])")
        #expect(try String(contentsOfFile: markdown, encoding: .utf8).contains("- Not covered: no alerts 2024-05-31T10:00:10.000000Z"))
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("<li>no alerts 2024-05-31T10:00:10.000000Z"))
        #expect(diff.stderr.contains("diff: 1 new, 1 throttled"), "\(diff.stderr)")
    }
}
