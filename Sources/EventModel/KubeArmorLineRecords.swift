#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - rejections

/// Builds ``RejectedRecord``s with line, column and the record's bytes.
struct Rejections {
    let p: UnsafePointer<UInt8>
    let origin: String
    /// Bytes of the input before `p` (offsets are reported from the input's start).
    var bytesBefore = 0

    func make(_ failure: RecordFailure, line: Int, raw: Range<Int>) -> RejectedRecord {
        let column = failure.offset - lineStart(of: failure.offset) + 1
        let reason: String
        switch failure.kind {
        case .syntax: reason = "invalid JSON at column \(column): \(failure.message)"
        case .invalidUTF8: reason = "invalid UTF-8 at byte offset \(bytesBefore + failure.offset) (column \(column))"
        case .record: reason = failure.message
        }
        return RejectedRecord(origin: origin, line: line, byteOffset: bytesBefore + failure.offset, reason: reason,
                              raw: Array(UnsafeBufferPointer(start: p + raw.lowerBound, count: raw.count)))
    }

    func tooLarge(at offset: Int, size: Int?, line: Int, raw: Range<Int>) -> RejectedRecord {
        let limit = "the \(KubeArmorJSONReader.maxRecordBytes >> 20) MiB limit"
        let reason = size.map { "record is larger than \(limit) (\($0) bytes)" } ?? "record is larger than \(limit)"
        return RejectedRecord(origin: origin, line: line, byteOffset: bytesBefore + offset, reason: reason,
                              raw: Array(UnsafeBufferPointer(start: p + raw.lowerBound, count: raw.count)))
    }

    func lineStart(of offset: Int) -> Int {
        var i = offset
        while i > 0, p[i - 1] != JSONBytes.newline { i -= 1 }
        return i
    }
}

// MARK: - one object per line

/// The records of a range of lines, one object per line; blank lines are skipped.
struct LineRecords {
    let p: UnsafePointer<UInt8>
    var position: Int
    let end: Int
    let parser: KubeArmorRecordParser
    let rejections: Rejections
    /// Lines read so far, counted from the start of the range.
    private(set) var line = 0

    init(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, origin: String, bytesBefore: Int, parser: KubeArmorRecordParser) {
        self.p = p
        position = range.lowerBound
        end = range.upperBound
        self.parser = parser
        rejections = Rejections(p: p, origin: origin, bytesBefore: bytesBefore)
    }

    mutating func next() -> KubeArmorJSONReader.Outcome? {
        while position < end {
            let lineStart = position
            var lineEnd = end
            if let newline = memchr(p + lineStart, 0x0A, end - lineStart) {
                lineEnd = p.distance(to: newline.assumingMemoryBound(to: UInt8.self))
            }
            position = min(lineEnd + 1, end)
            line += 1
            var i = lineStart
            while i < lineEnd, JSONBytes.isWhitespace(p[i]) { i += 1 }
            if i == lineEnd { continue }
            if lineEnd - lineStart > KubeArmorJSONReader.maxRecordBytes {
                return .failure(rejections.tooLarge(at: lineStart, size: lineEnd - lineStart, line: line, raw: lineStart..<lineEnd))
            }
            do throws(RecordFailure) {
                guard p[i] == JSONBytes.openBrace else {
                    throw RecordFailure(offset: i, kind: .syntax, message: "expected '{' to start a record, found \(JSONBytes.describe(p[i]))")
                }
                let (event, after) = try parser.parseObject(p, at: i, end: lineEnd)
                var j = after
                while j < lineEnd, JSONBytes.isWhitespace(p[j]) { j += 1 }
                guard j == lineEnd else {
                    throw RecordFailure(offset: j, kind: .syntax,
                                        message: "expected the end of the line after the record, found \(JSONBytes.describe(p[j]))")
                }
                return .success(event)
            } catch {
                return .failure(rejections.make(error, line: line, raw: lineStart..<lineEnd))
            }
        }
        return nil
    }
}
