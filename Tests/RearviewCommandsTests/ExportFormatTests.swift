import Foundation
import Testing

/// `rearview export --format F` with a selection, through the built binary.
@Suite(.serialized) struct ExportFormatTests {
    /// Records without `Timestamp` or `UpdatedTime` have no time: tables and timelines say `-`
    /// (not 1970), they keep their input order, and ECS/OCSF give the import's time in the fields that
    /// say so (`event.ingested`, `metadata.logged_time`); a timed record keeps its own.
    @Test func recordsWithoutATimeAreShownSoAndExportedWithTheImportTime() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        func record(_ pid: Int, _ resource: String, timestamp: Int? = nil) -> String {
            let time = timestamp.map { #""Timestamp":\#($0),"# } ?? ""
            return #"{\#(time)"HostName":"node-1","HostPID":\#(pid),"HostPPID":1,"ProcessName":"/bin/bash","Operation":"Process","Resource":"\#(resource)","Result":"Passed","Type":"HostLog"}"#
        }
        let input = [record(30, "/bin/ls"), record(11, "/bin/id", timestamp: 1717150000), record(20, "/bin/ps")]
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(try CLI.run(["import", "--store", store, scratch.write("untimed.ndjson", input.joined(separator: "\n") + "\n")]).status == 0)
        let after = Int64(Date().timeIntervalSince1970 * 1000) + 1

        let table = try CLI.run(["query", "--store", store, "--format", "table", "--columns", "Time,HostPID"])
        #expect(lines(table.stdout).dropFirst().map { $0.split(separator: " ").map(String.init) }
                == [["-", "30"], ["-", "20"], ["2024-05-31T10:06:40.000000Z", "11"]], "\(table.stdout)")
        let timeline = try CLI.run(["timeline", "--store", store])
        #expect(lines(timeline.stdout).map { $0.hasPrefix("-  node-1") } == [true, true, false], "\(timeline.stdout)")

        let ecs = try lines(CLI.run(["export", "--store", store, "--format", "ecs"]).stdout)
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(ecs.map { ($0["process"] as! [String: Any])["pid"] as! Int } == [30, 20, 11])
        for document in ecs.prefix(2) {
            let event = document["event"] as! [String: Any]
            let ingested = try #require(event["ingested"] as? String)
            #expect(document["@timestamp"] as? String == ingested)
            let ms = try #require(Self.milliseconds(ingested))
            #expect((before...after).contains(ms), "\(ingested) is the import's time")
        }
        #expect(ecs[2]["@timestamp"] as? String == "2024-05-31T10:06:40.000000000Z")
        #expect((ecs[2]["event"] as! [String: Any])["ingested"] == nil)

        let ocsf = try lines(CLI.run(["export", "--store", store, "--format", "ocsf"]).stdout)
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for document in ocsf.prefix(2) {
            let metadata = document["metadata"] as! [String: Any]
            let logged = try #require(metadata["logged_time"] as? Int64)
            #expect(document["time"] as? Int64 == logged && (before...after).contains(logged))
            #expect(metadata["original_time"] == nil)
        }
        #expect(ocsf[2]["time"] as? Int64 == 1717150000000)
        #expect((ocsf[2]["metadata"] as! [String: Any])["logged_time"] == nil)

