import EventModel

/// Writes rows of column batches as KubeArmor JSON, byte for byte as ``KubeArmorJSONWriter`` writes
/// the same events, without building them: each dictionary string is escaped once per block and its
/// JSON text copied for every row that has it.
public struct KubeArmorBatchWriter {
    private var writer = KubeArmorJSONWriter()
    /// The batch last written from, its strings' JSON text and its layouts' plans.
    private var quoted: QuotedStrings?
    private var plans: [KubeArmorJSONWriter.LayoutPlan?] = []

    public init() {}

    /// Appends the event at `row` of `batch` as one JSON object, without a newline.
    public mutating func append(_ batch: ColumnBatch, row: Int, to out: inout [UInt8]) {
        if quoted?.batch !== batch {
            quoted = QuotedStrings(batch)
            plans = Array(repeating: nil, count: batch.layoutCount)
        }
        let record = BatchRecord(fields: BatchRow(batch, row: row), quoted: quoted!)
        let layoutID = batch.layoutID(context: record.fields.context)
        if layoutID > 0, plans[layoutID] == nil, let layout = batch.layout(context: record.fields.context) {
            plans[layoutID] = KubeArmorJSONWriter.LayoutPlan(layout)
        }
        writer.append(record, plan: plans[layoutID], to: &out)
    }

    /// Appends each of `rows` of `batch` as one JSON object and a newline.
    public mutating func appendLines(_ batch: ColumnBatch, rows: some Sequence<Int32>, to out: inout [UInt8]) {
        for row in rows {
            append(batch, row: Int(row), to: &out)
            out.append(10)
        }
    }
}

/// The JSON text of a batch's dictionary strings, made on first use.
private final class QuotedStrings {
    let batch: ColumnBatch
    // Used by one writer on one thread: no exclusivity checks on the hot path.
    @exclusivity(unchecked) private var bytes: [UInt8] = []
    @exclusivity(unchecked) private var ends: [Int32]
    @exclusivity(unchecked) private var starts: [Int32]

    init(_ batch: ColumnBatch) {
        self.batch = batch
        starts = Array(repeating: -1, count: batch.stringCount)
        ends = Array(repeating: 0, count: batch.stringCount)
        bytes.reserveCapacity(1 << 16)
    }

    @inline(__always)
    func append(_ id: Int32, to out: inout [UInt8]) {
        let i = Int(id)
        if starts[i] < 0 {
            starts[i] = Int32(bytes.count)
            batch.withBytes(ofString: id) { GoJSON.appendQuoted(bytes: $0, to: &bytes) }
            ends[i] = Int32(bytes.count)
        }
        let (start, end) = (Int(starts[i]), Int(ends[i]))
        bytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }
}

/// One row of a batch, as the KubeArmor writer reads records: the row's fields, its strings' JSON
/// text from the block's cache.
private struct BatchRecord: KubeArmorRecordSource {
    let fields: BatchRow
    let quoted: QuotedStrings

    var timeNs: Int64 { fields.timeNs }
    var isAlert: Bool { fields.isAlert }
    func number(_ field: EventField) -> Int64 { fields.number(field) }
    func isEmpty(_ field: EventField) -> Bool { fields.isEmpty(field) }
    func appendQuoted(_ field: EventField, to out: inout [UInt8]) { quoted.append(fields.stringID(field), to: &out) }

    func appendGivenUpdatedTime(to out: inout [UInt8]) -> Bool {
        guard let id = fields.givenUpdatedTimeID else { return false }
        quoted.append(id, to: &out)
        return true
    }

    var hasEmptyGivenUpdatedTime: Bool { fields.givenUpdatedTimeID == 0 }
    var extraCount: Int { fields.extraCount }
    func extraKey(_ index: Int) -> String { fields.extraKey(index) }

    func appendExtraJSON(_ index: Int, to out: inout [UInt8]) {
        fields.batch.withBytes(ofString: fields.extraValueID(index)) { out.append(contentsOf: $0) }
    }
}
