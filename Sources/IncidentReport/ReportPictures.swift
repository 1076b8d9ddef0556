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
        return lines.map(ReportText.html).joined(separator: "&#10;")
    }
}

/// The timeline as SVG: one lane per drawn process with events, each event a mark at its time,
/// alerts as diamonds coloured by severity. Marks are binned to a few pixels, so the picture's size
/// depends on the lanes, not on the number of events.
struct TimelinePicture {
    static let labelWidth = 300
    static let plotWidth = 900
    static let laneHeight = 18
    static let top = 34
    static let bins = 300

    let lanes: [(process: ReportProcess, marks: [TimelineMark])]
    let firstNs: Int64
    let lastNs: Int64

    /// The lanes of `report`: the drawn processes that have selected events, in tree order.
    init(_ report: IncidentReport, drawn: DrawnProcesses) {
        lanes = drawn.processes.compactMap { process in
            report.marks[process.instance.id].map { (process, $0) }
        }
        firstNs = report.summary.firstNs ?? 0
        lastNs = report.summary.lastNs ?? 0
    }

    func svg() -> String {
        let width = Self.labelWidth + Self.plotWidth + 20
        let height = Self.top + max(1, lanes.count) * Self.laneHeight + 8
        var out = "<svg class=\"timeline\" role=\"img\" aria-label=\"timeline\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\">\n"
        let span = max(0, lastNs - firstNs)
        out += "<text class=\"axis\" x=\"4\" y=\"\(Self.top - 12)\">UTC, from \(ReportText.time(firstNs).prefix(10))</text>\n"
        for tick in 0...4 {
            let x = Self.labelWidth + Self.plotWidth * tick / 4
            let time = Array(ReportText.time(firstNs + span / 4 * Int64(tick)))
            // Milliseconds within a day; month, day, hours and minutes over longer spans.
            let text = String(span < 86_400_000_000_000 ? time[11..<23] : time[5..<16])
            out += "<line class=\"tick\" x1=\"\(x)\" y1=\"\(Self.top - 6)\" x2=\"\(x)\" y2=\"\(height - 4)\"/>"
                + "<text class=\"axis\" x=\"\(x)\" y=\"\(Self.top - 12)\" text-anchor=\"\(tick == 0 ? "start" : tick == 4 ? "end" : "middle")\">"
                + ReportText.htmlEscaped(text) + "</text>\n"
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
            for mark in lane.marks {
                let offset = Double(mark.timeNs - firstNs) / Double(max(1, span))
                let bin = span == 0 ? Self.bins / 2 : min(Self.bins - 1, max(0, Int(offset * Double(Self.bins - 1))))
                counts[bin] += 1
                levels[bin] = max(levels[bin], mark.level)
            }
            for bin in 0..<Self.bins where counts[bin] > 0 {
                let x = Self.labelWidth + Self.plotWidth * bin / (Self.bins - 1)
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
}
