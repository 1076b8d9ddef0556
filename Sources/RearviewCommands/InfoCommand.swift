import ArgumentParser
import EventModel
import EventStore
import Foundation
import Investigation

/// `rearview info`: what a store holds.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what a store holds: hosts, time span, events by operation and type, size on disk.",
        discussion: """
            Also what the store does not cover, one `coverage` line per hole: KubeArmor's alert \
            throttling (after an AlertThreshold system event, Audit alerts of that container were \
            dropped for DroppingAlertsInterval seconds), segments retired by retention, and segments \
            during which the recorder lost events in the kernel; the segments retention retired \
            (`retired`) and the windows it keeps (`pinned`).

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage, ExitStatusHelp.damaged))
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Output format: text or json.")
    var format: InfoFormat = .text

    enum InfoFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func run() throws {
        try reportingFailures {
            let store = try storeOptions.open()
            let s = try store.summary()
            let holes = try CoverageHole.holes(in: store)
            let out = StandardOutput()
            switch format {
            case .json: out.line(InfoRendering.json(s, path: store.path, holes: holes))
            case .text: out.write(InfoRendering.text(s, path: store.path, holes: holes))
            }
        }
    }
}

/// Renders a ``StoreSummary`` for `info`.
enum InfoRendering {
    static func text(_ s: StoreSummary, path: String, holes: [CoverageHole]) -> String {
        var lines: [String] = []
        lines.append("store      \(path) (id \(s.storeID))")
        lines.append("events     \(s.events) in \(s.blocks) block(s), \(s.segments) segment(s) (\(s.sealedSegments) sealed)")
        if let first = s.firstTimeNs, let last = s.lastTimeNs {
            lines.append("time span  \(UnixTime.rfc3339Micro(first)) .. \(UnixTime.rfc3339Micro(last))")
        }
        let size = s.segmentBytes + s.indexBytes
        lines.append("size       \(size) bytes (segments \(s.segmentBytes), index \(s.indexBytes)), " +
                     String(format: "%.1f bytes/event", s.bytesPerEvent))
        func table(_ title: String, _ rows: [(value: String, events: Int)]) {
            lines.append(title)
            for row in rows { lines.append("  " + pad(String(row.events), 10) + "  " + (row.value.isEmpty ? "(none)" : row.value)) }
        }
        table("hosts", s.hosts)
        table("operations", s.operations)
        table("types", s.types)
        for run in s.retired { lines.append("retired    \(run)") }
        for pin in s.pinned { lines.append("pinned     \(pin.description)") }
        for hole in holes { lines.append("coverage   \(hole)") }
        let drops = s.segmentMetadata.filter { $0 != "{}" }
        if !drops.isEmpty { lines.append("recorder   " + drops.joined(separator: "\n           ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(_ s: StoreSummary, path: String, holes: [CoverageHole]) -> String {
        func counts(_ rows: [(value: String, events: Int)]) -> [String: Int] {
            Dictionary(rows.map { ($0.value, $0.events) }, uniquingKeysWith: +)
        }
        var object: [String: Any] = [
            "store": path, "storeID": s.storeID, "events": s.events, "blocks": s.blocks, "segments": s.segments,
            "sealedSegments": s.sealedSegments, "segmentBytes": s.segmentBytes, "indexBytes": s.indexBytes,
            "bytesPerEvent": (s.bytesPerEvent * 100).rounded() / 100,
            "hosts": counts(s.hosts), "operations": counts(s.operations), "types": counts(s.types),
        ]
        if !s.retired.isEmpty {
            object["retired"] = s.retired.map { run -> [String: Any] in
                ["firstSegment": run.first, "lastSegment": run.last, "events": run.events, "reason": run.reason.description,
                 "retiredAt": UnixTime.rfc3339Micro(run.retiredAtNs), "firstTime": UnixTime.rfc3339Micro(run.firstTimeNs),
                 "lastTime": UnixTime.rfc3339Micro(run.lastTimeNs)]
            }
        }
        if !holes.isEmpty {
            object["coverageHoles"] = holes.map { hole -> [String: Any] in
                ["kind": hole.kind.rawValue, "from": UnixTime.rfc3339Micro(hole.fromNs), "to": UnixTime.rfc3339Micro(hole.toNs),
                 "hostName": hole.hostName, "containerID": hole.containerID, "detail": hole.detail]
            }
        }
        if !s.pinned.isEmpty {
            object["pinned"] = s.pinned.map { pin -> [String: Any] in
                ["from": UnixTime.rfc3339Micro(pin.fromNs), "to": UnixTime.rfc3339Micro(pin.toNs), "reason": pin.reason, "matches": pin.matches]
            }
        }
        if let first = s.firstTimeNs, let last = s.lastTimeNs {
            object["firstTime"] = UnixTime.rfc3339Micro(first)
            object["lastTime"] = UnixTime.rfc3339Micro(last)
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
