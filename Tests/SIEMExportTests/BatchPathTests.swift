import EventModel
import EventStore
import Foundation
import SIEMExport
import Testing

/// Every format written straight from a store's column batches (what `export` and `forward` do) is
/// byte for byte what the same encoder writes from the events those rows decode to.
@Suite struct BatchPathTests {
    /// Settings that reach every option-dependent branch (default host name, HEC index).
    static let options = ExportOptions(productVersion: "9.8.7", defaultHostName: "collector-1", syslogAppName: "rv-test",
                                       syslogFacility: 4, hecIndex: "security", hecSource: "rv", hecSourcetype: "ka")

    /// Process starts known for some PIDs only, so both the table's and the stream's starts are used.
    struct SomeProcessStarts: ProcessStartLookup {
        func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? {
            hostPID % 3 == 0 ? timeNs / 1_000_000_000 * 1_000_000_000 + Int64(hostName.utf8.count) : nil
        }
    }

    /// Instances of every PID that start every 7 s (offset by the PID and the host), answered with
    /// their spans or with none (asked again for every event).
    struct PeriodicStarts: ProcessStartLookup {
        let withSpans: Bool
        static let period: Int64 = 7_000_000_000

        func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? {
            let offset = Int64(hostPID) * 1_000_003 + Int64(hostName.utf8.count) * 17
            guard timeNs >= offset else { return nil }
            return (timeNs - offset) / Self.period * Self.period + offset
        }

        func startSpan(hostName: String, hostPID: Int32, at timeNs: Int64) -> ProcessStartSpan {
            // Without spans: an empty one, so the encoder asks for every event.
            guard withSpans else { return ProcessStartSpan(startNs: startNs(hostName: hostName, hostPID: hostPID, at: timeNs), from: .max, until: .min) }
            guard let start = startNs(hostName: hostName, hostPID: hostPID, at: timeNs) else {
                return ProcessStartSpan(startNs: nil, from: .min, until: Int64(hostPID) * 1_000_003 + Int64(hostName.utf8.count) * 17)
            }
            return ProcessStartSpan(startNs: start, from: start, until: start + Self.period)
        }
    }

    /// The encoders ask the lookup again only outside the span of its last answer: the same ids as
    /// asking for every event.
    @Test(arguments: [ExportFormat.ecs, .ocsf])
    func startSpansGiveTheIDsOfAskingEveryTime(format: ExportFormat) throws {
        let store = try Self.generated.get()
        var spanned = format.encoder(Self.options, processStarts: PeriodicStarts(withSpans: true))
        var instants = format.encoder(Self.options, processStarts: PeriodicStarts(withSpans: false))
        var spannedBytes: [UInt8] = [], instantBytes: [UInt8] = []
        for batch in try store.batches() {
            for row in 0..<batch.count {
                spanned.append(batch, row: row, to: &spannedBytes)
                spannedBytes.append(10)
                instants.append(batch, row: row, to: &instantBytes)
                instantBytes.append(10)
            }
        }
        #expect(instantBytes.filter { $0 == 10 }.count == store.eventCount)
        Self.expectSameLines(spannedBytes, instantBytes, "\(format), spans")
    }

    /// Small blocks, so a store holds many and encoders cross block boundaries.
    static let writerOptions: WriterOptions = {
        var options = WriterOptions()
        options.blockEvents = 500
        return options
    }()

    /// A store of generated logs: every operation, alerts and logs, an intrusion, several hosts, extras.
    static let generated = Result { () throws -> GeneratedStore in
        let dir = GeneratedStore.directory()
        let logs = dir + "/generated.ndjson"
        try runGenerator(["--events", "6000", "--seed", "23", "--hosts", "3", "--attack", "2", "--alert-ratio", "0.15",
                          "--schema", "current", "--out", logs])
        return try GeneratedStore(importing: [logs], into: dir)
    }

    /// A store of the project's real records: the demo incident and the KubeArmor corpus.
    static let corpus = Result { () throws -> GeneratedStore in
        let dir = GeneratedStore.directory()
        return try GeneratedStore(importing: [Paths.repository + "/samples/demo-incident.ndjson", Paths.logs + "/KubeArmor/samples.ndjson",
                                              Paths.logs + "/accuknox-docs/alerts.ndjson"], into: dir)
    }

