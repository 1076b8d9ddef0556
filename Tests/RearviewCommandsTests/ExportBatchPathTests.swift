import EventModel
import EventStore
import Foundation
import Investigation
import RearviewCommands
import SIEMExport
import Testing

/// `export` writes every format from the column batches, on several threads, with process ids from
/// the store's process table looked up once per span: byte for byte what the encoders write from
/// the store's events, block by block, asking the table for every event.
@Suite(.serialized) struct ExportBatchPathTests {
    /// The process table asked for every event (an empty span each time: what `export` did before spans).
    struct EveryEventLookup: ProcessStartLookup {
        let table: ProcessInstanceTable
        func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? {
            table.startNs(hostName: hostName, hostPID: hostPID, at: timeNs)
        }
        func startSpan(hostName: String, hostPID: Int32, at timeNs: Int64) -> ProcessStartSpan {
            ProcessStartSpan(startNs: startNs(hostName: hostName, hostPID: hostPID, at: timeNs), from: .max, until: .min)
        }
    }

    @Test func everyFormatIsTheEventPathsOutput() throws {
        let scratch = Scratch()
        let logs = scratch.path + "/logs.ndjson"
        try Shared.generate(logs, ["--events", "20000", "--seed", "31", "--hosts", "3", "--attack", "2", "--alert-ratio", "0.1", "--pid-max", "1000"])
        let path = scratch.path + "/store"
        let imported = try CLI.run(["import", "--store", path, logs])
        #expect(imported.status == 0, "\(imported.stderr)")
        let store = try Store.open(path)
        let blocks = try store.blocks()
        #expect(blocks.count > 1)
        let lookup = EveryEventLookup(table: try StoredProcessTable(store: store).table())
        let options = ExportOptions(productVersion: RearviewVersion.current, defaultHostName: "collector-1")
        for format in ExportFormat.allCases {
            let run = try CLI.run(["export", "--store", path, "--format", format.rawValue, "--host-name", "collector-1"])
            #expect(run.status == 0, "\(format): \(run.stderr)")
            // As export does: each block by a fresh copy of one encoder, blocks in time order.
            let encoder = format.encoder(options, processStarts: format == .ecs || format == .ocsf ? lookup : nil)
            var expected: [UInt8] = []
            for block in blocks { expected += encoder.lines(of: try store.batch(in: block).events()) }
            #expect(expected.filter { $0 == 10 }.count == 20000)
            let exported = [UInt8](run.stdoutBytes)
            if exported != expected {
                let a = exported.split(separator: 10), b = expected.split(separator: 10)
                let line = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                Issue.record("\(format): line \(line) differs (\(a.count) lines, \(b.count) expected)")
            }
        }
    }
}
