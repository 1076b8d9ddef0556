import EventModel
import EventStore

/// What the export encoders read from a record: an ``Event``, or a row of a store's column batch
/// (``BatchExportRecord``), so that each format has one implementation, generic over the record and
/// specialised for both.
///
/// A batch row writes its strings from a per-block cache (``BlockCache``): each dictionary value is
/// escaped once per block for each way a format writes it, and the facts parsed from `Operation`,
/// `Data` and `Resource` are made once per distinct combination. An event escapes and parses as it goes.
protocol ExportRecord: KubeArmorRecordSource {
    var seq: UInt64 { get }
    /// When the import that stored the record ran (unix ns), when known.
    var importedNs: Int64? { get }
    var timestamp: Int64 { get }
    var hostPID: Int32 { get }
    var hostPPID: Int32 { get }
    var pid: Int32 { get }
    var ppid: Int32 { get }
    var uid: Int32 { get }
    /// A string field's value (not `UpdatedTime`), for parsing and comparing.
    func string(_ field: EventField) -> String
    /// Runs `body` on the UTF-8 bytes of a string field (not `UpdatedTime`).
    func withUTF8<R>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R
    /// Appends a string field (not `UpdatedTime`) as `form` writes it.
    func append(_ field: EventField, as form: TextForm, to out: inout [UInt8])
    /// What the event did, read from its `Operation`, `Data`, `Resource`, `Result` and `Severity`.
    var facts: EventFacts { get }
    /// ``FastHash`` of `HostName`'s bytes (process and finding ids hash it).
    var hostNameHash: UInt64 { get }
    /// Whether `UpdatedTime` is given (not derived from the time).
    var hasGivenUpdatedTime: Bool { get }
    /// Appends extra `index`'s key as a JSON string literal.
    func appendExtraKey(_ index: Int, to out: inout [UInt8])
    /// Appends the record as KubeArmor JSON (as `export --format kubearmor` writes it) with `writers`.
    func appendKubeArmorJSON(with writers: inout KubeArmorRecordWriters, to out: inout [UInt8])
    /// Appends what `write` writes from fields of the record's process context (or of its verdict,
    /// or its verdict and facts) alone: a batch row writes it once per distinct context (verdict,
    /// facts) of its block, under `slot`
    /// (one per call site of an encoder), and copies it after; an event writes it each time.
    /// `write` must read no other field, and must not ask for a memo itself.
    func appendMemo(_ slot: MemoSlot, to out: inout [UInt8], _ write: (inout [UInt8]) -> Void)
}

extension ExportRecord {
    /// Whether the record has a time of its own: imported KubeArmor records may carry neither
    /// `Timestamp` nor `UpdatedTime`, and are stored with `TimeNs` 0.
    var hasTime: Bool { timeNs != 0 }

    /// The time for a format that must give one: the record's own, else when it was imported.
    var timeOrImportedNs: Int64 { hasTime ? timeNs : importedNs ?? 0 }
}

/// A text an encoder keeps per block for each process context (or verdict) of a batch: the call
/// site's number, and which the text depends on.
struct MemoSlot {
    /// What a memo is made from: the process context's fields (ClusterName … TTY, the PIDs, UID),
    /// the verdict's (Operation, Result, Type, PolicyName, Severity, Tags, Message, Action, Enforcer),
    /// or the verdict's and the ``EventFacts`` (which come from the verdict, `Data` and `Resource`).
    enum Scope { case context, verdict, facts }

    let number: Int
    let scope: Scope

    static func context(_ number: Int) -> MemoSlot { MemoSlot(number: number, scope: .context) }
    static func verdict(_ number: Int) -> MemoSlot { MemoSlot(number: number, scope: .verdict) }
    static func facts(_ number: Int) -> MemoSlot { MemoSlot(number: number, scope: .facts) }
}

/// The KubeArmor JSON writers an encoder that embeds the record (syslog, Splunk HEC) keeps: one for
/// events, one for batch rows; each keeps what it learnt (layout plans, a block's escaped strings).
struct KubeArmorRecordWriters {
    var events = KubeArmorJSONWriter()
    var rows = KubeArmorBatchWriter()
}

extension Event: ExportRecord {
    var importedNs: Int64? { nil }

