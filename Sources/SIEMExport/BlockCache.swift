import EventModel
import EventStore

/// The ways the export formats write a string value.
enum TextForm: Int, CaseIterable {
    /// A JSON string literal with Go's escapes.
    case json
    /// The last path component as a JSON string literal, or the whole text when that is empty.
    case jsonLastComponent
    /// KubeArmor's comma-separated `Tags` as a JSON array of strings.
    case jsonList
    /// A command line as a JSON array of its space-separated words (KubeArmor joins argv with spaces).
    case jsonWords
    /// The number of space-separated words of a command line, in decimal.
    case wordCount
    /// KubeArmor's `Labels` (`k=v,k2=v2`) as a JSON object of strings, dots in keys made `_`.
    case jsonLabels
    /// A CEF header field.
    case cefHeader
    /// A CEF extension value.
    case cefExtension
    /// An RFC 5424 SD-PARAM value (without its quotes).
    case syslogParameter
    /// An RFC 5424 HOSTNAME.
    case syslogHostName
    /// An RFC 5424 MSGID.
    case syslogMessageID

    /// Appends `text` in this form.
    func write(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        switch self {
        case .json: GoJSON.appendQuoted(bytes: text, to: &out)
        case .jsonLastComponent:
            let name = PathText.lastComponent(text)
            GoJSON.appendQuoted(bytes: name.isEmpty ? text : name, to: &out)
        case .jsonList: out.append(jsonStringList: text)
        case .jsonWords: out.append(jsonWords: text)
        case .wordCount: out.append(decimal: text.split(separator: 0x20).count)
        case .jsonLabels: out.append(jsonLabels: text)
        case .cefHeader: CEFEncoder.appendHeaderValue(text, to: &out)
        case .cefExtension: CEFEncoder.appendExtensionValue(text, to: &out)
        case .syslogParameter: SyslogEncoder.appendParameterValue(text, to: &out)
        case .syslogHostName: SyslogEncoder.appendHeaderField(text, limit: 255, to: &out)
        case .syslogMessageID: SyslogEncoder.appendHeaderField(text, limit: 32, to: &out)
        }
    }
}

/// What the export encoders work out once per block of a column batch: each dictionary value's text
/// in each ``TextForm`` a format asks for, the ``EventFacts`` of each distinct (verdict, `Data`,
/// `Resource`), the hash of each context's `HostName`, and which verdicts are alerts.
///
/// Used by one encoder on one thread (as its batch is).
final class BlockCache {
    let batch: ColumnBatch
    // One thread: no exclusivity checks on the hot path.
    @exclusivity(unchecked) private var texts: [FormTexts?] = Array(repeating: nil, count: TextForm.allCases.count)
    @exclusivity(unchecked) private var factsIndex: [FactsKey: Int] = [:]
    @exclusivity(unchecked) private var known: [(key: FactsKey, facts: EventFacts)] = []
    /// Per dictionary id: 1 + the index in `known` of the facts last made for that `Data` (`Resource`), 0 none.
    @exclusivity(unchecked) private var lastByData: [Int32]
    @exclusivity(unchecked) private var lastByResource: [Int32]
    @exclusivity(unchecked) private var hostHashes: [UInt64]
    @exclusivity(unchecked) private var hostHashKnown: [Bool]
    @exclusivity(unchecked) private var alerts: [UInt8]
    @exclusivity(unchecked) private var memoBytes: [UInt8] = []
    /// Per memo slot, per context, verdict or distinct facts: where its text is in `memoBytes` (start << 32 | end), -1 unknown.
    @exclusivity(unchecked) private var memos: [[Int64]] = []

    init(_ batch: ColumnBatch) {
        self.batch = batch
        hostHashes = Array(repeating: 0, count: batch.contextCount)
        hostHashKnown = Array(repeating: false, count: batch.contextCount)
        alerts = Array(repeating: 2, count: batch.verdictCount)
        lastByData = Array(repeating: 0, count: batch.stringCount)
        lastByResource = Array(repeating: 0, count: batch.stringCount)
    }

    /// Appends dictionary string `id` in `form`, escaping it on first use.
    @inline(__always)
    func append(_ id: Int32, as form: TextForm, to out: inout [UInt8]) {
        if texts[form.rawValue] == nil { texts[form.rawValue] = FormTexts(count: batch.stringCount) }
        texts[form.rawValue]!.append(id, of: batch, as: form, to: &out)
    }

