// Writes rearview's man pages (mdoc) from the command tree that `rearview --experimental-dump-help`
// prints: one page per command, with every character of the help (non-ASCII as \[uXXXX]), paragraphs
// as .Pp, examples as literal displays, and an EXIT STATUS section made from the help's
// "Exit status:" paragraph. `make man` runs it.
//
// Usage: ManualPageWriter REARVIEW-BINARY OUTPUT-DIRECTORY DATE (e.g. "December 4, 2026")
import Foundation

/// A command of the dumped tree, as far as the pages need it.
struct Command {
    var name: String
    var path: [String]
    var abstract: String
    var discussion: String
    var arguments: [Argument]
    var subcommands: [Command]

    init(_ object: [String: Any], parents: [String]) {
        name = object["commandName"] as? String ?? ""
        path = parents + [name]
        abstract = object["abstract"] as? String ?? ""
        discussion = object["discussion"] as? String ?? ""
        arguments = (object["arguments"] as? [[String: Any]] ?? []).map(Argument.init).filter(\.shown)
        let path = self.path
        subcommands = (object["subcommands"] as? [[String: Any]] ?? []).map { Command($0, parents: path) }
            .filter { $0.name != "help" }
    }

    /// `rearview.query`: the page's file name and title.
    var pageName: String { path.joined(separator: ".") }
}

/// An option, flag or positional argument.
struct Argument {
    var kind: String
    var names: [String]
    var valueName: String
    var abstract: String
    var discussion: String
    var isOptional: Bool
    var isRepeating: Bool
    var defaultValue: String?
    var shown: Bool

    init(_ object: [String: Any]) {
        kind = object["kind"] as? String ?? "option"
        names = (object["names"] as? [[String: Any]] ?? []).compactMap { name in
            guard let text = name["name"] as? String else { return nil }
            return (name["kind"] as? String == "long" ? "-" : "") + text
        }
        valueName = object["valueName"] as? String ?? ""
        abstract = object["abstract"] as? String ?? ""
        discussion = object["discussion"] as? String ?? ""
        isOptional = object["isOptional"] as? Bool ?? true
        isRepeating = object["isRepeating"] as? Bool ?? false
        defaultValue = object["defaultValue"] as? String
        shown = object["shouldDisplay"] as? Bool ?? true
    }

    /// `Fl -store Ar dir ...`: the argument in macro form.
    var macro: String {
        var parts: [String] = []
        if kind == "positional" {
            parts.append("Ar " + MDoc.argument(valueName))
        } else {
            parts.append(names.map { "Fl " + MDoc.argument($0) }.joined(separator: " , "))
            if kind == "option" { parts.append("Ar " + MDoc.argument(valueName)) }
        }
        if isRepeating { parts.append("...") }
        return parts.joined(separator: " ")
    }
}

/// mdoc text: escaping and the page's parts.
enum MDoc {
    /// Backslashes as \e, non-ASCII as \[uXXXX].
    static func escaped(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\e"
            case _ where scalar.isASCII: out.unicodeScalars.append(scalar)
            default: out += "\\[u" + String(format: "%04X", scalar.value) + "]"
            }
        }
        return out
    }

    /// A text line: escaped, and a leading control character made plain text.
    static func text(_ line: String) -> String {
        let out = escaped(line)
        return out.hasPrefix(".") || out.hasPrefix("'") ? "\\&" + out : out
    }

    /// A macro argument: escaped and quoted (a double quote as \(dq).
    static func argument(_ value: String) -> String {
        "\"" + escaped(value).replacingOccurrences(of: "\"", with: "\\(dq") + "\""
    }

    /// Discussion text as mdoc: paragraphs separated by .Pp, indented runs as literal displays. The
    /// "Exit status:" paragraph is left out (it makes its own section).
    static func body(_ paragraphs: [String]) -> [String] {
        var lines: [String] = []
        var literal = false
        for (index, paragraph) in paragraphs.enumerated() {
            if index > 0 { lines.append(".Pp") }
            for line in paragraph.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                let indented = line.hasPrefix("  ")
                if indented && !literal { lines.append(".Bd -literal -offset indent"); literal = true }
                if !indented && literal { lines.append(".Ed"); literal = false }
                lines.append(text(indented ? String(line.dropFirst(2)) : line))
            }
            if literal { lines.append(".Ed"); literal = false }
        }
        return lines
    }

    /// The EXIT STATUS section from "Exit status: 0 meaning; 1 meaning; …".
    static func exitStatus(_ paragraph: String) -> [String] {
        let items = paragraph.dropFirst(exitStatusPrefix.count).split(separator: ";").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        var lines = [".Sh \"EXIT STATUS\"", ".Bl -tag -width 2n"]
        for item in items {
            let code = item.prefix { $0.isNumber }
            lines.append(".It " + code)
            lines.append(text(item.dropFirst(code.count).trimmingCharacters(in: .whitespaces)))
        }
        lines.append(".El")
        return lines
    }
}

