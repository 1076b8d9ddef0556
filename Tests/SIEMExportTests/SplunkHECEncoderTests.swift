import EventModel
import Foundation
import SIEMExport
import Testing

@Suite struct SplunkHECEncoderTests {
    @Test func envelopeCarriesTheKubeArmorRecord() throws {
        let options = ExportOptions(hecIndex: "security", hecSource: "node-1:rearview", hecSourcetype: "kubearmor:json")
        var writer = KubeArmorJSONWriter()
        let event = TestEvents.blockAlert
        let text = Encode.text(event, .splunkHEC, options)
        #expect(text.hasPrefix(#"{"time":1717150000.043498,"host":"node-1","source":"node-1:rearview","sourcetype":"kubearmor:json","index":"security","event":"#
            + writer.json(event) + #","fields":{"#))
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let fields = try #require(object["fields"] as? [String: String])
        #expect(fields == ["Type": "MatchedPolicy", "Operation": "Process", "PolicyName": "block-curl", "Severity": "7",
                           "Action": "Block", "Result": "Permission denied", "ClusterName": "default",
                           "NamespaceName": "payments", "PodName": "api-7d9f", "ContainerName": "api", "HostPID": "3945", "Seq": "42"])
    }

    @Test func defaultsAndMissingHost() throws {
        var event = TestEvents.fileOpen
        event.hostName = ""
        event.seq = 0
        let bare = try JSONSerialization.jsonObject(with: Data(Encode.text(event, .splunkHEC).utf8)) as! [String: Any]
        #expect(bare["host"] == nil && bare["index"] == nil)
        #expect(bare["source"] as? String == "rearview" && bare["sourcetype"] as? String == "kubearmor")
        #expect((bare["fields"] as? [String: String])?["Seq"] == nil)
        let named = try JSONSerialization.jsonObject(with: Data(Encode.text(event, .splunkHEC, ExportOptions(defaultHostName: "h")).utf8)) as! [String: Any]
        #expect(named["host"] as? String == "h")
        event.timeNs = -1_500_000_000
        #expect(Encode.text(event, .splunkHEC).hasPrefix(#"{"time":-1.500000,"#))
    }

    @Test func hostileStringsRoundTrip() throws {
        let event = TestEvents.hostileEvent
        let object = try JSONSerialization.jsonObject(with: Data(Encode.text(event, .splunkHEC).utf8)) as! [String: Any]
        let record = try #require(object["event"] as? [String: Any])
        #expect(record["Message"] as? String == TestEvents.hostile)
        #expect(record["Resource"] as? String == "/tmp/" + TestEvents.hostile)
        #expect(object["host"] as? String == "host " + TestEvents.hostile)
        #expect((object["fields"] as? [String: String])?["PolicyName"] == TestEvents.hostile)
    }

    @Test func everyCorpusRecordIsValidJSONWithItsRecord() throws {
        var writer = KubeArmorJSONWriter()
        let corpus = try TestEvents.corpus
        for (event, bytes) in zip(corpus, Encode.bytes(corpus, .splunkHEC)) {
            let object = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
            #expect(object["time"] is Double || object["time"] is Int)
            let inner = try JSONSerialization.data(withJSONObject: object["event"]!, options: [.sortedKeys])
            let expected = try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: Data(writer.json(event).utf8)), options: [.sortedKeys])
            #expect(inner == expected)
        }
    }
}