        let syslog = try lines(CLI.run(["export", "--store", store, "--format", "syslog"]).stdout)
        #expect(syslog.map { $0.split(separator: " ")[1] } == ["-", "-", "2024-05-31T10:06:40.000000Z"])
        // Stored as given: export gives the records back, untimed ones without a time.
        #expect(try CLI.run(["export", "--store", store, "--format", "kubearmor"]).stdout
                == [input[0], input[2], input[1]].joined(separator: "\n") + "\n")
    }

    static func milliseconds(_ rfc3339: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let millis = rfc3339.replacingOccurrences(of: #"(\.\d{3})\d*Z$"#, with: "$1Z", options: .regularExpression)
        return formatter.date(from: millis).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    @Test func ecsExportHonoursTheSelection() throws {
        let (scratch, store) = DemoStore.imported()
        let selection = ["--type", "alert", "--since", "2024-05-31T10:00:00Z"]
        let count = try CLI.run(["query", "--store", store, "--count"] + selection)
        #expect(count.status == 0, "\(count.stderr)")
        let expected = Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(expected > 0)

        let exported = try CLI.run(["export", "--store", store, "--format", "ecs"] + selection)
        #expect(exported.status == 0, "\(exported.stderr)")
        let documents = try lines(exported.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(documents.count == expected)
        for document in documents {
            #expect((document["event"] as? [String: Any])?["kind"] as? String == "alert")
            #expect((document["ecs"] as? [String: Any])?["version"] as? String == "8.17.0")
            #expect(document["rule"] != nil)
        }
        // Time order, as query prints it.
        let times = documents.map { $0["@timestamp"] as! String }
        #expect(times == times.sorted())

        // An expression selects too, and --out writes the same bytes to a file.
        let file = scratch.path + "/file.ecs.ndjson"
        let processOnly = try CLI.run(["export", "--store", store, "--format", "ecs", "--out", file, "Operation = Process"] + selection)
        #expect(processOnly.status == 0, "\(processOnly.stderr)")
        let written = lines(try String(contentsOfFile: file, encoding: .utf8))
        #expect(!written.isEmpty && written.count < documents.count)
        #expect(written.allSatisfy { $0.contains(#""category":["process"]"#) })
    }

    @Test func everyFormatExportsTheDemoIncident() throws {
        let demo = DemoStore.imported()  // keeps the scratch directory alive
        let store = demo.store
        let all = try CLI.run(["export", "--store", store])
        let total = lines(all.stdout).count
        #expect(total == 2000)
        for format in ["kubearmor", "ecs", "ocsf", "cef", "syslog", "splunk-hec"] {
            let run = try CLI.run(["export", "--store", store, "--format", format, "--host-name", "fallback"])
            #expect(run.status == 0, "\(format): \(run.stderr)")
            #expect(lines(run.stdout).count == total, "\(format)")
        }
        let bad = try CLI.run(["export", "--store", store, "--format", "xml"])
        #expect(bad.status == 2)
    }

    @Test func processIDsDoNotDependOnTheSelection() throws {
        let demo = DemoStore.imported()
        func entityIDs(_ selection: [String]) throws -> [Int: (String, String)] {
            let run = try CLI.run(["export", "--store", demo.store, "--format", "ecs"] + selection)
            #expect(run.status == 0, "\(run.stderr)")
            var ids: [Int: (String, String)] = [:]
            for line in lines(run.stdout) {
                let document = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                let process = document["process"] as! [String: Any]
                let parent = process["parent"] as? [String: Any]
                let sequence = (document["event"] as! [String: Any])["sequence"] as! Int
                ids[sequence] = (process["entity_id"] as! String, parent?["entity_id"] as? String ?? "")
            }
            return ids
        }
        let all = try entityIDs([])
        // The blocked apt-get's shell alone: none of the execs and clones before it are in the export.
        let narrow = try entityIDs(["--pid", "9939"])
        #expect(!narrow.isEmpty)
        for (sequence, ids) in narrow {
            #expect(all[sequence]?.0 == ids.0 && all[sequence]?.1 == ids.1, "Seq \(sequence)")
        }
        // Different instances get different ids.
        #expect(Set(all.values.map(\.0)).count > 10)
    }

    @Test func helpShowsTheFieldMappings() throws {
        let help = try CLI.run(["export", "--help"])
        for text in ["process.entity_id", "kubearmor@32473", "dst_endpoint", "cs1 (PolicyName)", "fields.Seq"] {
            #expect(help.stdout.contains(text), "\(text)")
        }
    }
}
