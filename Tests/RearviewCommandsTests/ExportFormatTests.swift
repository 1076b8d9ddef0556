import Foundation
import Testing

/// `rearview export --format F` with a selection, through the built binary.
@Suite(.serialized) struct ExportFormatTests {
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
