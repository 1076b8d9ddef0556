import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation
import PolicyEngine
import Recorder
import Synchronization

/// `rearview record`: capture this host's process, file and network activity into a store.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record process, file and network events on this host with eBPF (root).",
        discussion: """
            Loads rearview's eBPF programs (tracepoints and ring buffers only: no kprobes, fentry or \
            BPF-LSM needed), snapshots the processes already running, and appends every fork/clone, \
            exec, exit, file open/unlink/rename/chmod and socket/connect/accept/bind/listen to the \
            store until --duration elapses, --stop-at-size is reached, or SIGINT/SIGTERM arrives. Events \
            are flushed every --flush interval: a killed recorder loses at most that much, and the \
            next writer recovers the rest. On exit the segment is sealed and a summary printed, with \
            the events lost in the kernel per kind (also stored per segment and shown by `info`). \
            Exit 4 when this host cannot record (not root, no BTF, a program refused: the message \
            says which).

            A flight recorder: --retain 7d and/or --max-size 20G keep a rolling window. Once a flush \
            finds the store older or larger than that, the oldest sealed segments are retired (deleted), \
            oldest first, while recording goes on; the segment being written never is. --max-size \
            counts every file of the store (segments, index, signatures), and the store stays within \
            it plus one segment: with --max-size and no --segment-size, segments are an eighth of the \
            budget (at most 256M). Each retired segment is entered, with its hash, in the store's \
            retirement ledger (segments/retired.ledger, signed with --sign-key), so `verify` still \
            proves that what is left is the rest of the same chain and says what retention removed \
            and when; `info` lists it too. `rearview prune` retires by the same rules in a store that \
            is not recording.

            --keep-around EXPR (any filter expression of `query`; repeatable) and the alerts of --policy \
            pin the history --keep-window (10m) before and after each match: the segments holding it \
            survive retention and `prune` (segments/pinned.json lists the windows, and `info` shows them). The \
            budget counts pinned segments; when they alone exceed it, the oldest pins are released \
            with a WARNING, newest kept.

            Typical use: record on the suspect host into a root-owned directory (e.g. \
            /var/lib/rearview/incident, not /var/tmp), copy the store directory, investigate elsewhere. \
            A new store directory gets mode 0700 and its files 0600 (umask 077); an existing one that \
            another user owns, or that group or others can write, is refused (exit 2), and so is a \
            symbolic link, FIFO or device node where a store file belongs.

            --policy FILE|DIR evaluates KubeArmor policies on the live events with the matcher of \
            `evaluate` (same --default-posture and --scope) and stores each matched event as its alert \
            instead, as KubeArmor's own stream carries it. Audit only, since rearview observes and does \
            not enforce: a Block rule or a block posture gives Action `Audit (Block)` with the result as \
            it was. Alerts carry Enforcer "rearview (live)" and "Reevaluated": true (so `evaluate --diff` \
            never takes them for KubeArmor's). Any rejected policy stops the recording before it starts \
            (exit 2).

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage, ExitStatusHelp.damaged, "4 this kernel or user lacks what recording needs (BPF, BTF tracepoints, root)"))
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: ArgumentHelp("Stop after this long (e.g. 30s, 5m, 2h); default: until SIGINT/SIGTERM.", valueName: "duration"))
    var duration: String?

    @Option(help: ArgumentHelp("Keep a rolling window this long (e.g. 7d, 12h): retire sealed segments whose events are all older.", valueName: "duration"))
    var retain: String?

    @Option(help: ArgumentHelp("Disk budget (e.g. 500M, 20G): retire the oldest sealed segments while the store's files take more.", valueName: "size"))
    var maxSize: String?

    @Option(help: ArgumentHelp("Keep the history around events matching this filter expression from retention (repeatable; --policy alerts always are).",
                               valueName: "expr"))
    var keepAround: [String] = []

    @Option(help: ArgumentHelp("How much history retention keeps before and after each alert or --keep-around match.", valueName: "duration"))
    var keepWindow = "10m"

    @Option(help: ArgumentHelp("Stop recording once the store's segments reach this size (e.g. 500M, 2G).", valueName: "size"))
    var stopAtSize: String?

    @Option(help: ArgumentHelp("How often buffered events are made durable.", valueName: "duration"))
    var flush = "1s"

    @Option(help: ArgumentHelp("Seal the segment and start a new one this often (e.g. 1h).", valueName: "duration"))
    var rotate: String?

    @Option(help: ArgumentHelp("Seal the segment and start a new one at this size (default 256M; with --max-size, an eighth of it at most).", valueName: "size"))
    var segmentSize: String?

    @Option(help: ArgumentHelp("Event kinds to record, comma-separated: process, file, network.", valueName: "kinds"))
    var events = "process,file,network"

    @Option(help: ArgumentHelp("Do not record file events under this path prefix (repeatable; process events are always kept).", valueName: "prefix"))
    var ignorePath: [String] = []

    @Option(help: ArgumentHelp("Kernel ring buffer size (power of two, e.g. 16M).", valueName: "size"))
    var ringSize = "16M"

    @Option(help: ArgumentHelp("ClusterName written into every event.", valueName: "name"))
    var cluster = ""

    func run() throws {
        try reportingFailures {
            let limits = try RecordingLimits(command: self)
            let policies = policy.paths.isEmpty ? nil : try policy.load(live: true)
            if let policies, policies.rejected > 0 {
                throw CommandFailure("\(policies.rejected) policy document(s) rejected; not recording", exitCode: 2)
            }
            var configuration = RecorderConfiguration()
            configuration.eventKinds = limits.kinds
            configuration.ignoredPathPrefixes = ignorePath
            configuration.ringBufferBytes = limits.ringBytes
            configuration.clusterName = cluster

            var options = WriterOptions()
            options.maxSegmentBytes = limits.segmentBytes
            options.signer = try signing.signer()
            let writer = try StoreWriter(path: storeOptions.path, options: options)
            if !writer.recovery.isEmpty { Terminal.error(writer.recovery.description) }
            let keep = try KeepAround(expressions: keepAround, alertEnforcer: policies?.policySet.options.enforcerName,
                                      windowSeconds: QuantityArgument.seconds(keepWindow, option: "--keep-window"))
            let session = RecordingSession(writer: writer, policies: policies?.policySet, keeping: keep.isEmpty ? nil : keep)
            let recorder: Recorder
            do {
                recorder = try Recorder.start(configuration) { batch in try session.append(batch) }
            } catch let error as RecorderError {
                try? writer.close()
                throw CommandFailure("cannot record: \(error)", exitCode: error.isHostCapabilityMissing ? 4 : 2)
            }
            writer.segmentMetadata = { RecordingSession.metadata(recorder.statistics) }
            StopSignals.install()
            Terminal.error("recording into \(storeOptions.path) (\(limits.kinds.map(\.rawValue).sorted().joined(separator: ","))); stop with Ctrl-C")

            let started = Date()
            var lastRotation = Date()
            var reason = "stopped by signal"
            var retired: [RetiredSegment] = []
            while true {
                Thread.sleep(forTimeInterval: min(limits.flushSeconds, 0.2))
                if StopSignals.received { break }
                if !recorder.isRunning { reason = "recorder stopped"; break }
                if let d = limits.durationSeconds, Date().timeIntervalSince(started) >= d { reason = "duration reached"; break }
                let flushed = try session.flushIfDue(every: limits.flushSeconds)
                if let r = limits.rotateSeconds, Date().timeIntervalSince(lastRotation) >= r {
                    try session.rotate()
                    lastRotation = Date()
                }
                if flushed, let rule = limits.retention {
                    let retirement = try session.retire(rule)
                    for pin in retirement.releasedPins {
                        Terminal.error("WARNING: pinned segments alone exceed --max-size: released the oldest pin, \(pin.description)")
                    }
                    if !retirement.retired.isEmpty { Terminal.error(RecordingSession.retirementNote(retirement.retired)) }
                    retired += retirement.retired
                }
                if let max = limits.stopBytes, try session.storedBytes() >= max { reason = "--stop-at-size reached"; break }
                let stats = recorder.statistics
                Terminal.progress("recording: \(stats.delivered) events, \(stats.drops.values.reduce(0, +)) dropped")
            }
            Terminal.endProgress()
            var failure: (any Error)?
            do { try recorder.stop() } catch { failure = error }
            try session.close()
            // Readers fold unconsumed blocks themselves, so a failure here only costs them time.
            if let processes = try? StoredProcessTable.update(storePath: storeOptions.path) { Terminal.error(processes.description) }
            let stats = recorder.statistics
            Terminal.error(RecordingSession.summary(stats, seconds: Date().timeIntervalSince(started), reason: reason))
            if let alerts = session.alertsStored { Terminal.error("policies: \(alerts) alert(s) stored") }
            if !retired.isEmpty {
                Terminal.error("retention: \(retired.count) segment(s) of \(retired.reduce(0) { $0 + $1.events }) event(s) retired while recording")
            }
            if let failure { throw failure }
        }
    }
}

/// The parsed numeric options of `record`.
struct RecordingLimits {
    var durationSeconds: Double?
    var flushSeconds: Double
    var rotateSeconds: Double?
    /// `--retain` and `--max-size`; nil when neither is given.
    var retention: RecordingRetention?
    var stopBytes: Int?
    var segmentBytes: Int
    var ringBytes: Int
    var kinds: Set<EventKind>

    init(command c: RecordCommand) throws {
        durationSeconds = try c.duration.map { try QuantityArgument.seconds($0, option: "--duration") }
        flushSeconds = try QuantityArgument.seconds(c.flush, option: "--flush")
        rotateSeconds = try c.rotate.map { try QuantityArgument.seconds($0, option: "--rotate") }
        let maxBytes = try c.maxSize.map { try QuantityArgument.bytes($0, option: "--max-size") }
        let retainSeconds = try c.retain.map { try QuantityArgument.seconds($0, option: "--retain") }
        retention = maxBytes == nil && retainSeconds == nil ? nil : RecordingRetention(windowSeconds: retainSeconds, maxBytes: maxBytes)
        stopBytes = try c.stopAtSize.map { try QuantityArgument.bytes($0, option: "--stop-at-size") }
        if let given = c.segmentSize {
            segmentBytes = try QuantityArgument.bytes(given, option: "--segment-size")
        } else {
            segmentBytes = maxBytes.map { min(256 << 20, max(64 << 10, $0 / 8)) } ?? 256 << 20
        }
        if let maxBytes, segmentBytes > maxBytes / 2 {
            throw CommandFailure("--segment-size \(c.segmentSize ?? "") is more than half of --max-size \(c.maxSize ?? ""): retention retires whole sealed segments, so the budget must hold several", exitCode: 2)
        }
        ringBytes = try QuantityArgument.bytes(c.ringSize, option: "--ring-size")
        kinds = []
        for name in c.events.split(separator: ",") {
            guard let kind = EventKind(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw CommandFailure("--events: unknown kind '\(name)' (use process, file, network)", exitCode: 2)
            }
            kinds.insert(kind)
        }
        guard !kinds.isEmpty else { throw CommandFailure("--events: name at least one kind", exitCode: 2) }
    }
}

/// `record --retain` and `--max-size`: the rolling window a recording keeps.
struct RecordingRetention {
    var windowSeconds: Double?
    var maxBytes: Int?

    /// The rule at `now` (unix ns): the window counts back from the clock.
    func rule(now: Int64) -> RetentionRule {
        RetentionRule(before: windowSeconds.map { now - Int64($0 * 1e9) }, maxBytes: maxBytes)
    }
}

/// The store side of a recording: the writer, shared by the recorder's drain thread and the main loop.
final class RecordingSession: Sendable {
    private let writer: Mutex<WriterBox>
    private let lastFlush = Mutex(Date())

    /// The writer is not Sendable; the mutex is the only way to it. The evaluator of `--policy`
    /// turns matched events into alerts on their way in.
    private struct WriterBox: @unchecked Sendable {
        let writer: StoreWriter
        var evaluator: PolicyEvaluator?
        let keeping: KeepAround?
    }

    /// With `keeping`, the windows around alerts and `--keep-around` matches are pinned against
    /// retention, each durably before the events that pinned it are written.
    init(writer: StoreWriter, policies: PolicySet? = nil, keeping: KeepAround? = nil) {
        self.writer = Mutex(WriterBox(writer: writer, evaluator: policies?.makeEvaluator(), keeping: keeping))
    }

    func append(_ events: [Event]) throws {
        try writer.withLock { box in
            let stored = box.evaluator?.replacingAlerts(in: events) ?? events
            if let keeping = box.keeping { try box.writer.pin(keeping.pins(for: stored)) }
            try box.writer.append(stored)
        }
    }

    /// The alerts `--policy` stored so far (nil without policies).
    var alertsStored: Int? { writer.withLock { $0.evaluator?.statistics().alerts } }

    /// Flushes when the last flush is `seconds` ago; returns whether it did.
    @discardableResult
    func flushIfDue(every seconds: Double) throws -> Bool {
        let due = lastFlush.withLock { last in
            guard Date().timeIntervalSince(last) >= seconds else { return false }
            last = Date()
            return true
        }
        if due { try writer.withLock { try $0.writer.flush() } }
        return due
    }

    func rotate() throws { try writer.withLock { try $0.writer.rotate() } }

    func close() throws { try writer.withLock { try $0.writer.close() } }

    /// Retires what `rule` no longer keeps (see ``StoreWriter/retire(_:now:)``).
    func retire(_ rule: RecordingRetention) throws -> Retirement {
        let now = UnixTime.nowNs()
        return try writer.withLock { try $0.writer.retire(rule.rule(now: now), now: now) }
    }

    /// One line for what a retirement removed.
    static func retirementNote(_ retired: [RetiredSegment]) -> String {
        let numbers = retired.map(\.number)
        let segments = numbers.count == 1 ? "segment \(numbers[0])" : "segments \(numbers.first!)–\(numbers.last!)"
        let reasons = Set(retired.map(\.reason.description)).sorted().joined(separator: " and ")
        return "retired \(segments) (\(retired.reduce(0) { $0 + $1.events }) events up to \(UnixTime.rfc3339Micro(retired.map(\.lastTimeNs).max()!))) by \(reasons)"
    }

    func storedBytes() throws -> Int {
        try writer.withLock { try $0.writer.store.segments().reduce(0) { $0 + $1.bytes } }
    }

    /// The segment metadata recorded at sealing: counts since recording started.
    static func metadata(_ s: RecorderStatistics) -> String {
        func counts(_ d: [EventKind: UInt64]) -> [String: UInt64] {
            Dictionary(uniqueKeysWithValues: EventKind.allCases.map { ($0.rawValue, d[$0] ?? 0) })
        }
        let object: [String: Any] = [
            "recorder": [
                "events": counts(s.events), "drops": counts(s.drops), "delivered": s.delivered,
                "snapshotProcesses": s.snapshotProcesses, "syscallAttachment": s.syscallAttachment.rawValue,
            ] as [String: Any],
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func summary(_ s: RecorderStatistics, seconds: Double, reason: String) -> String {
        let kinds = EventKind.allCases.map { "\($0.rawValue) \(s.events[$0] ?? 0) (dropped \(s.drops[$0] ?? 0))" }
        let dropped = s.drops.values.reduce(0, +)
        return String(format: "recorded %llu events in %.1f s (%@): ", s.delivered, seconds, reason)
            + kinds.joined(separator: ", ")
            + "; \(s.snapshotProcesses) processes from the start-up snapshot"
            + (dropped > 0 ? "\nWARNING: \(dropped) events were lost in the kernel; raise --ring-size or lower the load" : "")
    }
}

/// SIGINT and SIGTERM ask the recorder to stop cleanly.
enum StopSignals {
    private static let flag = Atomic<Bool>(false)

    static var received: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in StopSignals.flag.store(true, ordering: .relaxed) }
        }
    }
}