/// How the help's exit status paragraph starts.
let exitStatusPrefix = "Exit status:"

/// The page of `command`.
func page(_ command: Command, date: String) -> String {
    let paragraphs = command.discussion.components(separatedBy: "\n\n").filter { !$0.isEmpty }
    let exit = paragraphs.first { $0.hasPrefix(exitStatusPrefix) }
    var lines = [
        ".\\\" Written by ManualPageWriter from rearview's help; edit the help, then run make man.",
        ".Dd " + date,
        ".Dt " + command.pageName.uppercased() + " 1",
        ".Os",
        ".Sh NAME",
        ".Nm " + MDoc.argument(command.path.joined(separator: " ")),
        ".Nd " + MDoc.argument(command.abstract),
        ".Sh SYNOPSIS",
    ]
    if command.subcommands.isEmpty {
        lines.append(".Nm")
        for argument in command.arguments {
            lines.append(argument.isOptional ? ".Op " + argument.macro : ".Ar " + argument.macro.dropFirst(3))
        }
    } else {
        lines.append(".Nm")
        lines.append(".Ar subcommand")
        lines.append(".Op Ar options")
    }
    lines.append(".Sh DESCRIPTION")
    lines += MDoc.body(paragraphs.filter { $0 != exit })
    if !command.subcommands.isEmpty {
        lines += [".Pp", "Subcommands:", ".Bl -tag -width 10n"]
        for subcommand in command.subcommands {
            lines += [".It Cm " + subcommand.name, MDoc.text(subcommand.abstract) + " See", ".Xr " + subcommand.pageName + " 1 ."]
        }
        lines.append(".El")
    }
    if !command.arguments.isEmpty {
        lines += [".Sh OPTIONS", ".Bl -tag -width 6n"]
        for argument in command.arguments {
            lines.append(".It " + argument.macro)
            var help = argument.abstract
            if let value = argument.defaultValue, !value.isEmpty, argument.kind == "option" { help += " (default: \(value))" }
            lines.append(MDoc.text(help))
            if !argument.discussion.isEmpty { lines += [".Pp"] + MDoc.body([argument.discussion]) }
        }
        lines.append(".El")
    }
    if let exit { lines += MDoc.exitStatus(exit) }
    if command.path.count > 1 { lines += [".Sh SEE ALSO", ".Xr " + command.path[0] + " 1"] }
    return lines.joined(separator: "\n") + "\n"
}

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: ManualPageWriter REARVIEW-BINARY OUTPUT-DIRECTORY DATE\n".utf8))
    exit(2)
}
let dump = Process()
dump.executableURL = URL(fileURLWithPath: arguments[1])
dump.arguments = ["--experimental-dump-help"]
let pipe = Pipe()
dump.standardOutput = pipe
try dump.run()
let data = pipe.fileHandleForReading.readDataToEndOfFile()
dump.waitUntilExit()
guard dump.terminationStatus == 0,
      let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let rootObject = object["command"] as? [String: Any] else {
    FileHandle.standardError.write(Data("ManualPageWriter: \(arguments[1]) --experimental-dump-help gave no command tree\n".utf8))
    exit(1)
}
let root = Command(rootObject, parents: [])
for command in [root] + root.subcommands {
    let url = URL(fileURLWithPath: arguments[2]).appendingPathComponent(command.pageName + ".1")
    try Data(page(command, date: arguments[3]).utf8).write(to: url, options: .atomic)
}
