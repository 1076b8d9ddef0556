import Foundation
import Testing

/// The man pages in man/: what `make man` writes from the current help, free of mdoc warnings, with
/// every character of the help and each command's real exit statuses.
@Suite struct ManualPageTests {
    static let pages = ["rearview", "rearview.evaluate", "rearview.export", "rearview.forward", "rearview.import",
                        "rearview.info", "rearview.keygen", "rearview.prune", "rearview.query", "rearview.record", "rearview.reindex",
                        "rearview.report", "rearview.timeline", "rearview.tree", "rearview.verify"]

    /// Writes the pages ManualPageWriter (built next to rearview) makes now into `scratch`.
    static func generate(into scratch: Scratch) throws {
        let writer = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().appendingPathComponent("ManualPageWriter").path
        let run = try CLI.run([CLI.binary, scratch.path, "December 4, 2026"], executable: writer)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// A page without its .Dd line (the date `make man` ran).
    static func undated(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix(".Dd ") }.joined(separator: "\n")
    }

    @Test func committedPagesAreTheHelpOfNow() throws {
        let fresh = Scratch()
        try Self.generate(into: fresh)
        let committed = try FileManager.default.contentsOfDirectory(atPath: Shared.repository + "/man").sorted()
        #expect(committed == Self.pages.map { $0 + ".1" })
        for page in Self.pages {
            #expect(try Self.undated(Shared.repository + "/man/\(page).1") == Self.undated(fresh.path + "/\(page).1"),
                    "man/\(page).1 is stale: run make man")
        }
    }

    @Test func pagesRenderWithoutWarningsAndKeepEveryCharacter() throws {
        for page in Self.pages {
            let path = Shared.repository + "/man/\(page).1"
            let lint = try CLI.run(["-mandoc", "-Tutf8", "-ww", "-z", path], executable: "/usr/bin/groff")
            #expect(lint.status == 0 && lint.stderr.isEmpty, "\(page): \(lint.stderr)")
        }
        let query = try CLI.run(["-mandoc", "-Tutf8", "-rLL=300n", Shared.repository + "/man/rearview.query.1"], executable: "/usr/bin/groff")
        #expect(query.stdout.contains("quoted with '…' or \"…\""))
        #expect(query.stdout.contains("rearview query --type alert --group-by PolicyName,Action"))
    }

    @Test func exitStatusListsTheCodesTheHelpGives() throws {
        for (page, codes) in [("rearview.query", ["0", "1", "2", "3"]), ("rearview.record", ["0", "2", "3", "4"]),
                              ("rearview.forward", ["0", "2", "3", "5"]), ("rearview.verify", ["0", "2", "3"]),
                              ("rearview.keygen", ["0", "2"])] {
            let text = try String(contentsOfFile: Shared.repository + "/man/\(page).1", encoding: .utf8)
            let section = try #require(text.components(separatedBy: ".Sh \"EXIT STATUS\"\n").last?.components(separatedBy: ".El").first)
            let listed = section.split(separator: "\n").filter { $0.hasPrefix(".It ") }.map { String($0.dropFirst(4)) }
            #expect(listed == codes, "\(page)")
            let help = try CLI.run([String(page.dropFirst("rearview.".count)), "--help"])
            #expect(help.stdout.contains("Exit status: 0 "), "\(page)")
        }
        let tree = try CLI.run(["tree", "--store", Shared.repository + "/does-not-exist", "--pid", "1"])
        #expect(tree.status == 2, "usage errors exit as documented")
    }
}
