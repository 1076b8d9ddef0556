/// Why one record could not be read, and at which byte; the reader turns it into a ``RejectedRecord``.
struct RecordFailure: Error {
    enum Kind {
        /// Not JSON: the message says what was expected and what was found; a column is added.
        case syntax
        /// Bytes that are not UTF-8; the message is completed with the offset.
        case invalidUTF8
        /// Valid JSON that is not a usable record (wrong types, limits): the message is complete.
        case record
    }

    var offset: Int
    var kind: Kind
    var message: String
}

/// Turns one JSON object — a KubeArmor alert or log, in karmor's PascalCase or the daemon's camelCase —
/// into an ``Event``, working on the input bytes directly.
///
/// One parser per thread: it owns the interning tables (strings, keys, key layouts) that make repeated
/// values cost a hash lookup instead of an allocation.
final class KubeArmorRecordParser {
    /// Records with more members than this are rejected (KubeArmor's have fewer than 50).
    static let maxMembers = 1024
    /// Deeper nesting than this inside a value is rejected.
    static let maxDepth = 64

    /// Whether commas between members may be missing when a newline separates them (the form the
    /// AccuKnox alerts page shows).
    let commasOptional: Bool
    private let strings = StringTable()
    private let keys = KeyTable()
    private let scratch = ByteScratch()
    private let keyIDs = UnsafeMutablePointer<Int32>.allocate(capacity: maxMembers)
    private let extras = UnsafeMutablePointer<ExtraField>.allocate(capacity: maxMembers)
    private var time = UpdatedTimeCache()

    init(commasOptional: Bool) {
        self.commasOptional = commasOptional
    }

    deinit {
        keyIDs.deallocate()
        extras.deallocate()
    }

