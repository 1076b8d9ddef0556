import Foundation
import Glibc
import Testing

/// `rearview forward` against HTTPS collectors that lie or fight back (a Python server with the test
/// CA): nothing they say moves the checkpoint unless it is the collector's own acknowledgement, and
/// none of them can crash forward, also with --follow.
@Suite struct HostileCollectorCommandTests {
    /// A TLS server answering every POST the same way, by `mode`; counts requests in `requests.log`.
    final class HostileCollector: @unchecked Sendable {
        let port: Int
        let directory: String
        private var process: SpawnedProcess?

        var requests: Int { (try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8))?.count ?? 0 }

        init(mode: String, certificates: TestCertificates, in scratch: String) throws {
            directory = scratch + "/hostile-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            port = freeLoopbackPort()
            let script = directory + "/collector.py"
            try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
            process = try SpawnedProcess(["python3", script, String(port), certificates.serverCert, certificates.serverKey, directory, mode],
                                         stderr: directory + "/collector.stderr")
            guard eventually({ loopbackPortIsBound(port, datagram: false) }) else {
                throw CocoaError(.featureUnsupported, userInfo: ["collector": "did not bind port \(port)"])
            }
        }

        deinit { process?.stop() }

        private static let script = #"""
            import json, socketserver, ssl, sys
            port, cert, key, directory, mode = sys.argv[1:6]
            requests = open(directory + "/requests.log", "a")

            def answer(status, body, extra=b""):
                return b"HTTP/1.1 " + status + b"\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body

            class Handler(socketserver.StreamRequestHandler):
                def handle(self):
                    while True:
                        head = b""
                        while not head.endswith(b"\r\n\r\n"):
                            line = self.rfile.readline()
                            if not line: return
                            head += line
                        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
                        body = self.rfile.read(length)
                        requests.write("."); requests.flush()
                        ids = [json.loads(l)["create"]["_id"] for l in body.decode().split("\n")[0::2] if l] if mode.startswith("bulk") else []
                        if mode == "html":
                            out = answer(b"200 OK", b"<html><body>Sign in to continue</body></html>", b"Content-Type: text/html\r\n")
                        elif mode == "negative-length":
                            out = b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}"
                        elif mode == "huge-chunk":
                            out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\n" + b"0" * 65536
                        elif mode == "hec-code-6":
                            out = answer(b"200 OK", b'{"text":"Invalid data format","code":6}')
                        elif mode == "bulk-no-errors":
                            items = [{"create": {"_id": i, "status": 201}} for i in ids]
                            out = answer(b"200 OK", json.dumps({"took": 1, "items": items}).encode())
                        elif mode == "bulk-fewer-items":
                            items = [{"create": {"_id": i, "status": 201}} for i in ids][:-1]
                            out = answer(b"200 OK", json.dumps({"took": 1, "errors": False, "items": items}).encode())
                        self.wfile.write(out); self.wfile.flush()

            class Server(socketserver.ThreadingTCPServer):
                allow_reuse_address = True
                daemon_threads = True
            server = Server(("127.0.0.1", int(port)), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """#
    }

    /// The Seq the destination's checkpoint holds (0 when there is none).
    static func checkpointSeq(store: String) throws -> UInt64 {
        let directory = store + "/forward"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory), let name = names.first(where: { $0.hasSuffix(".checkpoint") }) else { return 0 }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))) as? [String: Any]
        return (object?["last_seq"] as? NSNumber)?.uint64Value ?? 0
    }

    @Test(arguments: [
        ("html", "/services/collector/event", "without Splunk HEC's acknowledgement"),
        ("hec-code-6", "/services/collector/event", "Splunk HEC answered code 6 (Invalid data format)"),
        ("bulk-no-errors", "/rearview/_bulk", "a boolean \"errors\""),
        ("bulk-fewer-items", "/rearview/_bulk", "has 24 items for 25 documents"),
        ("negative-length", "/services/collector/event", "Content-Length \"-1\""),
        ("huge-chunk", "/services/collector/event", "a chunked body over 1048576 bytes"),
    ])
    func aCollectorThatDoesNotAcknowledgeLeavesTheCheckpointAlone(mode: String, path: String, message: String) throws {
        let (scratch, store) = DemoStore.imported()
        let certificates = try TestCertificates(in: scratch.path)
        let collector = try HostileCollector(mode: mode, certificates: certificates, in: scratch.path)
        let run = try CLI.run(["forward", "--store", store, "--to", "https://127.0.0.1:\(collector.port)\(path)", "--token-env", "TOKEN",
                               "--ca", certificates.ca, "--batch-size", "25", "--max-retries", "1"], environment: ["TOKEN": "t0k3n"])
        #expect(run.status == 5, "\(mode): \(run.stderr)")
        let errors = lines(run.stderr).filter { $0.hasPrefix("rearview:") && !$0.contains("retrying in") }
        #expect(errors.count == 1 && errors[0].contains(message), "\(mode): \(run.stderr)")
        #expect(try Self.checkpointSeq(store: store) == 0, "\(mode): the checkpoint did not move")
        #expect(run.stderr.contains("0 delivered"), "\(mode): \(run.stderr)")
        #expect(collector.requests >= 1)
    }

    @Test func followSurvivesACollectorThatAnswersGarbage() throws {
        let (scratch, store) = DemoStore.imported()
        let certificates = try TestCertificates(in: scratch.path)
        let collector = try HostileCollector(mode: "negative-length", certificates: certificates, in: scratch.path)
        let log = scratch.path + "/forward.stderr"
        let forward = try SpawnedProcess([CLI.binary, "forward", "--store", store, "--to", "https://127.0.0.1:\(collector.port)/services/collector/event",
                                          "--token-env", "TOKEN", "--ca", certificates.ca, "--follow", "--poll-interval", "100ms",
                                          "--max-retries", "3"], environment: ["TOKEN": "t0k3n"], stderr: log)
        let status = forward.wait(seconds: 60)
        let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // Every attempt is refused and retried; then forward gives up with exit 5, never a crash.
        #expect(status == 5, "\(stderr)")
        #expect(collector.requests == 4, "\(stderr)")
        #expect(lines(stderr).filter { $0.contains("retrying in") }.count == 3, "\(stderr)")
        #expect(try Self.checkpointSeq(store: store) == 0)
    }
}
