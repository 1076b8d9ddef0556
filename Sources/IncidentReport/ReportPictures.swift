/// The processes a picture draws: all of them, or, beyond a limit, the most alarming ones with
/// their ancestors, so every drawn process still hangs under its drawn parent.
struct DrawnProcesses {
    /// In tree order (depth-first), ancestors before descendants.
    let processes: [ReportProcess]
    /// How many processes of the report are not drawn.
    let omitted: Int

    init(_ all: [ReportProcess], limit: Int) {
        guard all.count > limit else {
            processes = all
            omitted = 0
            return
        }
        var position: [Int64: Int] = [:]
        for (index, process) in all.enumerated() { position[process.instance.id] = index }
        // Selected processes first, then by alert level, alerts, events, and tree order.
        let priority = all.indices.sorted { a, b in
            let x = all[a], y = all[b]
            return (x.isSelected ? 1 : 0, x.level.rawValue, x.alerts, x.events, -a)
                > (y.isSelected ? 1 : 0, y.level.rawValue, y.alerts, y.events, -b)
        }
        var included = Set<Int>()
        for candidate in priority where included.count < limit {
            var chain: [Int] = []
            var next: Int? = candidate
            while let index = next, !included.contains(index) {
                chain.append(index)
                next = all[index].parentID.flatMap { position[$0] }
            }
            if included.count + chain.count <= limit { included.formUnion(chain) }
        }
        processes = included.sorted().map { all[$0] }
        omitted = all.count - processes.count
    }
}

/// The process tree as SVG: one row per process, indented under its parent, coloured by the
/// highest severity of its alerts, labelled with its exec chain.
struct ProcessTreePicture {
    static let rowHeight = 24
    static let indent = 18
    /// Deeper levels are drawn at this indentation, so a deep chain stays on the page.
    static let maxIndentLevels = 40
    static let characterWidth = 7.2

    let drawn: DrawnProcesses

    /// Inline SVG for HTML (no namespace needed there).
    func svg() -> String {
        let processes = drawn.processes
        var row: [Int64: Int] = [:]
        for (index, process) in processes.enumerated() { row[process.instance.id] = index }
        let height = max(1, processes.count) * Self.rowHeight + 8
        var widest = 400.0
        var edges = ""
        var nodes = ""
        for (index, process) in processes.enumerated() {
            let x = 6 + min(process.depth, Self.maxIndentLevels) * Self.indent
            let y = 4 + index * Self.rowHeight
            if let parentID = process.parentID, let parentRow = row[parentID] {
                let parent = processes[parentRow]
                let px = 6 + min(parent.depth, Self.maxIndentLevels) * Self.indent + 7
                let py = 4 + parentRow * Self.rowHeight + Self.rowHeight - 6
                edges += "<path class=\"edge\" d=\"M\(px) \(py)V\(y + 9)H\(x)\"/>\n"
            }
            let label = Self.label(process)
            let boxWidth = Double(label.count) * Self.characterWidth + 12
            let stats = Self.stats(process)
            widest = max(widest, Double(x) + boxWidth + 10 + Double(stats.count) * Self.characterWidth)
            let instance = process.instance
            nodes += "<g class=\"node sev-\(process.level)\(process.isSelected ? " selected" : "")\" "
                + "data-hostpid=\"\(instance.hostPID)\" data-host=\"\(ReportText.html(instance.hostName))\">"
                + "<title>\(Self.tooltip(process))</title>"
                + "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(Int(boxWidth))\" height=\"\(Self.rowHeight - 6)\" rx=\"4\"/>"
                + "<text x=\"\(x + 6)\" y=\"\(y + 13)\">\(ReportText.html(label))</text>"
                + "<text class=\"stats\" x=\"\(x + Int(boxWidth) + 8)\" y=\"\(y + 13)\">\(ReportText.htmlEscaped(stats))</text>"
                + "</g>\n"
        }
        return "<svg class=\"tree\" role=\"img\" aria-label=\"process tree\" width=\"\(Int(widest))\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(Int(widest)) \(height)\">\n" + edges + nodes + "</svg>"
    }

    /// `apache2 → sh → bash (9893/57) ✗ apt-get`: exec chain, HostPID (and PID in its namespace),
    /// failed execs; raw (escaped by the caller), cut to a readable length.
    static func label(_ process: ReportProcess) -> String {
        let instance = process.instance
        let pid = instance.pid != instance.hostPID && instance.pid != 0 ? "\(instance.hostPID)/\(instance.pid)" : "\(instance.hostPID)"
        var label = ReportText.cut(ReportText.execChain(instance.images), 90) + " (" + pid + ")"
        if !instance.failedExecs.isEmpty {
            label += " ✗ " + ReportText.cut(instance.failedExecs.map { ReportText.programName(String($0.prefix { $0 != " " })) }
                .joined(separator: ", "), 40)
        }
        return label
    }