    func withUTF8<R>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = string(field)
        return text.withUTF8(body)
    }

    func append(_ field: EventField, as form: TextForm, to out: inout [UInt8]) {
        withUTF8(field) { form.write($0, to: &out) }
    }

    var facts: EventFacts { EventFacts(self) }

    var hostNameHash: UInt64 {
        var host = hostName
        return host.withUTF8 { FastHash.bytes(UnsafeRawBufferPointer($0)) }
    }

    var hasGivenUpdatedTime: Bool { updatedTimeAsGiven != nil }

    func appendExtraKey(_ index: Int, to out: inout [UInt8]) { KubeArmorJSONWriter.appendQuoted(extras[index].key, to: &out) }

    func appendKubeArmorJSON(with writers: inout KubeArmorRecordWriters, to out: inout [UInt8]) {
        writers.events.append(self, to: &out)
    }

    @inline(__always)
    func appendMemo(_ slot: MemoSlot, to out: inout [UInt8], _ write: (inout [UInt8]) -> Void) { write(&out) }
}

/// A row of a column batch as the export encoders read it: the row's fields, and the block's cache
/// of escaped texts and parsed facts.
struct BatchExportRecord: ExportRecord {
    let fields: BatchRow
    let cache: BlockCache

    var timeNs: Int64 { fields.timeNs }
    var seq: UInt64 { fields.seq }
    var importedNs: Int64? { fields.batch.importedNs }
    var timestamp: Int64 { fields.batch.timestamps[fields.row] }
    var hostPID: Int32 { fields.hostPID }
    var hostPPID: Int32 { fields.hostPPID }
    var pid: Int32 { fields.pid }
    var ppid: Int32 { fields.ppid }
    var uid: Int32 { fields.uid }
    var isAlert: Bool { cache.isAlert(fields) }

    func number(_ field: EventField) -> Int64 { fields.number(field) }
    func string(_ field: EventField) -> String { fields.string(field) }
    func isEmpty(_ field: EventField) -> Bool { fields.isEmpty(field) }

    func withUTF8<R>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        fields.batch.withBytes(ofString: fields.stringID(field), body)
    }

    func append(_ field: EventField, as form: TextForm, to out: inout [UInt8]) {
        cache.append(fields.stringID(field), as: form, to: &out)
    }

    func appendQuoted(_ field: EventField, to out: inout [UInt8]) { append(field, as: .json, to: &out) }

    var facts: EventFacts { cache.facts(self) }
    var hostNameHash: UInt64 { cache.hostNameHash(fields) }

    var hasGivenUpdatedTime: Bool { fields.givenUpdatedTimeID != nil }
    var hasEmptyGivenUpdatedTime: Bool { fields.givenUpdatedTimeID == 0 }

    func appendGivenUpdatedTime(to out: inout [UInt8]) -> Bool {
        guard let id = fields.givenUpdatedTimeID else { return false }
        cache.append(id, as: .json, to: &out)
        return true
    }

    var extraCount: Int { fields.extraCount }
    func extraKey(_ index: Int) -> String { fields.extraKey(index) }
    func appendExtraKey(_ index: Int, to out: inout [UInt8]) { cache.append(fields.extraKeyID(index), as: .json, to: &out) }

    func appendExtraJSON(_ index: Int, to out: inout [UInt8]) {
        fields.batch.withBytes(ofString: fields.extraValueID(index)) { out.append(contentsOf: $0) }
    }

    func appendKubeArmorJSON(with writers: inout KubeArmorRecordWriters, to out: inout [UInt8]) {
        writers.rows.append(fields.batch, row: fields.row, to: &out)
    }

    @inline(__always)
    func appendMemo(_ slot: MemoSlot, to out: inout [UInt8], _ write: (inout [UInt8]) -> Void) {
        let id = switch slot.scope {
        case .context: fields.context
        case .verdict: fields.verdict
        case .facts: cache.factsIndex(self)
        }
        cache.appendMemo(slot, id: id, to: &out, write)
    }
}

/// The block an encoder last wrote rows of, and its cache: what an encoder keeps to write batch rows.
/// (A batch is read by one thread at a time, and so is its cache.)
struct BlockCacheSlot {
    private var cache: BlockCache?

    /// Row `row` of `batch`, with `batch`'s cache (made when the batch is not the last one's).
    mutating func record(_ batch: ColumnBatch, row: Int) -> BatchExportRecord {
        if cache?.batch !== batch { cache = BlockCache(batch) }
        return BatchExportRecord(fields: BatchRow(batch, row: row), cache: cache!)
    }
}
