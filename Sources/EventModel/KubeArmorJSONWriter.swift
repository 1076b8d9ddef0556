/// Writes ``Event``s as KubeArmor JSON, one object per line, as `karmor logs --json` prints them.
///
/// An imported event (with a ``Event/layout``) is written with exactly its input keys, in their order
/// and spelling, so that a record that came from karmor goes out byte-identical. An event rearview
/// recorded (no layout) is written in KubeArmor's own key order — `pb.Alert` for alerts, `pb.Log` for
/// logs — leaving out empty fields except `PPID` and `UID`, as Go's `json.Marshal` of those structs
/// does. Strings are escaped as Go's `encoding/json` escapes them (`\u003c`, `\u003e`, `\u0026`,
/// `\u2028`, `\u2029`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00XX`).
public struct KubeArmorJSONWriter {
    /// What to write for each key of a layout seen before, found by the address of the layout's key
    /// storage (layouts are interned, so the same address comes back; holding the layout keeps the
    /// address from being reused).
    private var plans: [(layout: KeyLayout, address: UnsafeRawPointer?, plan: LayoutPlan)] = []
    private var lastPlan = 0
    private var time = TimeText()

    public init() {}

    /// Appends `event` as one JSON object, without a newline.
    public mutating func append(_ event: Event, to out: inout [UInt8]) {
        append(event, plan: event.layout.map { plan(for: $0) }, to: &out)
    }

    /// Appends `record` as one JSON object, without a newline: with `plan`'s keys (an imported
    /// record's layout), else in KubeArmor's own key order.
    package mutating func append(_ record: some KubeArmorRecordSource, plan: LayoutPlan?, to out: inout [UInt8]) {
        if let plan {
            append(record, plan: plan, to: &out)
        } else {
            appendInKubeArmorOrder(record, to: &out)
        }
    }

