import ArgumentParser
import EventModel
import EventStore
import Forwarding
import Foundation
import Investigation
import SIEMExport

/// `rearview forward`: stream a selection, or a live store, to a syslog receiver or an HTTPS collector.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Send events to a syslog receiver (TCP, UDP, TLS) or an HTTPS collector (Splunk HEC, Elastic _bulk), resumably.",
        discussion: """
            Selects events like `query` (a filter expression and the same flags) from one --store and sends \
            them to --to, in the store's append order (Seq), in batches:
              syslog+tcp://host[:514]    RFC 5424, RFC 6587 octet counting (LEN SP MSG)
              syslog+tls://host[:6514]   the same over TLS 1.2+ (--ca, --cert, --key)
              syslog+udp://host[:514]    one datagram each, cut to --udp-max-size bytes
              https://host/services/collector/event   Splunk HEC event objects
              https://host/INDEX/_bulk   Elastic ECS documents (/_bulk: with --index)
            Syslog transports send RFC 5424 messages (--format picks another export format); \
            TLS verifies the certificate chain and the host name (DNS or IP SAN). \
            Secrets never go on the command line: --token-file FILE or --token-env NAME hold the token (HEC) \
            or API key (Elastic); a token file others can read, or a symbolic link, is refused (chmod 600 it, \
            as a signing key); a value that already names a scheme ("Basic …", "ApiKey …", "Bearer …") is \
            sent as the whole Authorization header.

            Checkpoint. Each destination has a checkpoint in the store, forward/<destination>.checkpoint, \
            replaced atomically (temporary file, fsync, rename, fsync of the directory) as batches are \
            delivered. It holds the Seq of the last delivered record: Seq is the store-wide sequence number \
            written into the segments, so it survives `reindex`, and new imports or recordings only add \
            higher numbers (they are forwarded next, even when their events are older). A restarted forward \
            resumes after that record. The checkpoint also records the selection (expression, flags, \
            format): a run with a different selection is refused (exit 2) rather than silently skipping or \
            repeating records; --from-start discards the checkpoint and sends the selection from the beginning.

            Delivery. HTTPS: a batch is delivered only when the collector acknowledges it: Splunk HEC \
            answers 2xx with a JSON object whose "code" is 0; _bulk answers 2xx with a boolean "errors" and \
            one create item per document, in order, naming its _id, each with status 2xx or 409 (the same \
            _id `<store id>-<Seq>` already indexed: delivered, so a batch sent again is not indexed twice). \
            Anything else with 2xx (a proxy's HTML page) is retried and moves no checkpoint. 429 and 5xx \
            (also HEC codes 8, 9, 18-20 and such _bulk items) are retried, other 4xx and refusals stop \
            forward. Responses are capped: 8 KiB lines, 100 header lines, 1 MiB bodies and chunks, \
            non-negative plain lengths, and a whole response within three times --connect-timeout (at least 30 s). Splunk HEC has no such id: a batch whose response was lost is sent again and indexed \
            twice. Syslog over TCP/TLS has no application acknowledgement. A batch counts as delivered when \
            the receiver's TCP acknowledged all its bytes (the socket's unacknowledged send queue, SIOCOUTQ), \
            then --ack-hold passed with the connection still up; after a broken connection forward \
            reconnects and sends everything after the checkpoint again. A receiver that dies within \
            --ack-hold of acknowledging bytes it had not written loses nothing (they are resent); a receiver \
            that survives but had written them gets them twice. So TCP/TLS syslog is at-least-once: \
            duplicates are possible only across a broken connection or a killed forward, and carry the same \
            seq in the kubearmor@32473 structured data, so the receiver can drop them (HOSTNAME + seq). UDP \
            is fire-and-forget: sent counts as delivered, and the checkpoint advances as datagrams leave.

            Failures. Connecting and sending are retried with exponential backoff and jitter, at most \
            --max-retries times in a row (a delivered batch resets the count); then forward exits 5 and \
            the checkpoint keeps what was delivered. A bad URL, option, token file, certificate or CA is \
            exit 2. Ctrl-C or SIGTERM stops after the batch in flight is delivered. Progress is shown on a \
            terminal; the summary line (records, bytes, resent, retries, truncated) goes to stderr.

            --follow keeps forwarding as the store grows (a live `record`, an `import`): it polls the \
            index every --poll-interval for new blocks and checkpoints as it goes.

            Exit codes: 0 delivered, 2 bad input or usage, 3 store damaged, 5 delivery failed after retries \
            or refused by the receiver.

            Examples:
              rearview forward --to syslog+tcp://siem.example:514 --type alert
              rearview forward --to syslog+tls://siem.example --ca ca.pem --cert me.pem --key me.key --follow
              rearview forward --to https://splunk.example:8088/services/collector/event --token-file hec.token
              rearview forward --to https://es.example:9200/rearview-events/_bulk --token-env ES_API_KEY --since 24h

            \(ExitStatusHelp.paragraph("0 every selected record was delivered", ExitStatusHelp.usage, ExitStatusHelp.damaged, "5 delivery failed (a receiver refused or could not be reached), and a rerun resumes"))
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policyName: PolicyNameOption

    @Option(help: ArgumentHelp("Where to send: syslog+tcp://, syslog+udp://, syslog+tls://host[:port], https://host[:port]/path.", valueName: "url"))
    var to: String

    @Option(help: ArgumentHelp("Record format for syslog transports (default syslog; also cef, kubearmor, ecs, ocsf, splunk-hec).", valueName: "format"))
    var format: String?

    @Option(help: ArgumentHelp("Records per batch (a number), or bytes per batch (e.g. 256K, 1M).", valueName: "n|size"))
    var batchSize = "1000"

    @Option(help: ArgumentHelp("Failed attempts in a row before giving up (exit 5).", valueName: "n"))
    var maxRetries = 8

    @Option(help: ArgumentHelp("Send at most this many records per second.", valueName: "n"))
    var maxRate: Double?

    @Option(help: ArgumentHelp("syslog+udp: the largest datagram in bytes; longer messages are cut and counted.", valueName: "bytes"))
    var udpMaxSize = 2048

    @Option(help: ArgumentHelp("syslog+tcp/tls: how long after the receiver's TCP acknowledged a batch it counts as delivered.", valueName: "duration"))
    var ackHold = "1s"

    @Option(help: ArgumentHelp("How long to wait for a connection.", valueName: "duration"))
    var connectTimeout = "10s"

    @Option(help: ArgumentHelp("TLS: PEM file of the CAs that sign the receiver's certificate (default: the system's).", valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("TLS: client certificate chain (PEM), with --key.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("TLS: the client certificate's private key (PEM).", valueName: "file"))
    var key: String?

    @Flag(help: "TLS: accept any certificate and host name (throwaway receivers only).")
    var insecureSkipVerify = false

    @Option(help: ArgumentHelp("HTTPS: read the HEC token or Elastic API key from this file (mode 0600).", valueName: "file"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("HTTPS: read the HEC token or Elastic API key from this environment variable.", valueName: "name"))
    var tokenEnv: String?

    @Option(help: ArgumentHelp("Elastic: the index or data stream, when --to ends in /_bulk without one.", valueName: "name"))
    var index: String?

    @Flag(help: "Discard this destination's checkpoint and send the selection from the beginning.")
    var fromStart = false

    @Flag(help: "After the selection, keep forwarding as the store grows.")
    var follow = false

    @Option(help: ArgumentHelp("With --follow: how often to look for new blocks.", valueName: "duration"))
    var pollInterval = "1s"

    func validate() throws {
        if maxRetries < 0 { throw ValidationError("--max-retries must not be negative") }
        if let maxRate, !(maxRate > 0) { throw ValidationError("--max-rate must be positive") }
        if udpMaxSize < 64 || udpMaxSize > 65507 { throw ValidationError("--udp-max-size must be between 64 and 65507") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if tokenFile != nil && tokenEnv != nil { throw ValidationError("give --token-file or --token-env, not both") }
    }

    func run() throws {
        try reportingFailures {
            let destination: ForwardDestination
            do { destination = try ForwardDestination(parsing: to) } catch { throw CommandFailure(String(describing: error), exitCode: 2) }
            let settings = try forwardSettings(for: destination)
            let pollSeconds = try QuantityArgument.seconds(pollInterval, option: "--poll-interval")

            let store = try storeOptions.open()
            let encoder = try recordEncoder(for: destination, store: store)
            let filter = try selection.filter(stores: [store], policyName: policyName.policyName)
            let file = CheckpointFile(store: store.directory, destination: destination)
            let checkpoint = try startingCheckpoint(file: file, destination: destination, storeID: try store.storeID())

            // Blocks indexed from here on are either in the plan or found by --follow, never both.
            let known = try store.blocks()
            let plan = try QueryPlan(stores: [store], filter: filter)
            var source = SelectedEvents(store: store, filter: filter, known: known, candidates: plan.sources.map(\.block))

            if insecureSkipVerify { Terminal.error("rearview: warning: TLS certificates and host names are not verified") }
            let forwarder = try Forwarder(destination: destination, encoder: encoder, settings: settings,
                                          checkpoint: checkpoint, file: file)
            StopSignals.install()
            // A parent may have started us with SIGINT/SIGTERM blocked (they are inherited): stopping must work.
            var stopping = sigset_t()
            sigemptyset(&stopping)
            sigaddset(&stopping, SIGINT)
            sigaddset(&stopping, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &stopping, nil)
            signal(SIGPIPE, SIG_IGN)
            forwarder.shouldStop = { StopSignals.received }
            let started = Date()
            forwarder.progress = { stats in
                Terminal.progress("forwarding to \(destination): \(stats.recordsSent) records, \(ByteCount(stats.bytesSent)), \(stats.retries) retries")
            }
            forwarder.retrying = { error, delay in
                Terminal.endProgress()
                Terminal.error("rearview: \(error.message); retrying in \(String(format: "%.1f", delay)) s")
            }
            defer {
                forwarder.close()
                Terminal.endProgress()
                Terminal.error(Self.summary(forwarder, seconds: Date().timeIntervalSince(started), udpMaxSize: udpMaxSize))
            }
            do {
                try forwarder.deliver { after, body in try source.events(after: after, body) }
                guard follow else { return }
                var watch = NewBlockWatch(stores: [store], seen: [Set(known.map(\.id)).union(plan.sources.map(\.block.id))])
                while !StopSignals.received {
                    let wake = Date().addingTimeInterval(pollSeconds)
                    while !StopSignals.received && Date() < wake { Thread.sleep(forTimeInterval: min(0.05, pollSeconds)) }
                    let added = try watch.poll().map(\.block)
                    guard !added.isEmpty, !StopSignals.received else { continue }
                    source.add(added)
                    try forwarder.deliver { after, body in try source.events(after: after, body) }
                }
            } catch let error as ForwardError {
                throw CommandFailure(error.message, exitCode: error.kind == .delivery ? 5 : 2)
            }
        }
    }

    /// The checkpoint to continue from: the saved one when it is for this store and selection, else a new one.
    private func startingCheckpoint(file: CheckpointFile, destination: ForwardDestination, storeID: String) throws -> ForwardCheckpoint {
        let fresh = ForwardCheckpoint(destination: destination.description, selection: selectionDescription(destination), storeID: storeID)
        do {
            if fromStart {
                try file.remove()
                return fresh
            }
            guard let saved = try file.load() else { return fresh }
            guard saved.storeID == storeID, saved.destination == fresh.destination else {
                throw CommandFailure("\(file.path) belongs to another store or destination; use --from-start to start over", exitCode: 2)
            }
            guard saved.selection == fresh.selection else {
                throw CommandFailure("""
                    \(destination) was forwarded with another selection (\(saved.selection)); \
                    repeat that selection to resume, or use --from-start to send this one from the beginning
                    """, exitCode: 2)
            }
            return saved
        } catch let error as ForwardError {
            throw CommandFailure(error.message, exitCode: 2)
        }
    }

    /// The selection and format, as the checkpoint remembers them (option text as given, so a relative
    /// --since means the same words, not the same instant).
    private func selectionDescription(_ destination: ForwardDestination) -> String {
        let s = selection
        let parts: [(String, String?)] = [
            ("expression", s.expressionText.isEmpty ? nil : s.expressionText), ("host", s.host), ("namespace", s.namespace),
            ("pod", s.pod), ("container", s.container), ("operation", s.operation), ("type", s.type), ("pid", s.pid.map { String($0) }),
            ("process", s.process), ("resource", s.resource), ("source", s.source),
            ("labels", s.labels.isEmpty ? nil : s.labels.joined(separator: ",")), ("action", s.action),
            ("severity-min", s.severityMin.map { String($0) }), ("policy", policyName.policyName), ("since", s.since), ("until", s.until),
            ("format", format ?? destination.defaultFormat.rawValue), ("index", index),
        ]
        let given = parts.compactMap { name, value in value.map { "--\(name) \($0)" } }
        return given.isEmpty ? "everything" : given.joined(separator: " ")
    }

    private func forwardSettings(for destination: ForwardDestination) throws -> ForwardSettings {
        var settings = ForwardSettings()
        let batch = batchSize.trimmingCharacters(in: .whitespaces)
        if let records = Int(batch) {
            guard records > 0 else { throw CommandFailure("--batch-size must be positive", exitCode: 2) }
            settings.batchRecords = records
        } else {
            settings.batchBytes = max(1, try QuantityArgument.bytes(batch, option: "--batch-size"))
            settings.batchRecords = .max
        }
        settings.maxRetries = maxRetries
        settings.maxRate = maxRate
        settings.udpMaxSize = udpMaxSize
        settings.acknowledgementHold = try Self.duration(ackHold, option: "--ack-hold")
        settings.connectTimeout = try QuantityArgument.seconds(connectTimeout, option: "--connect-timeout")
        settings.tls = TLSSettings(caFile: ca, certificateFile: cert, keyFile: key, skipVerification: insecureSkipVerify)
        settings.bulkIndex = index
        let usesTLS = destination.transport == .syslogTLS || destination.transport == .https
        if !usesTLS && (ca != nil || cert != nil || insecureSkipVerify) {
            throw CommandFailure("--ca, --cert, --key and --insecure-skip-verify are for syslog+tls:// and https://", exitCode: 2)
        }
        for (option, path) in [("--ca", ca), ("--cert", cert), ("--key", key)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw CommandFailure("\(option) \(path): no such readable file", exitCode: 2)
            }
        }
        if destination.transport == .https {
            settings.authorization = try authorization(for: destination)
        } else if tokenFile != nil || tokenEnv != nil || index != nil {
            throw CommandFailure("--token-file, --token-env and --index are for https:// destinations", exitCode: 2)
        }
        return settings
    }

    /// `--ack-hold`: a duration, and 0 is allowed (count a batch as delivered as soon as TCP acknowledged it).
    private static func duration(_ text: String, option: String) throws -> Double {
        if let zero = Double(text.trimmingCharacters(in: .letters)), zero == 0 { return 0 }
        return try QuantityArgument.seconds(text, option: option)
    }

    /// The Authorization header from --token-file or --token-env: a bare token gets the collector's scheme.
    private func authorization(for destination: ForwardDestination) throws -> String? {
        var secret: String?
        if let tokenFile {
            // Refused when others can read it, as a signing key is.
            do {
                secret = String(decoding: try SecretFile.read(tokenFile, what: "the token file", maxBytes: 64 << 10), as: UTF8.self)
            } catch {
                throw CommandFailure("--token-file \(error)", exitCode: 2)
            }
        } else if let tokenEnv {
            guard let value = ProcessInfo.processInfo.environment[tokenEnv] else {
                throw CommandFailure("--token-env \(tokenEnv): the variable is not set", exitCode: 2)
            }
            secret = value
        }
        guard let token = secret?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            if secret != nil { throw CommandFailure("the token is empty", exitCode: 2) }
            if destination.isElasticBulk { return nil }
            throw CommandFailure("\(destination): Splunk HEC needs a token: give --token-file or --token-env", exitCode: 2)
        }
        guard !token.contains("\n") && !token.contains("\r") else { throw CommandFailure("the token must be one line", exitCode: 2) }
        if token.contains(" ") { return token }
        return (destination.isElasticBulk ? "ApiKey " : "Splunk ") + token
    }

    /// The encoder of the destination's format. Process ids come from the store's process table, so a
    /// resumed run names processes as the first did; with --follow, processes that start later are
    /// not in that table yet, so ids come from the stream alone (see `export --help`).
    private func recordEncoder(for destination: ForwardDestination, store: Store) throws -> any RecordEncoder {
        var chosen = destination.defaultFormat
        if let format {
            guard let named = ExportFormat(rawValue: format) else {
                throw CommandFailure("--format \(format): not one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))", exitCode: 2)
            }
            guard destination.transport != .https || named == chosen else {
                throw CommandFailure("--format: \(destination) takes \(chosen.rawValue) records", exitCode: 2)
            }
            chosen = named
        }
        return chosen.encoder(ExportOptions(productVersion: RearviewVersion.current, defaultHostName: ProcessInfo.processInfo.hostName),
                              processStarts: follow ? nil : try StoredProcessStarts.lookup(for: chosen, stores: [store]))
    }

    static func summary(_ forwarder: Forwarder, seconds: Double, udpMaxSize: Int) -> String {
        let s = forwarder.statistics
        var line = String(format: "forwarded %d records (%@) to %@ in %.1f s", s.recordsSent, ByteCount(s.bytesSent).description,
                          forwarder.destination.description, seconds)
        line += "; \(s.recordsDelivered) delivered, \(s.recordsResent) resent, \(s.retries) retries, \(s.truncated) truncated"
        if s.alreadyPresent > 0 { line += ", \(s.alreadyPresent) already in the index" }
        line += "; checkpoint at Seq \(forwarder.checkpoint.lastSeq)"
        if s.truncated > 0 {
            line += "\nrearview: \(s.truncated) messages were longer than --udp-max-size \(udpMaxSize) and were cut, \(s.truncatedBytes) bytes in all"
        }
        return line
    }
}

/// The events of one store that a selection picks, in Seq order, from any position: what `forward`
/// reads, and reads again from its checkpoint after a broken connection.
struct SelectedEvents {
    private let store: Store
    private let filter: EventFilter
    private var candidates: [IndexedBlock]
    private var knownThrough: UInt64

    /// `known`: every block of the store when the plan was made; `candidates`: those that can match.
    init(store: Store, filter: EventFilter, known: [IndexedBlock], candidates: [IndexedBlock]) {
        self.store = store
        self.filter = filter
        self.candidates = candidates.sorted { $0.location.firstSeq < $1.location.firstSeq }
        knownThrough = known.map(Self.lastSeq).max() ?? 0
    }

    /// Adds blocks the store gained (all are read: the index is not consulted for them).
    mutating func add(_ blocks: [IndexedBlock]) {
        candidates = (candidates + blocks).sorted { $0.location.firstSeq < $1.location.firstSeq }
        knownThrough = max(knownThrough, blocks.map(Self.lastSeq).max() ?? 0)
    }

    private static func lastSeq(_ block: IndexedBlock) -> UInt64 {
        block.location.firstSeq + UInt64(max(block.location.eventCount, 1)) - 1
    }

    /// Hands matching events with Seq > `after` to `body` in Seq order, as rows of their batches;
    /// returns the Seq through which every block was looked at.
    func events(after: UInt64, _ body: (ColumnBatch, Int) throws -> Bool) throws -> UInt64 {
        let first = candidates.partitionPoint { Self.lastSeq($0) <= after }
        let store = store, filter = filter
        var scan = BatchScan(candidates[first...].map { BlockSource(store: store, block: $0) }, inSeqOrder: true)
        scan.select = { batch in filter.select(in: batch).filter { batch.firstSeq &+ UInt64($0) > after } }
        var stopped = false
        try scan.map({ batch, rows in (batch, rows) }) { batch, rows in
            for row in rows where try !body(batch, Int(row)) {
                stopped = true
                return false
            }
            return true
        }
        return stopped ? after : max(after, knownThrough)
    }
}

extension Array {
    /// The index of the first element for which `isAfter` is false, given that it is true for a prefix.
    fileprivate func partitionPoint(_ isBefore: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