    /// Parses the object whose `{` is at `start`, reading no further than `end`; returns the event and
    /// the index just after the closing `}`.
    ///
    /// Records of one input repeat their keys in the same order and many of their values, so each key
    /// remembers the key that followed it and its last value: when the input has the same bytes again,
    /// they are compared once instead of scanned, hashed and looked up.
    func parseObject(_ p: UnsafePointer<UInt8>, at start: Int, end: Int) throws(RecordFailure) -> (Event, Int) {
        keys.makeRoom()
        var event = Event()
        var members = 0
        var extrasCount = 0
        defer { extras.deinitialize(count: extrasCount) }
        var layoutHash: UInt64 = 0xCBF2_9CE4_8422_2325
        var updatedTime: (start: Int, close: Int, hasEscapes: Bool)?
        var predicted = keys.first
        var previous: Int32 = -1
        var i = skipWhitespace(p, start + 1, end)
        if i < end, p[i] == JSONBytes.closeBrace { throw RecordFailure(offset: start, kind: .record, message: "the record has no fields") }
        while true {
            guard i < end, p[i] == JSONBytes.quote else { throw expected("a key in double quotes", p, i, end) }
            guard members < KubeArmorRecordParser.maxMembers else {
                throw RecordFailure(offset: i, kind: .record,
                                    message: "the record has more than \(KubeArmorRecordParser.maxMembers) fields")
            }
            // The key: most often the one that followed the previous key last time.
            var id: Int32 = -1
            if predicted >= 0 {
                let guess = keys.states + Int(predicted)
                let n = guess.pointee.nameLength
                if guess.pointee.matchable, i + 1 + n < end, p[i + 1 + n] == JSONBytes.quote,
                   JSONBytes.equal(p + i + 1, guess.pointee.nameBytes, n) {
                    id = predicted
                    i += n + 2
                }
            }
            if id < 0 {
                let key = try scan(p, i + 1, end)
                if key.hasEscapes {
                    scratch.removeAll()
                    JSONBytes.unescape(p, from: i + 1, to: key.close, into: scratch)
                    id = keys.id(scratch.base, scratch.count)
                } else {
                    id = keys.id(p + i + 1, key.close - i - 1)
                }
                i = key.close + 1
            }
            if previous >= 0 { keys.states[Int(previous)].next = id } else { keys.first = id }
            previous = id
            let key = keys.states + Int(id)
            predicted = key.pointee.next
            keyIDs[members] = id
            members += 1
            layoutHash = (layoutHash ^ UInt64(UInt32(bitPattern: id))) &* 0x100_0000_01B3

            if i < end, p[i] == JSONBytes.colon { i += 1 } else {
                i = skipWhitespace(p, i, end)
                guard i < end, p[i] == JSONBytes.colon else { throw expected("':' after the key", p, i, end) }
                i += 1
            }
            i = skipWhitespace(p, i, end)
            guard i < end else { throw expected("a value", p, i, end) }

            switch key.pointee.role {
            case .string(let field):
                guard p[i] == JSONBytes.quote else { throw try wrongType(id, "a string", p, i, end) }
                let n = key.pointee.valueLength
                if n >= 0, i + 1 + n < end, p[i + 1 + n] == JSONBytes.quote, key.pointee.holds(p + i + 1, n) {
                    event.assign(field, key.pointee.value)
                    i += n + 2
                } else {
                    let scanned = try scan(p, i + 1, end)
                    let value = string(p, i + 1, scanned)
                    if !scanned.hasEscapes { key.pointee.remember(value, bytes: p + i + 1, scanned.close - i - 1) }
                    event.assign(field, value)
                    i = scanned.close + 1
                }
            case .number(let field):
                i = try parseInteger(field, id, p, i, end, into: &event)
            case .updatedTime:
                guard p[i] == JSONBytes.quote else { throw try wrongType(id, "a string", p, i, end) }
                let value = try scan(p, i + 1, end)
                updatedTime = (i + 1, value.close, value.hasEscapes)
                i = value.close + 1
            case .extra:
                let json: String
                let n = key.pointee.valueLength
                if n >= 0, i + n <= end, key.pointee.holds(p + i, n), endsValue(p, i, n, end) {
                    json = key.pointee.value
                    i += n
                } else {
                    scratch.removeAll()
                    let after = try compactValue(p, i, end, depth: 0)
                    json = strings.string(scratch.base, scratch.count)
                    key.pointee.remember(json, bytes: p + i, after - i)
                    i = after
                }
                (extras + extrasCount).initialize(to: ExtraField(key: key.pointee.name, json: json))
                extrasCount += 1
            }

            if i < end, p[i] == JSONBytes.comma {
                i += 1
                if i < end, p[i] == JSONBytes.quote { continue }
                i = skipWhitespace(p, i, end)
                continue
            }
            let valueEnd = i
            i = skipWhitespace(p, i, end)
            guard i < end else { throw expected("',' or '}' after the value of \(key.pointee.name)", p, i, end) }
            if p[i] == JSONBytes.comma {
                i = skipWhitespace(p, i + 1, end)
            } else if p[i] == JSONBytes.closeBrace {
                i += 1
                break
            } else if !(commasOptional && p[i] == JSONBytes.quote && containsNewline(p, valueEnd, i)) {
                throw expected("',' or '}' after the value of \(key.pointee.name)", p, i, end)
            }
        }
        event.layout = keys.layout(UnsafeBufferPointer(start: keyIDs, count: members), hash: layoutHash)
        if extrasCount > 0 {
            let count = extrasCount
            event.extras = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                buffer.baseAddress!.moveInitialize(from: extras, count: count)
                initialized = count
            }
            extrasCount = 0
        }
        setTime(of: &event, updatedTime: updatedTime, p)
        return (event, i)
    }

    /// Whether a remembered extra value of `n` bytes matched at `i` is the whole value there: strings,
    /// objects and arrays end by themselves; numbers and literals must be followed by a delimiter.
    @inline(__always)
    private func endsValue(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int, _ end: Int) -> Bool {
        let first = p[i]
        if first == JSONBytes.quote || first == JSONBytes.openBrace || first == JSONBytes.openBracket { return true }
        guard i + n < end else { return true }
        let next = p[i + n]
        return JSONBytes.isWhitespace(next) || next == JSONBytes.comma || next == JSONBytes.closeBrace || next == JSONBytes.closeBracket
    }

    // MARK: values

    /// The string whose content (already scanned) lies between `start` and the closing quote.
    @inline(__always)
    private func string(_ p: UnsafePointer<UInt8>, _ start: Int, _ scanned: JSONBytes.ScannedString) -> String {
        guard scanned.hasEscapes else { return strings.string(p + start, scanned.close - start) }
        scratch.removeAll()
        JSONBytes.unescape(p, from: start, to: scanned.close, into: scratch)
        return strings.string(scratch.base, scratch.count)
    }

    /// Reads the integer at `i` into a numeric field; returns the index after it.
    private func parseInteger(_ field: EventField, _ id: Int32, _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                              into event: inout Event) throws(RecordFailure) -> Int {
        var i = start
        let negative = p[i] == 0x2D
        if negative { i += 1 }
        let digitsStart = i
        var value: Int64 = 0
        var overflow = false
        while i < end, p[i] &- 0x30 < 10 {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(p[i] &- 0x30))
            overflow = overflow || o1 || o2
            value = sum
            i += 1
        }
        guard i > digitsStart else {
            if negative { throw expected("a digit after '-'", p, i, end) }
            throw try wrongType(id, "a number", p, start, end)
        }
        if p[digitsStart] == 0x30, i - digitsStart > 1 { throw expected("no leading zeros in a number", p, digitsStart, end) }
        if i < end, p[i] == 0x2E || p[i] == 0x65 || p[i] == 0x45 {
            let numberEnd = try validateNumber(p, start, end)
            let text = String(decoding: UnsafeBufferPointer(start: p + start, count: min(numberEnd - start, 40)), as: UTF8.self)
            throw RecordFailure(offset: start, kind: .record, message: "field \(keys.states[Int(id)].name): expected an integer, found \(text)")
        }
        if negative { value = -value }
        let range: ClosedRange<Int64> = field == .timestamp ? Int64.min...Int64.max : Int64(Int32.min)...Int64(Int32.max)
        guard !overflow, range.contains(value) else {
            let text = String(decoding: UnsafeBufferPointer(start: p + start, count: min(i - start, 40)), as: UTF8.self)
            let bits = field == .timestamp ? 64 : 32
            throw RecordFailure(offset: start, kind: .record,
                                message: "field \(keys.states[Int(id)].name): \(text) does not fit in a \(bits)-bit integer")
        }
        event.setNumber(field, value)
        return i
    }

    /// Copies the JSON value at `i` to the scratch buffer without whitespace (inserting the commas
    /// the pasted form leaves out); returns the index after the value.
    private func compactValue(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, depth: Int) throws(RecordFailure) -> Int {
        guard depth < KubeArmorRecordParser.maxDepth else {
            throw RecordFailure(offset: start, kind: .record, message: "values nest deeper than \(KubeArmorRecordParser.maxDepth) levels")
        }
        var i = start
        switch p[i] {
        case JSONBytes.quote:
            let s = try scan(p, i + 1, end)
            scratch.append(p + i, s.close + 1 - i)
            return s.close + 1
        case JSONBytes.openBrace, JSONBytes.openBracket:
            let isObject = p[i] == JSONBytes.openBrace
            let close = isObject ? JSONBytes.closeBrace : JSONBytes.closeBracket
            scratch.append(p[i])
            i = skipWhitespace(p, i + 1, end)
            if i < end, p[i] == close {
                scratch.append(close)
                return i + 1
            }
            while true {
                if isObject {
                    guard i < end, p[i] == JSONBytes.quote else { throw expected("a key in double quotes", p, i, end) }
                    let key = try scan(p, i + 1, end)
                    scratch.append(p + i, key.close + 1 - i)
                    i = skipWhitespace(p, key.close + 1, end)
                    guard i < end, p[i] == JSONBytes.colon else { throw expected("':' after the key", p, i, end) }
                    scratch.append(JSONBytes.colon)
                    i = skipWhitespace(p, i + 1, end)
                }
                guard i < end else { throw expected("a value", p, i, end) }
                i = try compactValue(p, i, end, depth: depth + 1)
                let valueEnd = i
                i = skipWhitespace(p, i, end)
                guard i < end else { throw expected(isObject ? "',' or '}'" : "',' or ']'", p, i, end) }
                if p[i] == JSONBytes.comma {
                    scratch.append(JSONBytes.comma)
                    i = skipWhitespace(p, i + 1, end)
                } else if p[i] == close {
                    scratch.append(close)
                    return i + 1
                } else if commasOptional, containsNewline(p, valueEnd, i), p[i] != JSONBytes.closeBrace, p[i] != JSONBytes.closeBracket {
                    scratch.append(JSONBytes.comma)
                } else {
                    throw expected(isObject ? "',' or '}'" : "',' or ']'", p, i, end)
                }
            }
        case 0x74, 0x66, 0x6E:  // true, false, null
            for literal in ["true", "false", "null"] where literal.utf8.first == p[i] {
                let n = literal.utf8.count
                guard end - i >= n, literal.utf8.elementsEqual(UnsafeBufferPointer(start: p + i, count: n)) else {
                    throw expected("'\(literal)'", p, i, end)
                }
                scratch.append(p + i, n)
                return i + n
            }
            throw expected("a value", p, i, end)
        case 0x2D, 0x30...0x39:
            let numberEnd = try validateNumber(p, i, end)
            scratch.append(p + i, numberEnd - i)
            return numberEnd
        default:
            throw expected("a value", p, i, end)
        }
    }

    /// Checks the JSON number at `start`; returns the index after it.
    private func validateNumber(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws(RecordFailure) -> Int {
        var i = start
        func digits() -> Int {
            let from = i
            while i < end, p[i] &- 0x30 < 10 { i += 1 }
            return i - from
        }
        if p[i] == 0x2D { i += 1 }
        let intStart = i
        let intDigits = digits()
        guard intDigits > 0 else { throw expected("a digit", p, i, end) }
        if p[intStart] == 0x30, intDigits > 1 { throw expected("no leading zeros in a number", p, intStart, end) }
        if i < end, p[i] == 0x2E {
            i += 1
            guard digits() > 0 else { throw expected("a digit after '.'", p, i, end) }
        }
        if i < end, p[i] == 0x65 || p[i] == 0x45 {
            i += 1
            if i < end, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
            guard digits() > 0 else { throw expected("a digit in the exponent", p, i, end) }
        }
        return i
    }

    // MARK: time

    /// `timeNs` from UpdatedTime when it parses, else Timestamp seconds; UpdatedTime's text is kept
    /// only when it is not exactly what ``UnixTime/rfc3339Micro(_:)`` writes for that time.
    private func setTime(of event: inout Event, updatedTime: (start: Int, close: Int, hasEscapes: Bool)?, _ p: UnsafePointer<UInt8>) {
        let (timestampNs, overflow) = event.timestamp.multipliedReportingOverflow(by: 1_000_000_000)
        let fallback = overflow ? 0 : timestampNs
        guard let updatedTime else {
            event.timeNs = fallback
            return
        }
        if !updatedTime.hasEscapes, let ns = time.canonicalMicroNs(p + updatedTime.start, updatedTime.close - updatedTime.start) {
            event.timeNs = ns
            return
        }
        let text = string(p, updatedTime.start, JSONBytes.ScannedString(close: updatedTime.close, hasEscapes: updatedTime.hasEscapes))
        event.updatedTimeAsGiven = text
        event.timeNs = UnixTime.parseRFC3339(text) ?? fallback
    }

    // MARK: scanning and errors

    @inline(__always)
    private func skipWhitespace(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var i = start
        while i < end, JSONBytes.isWhitespace(p[i]) { i += 1 }
        return i
    }

    private func containsNewline(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        (from..<to).contains { p[$0] == JSONBytes.newline }
    }

    @inline(__always)
    private func scan(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws(RecordFailure) -> JSONBytes.ScannedString {
        do {
            return try JSONBytes.scanString(p, from: start, end: end)
        } catch {
            switch error {
            case .unterminated(let at): throw expected("'\"' to close the string", p, at, end)
            case .controlCharacter(let b, let at):
                throw RecordFailure(offset: at, kind: .syntax,
                                    message: "control character \(JSONBytes.describe(b)) inside a string (it must be escaped)")
            case .badEscape(let at): throw RecordFailure(offset: at, kind: .syntax, message: "invalid escape sequence in a string")
            case .invalidUTF8(let at): throw RecordFailure(offset: at, kind: .invalidUTF8, message: "invalid UTF-8")
            }
        }
    }

    private func expected(_ what: String, _ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> RecordFailure {
        RecordFailure(offset: i, kind: .syntax, message: "expected \(what), found \(i < end ? JSONBytes.describe(p[i]) : "the end of the record")")
    }

    /// The error for a value of the wrong JSON type (or a syntax error when it is no value at all).
    private func wrongType(_ id: Int32, _ wanted: String, _ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) throws(RecordFailure) -> RecordFailure {
        let found: String
        switch p[i] {
        case JSONBytes.quote: found = "a string"
        case JSONBytes.openBrace: found = "an object"
        case JSONBytes.openBracket: found = "an array"
        case 0x74, 0x66: found = "a boolean"
        case 0x6E: found = "null"
        case 0x2D, 0x30...0x39: found = "a number"
        default: return expected("a value", p, i, end)
        }
        // The value must still be valid JSON, so that a syntax error is reported as one.
        scratch.removeAll()
        _ = try compactValue(p, i, end, depth: 0)
        return RecordFailure(offset: i, kind: .record, message: "field \(keys.states[Int(id)].name): expected \(wanted), found \(found)")
    }
}

extension Event {
    /// Sets a plain string field (not `UpdatedTime`, not a number): ``setString(_:_:)`` made for the
    /// parser's inner loop, where inlining it saves a call per field.
    @inline(__always)
    mutating func assign(_ field: EventField, _ value: __owned String) {
        switch field {
        case .clusterName: clusterName = value
        case .hostName: hostName = value
        case .namespaceName: namespaceName = value
        case .podName: podName = value
        case .labels: labels = value
        case .containerID: containerID = value
        case .containerName: containerName = value
        case .containerImage: containerImage = value
        case .parentProcessName: parentProcessName = value
        case .processName: processName = value
        case .policyName: policyName = value
        case .severity: severity = value
        case .tags: tags = value
        case .message: message = value
        case .type: type = value
        case .source: source = value
        case .operation: operation = value
        case .resource: resource = value
        case .data: data = value
        case .enforcer: enforcer = value
        case .action: action = value
        case .result: result = value
        case .cwd: cwd = value
        case .tty: tty = value
        case .updatedTime, .timestamp, .hostPPID, .hostPID, .ppid, .pid, .uid: preconditionFailure("\(field.rawValue) is not a plain string field")
        }
    }
}

/// Reads canonical `UpdatedTime` text, reusing the date and time of day while the second stays the same.
struct UpdatedTimeCache {
    private var prefix: (UInt64, UInt64, UInt32) = (0, 0, 0)
    private var secondNs: Int64 = 0

    /// Like ``UnixTime/canonicalMicroNs(_:_:)``.
    @inline(__always)
    mutating func canonicalMicroNs(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int64? {
        guard count == 27 else { return nil }
        let raw = UnsafeRawPointer(p)
        let words = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                     raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        if words == prefix, p[26] == 0x5A, let micro = micro(p) { return secondNs + micro * 1000 }
        guard let ns = UnixTime.canonicalMicroNs(p, count), let micro = micro(p) else { return nil }
        prefix = words
        secondNs = ns - micro * 1000
        return ns
    }

    /// The six digits of microseconds after the `.` at index 19.
    @inline(__always)
    private func micro(_ p: UnsafePointer<UInt8>) -> Int64? {
        var micro: Int64 = 0
        for k in 20..<26 {
            let d = p[k] &- 0x30
            guard d < 10 else { return nil }
            micro = micro * 10 + Int64(d)
        }
        return micro
    }
}

extension UnixTime {
    /// The unix nanoseconds of `2024-05-31T10:06:40.043498Z` exactly as ``rfc3339Micro(_:)`` writes it
    /// (27 bytes, a real calendar date, seconds below 60), or nil for any other text.
    static func canonicalMicroNs(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int64? {
        guard count == 27, p[4] == 0x2D, p[7] == 0x2D, p[10] == 0x54, p[13] == 0x3A, p[16] == 0x3A, p[19] == 0x2E, p[26] == 0x5A
        else { return nil }
        var bad = false
        func number(_ from: Int, _ n: Int) -> Int64 {
            var v: Int64 = 0
            for k in from..<(from + n) {
                let d = p[k] &- 0x30
                bad = bad || d > 9
                v = v * 10 + Int64(d)
            }
            return v
        }
        let year = number(0, 4), month = number(5, 2), day = number(8, 2)
        let hour = number(11, 2), minute = number(14, 2), second = number(17, 2), micro = number(20, 6)
        guard !bad, (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays: Int64 = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        guard day <= monthDays else { return nil }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
        return nanoseconds(seconds: seconds, plus: micro * 1000)
    }
}