    /// The JSON text of `event` (convenient for tests and small outputs).
    public mutating func json(_ event: Event) -> String {
        var out: [UInt8] = []
        append(event, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: imported events

    /// The keys of a layout, each with its role and its `"key":` text.
    package final class LayoutPlan {
        let keys: [String]
        var roles: [KeyRole] = []
        var texts: [Range<Int>] = []
        var textBytes: [UInt8] = []
        var extraKeys: Set<String> = []

        package init(_ layout: KeyLayout) {
            keys = layout.keys
            for key in layout.keys {
                if let field = EventField(key: key) {
                    roles.append(field == .updatedTime ? .updatedTime : field.isNumeric ? .number(field) : .string(field))
                } else {
                    roles.append(.extra)
                    extraKeys.insert(key)
                }
                let start = textBytes.count
                GoJSON.appendQuoted(key, to: &textBytes)
                textBytes.append(JSONBytes.colon)
                texts.append(start..<textBytes.count)
            }
        }
    }

    private mutating func plan(for layout: KeyLayout) -> LayoutPlan {
        let address = layout.keys.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        if lastPlan < plans.count, plans[lastPlan].address == address { return plans[lastPlan].plan }
        if let index = plans.firstIndex(where: { $0.address == address }) {
            lastPlan = index
            return plans[index].plan
        }
        if plans.count >= 256 { plans.removeAll(keepingCapacity: true) }
        plans.append((layout, address, LayoutPlan(layout)))
        lastPlan = plans.count - 1
        return plans[lastPlan].plan
    }

    private mutating func append(_ record: some KubeArmorRecordSource, plan: LayoutPlan, to out: inout [UInt8]) {
        out.append(JSONBytes.openBrace)
        var first = true
        var nextExtra = 0
        var extrasInOrder = true
        let extraCount = record.extraCount
        plan.textBytes.withUnsafeBufferPointer { textBytes in
            for step in plan.roles.indices {
                let role = plan.roles[step]
                var extraIndex = -1
                if case .extra = role {
                    // Extras are in layout order; look further only if the event was changed since import.
                    if nextExtra < extraCount, record.extraKey(nextExtra) == plan.keys[step] {
                        extraIndex = nextExtra
                        nextExtra += 1
                    } else {
                        extrasInOrder = false
                        guard let found = (0..<extraCount).first(where: { record.extraKey($0) == plan.keys[step] }) else { continue }
                        extraIndex = found
                    }
                }
                if !first { out.append(JSONBytes.comma) }
                first = false
                out.append(contentsOf: UnsafeBufferPointer(rebasing: textBytes[plan.texts[step]]))
                switch role {
                case .string(let field): record.appendQuoted(field, to: &out)
                case .number(let field): GoJSON.appendInteger(record.number(field), to: &out)
                case .updatedTime: appendUpdatedTime(record, to: &out)
                case .extra: record.appendExtraJSON(extraIndex, to: &out)
                }
            }
        }
        // Extras added after import (not in the layout) go last.
        if !extrasInOrder || nextExtra < extraCount {
            for i in 0..<extraCount where !plan.extraKeys.contains(record.extraKey(i)) {
                if !first { out.append(JSONBytes.comma) }
                first = false
                appendKey(record.extraKey(i), to: &out)
                record.appendExtraJSON(i, to: &out)
            }
        }
        out.append(JSONBytes.closeBrace)
    }

    // MARK: recorded events

    private mutating func appendInKubeArmorOrder(_ record: some KubeArmorRecordSource, to out: inout [UInt8]) {
        out.append(JSONBytes.openBrace)
        var first = true
        func separate(_ out: inout [UInt8]) {
            if !first { out.append(JSONBytes.comma) }
            first = false
        }
        let extraCount = record.extraCount
        for slot in record.isAlert ? KubeArmorKeyOrder.alert : KubeArmorKeyOrder.log {
            switch slot {
            case .field(let field) where field == .updatedTime:
                guard !record.hasEmptyGivenUpdatedTime else { continue }
                separate(&out)
                out.append(contentsOf: #""UpdatedTime":"#.utf8)
                appendUpdatedTime(record, to: &out)
            case .field(let field) where field.isNumeric:
                let value = record.number(field)
                guard value != 0 || field == .ppid || field == .uid else { continue }
                separate(&out)
                appendKey(field.rawValue, to: &out)
                GoJSON.appendInteger(value, to: &out)
            case .field(let field):
                guard !record.isEmpty(field) else { continue }
                separate(&out)
                appendKey(field.rawValue, to: &out)
                record.appendQuoted(field, to: &out)
            case .extra(let key):
                guard let i = (0..<extraCount).first(where: { record.extraKey($0) == key }) else { continue }
                separate(&out)
                appendKey(key, to: &out)
                record.appendExtraJSON(i, to: &out)
            }
        }
        for i in 0..<extraCount where !KubeArmorKeyOrder.extraKeys.contains(record.extraKey(i)) {
            separate(&out)
            appendKey(record.extraKey(i), to: &out)
            record.appendExtraJSON(i, to: &out)
        }
        out.append(JSONBytes.closeBrace)
    }

    // MARK: pieces

    private func appendKey(_ key: String, to out: inout [UInt8]) {
        GoJSON.appendQuoted(key, to: &out)
        out.append(JSONBytes.colon)
    }

    private mutating func appendUpdatedTime(_ record: some KubeArmorRecordSource, to out: inout [UInt8]) {
        if !record.appendGivenUpdatedTime(to: &out) {
            out.append(JSONBytes.quote)
            time.appendRFC3339Micro(record.timeNs, to: &out)
            out.append(JSONBytes.quote)
        }
    }
}

/// What ``KubeArmorJSONWriter`` reads from a record: an ``Event``, or a row of a store's column batch
/// (which writes its strings from a per-block cache of their JSON text).
package protocol KubeArmorRecordSource {
    var timeNs: Int64 { get }
    var isAlert: Bool { get }
    /// A numeric field's value.
    func number(_ field: EventField) -> Int64
    /// Whether a string field is empty.
    func isEmpty(_ field: EventField) -> Bool
    /// Appends a string field (not `UpdatedTime`) as a JSON string literal with Go's escapes.
    func appendQuoted(_ field: EventField, to out: inout [UInt8])
    /// Appends `UpdatedTime` as given, quoted, and returns true; false when it is derived from the time.
    func appendGivenUpdatedTime(to out: inout [UInt8]) -> Bool
    /// Whether `UpdatedTime` is given as the empty string (then the recorded order leaves it out).
    var hasEmptyGivenUpdatedTime: Bool { get }
    var extraCount: Int { get }
    func extraKey(_ index: Int) -> String
    /// Appends extra `index`'s value (compact JSON).
    func appendExtraJSON(_ index: Int, to out: inout [UInt8])
}

extension Event: KubeArmorRecordSource {
    package func number(_ field: EventField) -> Int64 { number(field) ?? 0 }
    package func isEmpty(_ field: EventField) -> Bool { string(field).isEmpty }
    package func appendQuoted(_ field: EventField, to out: inout [UInt8]) { GoJSON.appendQuoted(field, of: self, to: &out) }
    package func appendGivenUpdatedTime(to out: inout [UInt8]) -> Bool {
        guard let given = updatedTimeAsGiven else { return false }
        GoJSON.appendQuoted(given, to: &out)
        return true
    }
    package var hasEmptyGivenUpdatedTime: Bool { updatedTimeAsGiven == "" }
    package var extraCount: Int { extras.count }
    package func extraKey(_ index: Int) -> String { extras[index].key }
    package func appendExtraJSON(_ index: Int, to out: inout [UInt8]) { out.append(contentsOf: extras[index].json.utf8) }
}

/// KubeArmor's key order: the fields of `pb.Alert` and `pb.Log` in their Go struct order.
enum KubeArmorKeyOrder {
    enum Slot {
        case field(EventField)
        case extra(String)
    }

    /// `pb.Alert`.
    static let alert: [Slot] = slots(alert: true)
    /// `pb.Log`: the alert order with the process names before the IDs and without the policy fields;
    /// a log that carries policy fields anyway gets them where an alert has them.
    static let log: [Slot] = slots(alert: false)
    /// The keys of KubeArmor's own fields that rearview keeps as extras.
    static let extraKeys: Set<String> = Set(alert.compactMap { if case .extra(let key) = $0 { key } else { nil } })

    private static func slots(alert: Bool) -> [Slot] {
        let ids: [Slot] = [.field(.hostPPID), .field(.hostPID), .field(.ppid), .field(.pid), .field(.uid)]
        let names: [Slot] = [.field(.parentProcessName), .field(.processName)]
        let head: [Slot] = [.field(.timestamp), .field(.updatedTime), .field(.clusterName), .field(.hostName),
                            .field(.namespaceName), .extra("Owner"), .field(.podName), .field(.labels),
                            .field(.containerID), .field(.containerName), .field(.containerImage)]
        let policy: [Slot] = [.field(.policyName), .field(.severity), .field(.tags), .extra("ATags"), .field(.message)]
        let what: [Slot] = [.field(.type), .field(.source), .field(.operation), .field(.resource), .field(.data),
                            .extra("EventData"), .field(.enforcer), .field(.action), .field(.result), .field(.cwd), .field(.tty),
                            .extra("MaxAlertsPerSec"), .extra("DroppingAlertsInterval"), .extra("ExecEvent"),
                            .extra("KubeArmorVersion"), .extra("NodeID"), .extra("ProcessHash"), .extra("ParentHash"),
                            .extra("ResourceHash"), .extra("HashAlgo"), .extra("UserName")]
        return head + (alert ? ids + names : names + ids) + policy + what
    }
}

/// String and number output exactly as Go's `encoding/json` writes it.
package enum GoJSON {
    /// Bytes below 0x40 that need escaping: control characters, `"`, `&`, `<`, `>`.
    private static let lowEscapes: UInt64 = 0xFFFF_FFFF | 1 << 0x22 | 1 << 0x26 | 1 << 0x3C | 1 << 0x3E
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends UTF-8 bytes as a JSON string literal.
    package static func appendQuoted(bytes s: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(JSONBytes.quote)
        appendEscaped(s, to: &out)
        out.append(JSONBytes.quote)
    }

    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(JSONBytes.quote)
        if s.utf8.withContiguousStorageIfAvailable({ appendEscaped($0, to: &out) }) == nil {
            Array(s.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &out) }
        }
        out.append(JSONBytes.quote)
    }

    /// Appends a string field of `event` quoted (reading the field in place, without copying it).
    static func appendQuoted(_ field: EventField, of event: Event, to out: inout [UInt8]) {
        switch field {
        case .updatedTime: appendQuoted(event.updatedTime, to: &out)
        case .clusterName: appendQuoted(event.clusterName, to: &out)
        case .hostName: appendQuoted(event.hostName, to: &out)
        case .namespaceName: appendQuoted(event.namespaceName, to: &out)
        case .podName: appendQuoted(event.podName, to: &out)
        case .labels: appendQuoted(event.labels, to: &out)
        case .containerID: appendQuoted(event.containerID, to: &out)
        case .containerName: appendQuoted(event.containerName, to: &out)
        case .containerImage: appendQuoted(event.containerImage, to: &out)
        case .parentProcessName: appendQuoted(event.parentProcessName, to: &out)
        case .processName: appendQuoted(event.processName, to: &out)
        case .policyName: appendQuoted(event.policyName, to: &out)
        case .severity: appendQuoted(event.severity, to: &out)
        case .tags: appendQuoted(event.tags, to: &out)
        case .message: appendQuoted(event.message, to: &out)
        case .type: appendQuoted(event.type, to: &out)
        case .source: appendQuoted(event.source, to: &out)
        case .operation: appendQuoted(event.operation, to: &out)
        case .resource: appendQuoted(event.resource, to: &out)
        case .data: appendQuoted(event.data, to: &out)
        case .enforcer: appendQuoted(event.enforcer, to: &out)
        case .action: appendQuoted(event.action, to: &out)
        case .result: appendQuoted(event.result, to: &out)
        case .cwd: appendQuoted(event.cwd, to: &out)
        case .tty: appendQuoted(event.tty, to: &out)
        case .timestamp, .hostPPID, .hostPID, .ppid, .pid, .uid: appendInteger(event.number(field)!, to: &out)
        }
    }

    /// Appends valid UTF-8 with Go's escapes.
    private static func appendEscaped(_ s: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var plainStart = 0
        var i = 0
        let n = s.count
        let raw = UnsafeRawPointer(s.baseAddress)
        while i < n {
            // Skip eight plain bytes at a time (none below 0x20, none of " \\ < > &, none above 0x7F).
            while i + 8 <= n {
                let w = raw!.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if hasSpecialByte(w) { break }
                i += 8
            }
            guard i < n else { break }
            let b = s[i]
            let special = b < 0x40 ? (lowEscapes >> b) & 1 != 0 : (b == JSONBytes.backslash || b == 0xE2)
            if !special {
                i += 1
                continue
            }
            // U+2028 and U+2029 (E2 80 A8/A9) are escaped; other characters starting with E2 are not.
            if b == 0xE2, !(i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
                i += 1
                continue
            }
            if plainStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: s[plainStart..<i])) }
            switch b {
            case JSONBytes.quote: out.append(contentsOf: [JSONBytes.backslash, JSONBytes.quote])
            case JSONBytes.backslash: out.append(contentsOf: [JSONBytes.backslash, JSONBytes.backslash])
            case 0x08: out.append(contentsOf: [JSONBytes.backslash, 0x62])
            case 0x0C: out.append(contentsOf: [JSONBytes.backslash, 0x66])
            case 0x0A: out.append(contentsOf: [JSONBytes.backslash, 0x6E])
            case 0x0D: out.append(contentsOf: [JSONBytes.backslash, 0x72])
            case 0x09: out.append(contentsOf: [JSONBytes.backslash, 0x74])
            case 0xE2:
                out.append(contentsOf: Array(#"\u202"#.utf8))
                out.append(s[i + 2] == 0xA8 ? 0x38 : 0x39)
                i += 2
            default:
                out.append(contentsOf: [JSONBytes.backslash, 0x75, 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]])
            }
            i += 1
            plainStart = i
        }
        if plainStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: s[plainStart..<n])) }
    }

    /// Whether a word of eight bytes holds a byte that may need escaping.
    @inline(__always)
    private static func hasSpecialByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x }
        let found = (w &- 0x2020_2020_2020_2020) | w
            | zeroByte(w ^ (ones &* 0x22)) | zeroByte(w ^ (ones &* 0x5C))
            | zeroByte(w ^ (ones &* 0x3C)) | zeroByte(w ^ (ones &* 0x3E)) | zeroByte(w ^ (ones &* 0x26))
        return found & highs != 0
    }

    package static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(0x2D) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            out.append(0x30 + UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            while magnitude > 0 {
                i -= 1
                digits[i] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }
}

