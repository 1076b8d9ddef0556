import Foundation
import Glibc

/// A free loopback port: bound to port 0, read back, released (the receiver binds it right after).
func freeLoopbackPort(datagram: Bool = false) -> Int {
    let fd = socket(AF_INET, datagram ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something listens on (TCP) or is bound to (UDP) 127.0.0.1:`port`, from /proc/net/tcp and udp.
func loopbackPortIsBound(_ port: Int, datagram: Bool) -> Bool {
    guard let table = try? String(contentsOfFile: datagram ? "/proc/net/udp" : "/proc/net/tcp", encoding: .utf8) else { return false }
    let local = String(format: "0100007F:%04X", port)
    return table.split(separator: "\n").contains { row in
        let columns = row.split(separator: " ")
        return columns.count > 3 && columns[1] == local && (datagram || columns[3] == "0A")
    }
}

/// Waits up to `seconds` for `condition`.
func eventually(within seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
}

/// A child process started with posix_spawn and a clean signal state (empty mask, default handlers):
/// a child started from a test thread would otherwise inherit blocked SIGTERM and never stop.
final class SpawnedProcess: @unchecked Sendable {
    let pid: pid_t
    private var status: Int32?

    /// Starts `arguments[0]` (a path, or a name looked up in PATH) with `environment` added, stdout and
    /// stderr to files (or /dev/null).
    init(_ arguments: [String], environment: [String: String] = [:], stdout: String = "/dev/null", stderr: String = "/dev/null") throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REARVIEW_STORE")
        for (k, v) in environment { env[k] = v }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw CocoaError(.featureUnsupported, userInfo: ["spawn": "\(arguments[0]): \(result)"]) }
        pid = child
    }

    var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
        return status == nil
    }

    /// The exit status (or 128 + signal), waiting up to `seconds`; nil if it is still running then.
    func wait(seconds: Double = 120) -> Int32? {
        _ = eventually(within: seconds) { !isRunning }
        guard let raw = status else { return nil }
        let signal = raw & 0x7F
        return signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
    }

    func send(_ signal: Int32) {
        if isRunning { Glibc.kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s.
    func stop() {
        send(SIGTERM)
        if wait(seconds: 5) == nil {
            send(SIGKILL)
            _ = wait(seconds: 5)
        }
    }

    deinit { stop() }
}

/// A test CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with the openssl CLI.
struct TestCertificates {
    let ca: String, serverCert: String, serverKey: String, clientCert: String, clientKey: String

    init(in directory: String) throws {
        ca = directory + "/ca.pem"
        serverCert = directory + "/server.pem"
        serverKey = directory + "/server.key"
        clientCert = directory + "/client.pem"
        clientKey = directory + "/client.key"
        let ext = directory + "/san.ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: ext, atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", directory + "/ca.key", "-out", ca, "-days", "2", "-subj", "/CN=rearview test CA"])
        for (name, cert, key) in [("localhost", serverCert, serverKey), ("rearview-client", clientCert, clientKey)] {
            let request = directory + "/\(name).csr"
            try Self.openssl(["req"] + ec + ["-keyout", key, "-out", request, "-subj", "/CN=\(name)"])
            try Self.openssl(["x509", "-req", "-in", request, "-CA", ca, "-CAkey", directory + "/ca.key", "-CAcreateserial",
                              "-out", cert, "-days", "2"] + (name == "localhost" ? ["-extfile", ext] : []))
        }
    }

    private static func openssl(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.featureUnsupported, userInfo: ["openssl": arguments.joined(separator: " ")]) }
    }
}

/// A private rsyslogd (`rsyslogd -n -f CONF -i PIDFILE`) on a loopback port, writing every message it
/// receives to `received.log` exactly as it came (`%rawmsg%`), one per line. Never the system instance.
final class RsyslogReceiver: @unchecked Sendable {
    enum Transport { case tcp, udp, tls(TestCertificates, clientCertificates: Bool) }

    let directory: String
    let port: Int
    let transport: Transport
    private var process: SpawnedProcess?

    var output: String { directory + "/received.log" }

