import EventModel
import Foundation
import Testing

@Suite struct KubeArmorJSONReaderFormTests {
    static let alert = #"{"Timestamp":1717156232,"UpdatedTime":"2024-05-31T11:50:32.123456Z","ClusterName":"default","HostName":"node-1","HostPPID":100,"HostPID":200,"PPID":0,"PID":200,"UID":0,"ParentProcessName":"/usr/bin/bash","ProcessName":"/usr/bin/ps","PolicyName":"discovery","Severity":"5","Tags":"MITRE","ATags":["MITRE"],"Message":"ps \u003cran\u003e","Type":"MatchedHostPolicy","Source":"/usr/bin/bash","Operation":"Process","Resource":"/usr/bin/ps aux","Data":"syscall=SYS_EXECVE","Enforcer":"eBPF Monitor","Action":"Audit","Result":"Passed","cluster_id":"27273"}"#
    static let log = #"{"Timestamp":1717156233,"UpdatedTime":"2024-05-31T11:50:33.000001Z","ClusterName":"default","HostName":"node-2","NamespaceName":"web","Owner":{"Ref":"Deployment","Name":"nginx","Namespace":"web"},"PodName":"nginx-1","ParentProcessName":"/usr/sbin/nginx","ProcessName":"/usr/sbin/nginx","HostPPID":10,"HostPID":11,"PPID":1,"PID":7,"UID":101,"Type":"ContainerLog","Source":"/usr/sbin/nginx","Operation":"File","Resource":"/etc/nginx/nginx.conf","Data":"syscall=SYS_OPENAT fd=-100 flags=O_RDONLY","Result":"Passed","Cwd":"/","ExecEvent":{}}"#

    @Test func oneObjectPerLine() throws {
        let reader = KubeArmorJSONReader(bytes: Array((Self.alert + "\n\n" + Self.log + "\n").utf8), origin: "x")
        #expect(reader.form == .lines)
        let all = events(try reader.readAll())
        #expect(all.count == 2)
        let alert = all[0]
        #expect(alert.timestamp == 1_717_156_232)
        #expect(alert.timeNs == 1_717_156_232_123_456_000)
        #expect(alert.updatedTimeAsGiven == nil)
        #expect(alert.hostName == "node-1" && alert.hostPPID == 100 && alert.hostPID == 200 && alert.pid == 200)
        #expect(alert.message == "ps <ran>")
        #expect(alert.isAlert)
        #expect(alert.extras == [ExtraField(key: "ATags", json: #"["MITRE"]"#), ExtraField(key: "cluster_id", json: #""27273""#)])
        #expect(alert.layout?.keys.first == "Timestamp" && alert.layout?.keys.last == "cluster_id" && alert.layout?.keys.count == 25)
        let log = all[1]
        #expect(log.uid == 101 && log.namespaceName == "web" && log.cwd == "/")
        #expect(log.extra("Owner") == #"{"Ref":"Deployment","Name":"nginx","Namespace":"web"}"#)
        #expect(log.extra("ExecEvent") == "{}")
    }

    @Test func arrayCompactAndPrettyPrinted() throws {
        let compact = "[" + Self.alert + "," + Self.log + "]"
        let pretty = "[\n  " + prettyPrinted(Self.alert, indent: "  ") + ",\n  " + prettyPrinted(Self.log, indent: "  ") + "\n]\n"
        for text in [compact, pretty] {
            let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
            #expect(reader.form == .array)
            #expect(events(try reader.readAll()) == events(try read(Self.alert + "\n" + Self.log)))
        }
    }

    @Test func severalArraysOneAfterAnother() throws {
        let text = "[" + Self.alert + "]\n[" + Self.log + "]\n[]\n"
        #expect(events(try read(text)) == events(try read(Self.alert + "\n" + Self.log)))
    }