/// Writes `UpdatedTime` text fast: the date and time of day are reused while the second stays the same.
private struct TimeText {
    private var second = Int64.min
    private var prefix: [UInt8] = []

    /// `2024-05-31T10:06:40.043498Z`, as ``UnixTime/rfc3339Micro(_:)`` writes it.
    mutating func appendRFC3339Micro(_ ns: Int64, to out: inout [UInt8]) {
        let (s, subNs) = ns.quotientAndRemainder(dividingBy: 1_000_000_000)
        let (wholeSecond, nanos) = subNs < 0 ? (s - 1, subNs + 1_000_000_000) : (s, subNs)
        if wholeSecond != second {
            second = wholeSecond
            prefix = Array(UnixTime.rfc3339Micro(wholeSecond * 1_000_000_000).utf8.prefix(20))
        }
        out.append(contentsOf: prefix)
        var micro = nanos / 1000
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 7) { digits in
            for k in stride(from: 5, through: 0, by: -1) {
                digits[k] = 0x30 + UInt8(micro % 10)
                micro /= 10
            }
            digits[6] = 0x5A
            out.append(contentsOf: UnsafeBufferPointer(digits))
        }
    }
}

extension KubeArmorJSONWriter {
    /// A string as a JSON literal with Go's escapes, e.g. for an ``ExtraField`` value.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        GoJSON.appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension KubeArmorJSONWriter {
    /// Appends `s` as a JSON string literal with Go's escapes, for encoders of other JSON formats
    /// (ECS, OCSF, Splunk HEC) that embed KubeArmor's strings.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        GoJSON.appendQuoted(s, to: &out)
    }

    /// Appends `value` in decimal, as JSON writes integers.
    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        GoJSON.appendInteger(value, to: &out)
    }
}