    @Test(arguments: ExportFormat.allCases)
    func generatedStoreEncodesTheSameFromColumns(format: ExportFormat) throws {
        let store = try Self.generated.get()
        #expect(store.eventCount == 6000)
        try Self.expectSameOutput(store, format)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: Paths.logs), "needs the shared corpus"), arguments: ExportFormat.allCases)
    func corpusEncodesTheSameFromColumns(format: ExportFormat) throws {
        let store = try Self.corpus.get()
        #expect(store.eventCount > 2000)
        try Self.expectSameOutput(store, format)
    }

    /// Hand-made records with what formats treat specially: hostile strings, no host name, paths
    /// ending in `/`, an empty given UpdatedTime, extras, every operation.
    @Test(arguments: ExportFormat.allCases)
    func edgeCasesEncodeTheSameFromColumns(format: ExportFormat) throws {
        var events: [Event] = []
        for (n, template) in TestEvents.handMade.enumerated() {
            for variant in 0..<4 {
                var event = template
                event.timeNs += Int64(n * 4 + variant) * 1_000_003
                event.timestamp = event.timeNs / 1_000_000_000
                switch variant {
                case 1:
                    event.hostName = ""
                    event.resource = "/var/log/"
                    event.processName = "/usr/bin/"
                    event.updatedTimeAsGiven = ""
                case 2:
                    event.containerImage = "registry.local/app"
                    event.extras = [ExtraField(key: "cluster_id", json: "\"c-\(n)\""), ExtraField(key: "Owner", json: #"{"Ref":"Pod"}"#)]
                    event.updatedTimeAsGiven = "2024-05-31T10:06:40.043498Z"
                    event.data = "syscall=SYS_EXIT code=\(n)"
                case 3:
                    event.message = ""
                    event.policyName = event.isAlert ? "" : event.policyName
                    event.severity = event.isAlert ? "high" : ""
                    event.hostPID = 0
                default: break
                }
                events.append(event)
            }
        }
        let dir = GeneratedStore.directory()
        let writer = try StoreWriter(path: dir + "/store", options: Self.writerOptions)
        try writer.append(events)
        try writer.close()
        let store = try GeneratedStore(opening: dir + "/store")
        #expect(store.eventCount == events.count)
        try Self.expectSameOutput(store, format)
    }

    /// Both paths over every block in order, each with one encoder (what one encoder learns from the
    /// stream carries across blocks), then block by block through `lines(of:)` for every third row.
    static func expectSameOutput(_ store: GeneratedStore, _ format: ExportFormat) throws {
        for lookup in [nil, SomeProcessStarts()] as [(any ProcessStartLookup)?] {
            var fromEvents = format.encoder(options, processStarts: lookup)
            var fromColumns = format.encoder(options, processStarts: lookup)
            var eventBytes: [UInt8] = [], columnBytes: [UInt8] = []
            var records = 0
            for batch in try store.batches() {
                // An event does not know when it was imported (the time exports give records without
                // one): ExportFormatTests checks that part of the batch path.
                batch.importedNs = nil
                for row in 0..<batch.count {
                    fromEvents.append(batch.event(at: row), to: &eventBytes)
                    eventBytes.append(10)
                    fromColumns.append(batch, row: row, to: &columnBytes)
                    columnBytes.append(10)
                    records += 1
                }
                let rows = stride(from: Int32(batch.count - 1), through: 0, by: -3).reversed()
                let selected = format.encoder(options, processStarts: lookup).lines(of: batch, rows: rows)
                expectSameLines(selected, format.encoder(options, processStarts: lookup).lines(of: batch.events(at: rows)), "\(format), selected rows")
            }
            #expect(records == store.eventCount)
            #expect(columnBytes.filter { $0 == 10 }.count == records)
            #expect(columnBytes.count > records * 100, "\(format): records are written")
            expectSameLines(columnBytes, eventBytes, "\(format), every row")
        }
    }

    /// Records an issue naming the first line where `columns` and `events` differ.
    static func expectSameLines(_ columns: [UInt8], _ events: [UInt8], _ what: String) {
        guard columns != events else { return }
        let a = columns.split(separator: 10, omittingEmptySubsequences: false), b = events.split(separator: 10, omittingEmptySubsequences: false)
        let line = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        func text(_ lines: [ArraySlice<UInt8>]) -> String { line < lines.count ? String(decoding: lines[line], as: UTF8.self) : "(none)" }
        Issue.record("\(what): line \(line) differs\ncolumns: \(text(a))\nevents:  \(text(b))")
    }
}

/// A store in a temporary directory (removed with the value), and its batches.
final class GeneratedStore: @unchecked Sendable {
    let directory: String
    let store: Store

    static func directory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rearview-siem-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    convenience init(importing files: [String], into directory: String) throws {
        var importer = Importer(storePath: directory + "/store")
        importer.options = BatchPathTests.writerOptions
        _ = try importer.run(files: files)
        try self.init(opening: directory + "/store")
    }

    init(opening path: String) throws {
        directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        store = try Store.open(path)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var eventCount: Int { (try? store.blocks().reduce(0) { $0 + $1.location.eventCount }) ?? 0 }

    /// Every block, decoded, in time order.
    func batches() throws -> [ColumnBatch] { try store.blocks().map { try store.batch(in: $0) } }
}

/// Runs the shared log generator.
func runGenerator(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", URL(fileURLWithPath: Paths.logs).deletingLastPathComponent().deletingLastPathComponent().path
                         + "/tools/gen-kubearmor-logs.py"] + arguments
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw GeneratorFailure() }
}

struct GeneratorFailure: Error {}
