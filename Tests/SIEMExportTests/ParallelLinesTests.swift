import EventModel
import SIEMExport
import Testing

/// `RecordEncoder.lines(of:)`: encoding blocks with copies of the encoder (as `export` does) gives the
/// bytes one encoder gives.
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
        let whole = encoder.lines(of: Self.events)
        let blocks = stride(from: 0, to: Self.events.count, by: 1234).flatMap {
            encoder.lines(of: Self.events[$0..<min($0 + 1234, Self.events.count)])
        }
        #expect(blocks == whole)
        if format != .ecs && format != .ocsf {
            #expect(whole == sequential)
        }
        #expect(whole.filter { $0 == 10 }.count == Self.events.count)
        #expect(encoder.lines(of: [Event]()).isEmpty)
    }
}
