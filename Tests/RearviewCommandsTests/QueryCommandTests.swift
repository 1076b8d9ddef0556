import Foundation
import Testing

@Suite(.serialized) struct QueryCommandTests {
    /// One store with the demo incident, shared by the tests of this suite.
    static let fixture = DemoStore.imported()
    var store: String { Self.fixture.store }
    var demo: [String] { get throws { lines(try String(contentsOfFile: Shared.repository + "/samples/demo-incident.ndjson", encoding: .utf8)) } }

    @Test func discoveryHuntFindsEveryPsAndPgrep() throws {
        let run = try CLI.run(["query", "--store", store, "Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep)", "--format", "kubearmor"])
        #expect(run.status == 0)
        let expected = try demo.filter { $0.contains("\"Operation\":\"Process\"") && ($0.contains("\"ProcessName\":\"/usr/bin/ps\"") || $0.contains("\"ProcessName\":\"/usr/bin/pgrep\"")) }
        #expect(expected.count > 10)
        // kubearmor output is exactly the input records.
        #expect(lines(run.stdout).sorted() == expected.sorted())
    }

    /// Repeated `--labels` flags must all hold; the k=v of one flag are alternatives (karmor's
    /// `-l a,b`). Counted against the generator's NDJSON read independently, with Foundation's JSON.
    @Test func repeatedLabelsFlagsAreAnded() throws {
        let scratch = Scratch()
        let file = scratch.path + "/gen.ndjson"
        try Shared.generate(file, ["--events", "20000", "--seed", "5", "--hosts", "2"])
        let labelSets = try lines(String(contentsOfFile: file, encoding: .utf8)).map { line -> Set<String> in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let labels = object?["Labels"] as? String ?? ""
            return Set(labels.split(separator: ",").map(String.init))
        }
        // The most frequent label, and the label that occurs with it most often while not always.
        var frequency: [String: Int] = [:]
        for set in labelSets { for label in set { frequency[label, default: 0] += 1 } }
        let first = try #require(frequency.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key)
        var together: [String: Int] = [:]
        for set in labelSets where set.contains(first) { for label in set where label != first { together[label, default: 0] += 1 } }
        let second = try #require(together.filter { $0.value < frequency[first]! }.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key)
        let both = labelSets.filter { $0.contains(first) && $0.contains(second) }.count
        let either = labelSets.filter { $0.contains(first) || $0.contains(second) }.count
        #expect(both > 0 && both < either)

        let store = scratch.path + "/store"
        #expect(try CLI.run(["import", "--store", store, file]).status == 0)
        let and = try CLI.run(["query", "--store", store, "--labels", first, "--labels", second, "--count"])
        #expect(and.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(both)", "\(and.stderr)")
        let or = try CLI.run(["query", "--store", store, "--labels", first + "," + second, "--count"])
        #expect(or.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(either)", "\(or.stderr)")
    }