    /// `12 events · 3 alerts (severity 5) · 1 blocked`.
    static func stats(_ process: ReportProcess) -> String {
        var parts = ["\(process.events) event\(process.events == 1 ? "" : "s")"]
        if process.alerts > 0 {
            parts.append("\(process.alerts) alert\(process.alerts == 1 ? "" : "s")"
                + (process.highestSeverity.map { " (severity \($0))" } ?? ""))
        }
        if process.blocked > 0 { parts.append("\(process.blocked) blocked") }
        return parts.joined(separator: " · ")
    }

    /// The full details of a process for its tooltip, escaped.
    static func tooltip(_ process: ReportProcess) -> String {
        let instance = process.instance
        var lines = ["host " + instance.hostName, "exec chain " + instance.images.joined(separator: " → ")]
        if !instance.command.isEmpty { lines.append("command " + instance.command) }
        for failed in instance.failedExecs { lines.append("exec failed " + failed) }
        if !instance.containerID.isEmpty { lines.append("container " + String(instance.containerID.prefix(12))) }
        if !instance.podName.isEmpty { lines.append("pod " + instance.podName) }
        let end = instance.exitNs.map { ReportText.time($0) } ?? "last seen " + ReportText.time(instance.lastActivityNs)
        lines.append("from " + ReportText.time(instance.startNs) + " to " + end)
        if let code = instance.exitCode { lines.append("exit \(code)") }
        if let signal = instance.exitSignal { lines.append("killed by " + signal) }
        if let reaper = process.reapedBy { lines.append("reaped by " + reaper) }
        return lines.map(ReportText.html).joined(separator: "&#10;")
    }
}

/// The timeline as SVG: one lane per drawn process with events, each event a mark at its time,
/// alerts as diamonds coloured by severity. Marks are binned to a few pixels, so the picture's size
/// depends on the lanes, not on the number of events.
///
/// With a lineage (``ReportEventTables/lineage``) the time axis is zoomed to its events, where the
/// incident is, rather than spread over the whole window; each lane counts its marks before and
/// after the zoomed span at its ends. Ticks fall on round times (every 1, 2, 5, 10, 15 or 30 of a
/// unit), at least four of them.
struct TimelinePicture {
    static let labelWidth = 300
    static let plotWidth = 900
    static let laneHeight = 18
    static let top = 44
    static let bins = 300
    /// Room for the before and after counts beside the plot.
    static let margin = 44

    let lanes: [(process: ReportProcess, marks: [TimelineMark])]
    /// The time span drawn.
    let firstNs: Int64
    let lastNs: Int64
    /// Whether it is narrower than the selected events' span.
    let isZoomed: Bool

    /// The lanes of `report`: the drawn processes that have selected events, in tree order.
    init(_ report: IncidentReport, drawn: DrawnProcesses) {
        lanes = drawn.processes.compactMap { process in
            report.marks[process.instance.id].map { (process, $0) }
        }
        let first = report.summary.firstNs ?? 0, last = report.summary.lastNs ?? 0
        var zoom: (Int64, Int64)?
        if let lineage = report.tables.lineage {
            for id in lineage {
                guard let marks = report.marks[id], let a = marks.first?.timeNs, let b = marks.last?.timeNs else { continue }
                zoom = (min(zoom?.0 ?? a, a), max(zoom?.1 ?? b, b))
            }
        }
        if let (a, b) = zoom, a > first || b < last {
            // A little room either side, within the selection.
            let pad = max((b - a) / 20, 500_000_000)
            firstNs = max(first, a - pad)
            lastNs = min(last, b + pad)
            isZoomed = true
        } else {
            firstNs = first
            lastNs = last
            isZoomed = false
        }
    }

    /// The caption above the picture: the day, and the zoomed span.
    var caption: String {
        let day = String(ReportText.time(firstNs).prefix(10))
        guard isZoomed else { return "UTC, \(day)" }
        return "UTC, \(day); zoomed to the selected process and its descendants, "
            + "\(Self.clock(firstNs, interval: 1_000_000_000))–\(Self.clock(lastNs, interval: 1_000_000_000))"
    }

