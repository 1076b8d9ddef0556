#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads KubeArmor alerts and logs from JSON text into ``Event``s, recognising the form of the input.
///
/// Forms: one object per line (`karmor logs --json`, the daemon's `-logPath` file), a JSON array,
/// pretty-printed objects one after another, and the form the AccuKnox alerts page shows (one
/// `"Key":value` per line, commas missing). Keys may be karmor's PascalCase or the daemon's camelCase.
/// A record that cannot be read becomes a ``RejectedRecord`` and reading resumes with the next line
/// (one object per line) or the next object that starts a line (the other forms).
///
/// One-object-per-line input is cut at line boundaries into pieces of about 1 MiB that can be parsed
/// on several threads; results come back in input order.
public struct KubeArmorJSONReader: Sendable {
    /// One record of the input: the event, or why it was rejected.
    public typealias Outcome = Result<Event, RejectedRecord>

    /// How the input is laid out.
    public enum Form: String, Sendable {
        /// One JSON object per line (NDJSON).
        case lines = "one object per line"
        /// JSON arrays of objects (several arrays one after another are read too).
        case array = "JSON array"
        /// Objects one after another, pretty-printed or not, separated by whitespace.
        case objects = "concatenated objects"
        /// Pretty-printed objects whose members lack their commas (as pasted from the AccuKnox page).
        case pasted = "objects without commas"
    }

    /// A record larger than this (4 MiB) is rejected without being parsed further.
    public static let maxRecordBytes = 4 << 20
    /// One-object-per-line input is parsed in pieces of about this size.
    static let pieceBytes = 1 << 20
    /// Records of the other forms are handed over in batches of this many.
    static let batchRecords = 4096

    /// The (decompressed) input.
    public let bytes: [UInt8]
    /// The file name, or `-` for stdin: the `FILE` of error messages.
    public let origin: String
    /// The form recognised from the start of the input.
    public let form: Form
    /// Where the content starts (after a UTF-8 byte order mark, if any).
    private let contentStart: Int
    /// Where `bytes` start in the whole input: lines and bytes before them (0 unless they are a later
    /// chunk of one-object-per-line input), so that rejections name the input's line and offset.
    private let linesBefore: Int, bytesBefore: Int

    public init(bytes: [UInt8], origin: String) {
        self.bytes = bytes
        self.origin = origin
        contentStart = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        form = bytes.withUnsafeBufferPointer { [contentStart] in
            KubeArmorJSONReader.detectForm($0.baseAddress, from: contentStart, end: $0.count)
        }
        linesBefore = 0
        bytesBefore = 0
    }

    /// A later chunk of one-object-per-line input that holds whole lines, `linesBefore` lines and
    /// `bytesBefore` bytes after the input's start.
    init(continuing bytes: [UInt8], origin: String, linesBefore: Int, bytesBefore: Int) {
        self.bytes = bytes
        self.origin = origin
        form = .lines
        contentStart = 0
        self.linesBefore = linesBefore
        self.bytesBefore = bytesBefore
    }

    /// Reads every record and returns them in input order.
    public static func readAll(bytes: [UInt8], origin: String, threads: Int = 1) throws(InputError) -> [Outcome] {
        try KubeArmorJSONReader(bytes: bytes, origin: origin).readAll(threads: threads)
    }

    /// Reads every record and returns them in input order; throws only when the input holds none.
    public func readAll(threads: Int = 1) throws(InputError) -> [Outcome] {
        var all: [Outcome] = []
        deliver(threads: threads) { all += $0 }
        if all.isEmpty { throw InputError(origin: origin, reason: .noRecords) }
        return all
    }

    /// Reads every record, handing them to `body` in input order in batches (about 1 MiB of input, or
    /// 4096 records), always on the calling thread. With `threads` > 1, one-object-per-line input is
    /// parsed on that many threads while `body` runs. Throws what `body` throws, or an ``InputError``
    /// (`noRecords`) when the input holds no record at all.
    public func read(threads: Int = 1, _ body: ([Outcome]) throws -> Void) throws {
        if try deliver(threads: threads, body) == 0 { throw InputError(origin: origin, reason: .noRecords) }
    }

