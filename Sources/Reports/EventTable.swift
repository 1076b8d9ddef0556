import Foundation
import EventModel
import EventStore

/// Renders events as an aligned text table for people: widths from the first rows, long values cut
/// in the middle with `…` (both ends of a command line stay visible), every value made terminal-safe.
public struct EventTable {
    public let columns: [EventColumn]
    /// The longest a cell may be before it is cut (the last column is never cut); `nil` cuts nothing.
    public var maxWidth: Int?
    /// The ``maxWidth`` unless asked otherwise.
    public static let defaultMaxWidth = 60
    private var widths: [Int]
    private var pending: [[String]] = []
    private var started = false
    /// How many rows are buffered to size the columns before output starts.
    public static let sizingRows = 500

    public init(columns: [EventColumn], maxWidth: Int? = defaultMaxWidth) {
        self.columns = columns
        self.maxWidth = maxWidth
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
            for (i, cell) in row.enumerated() where i < widths.count - 1 { widths[i] = min(maxWidth ?? .max, max(widths[i], cell.count)) }
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
            let c = TerminalText.middleTruncated(cell, to: widths[i])
            line += c + String(repeating: " ", count: widths[i] - c.count + 2)
        }
        return line + "\n"
    }
}

/// Renders events as CSV (RFC 4180): a header row, then one row per event; values quoted when needed.
///
/// Event strings are chosen by whoever controls the monitored host, and a spreadsheet runs a cell
/// that starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a formula
/// (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`). By default such a cell is neutralised as OWASP advises
/// (CSV injection): prefixed with a single quote and quoted, so it reads as text. A plain number
/// (`-1`, `+2.5`) is left alone: spreadsheets read it as a number, not a formula.
public struct EventCSV: Sendable {
    /// Whether formula-like cells are neutralised (`--csv-raw` turns it off).
    public var neutralizesFormulas: Bool

    public init(neutralizesFormulas: Bool = true) { self.neutralizesFormulas = neutralizesFormulas }

    public func header(_ columns: [EventColumn]) -> String {
        row(columns.map(\.description))
    }

    public func row(_ event: Event, _ columns: [EventColumn]) -> String {
        row(columns.map { $0.value(of: event) })
    }

    /// Appends one row per `rows` of `batch`, the bytes ``row(_:_:)`` writes for each row's event;
    /// each dictionary string's cell is made once per batch.
    public func append(_ batch: ColumnBatch, rows: some Sequence<Int32>, columns: [EventColumn], to out: inout [UInt8]) {
        var cellsByID = [[UInt8]?](repeating: nil, count: batch.stringCount)
        for row in rows {
            for (n, column) in columns.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                guard case .field(let field) = column, let id = batch.stringID(field, row: Int(row)) else {
                    out.append(contentsOf: cell(column.value(in: batch, row: Int(row))).utf8)
                    continue
                }
                if cellsByID[Int(id)] == nil { cellsByID[Int(id)] = Array(cell(batch.string(id)).utf8) }
                out.append(contentsOf: cellsByID[Int(id)]!)
            }
            out.append(contentsOf: [13, 10])
        }
    }

    public func row(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    /// One cell: neutralised when it could run as a formula, quoted when it holds a separator or quote.
    public func cell(_ value: String) -> String {
        if neutralizesFormulas && Self.isFormulaLike(value) {
            return "\"'" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    /// Whether a spreadsheet could take `value` for a formula: it starts with one of OWASP's trigger
    /// characters and is not a plain number.
    static func isFormulaLike(_ value: String) -> Bool {
        guard let first = value.utf8.first, [0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D].contains(first) else { return false }
        return !isPlainNumber(value.utf8)
    }

    /// `[+-]digits[.digits]`.
    private static func isPlainNumber(_ bytes: String.UTF8View) -> Bool {
        var digits = bytes.dropFirst(bytes.first == 0x2B || bytes.first == 0x2D ? 1 : 0)
        guard let head = digits.firstIndex(where: { !(0x30...0x39).contains($0) }) else { return !digits.isEmpty }
        guard head != digits.startIndex, digits[head] == 0x2E else { return false }
        digits = digits[digits.index(after: head)...]
        return !digits.isEmpty && digits.allSatisfy { (0x30...0x39).contains($0) }
    }
}
