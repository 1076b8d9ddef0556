import EventModel
import SIEMExport
import Testing

/// `RecordEncoder.lines(of:pieces:)`: encoding in parallel parts gives the bytes one encoder gives.
@Suite struct ParallelLinesTests {
    /// Events that differ from each other (time, pids, paths), of every operation.
    static let events: [Event] = (0..<5000).map { n in
        var event = [TestEvents.exec, TestEvents.base("File"), TestEvents.base("Network")][n % 3]
        event.timeNs = TestEvents.timeNs + Int64(n) * 1_000
        event.seq = UInt64(n + 1)
        event.hostPID = 1000 + Int32(n % 97)
        event.resource = "/tmp/file-\(n)"
        return event
    }

    /// Starts for every process, as the store's process table would give them.
    struct EveryProcessStartsAtZero: ProcessStartLookup {
        func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? { 0 }
    }

    @Test(arguments: ExportFormat.allCases)
    func partsJoinToTheSequentialOutput(format: ExportFormat) {
        let encoder = format.encoder(ExportOptions(), processStarts: EveryProcessStartsAtZero())
        let sequential: [UInt8] = Encode.bytes(Self.events, format).flatMap { record -> [UInt8] in record + [10] }
        let parallel = encoder.lines(of: Self.events, pieces: 4)
        let lookupOnly = format.encoder(ExportOptions(), processStarts: EveryProcessStartsAtZero()).lines(of: Self.events, pieces: 1)
        #expect(parallel == lookupOnly)
        if format != .ecs && format != .ocsf {
            #expect(parallel == sequential)
        }
        #expect(parallel.filter { $0 == 10 }.count == Self.events.count)
        #expect(encoder.lines(of: [], pieces: 4).isEmpty)
    }
}