    /// Hands all outcomes to `body` in batches; returns how many there were.
    @discardableResult
    func deliver<E: Error>(threads: Int, _ body: ([Outcome]) throws(E) -> Void) throws(E) -> Int {
        switch form {
        case .lines:
            let pieces = linePieces()
            var lineBase = linesBefore
            var delivered = 0
            func hand(_ piece: consuming ParsedPiece) throws(E) {
                var piece = piece
                for index in piece.rejections {
                    if case .failure(var rejection) = piece.outcomes[index] {
                        rejection.line += lineBase
                        piece.outcomes[index] = .failure(rejection)
                    }
                }
                lineBase += piece.lines
                delivered += piece.outcomes.count
                if !piece.outcomes.isEmpty { try body(piece.outcomes) }
            }
            if threads <= 1 || pieces.count <= 1 {
                let parser = KubeArmorRecordParser(commasOptional: false)
                for piece in pieces { try hand(parse(piece, with: parser)) }
            } else {
                try OrderedParallelMap.run(
                    jobs: pieces.count, threads: threads, window: threads * 4,
                    makeState: { KubeArmorRecordParser(commasOptional: false) },
                    work: { [self] parser, job in parse(pieces[job], with: parser) },
                    deliver: hand)
            }
            return delivered
        case .array, .objects, .pasted:
            return try bytes.withUnsafeBufferPointer { (buffer) throws(E) -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                var records = StreamRecords(base, from: contentStart, end: buffer.count, origin: origin,
                                            parser: KubeArmorRecordParser(commasOptional: form == .pasted))
                var delivered = 0
                var batch: [Outcome] = []
                while let outcome = records.next() {
                    batch.append(outcome)
                    if batch.count == KubeArmorJSONReader.batchRecords {
                        delivered += batch.count
                        try body(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                delivered += batch.count
                if !batch.isEmpty { try body(batch) }
                return delivered
            }
        }
    }

    // MARK: one object per line

    /// The outcomes of one piece, their rejections' indices, and its line count (for numbering the
    /// lines of the next pieces: the rejections' lines count from the piece's start).
    private struct ParsedPiece: Sendable {
        var outcomes: [Outcome] = []
        var rejections: [Int] = []
        var lines = 0
    }

    /// The input cut into pieces of about ``pieceBytes`` that end just after a newline.
    private func linePieces() -> [Range<Int>] {
        bytes.withUnsafeBufferPointer { buffer in
            var pieces: [Range<Int>] = []
            var start = contentStart
            while start < buffer.count {
                var end = buffer.count
                let target = start + KubeArmorJSONReader.pieceBytes
                if target < buffer.count, let newline = memchr(buffer.baseAddress! + target, 0x0A, buffer.count - target) {
                    end = buffer.baseAddress!.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
                }
                pieces.append(start..<end)
                start = end
            }
            return pieces
        }
    }

    private func parse(_ piece: Range<Int>, with parser: KubeArmorRecordParser) -> ParsedPiece {
        bytes.withUnsafeBufferPointer { buffer in
            var parsed = ParsedPiece()
            parsed.outcomes.reserveCapacity(piece.count / 512)
            var records = LineRecords(buffer.baseAddress!, piece, origin: origin, bytesBefore: bytesBefore, parser: parser)
            while let outcome = records.next() {
                if case .failure = outcome { parsed.rejections.append(parsed.outcomes.count) }
                parsed.outcomes.append(outcome)
            }
            parsed.lines = records.line
            return parsed
        }
    }

    // MARK: form detection

    /// `[` first: arrays. `{` alone on the first line: objects, or the pasted form when a member
    /// line that ends a value (not with `,`, `{` or `[`) is followed by a line starting with `"`.
    /// Anything else is read one object per line, so that a bad line costs only that line.
    private static func detectForm(_ p: UnsafePointer<UInt8>?, from start: Int, end: Int) -> Form {
        guard let p else { return .lines }
        var i = start
        while i < end, JSONBytes.isWhitespace(p[i]) { i += 1 }
        guard i < end else { return .lines }
        if p[i] == JSONBytes.openBracket { return .array }
        guard p[i] == JSONBytes.openBrace else { return .lines }
        var lines = TrimmedLines(p, from: i + 1, end: end)
        guard let first = lines.next(), first.isEmpty else { return .lines }
        for _ in 0..<1000 {
            guard let line = lines.next() else { break }
            guard let last = line.last else { continue }
            if last == JSONBytes.comma || last == JSONBytes.openBrace || last == JSONBytes.openBracket { continue }
            while let next = lines.next() {
                if let head = next.first { return head == JSONBytes.quote ? .pasted : .objects }
            }
            break
        }
        return .objects
    }

    /// The lines after a position, without surrounding whitespace (empty lines are empty).
    private struct TrimmedLines {
        let p: UnsafePointer<UInt8>
        var position: Int
        let end: Int

        init(_ p: UnsafePointer<UInt8>, from: Int, end: Int) {
            self.p = p
            position = from
            self.end = end
        }

        mutating func next() -> UnsafeBufferPointer<UInt8>? {
            guard position < end else { return nil }
            var lineEnd = position
            while lineEnd < end, p[lineEnd] != JSONBytes.newline { lineEnd += 1 }
            var a = position, b = lineEnd
            position = lineEnd + 1
            while a < b, JSONBytes.isWhitespace(p[a]) { a += 1 }
            while b > a, JSONBytes.isWhitespace(p[b - 1]) { b -= 1 }
            return UnsafeBufferPointer(start: p + a, count: b - a)
        }
    }
}

// MARK: - arrays and concatenated objects

/// The records of arrays and of objects one after another. After a bad record, reading resumes at the
/// next line whose first character is `{` no further right than the bad record's `{`.
private struct StreamRecords {
    private enum State { case top, arrayStart, element, afterElement }

    let p: UnsafePointer<UInt8>
    var position: Int
    let end: Int
    let parser: KubeArmorRecordParser
    let rejections: Rejections
    private var state = State.top
    private var arrayStart = 0
    private var rejectedInArray = false
    private var lines: LineCounter

    init(_ p: UnsafePointer<UInt8>, from start: Int, end: Int, origin: String, parser: KubeArmorRecordParser) {
        self.p = p
        position = start
        self.end = end
        self.parser = parser
        rejections = Rejections(p: p, origin: origin)
        lines = LineCounter(p)
    }

    mutating func next() -> KubeArmorJSONReader.Outcome? {
        while true {
            while position < end, JSONBytes.isWhitespace(p[position]) { position += 1 }
            guard position < end else {
                guard state != .top, !rejectedInArray else { return nil }
                state = .top
                let failure = RecordFailure(offset: end, kind: .record,
                                            message: "the JSON array that starts at line \(lines.line(at: arrayStart)) is not closed")
                return .failure(rejections.make(failure, line: lines.line(at: end), raw: arrayStart..<end))
            }
            let b = p[position]
            switch state {
            case .top:
                if b == JSONBytes.openBracket {
                    state = .arrayStart
                    arrayStart = position
                    rejectedInArray = false
                    position += 1
                    continue
                }
                if b == JSONBytes.openBrace { return record() }
                return garbage("'{' or '['")
            case .arrayStart, .element:
                if state == .arrayStart, b == JSONBytes.closeBracket {
                    state = .top
                    position += 1
                    continue
                }
                state = .afterElement
                if b == JSONBytes.openBrace { return record() }
                return garbage("a record (a JSON object)")
            case .afterElement:
                if b == JSONBytes.comma {
                    state = .element
                    position += 1
                    continue
                }
                if b == JSONBytes.closeBracket {
                    state = .top
                    position += 1
                    continue
                }
                return garbage("',' or ']' after a record")
            }
        }
    }

    private mutating func record() -> KubeArmorJSONReader.Outcome {
        let start = position
        let windowEnd = min(end, start + KubeArmorJSONReader.maxRecordBytes)
        do {
            let (event, after) = try parser.parseObject(p, at: start, end: windowEnd)
            position = after
            return .success(event)
        } catch {
            resynchronise(after: start)
            if error.offset >= windowEnd, windowEnd < end {
                return .failure(rejections.tooLarge(at: start, size: nil, line: lines.line(at: start), raw: start..<trimmedPosition()))
            }
            return .failure(rejections.make(error, line: lines.line(at: error.offset), raw: start..<trimmedPosition()))
        }
    }

    private mutating func garbage(_ expected: String) -> KubeArmorJSONReader.Outcome {
        let start = position
        let failure = RecordFailure(offset: start, kind: .syntax, message: "expected \(expected), found \(JSONBytes.describe(p[start]))")
        resynchronise(after: start)
        return .failure(rejections.make(failure, line: lines.line(at: start), raw: start..<trimmedPosition()))
    }

    /// Moves to the next line (after the one holding `start`) whose first non-blank byte is `{` at a
    /// column no greater than that of `start`, or to the end.
    private mutating func resynchronise(after start: Int) {
        if state != .top {
            rejectedInArray = true
            state = .element
        }
        let column = start - rejections.lineStart(of: start)
        var i = start
        while i < end {
            guard let newline = memchr(p + i, 0x0A, end - i) else { break }
            let lineStart = p.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
            var j = lineStart
            while j < end, p[j] == 0x20 || p[j] == 0x09 || p[j] == 0x0D { j += 1 }
            if j < end, p[j] == JSONBytes.openBrace, j - lineStart <= column {
                position = j
                return
            }
            i = lineStart
        }
        position = end
    }

    /// The current position with the whitespace before it left out (the end of a rejected record's bytes).
    private func trimmedPosition() -> Int {
        var i = position
        while i > 0, JSONBytes.isWhitespace(p[i - 1]) { i -= 1 }
        return i
    }
}

/// 1-based line numbers of offsets, counting newlines incrementally (offsets mostly increase).
private struct LineCounter {
    let p: UnsafePointer<UInt8>
    private var countedTo = 0
    private var newlines = 0

    init(_ p: UnsafePointer<UInt8>) { self.p = p }

    mutating func line(at offset: Int) -> Int {
        if offset < countedTo {
            countedTo = 0
            newlines = 0
        }
        var i = countedTo
        while i < offset, let newline = memchr(p + i, 0x0A, offset - i) {
            newlines += 1
            i = p.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
        }
        countedTo = offset
        return newlines + 1
    }
}
