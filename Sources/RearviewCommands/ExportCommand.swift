import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation
import SIEMExport

/// `rearview export`: selected events out of the stores in the formats SIEMs and other tools read.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write selected events, in time order, as KubeArmor JSON, ECS, OCSF, CEF, syslog or Splunk HEC records.",
        discussion: """
            The selection is the one `query` takes (expression, karmor-style flags, --since/--until, several \
            --store merged in time order). One record per line, to standard output or to --out FILE (written \
            to a new temporary file beside it, mode 0600, then renamed over FILE; a directory is refused).

            Formats:
              kubearmor   KubeArmor JSON; imported records come out with their original keys, key order and \
            values (byte-identical for karmor's output), recorded events in KubeArmor's own key order.
              ecs         Elastic Common Schema \(ECSEncoder.ecsVersion) documents; KubeArmor fields without an ECS \
            home under kubearmor.*.
              ocsf        OCSF \(OCSFEncoder.schemaVersion): Process Activity 1007, File System Activity 1001, \
            Network Activity 4001, Detection Finding 2004 for alerts; the rest under unmapped.
              cef         ArcSight CEF 0 lines.
              syslog      RFC 5424 messages with structured data [\(SyslogEncoder.sdID) …] and the KubeArmor \
            JSON record as MSG (32473 is the documentation enterprise number of RFC 5612).
              splunk-hec  Splunk HTTP Event Collector event objects, the KubeArmor record as `event`.

            Examples:
              rearview export --format ecs --since 2h --out incident.ecs.ndjson
              rearview export --format ocsf --type alert
              rearview export --format syslog --namespace payments 'Operation = Network'
              rearview export --format splunk-hec --hec-index security --out hec.json

            \(ExportFormat.allCases.filter { $0 != .kubearmor }.map { "Field mapping, --format \($0.rawValue) (output <- KubeArmor):\n" + $0.mappingText }.joined(separator: "\n\n"))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policyName: PolicyNameOption

    @Option(help: "Output format.")
    var format: ExportFormat = .kubearmor

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Host name for events without a HostName (syslog HOSTNAME, HEC host).", valueName: "name"))
    var hostName: String = ""

    @Option(help: ArgumentHelp("Syslog APP-NAME.", valueName: "name"))
    var syslogAppName: String = "rearview"

    @Option(help: ArgumentHelp("Syslog facility, 0-23 (13: log audit).", valueName: "n"))
    var syslogFacility: Int = 13

    @Option(help: ArgumentHelp("Splunk HEC index (default: the token's).", valueName: "index"))
    var hecIndex: String?

    @Option(help: ArgumentHelp("Splunk HEC source.", valueName: "source"))
    var hecSource: String = "rearview"

    @Option(help: ArgumentHelp("Splunk HEC sourcetype.", valueName: "sourcetype"))
    var hecSourcetype: String = "kubearmor"

    func validate() throws {
        if !(0...23).contains(syslogFacility) { throw ValidationError("--syslog-facility must be 0-23") }
    }

    var options: ExportOptions {
        ExportOptions(productVersion: RearviewVersion.current, defaultHostName: hostName, syslogAppName: syslogAppName,
                      syslogFacility: syslogFacility, hecIndex: hecIndex, hecSource: hecSource, hecSourcetype: hecSourcetype)
    }

    func run() throws {
        try reportingFailures {
            let opened = try stores.open()
            let filter = try selection.filter(lastEventNs: try SelectionOptions.lastEventNs(opened), policyName: policyName.policyName)
            let plan = try QueryPlan(stores: opened, filter: filter)
            let sink = try EventSink(path: out)
            // Each block's records are encoded from its columns on the decoding threads by a copy of the
            // encoder (copies share nothing mutable; each string is escaped once per block) and written
            // in time order.
            nonisolated(unsafe) let encoder = format.encoder(options, processStarts: try StoredProcessStarts.lookup(for: format, stores: opened))
            let threads = ProcessInfo.processInfo.activeProcessorCount
            // Blocks' records go into buffers the sink has written before, so their memory is mapped already.
            let buffers = BufferPool()
            try plan.batches(filter: filter, threads: threads).orderedMap({ batch, rows in
                var bytes = buffers.take()
                encoder.appendLines(of: batch, rows: rows, to: &bytes)
                return bytes
            }) { bytes in
                try sink.write(bytes)
                buffers.give(bytes)
                return true
            }
            try sink.close()
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}

/// Output buffers handed back once written, for the next blocks' records: memory the process has
/// touched already (fresh buffers of many megabytes cost a page fault per page), at most a few.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [[UInt8]] = []

    /// An empty buffer, with the capacity of one given back if there is one.
    func take() -> [UInt8] {
        var buffer = lock.withLock { free.popLast() } ?? []
        buffer.removeAll(keepingCapacity: true)
        return buffer
    }

    /// Keeps `buffer` for ``take()`` (up to eight).
    func give(_ buffer: [UInt8]) {
        lock.withLock { if free.count < 8 { free.append(buffer) } }
    }
}

/// Where command output goes: standard output, or a file replaced atomically (``AtomicFile``: a new
/// temporary file beside it, fsync, rename(2)); a directory given as the file is refused, and a run
/// that fails leaves the old file as it was.
final class EventSink {
    private let stdout: StandardOutput?
    private let file: AtomicFile?
    private var buffer: [UInt8] = []

    init(path: String?) throws {
        if let path {
            do { file = try AtomicFile(replacing: path) } catch { throw CommandFailure(error) }
            stdout = nil
        } else {
            file = nil
            stdout = StandardOutput()
        }
    }

    func write(_ bytes: [UInt8]) throws {
        if let stdout { return stdout.write(bytes) }
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flushFile() }
    }

    private func flushFile() throws {
        guard let file, !buffer.isEmpty else { return }
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        if let stdout { return stdout.flush() }
        try flushFile()
        try file?.commit()
    }
}
