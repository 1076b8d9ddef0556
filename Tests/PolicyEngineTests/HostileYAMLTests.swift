import Foundation
import Testing
@testable import PolicyEngine

/// Policy YAML that fights back: alias bombs, anchors hidden in odd places, huge files and trees.
@Suite struct HostileYAMLTests {
    /// The one rejection of loading `yaml`, which must be a refusal by the screen.
    static func refusal(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> PolicyRejection {
        let result = PolicyLoader.load(yaml: yaml, file: "hostile.yaml")
        #expect(result.policies.isEmpty, sourceLocation: sourceLocation)
        #expect(result.rejections.count == 1, "\(result.rejections)", sourceLocation: sourceLocation)
        let rejection = try #require(result.rejections.first, sourceLocation: sourceLocation)
        #expect(rejection.category == .refusedYAML, "\(rejection)", sourceLocation: sourceLocation)
        return rejection
    }

    /// A "billion laughs": each level an anchored list of two aliases of the level below, 2^30 leaves
    /// in 31 short lines, used as a mapping key (Yams' duplicate-key check compares such keys in full).
    static let aliasBomb: String = {
        var text = "apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nl0: &l0 [lol, lol]\n"
        for level in 1...30 { text += "l\(level): &l\(level) [*l\(level - 1), *l\(level - 1)]\n" }
        return text + "bomb:\n  ? *l30\n  : 1\n  ? *l29\n  : 2\n"
    }()

    @Test(.timeLimit(.minutes(1)))
    func anAliasBombIsRefusedAtItsFirstAnchorWithinAMoment() throws {
        let clock = ContinuousClock()
        var rejection: PolicyRejection?
        let elapsed = try clock.measure { rejection = try Self.refusal(Self.aliasBomb) }
        #expect(elapsed < .seconds(1), "refused in \(elapsed)")
        #expect(rejection?.description == #"hostile.yaml:3: YAML anchor "l0" refused: policies must not use anchors or aliases"#)
    }

    @Test func anchorsAndAliasesAreFoundWhereverYAMLReadsThem() throws {
        let cases: [(String, Int, String)] = [
            ("a: [x, *y]\n", 1, #"alias "y""#),
            ("base: {a: 1}\nmore:\n  <<: *base\n", 3, #"alias "base""#),
            ("a: !!str &t x\n", 1, #"anchor "t""#),
            ("- key: |\n    text *not-an-alias\n  other: ok\n- *real\n", 4, #"alias "real""#),
            // A block scalar ends where a line is not indented more than its key: this is a sibling key.
            ("- key: |\n  other: *sibling\n", 2, #"alias "sibling""#),
            ("a: 'it''s'\nb: \"q\\\"\" # *comment\nc:\n- &entry x\n", 4, #"anchor "entry""#),
            ("a: 1\n---\nb: *second-document\n", 3, #"alias "second-document""#),
            ("? *key\n: v\n", 1, #"alias "key""#),
            ("a:\n  b: plain text\n  c: *deep\n", 3, #"alias "deep""#),
        ]
        for (yaml, line, what) in cases {
            let rejection = try Self.refusal(yaml)
            #expect(rejection.line == line && rejection.reason.contains(what), "\(yaml): \(rejection)")
        }
    }

    @Test func starsAndAmpersandsInsideValuesAreNotAnchors() {
        let policies = Fixture.policies(Fixture.podPolicy("""
            # a comment may say &anchor and *alias
            message: cats & dogs *everywhere*
            tags: ["&quoted", '*single', "MITRE&T1059"]
            process:
              matchPatterns:
              - pattern: /**/*.sh
                message: |
                  *literal &block text
                  at two lines
              action: Block
            """))
        #expect(policies.count == 1)
        let spec = policies.first?.spec
        #expect(spec?.attributes.message == "cats & dogs *everywhere*")
        #expect(spec?.attributes.tags == ["&quoted", "*single", "MITRE&T1059"])
        #expect(spec?.process.rules.first?.declared.message == "*literal &block text\nat two lines\n")
    }

    @Test func aFileLargerThanTheLimitIsRefusedUnread() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rearview-yaml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let big = directory.appendingPathComponent("big.yaml").path
        try Data(repeating: 0x23, count: PolicyYAMLScreen.maxFileBytes + 1).write(to: URL(fileURLWithPath: big))
        // /dev/zero never ends: it is read no further than the limit.
        let result = PolicyLoader.load(paths: [big, "/dev/zero"])
        #expect(result.policies.isEmpty)
        #expect(result.rejections.map(\.description) == [big, "/dev/zero"].map { "\($0):0: larger than the 1 MiB limit for a policy file" })
        #expect(result.rejections.allSatisfy { $0.category == .refusedYAML })
    }

    @Test func aFileWithTooManyNodesIsRefused() throws {
        // A policy, then a document of 100,000 list items: the policy before it still loads.
        let items = Array(repeating: "a", count: PolicyYAMLScreen.maxNodes).joined(separator: ",")
        let policy = Fixture.podPolicy("process:\n  matchPaths:\n  - path: /bin/sh")
        let result = PolicyLoader.load(yaml: policy + "\n---\nkind: [\(items)]\n", file: "nodes.yaml")
        #expect(result.policies.count == 1)
        let lines = policy.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(result.rejections.map(\.description)
                == ["nodes.yaml:\(lines + 2): more than 100000 YAML nodes in the file; the rest of it is not read"])
        #expect(result.rejections.first?.category == .refusedYAML)
    }
}
