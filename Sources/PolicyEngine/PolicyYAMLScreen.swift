import Foundation
import Yams

/// The limits policy YAML is held to before and while Yams reads it: policy files may come from a
/// compromised host or a ticket, and YAML can make a few lines cost exponential time.
///
/// KubeArmor policies are small and never need anchors or aliases, but a few lines of aliases stand for
/// an exponentially large tree (a "billion laughs"), and Yams' duplicate-key check compares alias keys
/// in exponential time. So the text is screened before Yams sees it: a file larger than
/// ``maxFileBytes``, or with an anchor (`&name`) or alias (`*name`, also in a `<<` merge) outside
/// quoted scalars, block scalars and comments, is refused at its line. Documents are then composed one
/// by one and a file whose documents hold more than ``maxNodes`` nodes in all is refused at the
/// document that passes the limit. The screen errs on the side of refusing: a `*` or `&` that starts
/// the continuation line of a multi-line plain scalar is refused too (quote such a value).
enum PolicyYAMLScreen {
    /// The largest policy file read (KubeArmor policies are a few KiB; a bundle of hundreds fits).
    static let maxFileBytes = 1 << 20
    /// The most YAML nodes (scalars, lists, mappings) one file's documents may hold.
    static let maxNodes = 100_000

    /// Reads at most ``maxFileBytes`` of `path` (a FIFO or a device is read no further), as UTF-8 text.
    static func read(_ path: String) throws(PolicyRejection) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PolicyRejection(file: path, line: 0, category: .unreadable, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            throw PolicyRejection(file: path, line: 0, category: .unreadable, reason: "cannot read: \(error.localizedDescription)")
        }
        try checkSize(data.count, file: path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw PolicyRejection(file: path, line: 0, category: .unreadable, reason: "cannot read: the file is not UTF-8 text")
        }
        return text
    }

    /// Refuses text longer than ``maxFileBytes``.
    static func checkSize(_ bytes: Int, file: String) throws(PolicyRejection) {
        guard bytes <= maxFileBytes else {
            throw PolicyRejection(file: file, line: 0, category: .refusedYAML,
                                  reason: "larger than the \(maxFileBytes >> 20) MiB limit for a policy file")
        }
    }

    /// Refuses `text` when it is too large or uses an anchor or an alias; the line is the first one's.
    static func screen(_ text: String, file: String) throws(PolicyRejection) {
        try checkSize(text.utf8.count, file: file)
        var scanner = AnchorScanner(Array(text.utf8))
        if let found = scanner.firstAnchorOrAlias() {
            let what = found.isAlias ? "alias" : "anchor"
            throw PolicyRejection(file: file, line: found.line, category: .refusedYAML,
                                  reason: "YAML \(what) \"\(found.name)\" refused: policies must not use anchors or aliases")
        }
    }

    /// The nodes of `node`, counting no further than `limit` (so a tree that shares subtrees costs no
    /// more than the limit).
    static func nodeCount(_ node: Node, upTo limit: Int) -> Int {
        var count = 0
        var pending = [node]
        while let next = pending.popLast(), count <= limit {
            count += 1
            switch next {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence): pending.append(contentsOf: sequence)
            case .scalar, .alias: break
            }
        }
        return count
    }
}

/// Finds the first YAML anchor or alias indicator in a text, skipping what cannot hold one: comments,
/// quoted scalars, plain scalars (where `*` and `&` are ordinary characters) and block scalars' content.
private struct AnchorScanner {
    struct Found {
        var isAlias: Bool
        var name: String
        var line: Int
    }

    private let b: [UInt8]
    private var i = 0
    private var line = 1
    private var lineStart = 0
    /// Inside `[…]` or `{…}`.
    private var flowDepth = 0
    /// The column of the last key, scalar or entry indicator that began on this line: a block scalar
    /// started on the line belongs to it, so its content is indented more than this.
    private var parentColumn: Int?

    init(_ bytes: [UInt8]) {
        b = bytes
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    private func at(_ k: Int) -> UInt8? { k < b.count ? b[k] : nil }
    private static func isSpace(_ c: UInt8?) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }
    private static func isBreakOrEnd(_ c: UInt8?) -> Bool { c == nil || c == 0x0A }
    private static func isFlowIndicator(_ c: UInt8?) -> Bool { c == 0x2C || c == 0x5B || c == 0x5D || c == 0x7B || c == 0x7D }
    private var column: Int { i - lineStart }