    @Test func prettyPrintedObjectsWithOrWithoutBlankLines() throws {
        for separator in ["\n", "\n\n", "\n  \n\n"] {
            let text = prettyPrinted(Self.alert) + separator + prettyPrinted(Self.log) + "\n"
            let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
            #expect(reader.form == .objects)
            #expect(events(try reader.readAll()) == events(try read(Self.alert + "\n" + Self.log)))
        }
    }

    @Test func pastedFormWithoutCommas() throws {
        let text = prettyPrinted(Self.alert, commas: false) + "\n\n" + prettyPrinted(Self.log, commas: false) + "\n"
        let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
        #expect(reader.form == .pasted)
        #expect(events(try reader.readAll()) == events(try read(Self.alert + "\n" + Self.log)))
    }

    @Test(.enabled(if: SharedMaterial.corpusAvailable, "needs ../shared/corpus"))
    func accuKnoxPastedAlertsEqualTheirJSON() throws {
        let pastedPath = SharedMaterial.corpusFile("accuknox-docs/alerts-as-shown.txt")
        let jsonPath = SharedMaterial.corpusFile("accuknox-docs/alerts.ndjson")
        let pasted = KubeArmorJSONReader(bytes: try InputBytes.load(path: pastedPath), origin: pastedPath)
        #expect(pasted.form == .pasted)
        let fromPasted = events(try pasted.readAll())
        let fromJSON = events(try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: jsonPath), origin: jsonPath))
        #expect(fromPasted.count == 3)
        #expect(fromPasted == fromJSON)
        #expect(fromPasted[0].processName == "/usr/bin/ps" && fromPasted[0].hostPID == 130_034 && fromPasted[0].timeNs == 1_717_156_232_000_000_000)
    }

    /// The daemon's own `-logPath` output: Go's `json.Marshal` of `types.Log` (KubeArmor/types/types.go).
    @Test func daemonCamelCaseRecords() throws {
        let alert = #"{"timestamp":1717156232,"updatedTime":"2024-05-31T11:50:32.123456Z","clusterName":"default","hostName":"node-1","namespaceName":"web","owner":{"ref":"Deployment","name":"nginx","namespace":"web"},"podName":"nginx-1","labels":"app=nginx","containerID":"c0ffee","containerName":"nginx","containerImage":"nginx:1.25","hostPPid":100,"hostPid":200,"ppid":1,"pid":7,"uid":101,"execEvent":{"ExecID":"","ExecutableName":""},"parentProcessName":"/usr/sbin/nginx","processName":"/usr/bin/cat","enforcer":"eBPF Monitor","policyName":"audit-etc","severity":"3","tags":"NIST","atags":["NIST"],"message":"read","type":"MatchedPolicy","source":"/usr/bin/cat /etc/passwd","operation":"File","resource":"/etc/passwd","cwd":"/","tty":"pts0","oid":0,"data":"syscall=SYS_OPENAT fd=-100 flags=O_RDONLY","action":"Audit","result":"Passed"}"#
        let log = #"{"timestamp":1717156233,"updatedTime":"2024-05-31T11:50:33.5Z","hostName":"node-1","nodeID":"5e1f","username":"root","hostPPid":1,"hostPid":300,"ppid":1,"pid":300,"uid":0,"execEvent":{"ExecID":"","ExecutableName":""},"parentProcessName":"/usr/lib/systemd/systemd","processName":"/usr/sbin/cron","atags":null,"type":"HostLog","source":"/usr/sbin/cron -f","operation":"Process","resource":"","cwd":"/","oid":0,"data":"syscall=SYS_EXECVE","result":"Passed"}"#
        let input = alert + "\n" + log + "\n"
        let all = events(try read(input))
        #expect(all.count == 2)
        let a = all[0]
        #expect(a.timestamp == 1_717_156_232 && a.timeNs == 1_717_156_232_123_456_000 && a.updatedTimeAsGiven == nil)
        #expect(a.hostPPID == 100 && a.hostPID == 200 && a.ppid == 1 && a.pid == 7 && a.uid == 101)
        #expect(a.clusterName == "default" && a.containerID == "c0ffee" && a.containerImage == "nginx:1.25" && a.labels == "app=nginx")
        #expect(a.policyName == "audit-etc" && a.severity == "3" && a.enforcer == "eBPF Monitor" && a.tty == "pts0" && a.isAlert)
        #expect(a.extras.map(\.key) == ["owner", "execEvent", "atags", "oid"])
        let l = all[1]
        #expect(l.timeNs == 1_717_156_233_500_000_000 && l.updatedTimeAsGiven == "2024-05-31T11:50:33.5Z")
        #expect(l.resource == "" && l.extra("atags") == "null" && l.extra("username") == #""root""#)
        // Written back with the same keys in the same order and spelling.
        #expect(written(all) == Array(input.utf8))
    }

    @Test func byteOrderMarkAndCRLFLineEnds() throws {
        let text = "\u{FEFF}" + Self.alert + "\r\n" + Self.log + "\r\n"
        let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
        #expect(reader.form == .lines)
        #expect(events(try reader.readAll()) == events(try read(Self.alert + "\n" + Self.log)))
    }

    @Test func recordsWithoutTimeFieldsAreValid() throws {
        let event = try #require(events(try read(#"{"HostName":"h","Operation":"Process","Resource":"/bin/ls"}"#)).first)
        #expect(event.timeNs == 0 && event.timestamp == 0 && event.updatedTimeAsGiven == nil)
        let onlyTimestamp = try #require(events(try read(#"{"Timestamp":1717156232,"HostName":"h"}"#)).first)
        #expect(onlyTimestamp.timeNs == 1_717_156_232_000_000_000)
    }

    @Test func updatedTimeThatIsNotCanonicalIsKeptAsGiven() throws {
        let cases: [(String, Int64)] = [
            ("2024-05-31T12:50:32.123456+01:00", 1_717_156_232_123_456_000),  // offset
            ("2024-05-31T11:50:32.123456789Z", 1_717_156_232_123_456_789),  // nanoseconds
            ("2024-05-31T11:50:32Z", 1_717_156_232_000_000_000),  // no fraction
            ("2024-02-30T11:50:32.000000Z", 1_709_293_832_000_000_000),  // not a real date: normalised, text kept
            ("yesterday", 1_717_156_000_000_000_000),  // unparseable: Timestamp's second
        ]
        for (text, ns) in cases {
            let line = #"{"Timestamp":1717156000,"UpdatedTime":""# + text + #"","HostName":"h"}"#
            let event = try #require(events(try read(line)).first)
            #expect(event.updatedTimeAsGiven == text)
            #expect(event.timeNs == ns, "\(text)")
            #expect(written([event]) == Array((line + "\n").utf8))
        }
    }

    @Test func timesOfTheSameSecondReuseItsDate() throws {
        let text = ["1969-12-31T23:59:59.000001Z", "1969-12-31T23:59:59.999999Z", "2024-05-31T11:50:32.000000Z",
                    "2024-05-31T11:50:32.999999Z", "2024-05-31T11:50:33.000000Z"]
            .map { #"{"UpdatedTime":""# + $0 + #"","HostName":"h"}"# }.joined(separator: "\n")
        let times = events(try read(text)).map(\.timeNs)
        #expect(times == [-999_999_000, -1_000, 1_717_156_232_000_000_000, 1_717_156_232_999_999_000, 1_717_156_233_000_000_000])
        #expect(events(try read(text)).allSatisfy { $0.updatedTimeAsGiven == nil })
    }

    @Test func identicalLayoutsShareStorage() throws {
        let all = events(try read(Self.alert + "\n" + Self.alert + "\n" + Self.log + "\n" + Self.alert))
        let addresses = all.map { event in event.layout!.keys.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
        #expect(addresses[0] == addresses[1] && addresses[1] == addresses[3])
        #expect(addresses[0] != addresses[2])
    }

    @Test func parallelReadingKeepsOrderAndLineNumbers() throws {
        // Over 3 MiB, so that the input is cut into several pieces, with bad lines in different pieces.
        var text = ""
        var badLines: [Int] = []
        for line in 1...9000 {
            if line % 1500 == 0 {
                text += "{\"HostPID\":\"not a number\"}\n"
                badLines.append(line)
            } else {
                text += Self.alert.replacingOccurrences(of: "\"HostPID\":200", with: "\"HostPID\":\(line)") + "\n"
            }
        }
        let sequential = try read(text, threads: 1)
        for threads in [2, 3, 4] {
            let parallel = try read(text, threads: threads)
            #expect(parallel.count == 9000)
            #expect(parallel.compactMap(\.event) == sequential.compactMap(\.event))
            #expect(parallel.compactMap(\.rejection).map(\.line) == badLines)
            #expect(parallel.compactMap(\.rejection) == sequential.compactMap(\.rejection))
        }
        #expect(sequential.compactMap(\.event).map(\.hostPID).prefix(3) == [1, 2, 3])
    }

    @Test func batchesArriveInOrderOnTheCallingThread() throws {
        let text = String(repeating: Self.log + "\n", count: 5000)
        let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
        var batches = 0
        var count = 0
        try reader.read(threads: 2) { batch in
            batches += 1
            count += batch.count
        }
        #expect(count == 5000)
        #expect(batches > 1)
    }

    @Test func nestedValuesAreCompacted() throws {
        let text = """
        {
          "HostName": "h",
          "Owner": {
            "Ref": "Deployment",
            "Name": "nginx"
          },
          "ATags": [ "a", "b" ],
          "EventData": { },
          "n": [ 1, -2.5e3, true, false, null, { "x" : [ ] } ]
        }
        """
        let event = try #require(events(try read(text)).first)
        #expect(event.extras == [
            ExtraField(key: "Owner", json: #"{"Ref":"Deployment","Name":"nginx"}"#),
            ExtraField(key: "ATags", json: #"["a","b"]"#),
            ExtraField(key: "EventData", json: "{}"),
            ExtraField(key: "n", json: #"[1,-2.5e3,true,false,null,{"x":[]}]"#),
        ])
    }

    @Test func pastedNestedValuesGetTheirCommas() throws {
        let text = """
        {
        "HostName":"h"
        "Owner":{
        "Ref":"Deployment"
        "Name":"nginx"
        }
        "ATags":[
        "a"
        "b"
        ]
        }
        """
        let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
        #expect(reader.form == .pasted)
        let event = try #require(events(try reader.readAll()).first)
        #expect(event.extra("Owner") == #"{"Ref":"Deployment","Name":"nginx"}"#)
        #expect(event.extra("ATags") == #"["a","b"]"#)
    }

    @Test func errorFromTheBatchHandlerStopsReading() throws {
        struct Stop: Error {}
        let text = String(repeating: Self.log + "\n", count: 20000)
        let reader = KubeArmorJSONReader(bytes: Array(text.utf8), origin: "x")
        for threads in [1, 2] {
            var batches = 0
            #expect(throws: Stop.self) {
                try reader.read(threads: threads) { _ in
                    batches += 1
                    throw Stop()
                }
            }
            #expect(batches == 1)
        }
    }

    /// `json` (one compact object) pretty-printed one top-level member per line, nested values as given.
    private func prettyPrinted(_ json: String, indent: String = "", commas: Bool = true) -> String {
        var members: [String] = []
        var current = ""
        var depth = 0
        var inString = false
        var escaped = false
        for character in json {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else if character == "{" || character == "[" {
                depth += 1
                if depth == 1 { continue }
            } else if character == "}" || character == "]" {
                depth -= 1
                if depth == 0 { break }
            } else if character == ",", depth == 1 {
                members.append(current)
                current = ""
                continue
            } else if character == ":", depth == 1 {
                current += ": "
                continue
            }
            current.append(character)
        }
        members.append(current)
        let body = members.map { "\(indent)  \($0)" }.joined(separator: commas ? ",\n" : "\n")
        return "\(indent){\n" + body + "\n\(indent)}"
    }
}
