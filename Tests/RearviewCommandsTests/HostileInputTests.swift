import EventModel
import Foundation
import Testing

/// Attacker-chosen strings (paths and commands with newlines, terminal escapes, direction overrides,
/// backslashes, invalid UTF-8) are stored exactly and printed escaped for terminals.
@Suite(.serialized) struct HostileInputTests {
    /// One KubeArmor record in Go's `json.Marshal` form (so export must reproduce it byte for byte):
    /// an erase-screen escape in HostName, a window-title escape with BEL in ProcessName, a newline,
    /// a right-to-left override and a literal `\x1b` (backslash, not an escape) in Resource.
    static let record = #"{"Timestamp":1717150000,"UpdatedTime":"2024-05-31T10:06:40.000000Z","ClusterName":"default","HostName":"node\u001b[2J","HostPID":10,"HostPPID":1,"PID":10,"PPID":1,"UID":0,"ProcessName":"/tmp/evil\u001b]0;pwned\u0007","ParentProcessName":"/bin/sh","Source":"/bin/sh","Operation":"File","Resource":"/tmp/a\nFAKE LINE"# + "\u{202E}" + #"cod.exe\\x1b","Data":"syscall=SYS_OPENAT","Result":"Passed","Type":"HostLog"}"#

    @Test func importedHostileStringsAreStoredExactlyAndPrintedEscaped() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let input = scratch.write("hostile.ndjson", Self.record + "\n")
        #expect(try CLI.run(["import", "--store", store, input]).status == 0)
        let exported = try CLI.run(["export", "--store", store, "--format", "kubearmor"])
        #expect(exported.stdout == Self.record + "\n", "stored exactly: export gives the input back byte for byte")

        let table = try CLI.run(["query", "--store", store, "--format", "table", "--columns", "HostName,ProcessName,Resource"])
        #expect(table.status == 0)
        #expect(!table.stdoutBytes.contains(0x1B) && !table.stdoutBytes.contains(0x07))
        #expect(lines(table.stdout).count == 2, "a header and one row: the newline in Resource forges no line")
        #expect(table.stdout.contains(#"node\x1b[2J"#))
        #expect(table.stdout.contains(#"/tmp/evil\x1b]0;pwned\x07"#))
        // The override is shown, not obeyed; the literal backslash is doubled, so it cannot pass for an escape.
        #expect(table.stdout.contains(#"/tmp/a\nFAKE LINE\u{202e}cod.exe\\x1b"#), "\(table.stdout)")

        let timeline = try CLI.run(["timeline", "--store", store])
        #expect(timeline.status == 0)
        #expect(!timeline.stdoutBytes.contains(0x1B) && !timeline.stdoutBytes.contains(0x07))
        #expect(lines(timeline.stdout).count == 1, "\(timeline.stdout)")
        #expect(timeline.stdout.contains(#"node\x1b[2J"#))
        #expect(timeline.stdout.contains(#"/tmp/a\nFAKE LINE\u{202e}cod.exe\\x1b"#), "\(timeline.stdout)")
    }

    @Test func invalidUTF8InImportedJSONIsRejectedAndKeptVerbatim() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store"
        let line = Data(#"{"Timestamp":1717150001,"HostName":"n","Operation":"File","Resource":"/tmp/"#.utf8) + Data([0xFF, 0xFE])
            + Data(#""}"#.utf8)
        let input = scratch.path + "/bad.ndjson"
        try (line + Data([0x0A])).write(to: URL(fileURLWithPath: input))
        let imported = try CLI.run(["import", "--store", store, input])
        #expect(imported.status == 2)
        #expect(imported.stderr.contains("bad.ndjson:1: invalid UTF-8"))
        let rejects = try FileManager.default.contentsOfDirectory(atPath: store + "/rejects").filter { $0.hasSuffix(".rejected") }
        #expect(rejects.count == 1)
        let kept = try Data(contentsOf: URL(fileURLWithPath: store + "/rejects/" + rejects[0]))
        #expect(kept == line + Data([0x0A]))
    }

    @Test(.enabled(if: geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs root and BTF to record"))
    func recordedHostilePathsAreStoredExactlyAndPrintedEscaped() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", directory = scratch.path + "/hostile"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let recorder = try Recording(["record", "--store", store, "--events", "file", "--duration", "3s"])
        guard recorder.waitUntilRecording() else {
            recorder.kill()
            Issue.record("record did not start: \(recorder.stderr)")
            return
        }
        let names: [[UInt8]] = [Array("esc\u{1B}[2Jx".utf8), Array("nl\nFAKE".utf8), Array(#"back\x1bslash"#.utf8),
                                Array("bad".utf8) + [0xFF, 0xFE] + Array("utf8".utf8)]
        for name in names {
            let path = Array(directory.utf8) + [UInt8(ascii: "/")] + name + [0]
            let fd = path.withUnsafeBufferPointer { $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: path.count) { open($0, O_CREAT | O_WRONLY, 0o644) } }
            #expect(fd >= 0)
            close(fd)
        }
        #expect(recorder.waitUntilExit() == 0, "\(recorder.stderr)")
        let query = "Resource glob \"\(directory)/*\""
        let stored = try CLI.run(["query", "--store", store, query, "--format", "ndjson"])
        let resources = Set(try lines(stored.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .compactMap { $0["Resource"] as? String })
        #expect(resources.contains(directory + "/esc\u{1B}[2Jx"))
        #expect(resources.contains(directory + "/nl\nFAKE"))
        #expect(resources.contains(directory + #"/back\x1bslash"#))
        // Kernel bytes that are not UTF-8 are kept exactly (KubeArmor's JSON would write U+FFFD).
        let badPath = Array(directory.utf8) + Array("/bad".utf8) + [0xFF, 0xFE] + Array("utf8".utf8)
        #expect(resources.contains { KernelText.bytes(of: $0) == badPath }, "\(resources)")

        let table = try CLI.run(["query", "--store", store, query, "--format", "table", "--columns", "Resource"])
        #expect(!table.stdoutBytes.contains(0x1B))
        #expect(lines(table.stdout).count == 1 + lines(stored.stdout).count, "\(table.stdout)")
        #expect(table.stdout.contains(#"/esc\x1b[2Jx"#) && table.stdout.contains(#"/nl\nFAKE"#))
        #expect(table.stdout.contains(#"/back\\x1bslash"#))
        #expect(table.stdout.contains(#"/bad\xff\xfeutf8"#), "\(table.stdout)")
    }
}