    /// A long cell is cut in the middle, so the end of a command line (the file it reads) stays in
    /// view; `--wide` prints it whole.
    @Test func longCellsAreCutInTheMiddleAndWidePrintsThemWhole() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let command = "/bin/bash -c cat /etc/passwd; " + String(repeating: "id; ", count: 20) + "cat /etc/shadow"
        let record = #"{"Timestamp":1717150000,"HostName":"node-1","HostPID":10,"HostPPID":1,"ProcessName":"/bin/bash","Operation":"Process","Resource":"\#(command)","Result":"Passed","Type":"HostLog"}"#
        #expect(try CLI.run(["import", "--store", store, scratch.write("long.ndjson", record + "\n")]).status == 0)
        let table = try CLI.run(["query", "--store", store, "--format", "table", "--columns", "Resource,HostName"])
        let row = try #require(lines(table.stdout).last)
        let cell = try #require(row.components(separatedBy: "  ").first)
        #expect(cell.count == 60 && cell.hasPrefix("/bin/bash -c cat /etc/passwd") && cell.hasSuffix("cat /etc/shadow"), "\(row)")
        #expect(cell.contains("…") && row.hasSuffix("node-1"))
        let wide = try CLI.run(["query", "--store", store, "--format", "table", "--columns", "Resource,HostName", "--wide"])
        #expect(try #require(lines(wide.stdout).last) == command + "  node-1")
    }

    @Test func ndjsonCarriesTimeAndSeqInOrder() throws {
        let run = try CLI.run(["query", "--store", store, "--operation", "NETWORK", "--format", "ndjson"])
        let objects = try lines(run.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(try objects.count == demo.filter { $0.contains("\"Operation\":\"Network\"") }.count)
        let keys = objects.map { ($0["TimeNs"] as! Int, $0["Seq"] as! Int) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
        #expect(objects.allSatisfy { $0["Operation"] as? String == "Network" })
    }

    @Test func csvTableCountAndGroupBy() throws {
        let csv = try CLI.run(["query", "--store", store, "--type", "alert", "--format", "csv", "--columns", "Time,PolicyName,Resource"])
        let rows = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.first == "Time,PolicyName,Resource")
        let alerts = try demo.filter { $0.contains("\"Type\":\"Matched") }.count
        #expect(rows.count == alerts + 1)
        let count = try CLI.run(["query", "--store", store, "--type", "alert", "--count"])
        #expect(count.stdout == "\(alerts)\n")
        let table = try CLI.run(["query", "--store", store, "--type", "alert", "--format", "table", "--limit", "3"])
        let tableLines = lines(table.stdout)
        #expect(tableLines.count == 4)
        #expect(tableLines[0].hasPrefix("Time"))
        let grouped = try CLI.run(["query", "--store", store, "--type", "alert", "--group-by", "Action", "--format", "ndjson"])
        let groups = try lines(grouped.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(groups.map { $0["Count"] as! Int }.reduce(0, +) == alerts)
        #expect(Set(groups.map { $0["Action"] as! String }) == ["Audit", "Block"])
    }

    /// `--limit` takes the first records in time order, whatever the format, and CSV (written from
    /// the columns) has the rows the record path writes (`--reverse` takes the record path).
    @Test func limitsCutEveryFormatAtTheSameRecord() throws {
        let all = try CLI.run(["query", "--store", store, "--format", "ndjson"])
        let total = lines(all.stdout).count
        #expect(total > 200)
        for n in [0, 1, 57, total - 1, total + 10] {
            let ndjson = lines(try CLI.run(["query", "--store", store, "--format", "ndjson", "--limit", "\(n)"]).stdout)
            #expect(ndjson == Array(lines(all.stdout).prefix(n)))
            let export = lines(try CLI.run(["export", "--store", store, "--format", "ocsf", "--limit", "\(n)"]).stdout)
            let fullExport = lines(try CLI.run(["export", "--store", store, "--format", "ocsf"]).stdout)
            #expect(export == Array(fullExport.prefix(n)))
            let timeline = lines(try CLI.run(["timeline", "--store", store, "--limit", "\(n)"]).stdout)
            #expect(timeline == Array(lines(try CLI.run(["timeline", "--store", store]).stdout).prefix(n)))
        }
        let csv = try CLI.run(["query", "--store", store, "--format", "csv"]).stdout.components(separatedBy: "\r\n")
        let reversed = try CLI.run(["query", "--store", store, "--format", "csv", "--reverse"]).stdout.components(separatedBy: "\r\n")
        #expect(csv.count == total + 2 && csv.first == reversed.first)
        #expect(Array(csv.dropFirst().dropLast()) == Array(reversed.dropFirst().dropLast().reversed()))
        let limited = try CLI.run(["query", "--store", store, "--format", "csv", "--limit", "3"]).stdout.components(separatedBy: "\r\n")
        #expect(limited == Array(csv.prefix(4)) + [""])
        #expect(try CLI.run(["export", "--store", store, "--limit=-1"]).stderr.contains("--limit must not be negative"))
    }

    @Test func policyFlagIsKarmorsAndTheStoreMayComeFromTheEnvironment() throws {
        let byFlag = try CLI.run(["query", "--store", store, "--policy", "DISCOVERY-TOOLS$", "--count"])
        let expected = try demo.filter { $0.range(of: #""PolicyName":"[^"]*discovery-tools""#, options: .regularExpression) != nil }.count
        #expect(expected == 26)
        #expect(byFlag.stdout == "\(expected)\n")
        let fromEnvironment = try CLI.run(["query", "--policy", "remote-copy", "--count"], environment: ["REARVIEW_STORE": store])
        #expect(fromEnvironment.status == 0)
        #expect(fromEnvironment.stdout == "6\n")
    }

    @Test func reverseLimitGivesTheLastEventsNewestFirst() throws {
        let forward = lines(try CLI.run(["query", "--store", store, "--pod", "WORDPRESS", "--format", "ndjson"]).stdout)
        let backward = lines(try CLI.run(["query", "--store", store, "--pod", "WORDPRESS", "--format", "ndjson", "--reverse", "--limit", "5"]).stdout)
        #expect(forward.count > 5)
        #expect(backward == Array(forward.suffix(5).reversed()))
    }

    @Test func syntaxErrorsShowACaretAndExit2() throws {
        let run = try CLI.run(["query", "--store", store, "ProcessName in (/usr/bin/ps"])
        #expect(run.status == 2)
        let errorLines = run.stderr.split(separator: "\n")
        #expect(errorLines.contains { $0.hasSuffix("^") })
        let badRegex = try CLI.run(["query", "--store", store, "--pod", "(unclosed"])
        #expect(badRegex.status == 2)
        #expect(badRegex.stderr.contains("--pod"))
    }

    /// A field no stored record has is a typo, not a question answered with 0.
    @Test func unknownFieldsAreErrorsWithTheClosestName() throws {
        for (expression, near) in [("Namespace = payments", "NamespaceName"), ("Pod ~ mysql", "PodName"),
                                   ("Proces = /bin/sh", "ProcessName"), ("hostnme = x", "HostName")] {
            let run = try CLI.run(["query", "--store", store, "--count", expression])
            #expect(run.status == 2, "\(expression)")
            #expect(run.stdout.isEmpty)
            let errors = lines(run.stderr)
            #expect(errors.first?.contains("unknown field '\(expression.prefix { $0 != " " })'") == true, "\(errors)")
            #expect(errors.first?.hasSuffix("did you mean \(near)?") == true, "\(errors)")
            #expect(errors.last == "  ^", "the caret is under the name")
        }
        // KubeArmor's own fields kept as extras are names even where no record has them; an extra
        // that a stored record has is a field.
        #expect(try CLI.run(["query", "--store", store, "--count", "ExecEvent exists"]).stdout == "0\n")
        let scratch = Scratch()
        let extraStore = scratch.path + "/extras"
        let record = try #require(try demo.first).replacingOccurrences(of: "{\"Timestamp\"", with: "{\"cluster-id\":\"c-7\",\"Timestamp\"")
        _ = try CLI.run(["import", "--store", extraStore, scratch.write("extra.ndjson", record + "\n")])
        let extra = try CLI.run(["query", "--store", extraStore, "--count", "'cluster-id' = c-7"])
        #expect(extra.status == 0 && extra.stdout == "1\n", "\(extra.stderr)")
        #expect(try CLI.run(["query", "--store", extraStore, "--count", "'cluster-idd' = c-7"]).status == 2)
    }

    /// `=` is exact: a closed-set value in the wrong case gets a note naming the stored value.
    @Test func closedSetValuesNoStoredEventHasGetANote() throws {
        let process = try demo.filter { $0.contains("\"Operation\":\"Process\"") }.count
        #expect(process > 0)
        let run = try CLI.run(["query", "--store", store, "--count", "Operation = process"])
        #expect(run.status == 0 && run.stdout == "0\n")
        #expect(lines(run.stderr) == ["rearview: note: no stored event has Operation = 'process'; the closest stored value is "
                                      + "'Process' (= is exact and case-sensitive)"])
        let mixed = try CLI.run(["query", "--store", store, "--count", "Action in (block, Audit) or Result = passed"])
        #expect(mixed.stderr.contains("Action = 'block'; the closest stored value is 'Block'"), "\(mixed.stderr)")
        #expect(!mixed.stderr.contains("Result"), "Result needs a scan: noted only when nothing matched")
        let result = try CLI.run(["query", "--store", store, "--count", "Result = passed"])
        #expect(result.stderr.contains("Result = 'passed'; the closest stored value is 'Passed'"))
        let exact = try CLI.run(["query", "--store", store, "--count", "Operation = Process and Action = Block"])
        #expect(exact.stderr.isEmpty)
        #expect(try CLI.run(["query", "--store", store, "--count", "--operation", "process"]).stdout == "\(process)\n",
                "--operation is a caseless regex")
    }

    /// A relative --since/--until says what it resolved to and from what.
    @Test func relativeTimesPrintTheirWindow() throws {
        let newest = try demo.compactMap { line -> String? in
            (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["UpdatedTime"] as? String
        }.max()!
        let run = try CLI.run(["query", "--store", store, "--count", "--since", "30s"])
        let note = try #require(lines(run.stderr).first)
        #expect(note.hasPrefix("rearview: note: --since 30s = "))
        #expect(note.hasSuffix("counted back from the newest stored event (\(newest.dropLast())" + "000Z)")
                || note.hasSuffix("counted back from the newest stored event (\(newest))"), "\(note) vs \(newest)")
        let clock = try CLI.run(["query", "--store", store, "--count", "--since", "now-1h"])
        #expect(clock.status == 0 && clock.stdout == "0\n", "the demo is from 2024")
        #expect(clock.stderr.contains("--since now-1h = ") && clock.stderr.contains("counted back from the clock"))
        let absolute = try CLI.run(["query", "--store", store, "--count", "--since", "2024-05-31T10:07:00Z"])
        #expect(absolute.stderr.isEmpty)
        #expect(try CLI.run(["query", "--store", store, "--count", "--since", "now-"]).status == 2)
    }

    @Test func failEmptyExits1AndTimeWindowsApply() throws {
        let none = try CLI.run(["query", "--store", store, "ProcessName = /no/such", "--fail-empty"])
        #expect(none.status == 1)
        let all = try #require(Int(try CLI.run(["query", "--store", store, "--count"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let recent = try #require(Int(try CLI.run(["query", "--store", store, "--since", "30s", "--count"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(all == 2000)
        #expect(recent > 0 && recent < all)
        let explain = try CLI.run(["query", "--store", store, "--pid", "1", "--explain", "--count"])
        #expect(explain.stderr.contains("blocks:"))
    }

    @Test func countsAndGroupsFromTheIndexPrintWhatTheScanPrints() throws {
        // --no-prune reads every block and answers nothing from postings: the scan to compare with.
        let selections: [[String]] = [[], ["--operation", "process"], ["--type", "alert"], ["Operation = File and HostName exists"],
                                      ["--since", "30s"], ["--pod", "web", "--operation", "process"], ["Resource ~ passwd"]]
        var printed = 0
        for selection in selections {
            for output in [["--count"], ["--group-by", "ProcessName", "--format", "ndjson"], ["--group-by", "PolicyName"],
                           ["--group-by", "HostPID", "--format", "csv"], ["--group-by", "Operation,Type"]] {
                let indexed = try CLI.run(["query", "--store", store] + selection + output + ["--explain"])
                let scanned = try CLI.run(["query", "--store", store] + selection + output + ["--no-prune"])
                #expect(indexed.status == 0 && scanned.status == 0)
                #expect(indexed.stdout == scanned.stdout, "\(selection) \(output)")
                #expect(indexed.stderr.contains("postings: "))
                if !scanned.stdout.isEmpty { printed += 1 }
            }
        }
        #expect(printed > 25)
        let answered = try CLI.run(["query", "--store", store, "--operation", "process", "--count", "--explain"])
        #expect(!answered.stderr.contains("postings: 0 "))
    }
}
