import Foundation
import EventModel

/// Renders events as an aligned text table for people: widths from the first rows, long values cut
/// with `…`, every value made terminal-safe.
public struct EventTable {
    public let columns: [EventColumn]
    /// The longest a cell may be before it is cut (the last column is never cut).
    public var maxWidth = 60
    private var widths: [Int]
    private var pending: [[String]] = []
    private var started = false
    /// How many rows are buffered to size the columns before output starts.
    public static let sizingRows = 500

    public init(columns: [EventColumn]) {
        self.columns = columns
        widths = columns.map { $0.description.count }
    }

    /// Adds a row; returns text ready to print (empty while the first rows are being buffered).
    public mutating func add(_ event: Event) -> String {
        let row = columns.map { TerminalText.escaped($0.value(of: event)) }
        if started { return render(row) }
        pending.append(row)
        return pending.count >= Self.sizingRows ? start() : ""
    }

    /// Adds a row of already computed cells (e.g. counts of `--group-by`).
    public mutating func add(cells: [String]) -> String {
        let row = cells.map(TerminalText.escaped)
        if started { return render(row) }
        pending.append(row)
        return pending.count >= Self.sizingRows ? start() : ""
    }

    /// Whatever is still buffered (call once at the end).
    public mutating func finish() -> String { started ? "" : start() }

    private mutating func start() -> String {
        started = true
        for row in pending {
            for (i, cell) in row.enumerated() where i < widths.count - 1 { widths[i] = min(maxWidth, max(widths[i], cell.count)) }
        }
        var out = render(columns.map(\.description))
        for row in pending { out += render(row) }
        pending = []
        return out
    }

    private func render(_ row: [String]) -> String {
        var line = ""
        for (i, cell) in row.enumerated() {
            if i == row.count - 1 { line += cell; break }
            var c = cell
            if c.count > widths[i] { c = String(c.prefix(widths[i] - 1)) + "…" }
            line += c + String(repeating: " ", count: widths[i] - c.count + 2)
        }
        return line + "\n"
    }
}

/// Renders events as CSV (RFC 4180): a header row, then one row per event; values quoted when needed.
public enum EventCSV {
    public static func header(_ columns: [EventColumn]) -> String {
        row(columns.map(\.description))
    }

    public static func row(_ event: Event, _ columns: [EventColumn]) -> String {
        row(columns.map { $0.value(of: event) })
    }

    public static func row(_ cells: [String]) -> String {
        cells.map { cell in
            cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",") + "\r\n"
    }
}
