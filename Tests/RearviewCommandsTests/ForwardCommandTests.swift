import Foundation
import Glibc
import Testing

/// `rearview forward` against real receivers: a private rsyslogd (TCP, UDP, TLS with a test CA) and a
/// Python HTTPS collector that answers like Splunk HEC and Elastic `_bulk`.
@Suite struct ForwardCommandTests {
    /// The demo incident as `export` writes it in `format`, one record per line.
    static func exported(_ store: String, _ format: String) throws -> [String] {
        let run = try CLI.run(["export", "--store", store, "--format", format])
        guard run.status == 0 else { throw HarnessFailure("export --format \(format): \(run.stderr)") }
        return lines(run.stdout)
    }

    /// The store Seq a syslog message carries in its structured data (`seq="N"`).
    static func seq(ofSyslog message: String) -> Int? {
        guard let range = message.range(of: #" seq="[0-9]+""#, options: .regularExpression) else { return nil }
        return Int(message[range].dropFirst(6).dropLast())
    }

    /// A `forward` run in the background, for killing it or its receiver mid-stream.
    static func start(_ arguments: [String], environment: [String: String] = [:], stderr: String) throws -> SpawnedProcess {
        try SpawnedProcess([CLI.binary] + arguments, environment: environment, stderr: stderr)
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test func syslogOverTCPDeliversEveryRecordOnceAndResumesFromTheCheckpoint() throws {
        let (scratch, store) = DemoStore.imported()
        let receiver = try RsyslogReceiver(.tcp, in: scratch.path)
        defer { receiver.stop() }
        let to = "syslog+tcp://127.0.0.1:\(receiver.port)"
        let run = try CLI.run(["forward", "--store", store, "--to", to, "--ack-hold", "200ms"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("forwarded 2000 records"), "\(run.stderr)")
        let expected = try Self.exported(store, "syslog")
        #expect(expected.count == 2000)
        let received = receiver.waitFor(messages: 2000)
        #expect(received.count == 2000)
        #expect(received.sorted() == expected.sorted(), "rsyslog wrote exactly what export writes, record by record")
        #expect(Set(received.compactMap(Self.seq)).count == 2000)
        #expect(FileManager.default.fileExists(atPath: store + "/forward/syslog_tcp___127.0.0.1_\(receiver.port).checkpoint"))

        // A second run finds everything delivered: nothing is sent again.
        let again = try CLI.run(["forward", "--store", store, "--to", to, "--ack-hold", "200ms"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("forwarded 0 records"), "\(again.stderr)")
        #expect(receiver.waitFor(messages: 2000).count == 2000)

        // Another selection is refused; --from-start sends it from the beginning.
        let other = try CLI.run(["forward", "--store", store, "--to", to, "--type", "alert"])
        #expect(other.status == 2)
        #expect(lines(other.stderr).count == 1 && other.stderr.contains("--from-start"), "\(other.stderr)")
        let alerts = try CLI.run(["query", "--store", store, "--type", "alert", "--count"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let restarted = try CLI.run(["forward", "--store", store, "--to", to, "--type", "alert", "--from-start", "--ack-hold", "0"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(restarted.stderr.contains("forwarded \(alerts) records"), "\(restarted.stderr)")
        #expect(receiver.waitFor(messages: 2000 + Int(alerts)!).count == 2000 + Int(alerts)!)
    }

    @Test func aReceiverKilledMidStreamLosesNothing() throws {
        let (scratch, store) = DemoStore.imported()
        let receiver = try RsyslogReceiver(.tcp, in: scratch.path)
        defer { receiver.stop() }
        let log = scratch.path + "/forward.stderr"
        let forward = try Self.start(["forward", "--store", store, "--to", "syslog+tcp://127.0.0.1:\(receiver.port)",
                                      "--max-rate", "400", "--batch-size", "20", "--max-retries", "20"], stderr: log)
        #expect(eventually { receiver.received.count >= 500 })
        // Crash the receiver (its in-memory queue is lost), then bring it back on the same port.
        receiver.kill()
        let beforeCrash = receiver.received.count
        Thread.sleep(forTimeInterval: 0.7)
        try receiver.start()
        let status = forward.wait()
        let stderr = Self.text(log)
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("retrying"), "\(stderr)")

        let expected = Dictionary(uniqueKeysWithValues: try Self.exported(store, "syslog").map { (Self.seq(ofSyslog: $0)!, $0) })
        let received = receiver.waitFor(messages: 2000)
        // No loss: every record arrived, exactly as sent.
        #expect(Set(received.compactMap(Self.seq)) == Set(expected.keys))
        #expect(received.allSatisfy { expected[Self.seq(ofSyslog: $0)!] == $0 })
        // Duplicates are possible only for what was in flight around the crash (at-least-once, see
        // `forward --help`), and carry the same seq so they can be dropped.
        let duplicates = received.count - Set(received).count
        #expect(duplicates <= 600, "\(duplicates) duplicates, \(beforeCrash) written before the crash")
        print("receiver killed after \(beforeCrash) records: \(duplicates) duplicates after the restart")
    }

    @Test func tlsWithATestCAAndAClientCertificate() throws {
        let (scratch, store) = DemoStore.imported()
        let certificates = try TestCertificates(in: scratch.path)
        let receiver = try RsyslogReceiver(.tls(certificates, clientCertificates: true), in: scratch.path)
        defer { receiver.stop() }
        let to = "syslog+tls://127.0.0.1:\(receiver.port)"
        // The receiver's certificate is not signed by the system CAs: refused at once, not retried.
        let untrusted = try CLI.run(["forward", "--store", store, "--to", to, "--max-retries", "0"])
        #expect(untrusted.status == 2, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("certificate"), "\(untrusted.stderr)")

        let run = try CLI.run(["forward", "--store", store, "--to", to, "--ca", certificates.ca,
                               "--cert", certificates.clientCert, "--key", certificates.clientKey, "--ack-hold", "200ms"])
        #expect(run.status == 0, "\(run.stderr)")
        let received = receiver.waitFor(messages: 2000)
        #expect(received.sorted() == (try Self.exported(store, "syslog")).sorted())
    }

    @Test func udpCutsLongMessagesAndSaysSo() throws {
        let (scratch, store) = DemoStore.imported()
        let receiver = try RsyslogReceiver(.udp, in: scratch.path)
        defer { receiver.stop() }
        let run = try CLI.run(["forward", "--store", store, "--to", "syslog+udp://127.0.0.1:\(receiver.port)",
                               "--udp-max-size", "700", "--max-rate", "1000"])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try Self.exported(store, "syslog")
        let long = expected.filter { $0.utf8.count > 700 }
        #expect(!long.isEmpty)
        #expect(run.stderr.contains("\(long.count) messages were longer than --udp-max-size 700"), "\(run.stderr)")
        let cut = long.reduce(0) { $0 + $1.utf8.count - 700 }
        #expect(run.stderr.contains("bytes in all"))
        let received = receiver.waitFor(messages: 2000)
        #expect(received.count == 2000)
        // Every datagram is the message, or its first ≤ 700 bytes ending on a character boundary.
        let bySeq = Dictionary(uniqueKeysWithValues: expected.map { (Self.seq(ofSyslog: $0)!, $0) })
        #expect(received.allSatisfy { message in
            guard let full = bySeq[Self.seq(ofSyslog: message) ?? -1] else { return false }
            return message == full || (message.utf8.count <= 700 && message.utf8.count > 600 && full.hasPrefix(message))
        })
        #expect(cut > 0)
    }

    @Test func splunkHECRetriesA503AndDeliversEachEventOnce() throws {
        let (scratch, store) = DemoStore.imported()
        let certificates = try TestCertificates(in: scratch.path)
        let collector = try HTTPSCollector(certificates: certificates, token: "s3cret-hec", failing: [2], in: scratch.path)
        let tokenFile = scratch.writeSecret("hec.token", "s3cret-hec\n")
        let to = "https://127.0.0.1:\(collector.port)/services/collector/event"
        let run = try CLI.run(["forward", "--store", store, "--to", to, "--token-file", tokenFile, "--ca", certificates.ca,
                               "--batch-size", "250"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("HTTP 503") && run.stderr.contains("retrying"), "\(run.stderr)")
        #expect(collector.requests.filter { $0.hasPrefix("503") }.count == 1)
        #expect(collector.records.sorted() == (try Self.exported(store, "splunk-hec")).sorted())

        // A wrong token is refused for good: exit 5, one line.
        let wrong = try CLI.run(["forward", "--store", store, "--to", to, "--token-file", scratch.writeSecret("bad.token", "nope"),
                                 "--ca", certificates.ca, "--from-start"])
        #expect(wrong.status == 5)
        let errors = lines(wrong.stderr).filter { $0.hasPrefix("rearview:") }
        #expect(errors.count == 1 && errors[0].contains("HTTP 401"), "\(wrong.stderr)")
    }

    @Test func elasticBulkResumesAfterForwardIsKilledWithoutDuplicates() throws {
        let (scratch, store) = DemoStore.imported()
        let certificates = try TestCertificates(in: scratch.path)
        let collector = try HTTPSCollector(certificates: certificates, token: "a2V5", in: scratch.path)
        let arguments = ["forward", "--store", store, "--to", "https://127.0.0.1:\(collector.port)/rearview/_bulk",
                         "--token-env", "ES_KEY", "--ca", certificates.ca, "--batch-size", "25"]
        let first = try Self.start(arguments + ["--max-rate", "500"], environment: ["ES_KEY": "a2V5"], stderr: scratch.path + "/first.stderr")
        #expect(eventually { collector.records.count >= 400 })
        first.send(SIGKILL)
        #expect(first.wait() == 128 + SIGKILL)
        let sentBeforeKill = collector.records.count
        #expect(sentBeforeKill < 2000)

        let resumed = try CLI.run(arguments, environment: ["ES_KEY": "a2V5"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let records = collector.records
        let ids = records.map { $0.prefix { $0 != "\t" } }
        #expect(ids.count == 2000 && Set(ids).count == 2000, "every event once: \(ids.count) documents, \(Set(ids).count) ids")
        // The resumed run started after the checkpoint: at most the batch in flight at the kill was sent twice (409).
        let conflicts = collector.requests.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +)
        #expect(conflicts <= 25, "\(conflicts) documents sent twice")
        #expect(resumed.stderr.contains("forwarded \(2000 - sentBeforeKill + conflicts) records"), "\(resumed.stderr)")
        // Each document is the ECS record of its event (_id = <store id>-<Seq> = event.sequence).
        let documents = records.map { $0.drop { $0 != "\t" }.dropFirst() }
        #expect(zip(ids, documents).allSatisfy { id, document in document.contains("\"sequence\":\(id.split(separator: "-").last!)") })
        let withoutEntityIDs = { (text: Substring) in text.replacingOccurrences(of: #""entity_id":"[0-9a-f]+""#, with: "", options: .regularExpression) }
        #expect(documents.map(withoutEntityIDs).sorted() == (try Self.exported(store, "ecs")).map { withoutEntityIDs(Substring($0)) }.sorted())
    }

    @Test func followForwardsWhatIsImportedWhileItRuns() throws {
        let halves = try TreeTimelineCommandTests.demoHalves()
        let scratch = Scratch()
        let store = scratch.path + "/store"
        _ = try CLI.run(["import", "--store", store, scratch.write("older.ndjson", halves.older)])
        let receiver = try RsyslogReceiver(.tcp, in: scratch.path)
        defer { receiver.stop() }
        let log = scratch.path + "/forward.stderr"
        let forward = try Self.start(["forward", "--store", store, "--to", "syslog+tcp://127.0.0.1:\(receiver.port)",
                                      "--follow", "--poll-interval", "100ms", "--ack-hold", "100ms"], stderr: log)
        let older = lines(halves.older).count
        #expect(receiver.waitFor(messages: older).count == older)
        _ = try CLI.run(["import", "--store", store, scratch.write("newer.ndjson", halves.newer)])
        #expect(receiver.waitFor(messages: 2000).count == 2000)
        forward.send(SIGTERM)
        let status = forward.wait()
        let stderr = Self.text(log)
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("forwarded 2000 records"), "\(stderr)")
        #expect(receiver.received.sorted() == (try Self.exported(store, "syslog")).sorted())
    }

    @Test func badInputGivesOneLineAndTheDocumentedExitCode() throws {
        let (scratch, store) = DemoStore.imported()
        let cases: [([String], Int32, String)] = [
            (["--to", "tcp://127.0.0.1:514"], 2, "unknown scheme"),
            (["--to", "https://127.0.0.1:1/services/collector/event", "--token-file", scratch.path + "/missing.token"], 2, "--token-file"),
            (["--to", "https://127.0.0.1:1/services/collector/event"], 2, "needs a token"),
            (["--to", "syslog+tcp://127.0.0.1:\(freeLoopbackPort())", "--max-retries", "1"], 5, "gave up after 1 retries"),
            (["--to", "syslog+udp://127.0.0.1:514", "--token-file", "x"], 2, "https"),
        ]
        for (arguments, status, text) in cases {
            let run = try CLI.run(["forward", "--store", store] + arguments)
            #expect(run.status == status, "\(arguments): \(run.stderr)")
            let errorLines = lines(run.stderr).filter { $0.hasPrefix("rearview:") && !$0.contains("retrying in") }
            #expect(errorLines.count == 1 && errorLines[0].contains(text), "\(arguments): \(run.stderr)")
        }
    }
}
