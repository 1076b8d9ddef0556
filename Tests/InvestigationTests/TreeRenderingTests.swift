import EventModel
import Foundation
import Testing
@testable import Investigation

@Suite struct TreeRenderingTests {
    let table = TreeScenario().table

    /// The text with times replaced by `T`, so the check is about structure.
    func withoutTimes(_ text: String) -> String {
        text.replacing(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/, with: "T")
    }

    @Test func textIsDrawnLikePstreeWithChainsTimesAndCounts() {
        let text = ProcessTreeRenderer(ProcessTree(table: table, selecting: .hostPID(300))).text()
        #expect(withoutTimes(text) == """
            [node-1] systemd(1) · uid 0 · T – last seen T · snapshot
            └─ sshd(10) · uid 0 · T – last seen T · snapshot
               └─ *sshd → bash(300) · uid 0 · T – T · exit 130
                  ├─ bash → curl(301) -sO http://example.com/ · uid 0 · T – T · exit 0 · file 1 · network 1
                  └─ bash → sleep(302) 600 · uid 0 · T – last seen T · reaped by systemd(1)

            """)
    }

    @Test func aReaperOutsideTheTreeIsNamedToo() {
        let text = ProcessTreeRenderer(ProcessTree(table: table, selecting: .hostPID(302), ancestors: false)).text()
        #expect(withoutTimes(text) == "[node-1] bash → sleep(302) 600 · uid 0 · T – last seen T · reaped by systemd(1)\n")
    }

    @Test func textShowsNamespacePIDsContainersPlaceholdersAndInference() {
        let text = ProcessTreeRenderer(ProcessTree(table: table, selecting: .hostName("node-2"))).text()
        #expect(withoutTimes(text) == """
            [node-2] containerd-shim-runc-v2(340) · placeholder: no event of its own · T – last seen T
            └─ apache2(350/1) · uid 33 · container 6e3d6e3dfa2c · T – last seen T · file 1
               ├─ apache2 → dash(400/7) · uid 33 · container 6e3d6e3dfa2c · T – last seen T
               └─ apache2 → id(400/9) · uid 33 · container 6e3d6e3dfa2c · T – last seen T · inferred-from-logs:exec-after-idle

            """)
    }

    @Test func hostileNamesAreEscapedInText() {
        var s = ProcessScript()
        s.exec(pid: 5, ppid: 1, name: "/tmp/\u{1B}[2Jevil\nroot(1)", parent: "/bin/sh", arguments: "a\u{202E}b\u{7}")
        let table = s.build().table
        let text = ProcessTreeRenderer(ProcessTree(table: table, selecting: .all)).text()
        #expect(!text.contains("\u{1B}") && !text.contains("\u{202E}") && !text.contains("\u{7}"))
        #expect(text.split(separator: "\n").count == 2, "one line per process")
        #expect(text.contains(#"sh → \x1b[2Jevil\nroot(1)(5) a\u{202e}b\x07"#))
    }

    @Test func longArgumentsAreCutInTheMiddleSoBothEndsShow() {
        var s = ProcessScript()
        let arguments = "-c " + String(repeating: "x", count: 500) + " /etc/shadow"
        s.exec(pid: 5, ppid: 1, name: "/usr/bin/env", parent: "/bin/sh", arguments: arguments)
        let tree = ProcessTree(table: s.build().table, selecting: .hostPID(5))
        let line = ProcessTreeRenderer(tree, argumentLimit: 23).text().split(separator: "\n")[1]
        #expect(line.contains("env(5) -c xxxxxxxx…/etc/shadow · uid 0"), "\(line)")
        let wide = ProcessTreeRenderer(tree, argumentLimit: nil).text().split(separator: "\n")[1]
        #expect(wide.contains("env(5) " + arguments + " · uid 0"))
    }

    @Test func jsonHasTheDocumentedShape() throws {
        let json = ProcessTreeRenderer(ProcessTree(table: table, selecting: .hostPID(300))).json()
        let keys = ["HostName", "HostPID", "PID", "StartNs", "ExitNs", "Images", "UID", "ContainerID", "Inferred",
                    "Placeholder", "Events", "Children"]
        #expect(json.hasPrefix("[{" + keys.map { "\"\($0)\":" }.first!))
        let roots = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(roots.count == 1)
        var nodes: [[String: Any]] = []
        var pending = roots
        while let node = pending.popLast() {
            nodes.append(node)
            #expect(Set(node.keys) == Set(keys))
            pending += node["Children"] as! [[String: Any]]
        }
        #expect(nodes.count == 5)
        let curl = try #require(nodes.first { $0["HostPID"] as? Int == 301 })
        #expect(curl["Images"] as? [String] == ["/usr/bin/bash", "/usr/bin/curl"])
        #expect(curl["Events"] as? [String: Int] == ["Process": 3, "File": 1, "Network": 1])
        #expect(curl["ExitNs"] as? Int != nil && curl["Inferred"] as? String == "recorded")
        #expect(curl["Placeholder"] as? Bool == false && curl["UID"] as? Int == 0 && curl["ContainerID"] as? String == "")
        let systemd = try #require(nodes.first { $0["HostPID"] as? Int == 1 })
        #expect(systemd["ExitNs"] is NSNull)
        let placeholder = ProcessTreeRenderer(ProcessTree(table: self.table, selecting: .hostPID(340))).json()
        #expect(placeholder.contains(#""UID":null,"ContainerID":"","Inferred":"placeholder","Placeholder":true,"Events":{}"#))
        #expect(ProcessTreeRenderer(ProcessTree(table: self.table, selecting: .hostPID(9))).json() == "[]")
    }

    @Test func dotHasParentEdgesAndDashedReaperEdges() throws {
        let dot = ProcessTreeRenderer(ProcessTree(table: table, selecting: .hostPID(300))).dot()
        let id = { (pid: Int32) in table.of(pid)[0].id }
        #expect(dot.hasPrefix("digraph processes {\n"))
        #expect(dot.hasSuffix("}\n"))
        #expect(dot.contains("  p\(id(10)) -> p\(id(300));\n"))
        #expect(dot.contains("  p\(id(300)) -> p\(id(302));\n"))
        #expect(dot.contains("  p\(id(1)) -> p\(id(302)) [style=dashed, label=\"reaper\"];\n"))
        #expect(dot.contains("  p\(id(300)) [label=\"sshd → bash(300)\\nuid 0\\n"))
        #expect(dot.contains(", style=bold];"), "the selected instance is bold")
        #expect(ProcessTreeRenderer.dotString("a\"b\\c\nd") == #""a\"b\\c\nd""#)
    }
}
