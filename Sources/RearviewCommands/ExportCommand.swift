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
            to a new temporary file beside it, mode 0600, then renamed over FILE; a directory is refused).             A damaged block is left out and the export goes on: the output holds every intact block, each             damaged one is a DAMAGED line on stderr with the Seq and time range it held, and the exit             status is 3.

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

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage, ExitStatusHelp.blocksLeftOut))
            """)

    @OptionGroup var stores: ReadStoresOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var policyName: PolicyNameOption

    @Option(help: "Output format.")
    var format: ExportFormat = .kubearmor

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Write at most this many records (the first in time order).", valueName: "n"))
    var limit: Int?

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
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        if !(0...23).contains(syslogFacility) { throw ValidationError("--syslog-facility must be 0-23") }
    }

    var options: ExportOptions {
        ExportOptions(productVersion: RearviewVersion.current, defaultHostName: hostName, syslogAppName: syslogAppName,
                      syslogFacility: syslogFacility, hecIndex: hecIndex, hecSource: hecSource, hecSourcetype: hecSourcetype)
    }

    func run() throws {
        try reportingFailures {
            let opened = try stores.open()
            let filter = try selection.filter(stores: opened, policyName: policyName.policyName)
            var plan = try QueryPlan(stores: opened, filter: filter)
            let damaged = DamagedBlocks()
            plan.damaged = damaged
            let sink = try EventSink(path: out)
            // Each block's records are encoded from its columns on the decoding threads by a copy of the
            // encoder (copies share nothing mutable; each string is escaped once per block) and written
            // in time order.
            nonisolated(unsafe) let encoder = format.encoder(options, processStarts: try StoredProcessStarts.lookup(for: format, stores: opened))
            let threads = ProcessInfo.processInfo.activeProcessorCount
            _ = try BlockEncodedRecords.write(plan.batches(filter: filter, threads: threads), limit: limit,
                                              encode: { encoder.appendLines(of: $0, rows: $1, to: &$2) },
                                              to: sink.write)
            try sink.close()
            try damaged.failIfAnyWasLeftOut()
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}

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