    /// Whether `c` at `k` ends a plain scalar or makes an indicator (`-`, `?`, `:`) stand alone.
    private func separates(_ k: Int) -> Bool {
        let c = at(k)
        return Self.isSpace(c) || Self.isBreakOrEnd(c) || (flowDepth > 0 && Self.isFlowIndicator(c))
    }

    mutating func firstAnchorOrAlias() -> Found? {
        while let c = at(i) {
            switch c {
            case 0x0A:
                newLine(at: i + 1)
            case 0x20, 0x09, 0x0D:
                i += 1
            case 0x23 where i == lineStart || Self.isSpace(at(i - 1)):  // # comment
                skipToEndOfLine()
            case 0x26, 0x2A:  // & anchor, * alias
                var end = i + 1
                while !separates(end) { end += 1 }
                return Found(isAlias: c == 0x2A, name: String(decoding: b[(i + 1)..<end], as: UTF8.self), line: line)
            case 0x27, 0x22:  // ' or " quoted scalar
                parentColumn = column
                skipQuoted(c)
            case 0x2D where separates(i + 1), 0x3F where separates(i + 1), 0x3A where separates(i + 1):  // - ? : indicators
                if c != 0x3A { parentColumn = column }
                i += 1
            case 0x5B, 0x7B:
                flowDepth += 1
                i += 1
            case 0x5D, 0x7D:
                flowDepth = max(0, flowDepth - 1)
                i += 1
            case 0x2C:
                i += 1
            case 0x7C where flowDepth == 0, 0x3E where flowDepth == 0:  // | > block scalar
                let parent = parentColumn ?? indentation(ofLineAt: lineStart)
                skipToEndOfLine()
                skipBlockScalarContent(parent: parent)
            case 0x21:  // ! tag
                while !separates(i) { i += 1 }
            case 0x25 where i == lineStart:  // % directive
                skipToEndOfLine()
            default:
                parentColumn = column
                skipPlain()
            }
        }
        return nil
    }

    private mutating func newLine(at start: Int) {
        line += 1
        i = start
        lineStart = start
        parentColumn = nil
    }

    private mutating func skipToEndOfLine() {
        while let c = at(i), c != 0x0A { i += 1 }
    }

    /// A plain scalar runs to the end of the line, to `: ` or ` #`, and in flow context to `,[]{}`.
    private mutating func skipPlain() {
        while let c = at(i), c != 0x0A {
            if c == 0x3A && separates(i + 1) { return }
            if Self.isSpace(c) && at(i + 1) == 0x23 { return }
            if flowDepth > 0 && Self.isFlowIndicator(c) { return }
            i += 1
        }
    }

    /// Past the closing quote (`''` is a quote inside single quotes, `\` escapes inside double ones).
    private mutating func skipQuoted(_ quote: UInt8) {
        i += 1
        while let c = at(i) {
            if c == 0x0A {
                line += 1
                lineStart = i + 1
            } else if quote == 0x22 && c == 0x5C {
                if at(i + 1) == 0x0A {
                    line += 1
                    lineStart = i + 2
                }
                i += 1
            } else if c == quote {
                if quote == 0x27 && at(i + 1) == 0x27 {
                    i += 1
                } else {
                    i += 1
                    return
                }
            }
            i += 1
        }
    }

    /// Leading spaces of the line starting at `start`.
    private func indentation(ofLineAt start: Int) -> Int {
        var k = start
        while at(k) == 0x20 { k += 1 }
        return k - start
    }

    /// Skips the lines of a block scalar's content: blank lines, and lines indented at least as much as
    /// its first non-blank line when that one is indented more than `parent`.
    private mutating func skipBlockScalarContent(parent: Int) {
        var contentIndent: Int?
        while at(i) == 0x0A {
            let start = i + 1
            let indent = indentation(ofLineAt: start)
            var k = start + indent
            while Self.isSpace(at(k)) { k += 1 }
            let blank = Self.isBreakOrEnd(at(k))
            if !blank {
                if let contentIndent, indent < contentIndent { return }
                if contentIndent == nil {
                    guard indent > parent else { return }
                    contentIndent = indent
                }
            }
            newLine(at: start)
            skipToEndOfLine()
        }
    }
}