    init(_ transport: Transport, in scratch: String) throws {
        self.transport = transport
        directory = scratch + "/rsyslog-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/work", withIntermediateDirectories: true)
        if case .udp = transport { port = freeLoopbackPort(datagram: true) } else { port = freeLoopbackPort() }
        try configuration().write(toFile: directory + "/rsyslog.conf", atomically: true, encoding: .utf8)
        try start()
    }

    private func configuration() -> String {
        var text = """
            global(workDirectory="\(directory)/work" maxMessageSize="256k")
            template(name="exact" type="string" string="%rawmsg%\\n")
            ruleset(name="forwarded") {
                action(type="omfile" file="\(output)" template="exact")
            }

            """
        switch transport {
        case .tcp:
            text += """
                module(load="imtcp")
                input(type="imtcp" address="127.0.0.1" port="\(port)" ruleset="forwarded")
                """
        case .udp:
            text += """
                module(load="imudp")
                input(type="imudp" address="127.0.0.1" port="\(port)" ruleset="forwarded" rcvbufSize="8m")
                """
        case .tls(let certificates, let clientCertificates):
            text += """
                global(DefaultNetstreamDriver="ossl" DefaultNetstreamDriverCAFile="\(certificates.ca)"
                       DefaultNetstreamDriverCertFile="\(certificates.serverCert)" DefaultNetstreamDriverKeyFile="\(certificates.serverKey)")
                module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1"
                       StreamDriver.AuthMode="\(clientCertificates ? "x509/certvalid" : "anon")")
                input(type="imtcp" address="127.0.0.1" port="\(port)" ruleset="forwarded")
                """
        }
        return text + "\n"
    }

    /// Starts rsyslogd and waits until its port is bound.
    func start() throws {
        process = try SpawnedProcess(["/usr/sbin/rsyslogd", "-n", "-f", directory + "/rsyslog.conf", "-i", directory + "/rsyslogd.pid"],
                                     stderr: directory + "/rsyslogd.stderr")
        var datagram = false
        if case .udp = transport { datagram = true }
        guard eventually({ loopbackPortIsBound(port, datagram: datagram) }) else {
            stop()
            throw CocoaError(.featureUnsupported, userInfo: ["rsyslogd": "did not bind port \(port)"])
        }
    }

    /// Kills rsyslogd as a crash would (SIGKILL: its queues in memory are lost).
    func kill() {
        process?.send(SIGKILL)
        _ = process?.wait()
    }

    /// Stops rsyslogd cleanly (SIGTERM) and waits for it.
    func stop() { process?.stop() }

    /// The messages written so far, one per line.
    var received: [String] {
        guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Waits until at least `count` messages were written, then a little longer for stragglers.
    func waitFor(messages count: Int) -> [String] {
        _ = eventually { received.count >= count }
        Thread.sleep(forTimeInterval: 0.3)
        return received
    }

    deinit { stop() }
}

/// A test HTTPS collector in Python (http.server + ssl with the test certificates) that answers like
/// Splunk HEC (`/services/collector/event`, token check) and Elastic `_bulk` (`create` with per-item
/// results, 409 for an `_id` it holds). It answers 503 to the requests numbered in `failing` (1-based).
/// Accepted records go to `records.log`, one per line (HEC: the event object; _bulk: `_id` TAB document).
final class HTTPSCollector: @unchecked Sendable {
    let directory: String
    let port: Int
    private var process: SpawnedProcess?

    var records: [String] {
        guard let text = try? String(contentsOfFile: directory + "/records.log", encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Lines of `requests.log`: one per request, `status conflicts`.
    var requests: [String] {
        guard let text = try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    init(certificates: TestCertificates, token: String, failing: [Int] = [], in scratch: String) throws {
        directory = scratch + "/collector-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = freeLoopbackPort()
        let script = directory + "/collector.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process = try SpawnedProcess(["python3", script, String(port), certificates.serverCert, certificates.serverKey, directory, token,
                                      failing.map(String.init).joined(separator: ",")], stderr: directory + "/collector.stderr")
        guard eventually({ loopbackPortIsBound(port, datagram: false) }) else {
            throw CocoaError(.featureUnsupported, userInfo: ["collector": "did not bind port \(port)"])
        }
    }

    deinit { process?.stop() }

    private static let script = #"""
        import json, ssl, sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        port, cert, key, directory, token, failing = sys.argv[1:7]
        failing = {int(n) for n in failing.split(",") if n}
        state = {"requests": 0, "ids": set()}
        records = open(directory + "/records.log", "a")
        requests = open(directory + "/requests.log", "a")

        class Collector(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def answer(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                state["requests"] += 1
                if state["requests"] in failing:
                    requests.write("503 0\n"); requests.flush()
                    return self.answer(503, {"text": "Server is busy", "code": 9})
                if self.path.endswith("/_bulk"):
                    if self.headers.get("Authorization") != "ApiKey " + token:
                        return self.answer(401, {"error": "unauthorized"})
                    lines = body.split("\n")
                    items, conflicts = [], 0
                    for action, doc in zip(lines[0::2], lines[1::2]):
                        json.loads(doc)
                        id = json.loads(action)["create"]["_id"]
                        if id in state["ids"]:
                            conflicts += 1
                            items.append({"create": {"_id": id, "status": 409, "error": {"type": "version_conflict_engine_exception"}}})
                        else:
                            state["ids"].add(id)
                            records.write(id + "\t" + doc + "\n")
                            items.append({"create": {"_id": id, "status": 201}})
                    records.flush()
                    requests.write("200 %d\n" % conflicts); requests.flush()
                    return self.answer(200, {"took": 1, "errors": conflicts > 0, "items": items})
                if self.path == "/services/collector/event":
                    if self.headers.get("Authorization") != "Splunk " + token:
                        return self.answer(401, {"text": "Invalid authorization", "code": 3})
                    decoder, at = json.JSONDecoder(), 0
                    while at < len(body):
                        while at < len(body) and body[at] in " \n": at += 1
                        if at == len(body): break
                        _, end = decoder.raw_decode(body, at)
                        records.write(body[at:end] + "\n")
                        at = end
                    records.flush()
                    requests.write("200 0\n"); requests.flush()
                    return self.answer(200, {"text": "Success", "code": 0})
                self.answer(404, {"text": "not found"})

        server = ThreadingHTTPServer(("127.0.0.1", int(port)), Collector)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()
        """#
}