    /// Appends memo `slot` of context (or verdict) `id`, made by `write` on first use.
    @inline(__always)
    func appendMemo(_ slot: MemoSlot, id: Int, to out: inout [UInt8], _ write: (inout [UInt8]) -> Void) {
        if slot.number >= memos.count { memos.append(contentsOf: Array(repeating: [], count: slot.number + 1 - memos.count)) }
        if memos[slot.number].count <= id {
            // Contexts and verdicts are counted in the batch; distinct facts grow as they are found.
            let count = switch slot.scope {
            case .context: batch.contextCount
            case .verdict: batch.verdictCount
            case .facts: max(known.count, id + 1)
            }
            memos[slot.number].append(contentsOf: Array(repeating: -1, count: count - memos[slot.number].count))
        }
        var range = memos[slot.number][id]
        if range < 0 {
            let start = memoBytes.count
            write(&memoBytes)
            range = Int64(start) << 32 | Int64(memoBytes.count)
            memos[slot.number][id] = range
        }
        let (start, end) = (Int(range >> 32), Int(range & 0xFFFF_FFFF))
        memoBytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The facts of `record`'s row: parsed once per distinct verdict and `Data` (and, for network
    /// events, `Resource`). The facts last made for each `Data` (and `Resource`) value are found
    /// without hashing; others through a table.
    func facts(_ record: BatchExportRecord) -> EventFacts { known[factsIndex(record)].facts }

    /// Where the facts of `record`'s row are among the block's distinct facts (``facts(_:)``).
    func factsIndex(_ record: BatchExportRecord) -> Int {
        let row = record.fields
        let verdict = Int32(row.verdict), dataID = row.batch.dataIDs[row.row]
        let base = lastByData[Int(dataID)]
        var index: Int
        if base > 0, known[Int(base) - 1].key.verdict == verdict {
            index = Int(base) - 1
        } else if let found = factsIndex[FactsKey(verdict: verdict, data: dataID, resource: -1)] {
            index = found
        } else {
            index = remember(EventFacts(record), FactsKey(verdict: verdict, data: dataID, resource: -1))
        }
        lastByData[Int(dataID)] = Int32(index + 1)
        guard known[index].facts.activity.isNetwork else { return index }
        let resourceID = row.batch.resourceIDs[row.row]
        let networkKey = FactsKey(verdict: verdict, data: dataID, resource: resourceID)
        let last = lastByResource[Int(resourceID)]
        if last > 0, known[Int(last) - 1].key == networkKey {
            index = Int(last) - 1
        } else if let found = factsIndex[networkKey] {
            index = found
        } else {
            index = remember(EventFacts(record), networkKey)
        }
        lastByResource[Int(resourceID)] = Int32(index + 1)
        return index
    }

    private func remember(_ facts: EventFacts, _ key: FactsKey) -> Int {
        factsIndex[key] = known.count
        known.append((key, facts))
        return known.count - 1
    }

    /// The hash of `row`'s `HostName`, once per context.
    func hostNameHash(_ row: BatchRow) -> UInt64 {
        if hostHashKnown[row.context] { return hostHashes[row.context] }
        let hash = row.batch.withBytes(ofString: row.stringID(.hostName)) { FastHash.bytes(UnsafeRawBufferPointer($0)) }
        hostHashes[row.context] = hash
        hostHashKnown[row.context] = true
        return hash
    }

    /// Whether `row` is an alert, once per verdict.
    func isAlert(_ row: BatchRow) -> Bool {
        if alerts[row.verdict] == 2 { alerts[row.verdict] = row.isAlert ? 1 : 0 }
        return alerts[row.verdict] == 1
    }

    private struct FactsKey: Hashable {
        var verdict: Int32
        var data: Int32
        /// -1 for the facts that do not depend on `Resource`.
        var resource: Int32
    }
}

/// The texts of a block's dictionary strings in one form, made on first use.
private struct FormTexts {
    private var bytes: [UInt8] = []
    private var starts: [Int32]
    private var ends: [Int32]

    init(count: Int) {
        starts = Array(repeating: -1, count: count)
        ends = Array(repeating: 0, count: count)
        bytes.reserveCapacity(1 << 14)
    }

    @inline(__always)
    mutating func append(_ id: Int32, of batch: ColumnBatch, as form: TextForm, to out: inout [UInt8]) {
        let i = Int(id)
        if starts[i] < 0 {
            starts[i] = Int32(bytes.count)
            batch.withBytes(ofString: id) { form.write($0, to: &bytes) }
            ends[i] = Int32(bytes.count)
        }
        let (start, end) = (Int(starts[i]), Int(ends[i]))
        bytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }
}
