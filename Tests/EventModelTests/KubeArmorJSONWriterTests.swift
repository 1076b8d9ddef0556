import EventModel
import Foundation
import Testing

@Suite struct KubeArmorJSONWriterTests {
    @Test func stringsAreEscapedLikeGo() throws {
        var event = Event()
        event.layout = KeyLayout(keys: ["Data"])
        event.data = "<a href=\"x\">&amp;</a>\\ \n\r\t \u{8}\u{C}\u{1}\u{1F}\u{7F} \u{2028}\u{2029} é ✓ 𝄞 \u{2027}"
        var writer = KubeArmorJSONWriter()
        #expect(writer.json(event) == #"{"Data":"\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e\\ \n\r\t \b\f\u0001\u001f"#
            + "\u{7F}" + #" \u2028\u2029 é ✓ 𝄞 "# + "\u{2027}\"}")
        // What is written reads back as the same string.
        #expect(events(try read(writer.json(event))).first?.data == event.data)
    }

    @Test func longPlainAndEscapedRunsMix() throws {
        var event = Event()
        event.layout = KeyLayout(keys: ["Resource"])
        event.resource = String(repeating: "abcdefgh", count: 9) + "<" + String(repeating: "ijklmnop", count: 3) + "&x"
        var writer = KubeArmorJSONWriter()
        #expect(writer.json(event) == #"{"Resource":""# + String(repeating: "abcdefgh", count: 9) + #"\u003c"#
            + String(repeating: "ijklmnop", count: 3) + #"\u0026x"}"#)
    }

    @Test func layoutGivesKeysInOrderAndSpelling() {
        var event = Event()
        event.layout = KeyLayout(keys: ["hostPid", "Timestamp", "extra", "UpdatedTime", "HOSTNAME"])
        event.hostPID = 42
        event.timestamp = 1_717_156_232
        event.timeNs = 1_717_156_232_000_001_000
        event.hostName = "h"
        event.extras = [ExtraField(key: "extra", json: #"{"k":[1,2]}"#)]
        var writer = KubeArmorJSONWriter()
        #expect(writer.json(event) == #"{"hostPid":42,"Timestamp":1717156232,"extra":{"k":[1,2]},"UpdatedTime":"2024-05-31T11:50:32.000001Z","HOSTNAME":"h"}"#)
    }

    @Test func extrasChangedSinceImportAreHandled() {
        var event = Event()
        event.layout = KeyLayout(keys: ["HostName", "a", "b"])
        event.hostName = "h"
        event.extras = [ExtraField(key: "b", json: "2"), ExtraField(key: "c", json: "3")]
        var writer = KubeArmorJSONWriter()
        // "a" is gone, "b" stays in its place, "c" (new) goes last.
        #expect(writer.json(event) == #"{"HostName":"h","b":2,"c":3}"#)
        event.extras = []
        #expect(writer.json(event) == #"{"HostName":"h"}"#)
    }

    @Test func recordedLogInKubeArmorOrder() {
        var event = Event()
        event.timeNs = 1_717_156_232_123_456_789
        event.timestamp = 1_717_156_232
        event.clusterName = "default"
        event.hostName = "node"
        event.hostPPID = 1
        event.hostPID = 300
        event.pid = 300
        event.processName = "/usr/bin/ls"
        event.parentProcessName = "/usr/bin/bash"
        event.type = "HostLog"
        event.operation = "Process"
        event.source = "/usr/bin/bash"
        event.resource = "/usr/bin/ls -la"
        event.data = "syscall=SYS_EXECVE"
        event.result = "Passed"
        event.extras = [ExtraField(key: "custom", json: "1"), ExtraField(key: "ExecEvent", json: "{}")]
        var writer = KubeArmorJSONWriter()
        #expect(writer.json(event) == #"{"Timestamp":1717156232,"UpdatedTime":"2024-05-31T11:50:32.123456Z","ClusterName":"default","HostName":"node","ParentProcessName":"/usr/bin/bash","ProcessName":"/usr/bin/ls","HostPPID":1,"HostPID":300,"PPID":0,"PID":300,"UID":0,"Type":"HostLog","Source":"/usr/bin/bash","Operation":"Process","Resource":"/usr/bin/ls -la","Data":"syscall=SYS_EXECVE","Result":"Passed","ExecEvent":{},"custom":1}"#)
    }

    @Test func recordedAlertInKubeArmorOrder() {
        var event = Event()
        event.timeNs = 1_717_156_232_000_000_000
        event.hostName = "node"
        event.namespaceName = "web"
        event.podName = "nginx-1"
        event.hostPID = 7
        event.uid = 33
        event.processName = "/bin/sh"
        event.policyName = "block-shell"
        event.severity = "8"
        event.type = "MatchedPolicy"
        event.operation = "Process"
        event.enforcer = "BPFLSM"
        event.action = "Block"
        event.result = "Permission denied"
        event.extras = [ExtraField(key: "ATags", json: #"["T1059"]"#), ExtraField(key: "Owner", json: #"{"Ref":"Deployment"}"#)]
        var writer = KubeArmorJSONWriter()
        #expect(writer.json(event) == #"{"UpdatedTime":"2024-05-31T11:50:32.000000Z","HostName":"node","NamespaceName":"web","Owner":{"Ref":"Deployment"},"PodName":"nginx-1","HostPID":7,"PPID":0,"UID":33,"ProcessName":"/bin/sh","PolicyName":"block-shell","Severity":"8","ATags":["T1059"],"Type":"MatchedPolicy","Operation":"Process","Enforcer":"BPFLSM","Action":"Block","Result":"Permission denied"}"#)
    }

    @Test func updatedTimeGivenAsEmptyIsOmittedWithoutLayout() {
        var event = Event()
        event.updatedTimeAsGiven = ""
        event.hostName = "h"
        var writer = KubeArmorJSONWriter()
        #expect(writer.json(event) == #"{"HostName":"h","PPID":0,"UID":0}"#)
    }

    @Test func timesBeforeTheEpochAndAcrossSeconds() {
        var writer = KubeArmorJSONWriter()
        var event = Event()
        event.layout = KeyLayout(keys: ["UpdatedTime"])
        for ns: Int64 in [-1_000, 0, 999_999_999, 1_000_000_000, 1_717_156_232_999_999_000, 1_717_156_233_000_000_000] {
            event.timeNs = ns
            #expect(writer.json(event) == #"{"UpdatedTime":""# + UnixTime.rfc3339Micro(ns) + #""}"#)
        }
    }
}
