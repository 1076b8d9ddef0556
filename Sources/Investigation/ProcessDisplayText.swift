import EventModel

/// The short forms of event text that trees and timelines print, escaped for a terminal.
public enum ProcessDisplayText {
    /// The last path component (`/usr/bin/bash` → `bash`), escaped; `?` for an empty name.
    public static func programName(_ path: String) -> String {
        guard !path.isEmpty else { return "?" }
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        return TerminalText.escaped(name)
    }

    /// `2024-05-31T10:06:40.043Z`: UTC with milliseconds.
    public static func time(_ ns: Int64) -> String {
        let micro = UnixTime.rfc3339Micro(ns)
        return String(micro.dropLast(4)) + "Z"
    }
}