    func svg() -> String {
        let left = Self.labelWidth + Self.margin
        let width = left + Self.plotWidth + Self.margin + 10
        let height = Self.top + max(1, lanes.count) * Self.laneHeight + 8
        var out = "<svg class=\"timeline\" role=\"img\" aria-label=\"timeline\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\">\n"
        let span = max(0, lastNs - firstNs)
        out += "<text class=\"axis\" x=\"4\" y=\"14\">\(ReportText.htmlEscaped(caption))</text>\n"
        let ticks = Self.ticks(firstNs, lastNs)
        for tick in ticks.times {
            let x = left + Int(Double(Self.plotWidth) * Double(tick - firstNs) / Double(max(1, span)))
            out += "<line class=\"tick\" x1=\"\(x)\" y1=\"\(Self.top - 4)\" x2=\"\(x)\" y2=\"\(height - 4)\"/>"
                + "<text class=\"axis\" x=\"\(x)\" y=\"\(Self.top - 8)\" text-anchor=\"middle\">"
                + ReportText.htmlEscaped(Self.clock(tick, interval: ticks.interval)) + "</text>\n"
        }
        var counts = [Int](repeating: 0, count: Self.bins)
        var levels = [SeverityLevel](repeating: .none, count: Self.bins)
        for (index, lane) in lanes.enumerated() {
            let y = Self.top + index * Self.laneHeight
            let instance = lane.process.instance
            out += "<g class=\"lane\" data-hostpid=\"\(instance.hostPID)\">"
                + "<rect class=\"band\(index % 2 == 0 ? "" : " odd")\" x=\"0\" y=\"\(y)\" width=\"\(width)\" height=\"\(Self.laneHeight)\"/>"
                + "<text x=\"4\" y=\"\(y + 13)\"><title>\(ReportText.html(instance.images.joined(separator: " → ")))</title>"
                + ReportText.html(ReportText.cut(ReportText.programName(instance.currentImage), 28) + " (\(instance.hostPID))")
                + "</text>"
            for i in 0..<Self.bins { counts[i] = 0; levels[i] = .none }
            var before = 0, after = 0
            for mark in lane.marks {
                if mark.timeNs < firstNs { before += 1; continue }
                if mark.timeNs > lastNs { after += 1; continue }
                let offset = Double(mark.timeNs - firstNs) / Double(max(1, span))
                let bin = span == 0 ? Self.bins / 2 : min(Self.bins - 1, max(0, Int(offset * Double(Self.bins - 1))))
                counts[bin] += 1
                levels[bin] = max(levels[bin], mark.level)
            }
            if before > 0 {
                out += "<text class=\"outside\" x=\"\(left - 4)\" y=\"\(y + 13)\" text-anchor=\"end\"><title>\(before) earlier events</title>◂\(before)</text>"
            }
            if after > 0 {
                out += "<text class=\"outside\" x=\"\(left + Self.plotWidth + 4)\" y=\"\(y + 13)\"><title>\(after) later events</title>\(after)▸</text>"
            }
            for bin in 0..<Self.bins where counts[bin] > 0 {
                let x = left + Self.plotWidth * bin / (Self.bins - 1)
                if levels[bin] == .none {
                    out += "<rect class=\"ev\" x=\"\(x - 1)\" y=\"\(y + 5)\" width=\"2\" height=\"8\"/>"
                } else {
                    out += "<path class=\"alert sev-\(levels[bin])\" d=\"M\(x) \(y + 2)l6 7l-6 7l-6-7z\"/>"
                }
            }
            out += "</g>\n"
        }
        return out + "</svg>"
    }

    /// Tick intervals, in ns: 1, 2, 5, 10, 20, 50, 100, 200, 500 ms; 1, 2, 5, 10, 15, 30 s and min;
    /// 1, 2, 3, 6, 12 h; 1, 2, 7 days.
    static let intervals: [Int64] = {
        let ms: Int64 = 1_000_000, s = 1000 * ms, m = 60 * s, h = 60 * m, d = 24 * h
        return [1, 2, 5, 10, 20, 50, 100, 200, 500].map { $0 * ms } + [1, 2, 5, 10, 15, 30].map { $0 * s }
            + [1, 2, 5, 10, 15, 30].map { $0 * m } + [1, 2, 3, 6, 12].map { $0 * h } + [1, 2, 7].map { $0 * d }
    }()

    /// Round times within `first`…`last`: the largest interval that gives at least four of them.
    static func ticks(_ first: Int64, _ last: Int64) -> (interval: Int64, times: [Int64]) {
        let span = max(0, last - first)
        let interval = intervals.last { span / $0 >= 4 } ?? intervals[0]
        var times: [Int64] = []
        var tick = (first / interval + (first % interval == 0 ? 0 : 1)) * interval
        while tick <= last && times.count < 40 {
            times.append(tick)
            tick += interval
        }
        return (interval, times)
    }

    /// `10:07:20` (with `.250` below a second's interval; the date above a day's).
    static func clock(_ ns: Int64, interval: Int64) -> String {
        let time = Array(ReportText.time(ns))
        if interval >= 86_400_000_000_000 { return String(time[5..<10]) }
        if interval >= 60_000_000_000 { return String(time[11..<16]) }
        return String(time[11..<(interval >= 1_000_000_000 ? 19 : 23)])
    }
}
