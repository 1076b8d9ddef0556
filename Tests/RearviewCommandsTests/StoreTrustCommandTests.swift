import Foundation
import Testing

/// The store-trust, `--out` and token-file attacks through the command line: each refusal is one
/// line on stderr and exit 2, and what the attack aimed at is left as it was.
@Suite struct StoreTrustCommandTests {
    static let isRoot = geteuid() == 0

    func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    @Test(.enabled(if: isRoot, "chown needs root")) func importIntoAStoreAnotherUserMadeIsRefused() throws {
        let scratch = Scratch()
        let victim = scratch.write("victim", "the victim's own bytes\n")
        let store = scratch.path + "/incident"
        try FileManager.default.createDirectory(atPath: store + "/segments", withIntermediateDirectories: true)
        for link in ["lock", "index.sqlite", "segments/000001.rvseg.sig.tmp"] {
            #expect(symlink(victim, store + "/" + link) == 0)
            lchown(store + "/" + link, 65534, 65534)
        }
        chown(store + "/segments", 65534, 65534)
        chown(store, 65534, 65534)
        let run = try CLI.run(["import", "--store", store, Shared.repository + "/samples/demo-incident.ndjson"])
        #expect(run.status == 2)
        #expect(run.stderr == "rearview: \(store): owned by uid 65534, not by the user running rearview (uid 0); refusing to write into a directory another user controls\n")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "the victim's own bytes\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).sorted() == ["index.sqlite", "lock", "segments"])
    }

    @Test func aStoreOthersCanWriteIsRefusedByEveryCommand() throws {
        let demo = DemoStore.imported()  // keeps the scratch directory alive
        let store = demo.store
        chmod(store, 0o777)
        let line = "rearview: \(store): writable by group and others (mode 777); refusing a store other users can change (chmod go-w it)\n"
        let commands: [[String]] = [
            ["query"], ["info"], ["verify"], ["export"], ["timeline"], ["tree"], ["report"], ["evaluate", "--policy", Shared.repository + "/samples/policies"],
            ["reindex"], ["import", Shared.repository + "/samples/demo-incident.ndjson"],
        ]
        for command in commands {
            let run = try CLI.run(command + ["--store", store])
            #expect(run.status == 2, "\(command)")
            #expect(run.stderr == line, "\(command)")
        }
    }

    @Test func outAtADirectoryIsRefusedAndTheDirectorySurvives() throws {
        let (scratch, store) = DemoStore.imported()
        let directory = scratch.path + "/evidence"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let kept = scratch.write("evidence/notes.txt", "case notes\n")
        for command in [["export"], ["report", "--format", "md"]] {
            let run = try CLI.run(command + ["--store", store, "--out", directory])
            #expect(run.status == 2, "\(command)")
            #expect(run.stderr == "rearview: \(directory): is a directory; give the name of a file to write\n", "\(command)")
            #expect(try String(contentsOfFile: kept, encoding: .utf8) == "case notes\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["notes.txt"])
        }
    }

    @Test func aFailingExportLeavesTheOldFileAndNoTemporary() throws {
        let (scratch, store) = DemoStore.imported()
        let out = scratch.write("incident.ndjson", "the previous export\n")
        let before = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
        // The only segment's file gone: the export fails after it began (a damaged block would not
        // fail it: the intact blocks are written, see DamagedBlockReadTests).
        try FileManager.default.moveItem(atPath: store + "/segments/000001.rvseg", toPath: store + "/000001.rvseg.moved")
        let run = try CLI.run(["export", "--store", store, "--out", out])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("000001.rvseg: open failed: No such file or directory"), "\(run.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "the previous export\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == before)
    }

    @Test func outFilesAreReadableByTheirOwnerOnly() throws {
        let (scratch, store) = DemoStore.imported()
        for (command, name) in [(["export"], "events.ndjson"), (["report", "--format", "json"], "report.json")] {
            let out = scratch.path + "/" + name
            let run = try CLI.run(command + ["--store", store, "--out", out])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(mode(out) == 0o600, "\(name)")
        }
        #expect(mode(store) == 0o700)
    }

    @Test func aTokenFileOthersCanReadIsRefused() throws {
        let scratch = Scratch()
        let token = scratch.write("hec.token", "s3cret-hec\n")
        chmod(token, 0o644)
        let run = try CLI.run(["forward", "--store", scratch.path + "/store", "--to", "https://127.0.0.1:1/services/collector/event",
                               "--token-file", token])
        #expect(run.status == 2)
        #expect(run.stderr == "rearview: --token-file \(token): the token file is readable by other users (mode 644); chmod 600 it\n")
    }
}
