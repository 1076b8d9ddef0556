import EventModel

/// Appending text to output bytes without building intermediate strings.
extension Array where Element == UInt8 {
    /// Appends the bytes of a literal.
    @inline(__always)
    mutating func append(literal s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Appends a string as a JSON string literal (Go's escapes, as KubeArmor writes them).
    @inline(__always)
    mutating func append(jsonString s: String) {
        KubeArmorJSONWriter.appendQuoted(s, to: &self)
    }

    /// Appends a substring as a JSON string literal.
    @inline(__always)
    mutating func append(jsonString s: Substring) {
        KubeArmorJSONWriter.appendQuoted(String(s), to: &self)
    }

    /// Appends the UTF-8 text of KubeArmor's comma-separated `Tags` as a JSON array of strings.
    mutating func append(jsonStringList text: UnsafeBufferPointer<UInt8>) {
        append(jsonStringList: String(decoding: text, as: UTF8.self))
    }

    /// Appends KubeArmor's comma-separated `Tags` (or `ATags`) as a JSON array of strings.
    mutating func append(jsonStringList commaSeparated: String) {
        append(0x5B)
        var first = true
        for item in commaSeparated.split(separator: ",", omittingEmptySubsequences: false) {
            if !first { append(0x2C) }
            first = false
            append(jsonString: item)
        }
        append(0x5D)
    }

    /// Appends the space-separated words of UTF-8 text as a JSON array of strings.
    mutating func append(jsonWords text: UnsafeBufferPointer<UInt8>) {
        append(0x5B)
        for (n, word) in text.split(separator: 0x20).enumerated() {
            if n > 0 { append(0x2C) }
            GoJSON.appendQuoted(bytes: UnsafeBufferPointer(rebasing: word), to: &self)
        }
        append(0x5D)
    }

    /// Appends KubeArmor's `Labels` (`k=v` items separated by commas) as a JSON object of strings:
    /// dots in keys become `_` (as Beats' `labels.dedot` does, for Elasticsearch's object paths), a
    /// key without `=` gets an empty value, and a repeated key keeps its first value.
    mutating func append(jsonLabels text: UnsafeBufferPointer<UInt8>) {
        append(0x7B)
        var keys: Set<[UInt8]> = []
        for item in text.split(separator: 0x2C) {
            let equals = item.firstIndex(of: 0x3D) ?? item.endIndex
            let key = item[..<equals].map { $0 == 0x2E ? 0x5F : $0 }
            guard !key.isEmpty, keys.insert(key).inserted else { continue }
            if keys.count > 1 { append(0x2C) }
            key.withUnsafeBufferPointer { GoJSON.appendQuoted(bytes: $0, to: &self) }
            append(0x3A)
            let value = equals < item.endIndex ? item[(equals + 1)...] : item[item.endIndex...]
            GoJSON.appendQuoted(bytes: UnsafeBufferPointer(rebasing: value), to: &self)
        }
        append(0x7D)
    }

    /// Appends an integer in decimal.
    @inline(__always)
    mutating func append(decimal value: some BinaryInteger) {
        KubeArmorJSONWriter.appendInteger(Int64(value), to: &self)
    }

    /// Appends UTF-8 bytes, writing each byte for which `needsEscape` holds through `escape` instead;
    /// runs of plain bytes are appended at once.
    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, escaping needsEscape: (UInt8) -> Bool,
                         with escape: (UInt8, inout [UInt8]) -> Void) {
        var plainStart = 0
        for i in 0..<bytes.count where needsEscape(bytes[i]) {
            if plainStart < i { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainStart..<i])) }
            escape(bytes[i], &self)
            plainStart = i + 1
        }
        if plainStart < bytes.count { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainStart...])) }
    }

    /// Appends `value` with `digits` digits, zero-padded on the left.
    mutating func append(padded value: Int64, digits: Int) {
        var divisor: Int64 = 1
        for _ in 1..<digits { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            append(0x30 + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}

/// Writes the members of one JSON object: commas between members, keys given as literals.
struct JSONObjectWriter {
    private var first = true

    /// Starts an object: appends `{`.
    init(opening out: inout [UInt8]) { out.append(0x7B) }

    /// Continues an object whose first member is written: every member gets its comma.
    private init() { first = false }

    /// A writer of members that follow others (a cached run of members, see ``members(_:_:_:)``).
    static var continuing: JSONObjectWriter { JSONObjectWriter() }

    /// Appends a run of members that `write` writes after a comma each (with a ``continuing``
    /// writer), dropping the first comma when this object has no member yet.
    @inline(__always)
    mutating func members(_ out: inout [UInt8], _ write: (inout [UInt8]) -> Void) {
        let start = out.count
        write(&out)
        guard out.count > start else { return }
        if first { out.remove(at: start) }
        first = false
    }

    /// Appends `"key":`, after a comma unless it is the first member.
    /// (Assembled on the stack and appended at once: appends to an array cost more per call than per byte.)
    @inline(__always)
    mutating func key(_ key: StaticString, _ out: inout [UInt8]) {
        member(key, "", &out)
    }

    /// Appends `"key":` and then `value`, a literal, as one append.
    @inline(__always)
    private mutating func member(_ key: StaticString, _ value: StaticString, _ out: inout [UInt8]) {
        let count = key.utf8CodeUnitCount, valueCount = value.utf8CodeUnitCount
        let comma = first ? 0 : 1
        first = false
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + valueCount + 4) { text in
            text[0] = 0x2C
            text[comma] = 0x22
            UnsafeMutableRawPointer(text.baseAddress! + comma + 1).copyMemory(from: key.utf8Start, byteCount: count)
            text[comma + 1 + count] = 0x22
            text[comma + 2 + count] = 0x3A
            if valueCount > 0 {
                UnsafeMutableRawPointer(text.baseAddress! + comma + 3 + count).copyMemory(from: value.utf8Start, byteCount: valueCount)
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<(comma + 3 + count + valueCount)]))
        }
    }

    /// Appends `"key":` with the key of `record`'s extra field `index`.
    mutating func key(dynamic record: some ExportRecord, extra index: Int, _ out: inout [UInt8]) {
        if !first { out.append(0x2C) }
        first = false
        record.appendExtraKey(index, to: &out)
        out.append(0x3A)
    }

    /// Appends a string member unless `value` is empty.
    @inline(__always)
    mutating func string(_ key: StaticString, _ value: String, _ out: inout [UInt8]) {
        guard !value.isEmpty else { return }
        self.key(key, &out)
        out.append(jsonString: value)
    }

    /// Appends a string member unless `value` is empty.
    @inline(__always)
    mutating func string(_ key: StaticString, _ value: Substring, _ out: inout [UInt8]) {
        guard !value.isEmpty else { return }
        self.key(key, &out)
        out.append(jsonString: value)
    }

    /// Appends a string member from `record`'s `field` unless it is empty.
    @inline(__always)
    mutating func string(_ key: StaticString, _ record: some ExportRecord, _ field: EventField, _ out: inout [UInt8]) {
        guard !record.isEmpty(field) else { return }
        self.key(key, &out)
        record.append(field, as: .json, to: &out)
    }

    /// Appends the last path component of `record`'s `field` as a string member unless it is empty.
    @inline(__always)
    mutating func lastComponent(_ key: StaticString, _ record: some ExportRecord, _ field: EventField, _ out: inout [UInt8]) {
        guard record.withUTF8(field, { !$0.isEmpty && $0.last != 0x2F }) else { return }
        self.key(key, &out)
        record.append(field, as: .jsonLastComponent, to: &out)
    }

    /// Appends an integer member.
    @inline(__always)
    mutating func number(_ key: StaticString, _ value: some BinaryInteger, _ out: inout [UInt8]) {
        self.key(key, &out)
        out.append(decimal: value)
    }

    /// Appends a member whose value is a literal (`true`, a constant string with its quotes, …).
    @inline(__always)
    mutating func raw(_ key: StaticString, _ json: StaticString, _ out: inout [UInt8]) {
        member(key, json, &out)
    }

    /// Whether no member has been written yet.
    var isEmpty: Bool { first }

    /// Ends the object: appends `}`.
    func close(_ out: inout [UInt8]) { out.append(0x7D) }
}
