import EventModel

/// A decoded block as columns: the one in-memory form of stored events.
///
/// Numbers are arrays; strings are ids into the block's dictionary, whose bytes sit in one arena.
/// The fields of a process context (ClusterName … TTY, the PIDs, UID) are stored once per distinct
/// context and reached through ``contextIDs``; the fields of a policy verdict (Operation … Enforcer)
/// once per distinct verdict, through ``verdictIDs``. Readers test, count and encode per context, per
/// verdict or per dictionary value instead of per event, and build an ``Event`` only for a row they
/// hand out as a record (``event(at:)``).
///
/// A batch is read by one thread at a time: ``event(at:)`` and ``string(_:)`` fill caches.
public final class ColumnBatch: @unchecked Sendable {
    /// Events in the batch (rows `0..<count`, in time order).
    public let count: Int
    /// The optional columns decoded; the others read as empty (their id arrays are all 0).
    public let columns: BatchColumns
    /// `Seq` of row 0; row `i` has `firstSeq + i`.
    public let firstSeq: UInt64
    /// `TimeNs` per row.
    public let timeNs: [Int64]
    /// `Timestamp` per row.
    public let timestamps: [Int64]
    /// Process context per row (`0..<contextCount`).
    public let contextIDs: [Int32]
    /// Verdict per row (`0..<verdictCount`).
    public let verdictIDs: [Int32]
    /// Dictionary id of `Resource` per row.
    public let resourceIDs: [Int32]
    /// Dictionary id of `Data` per row.
    public let dataIDs: [Int32]
    /// Extras set per row (`0..<extrasSetCount`; 0 is the empty set).
    public let extrasIDs: [Int32]
    /// When the import that stored the batch ran (unix ns; set by the store that decodes it), nil
    /// for recorded events: what exports give as the time of a row whose record had none (``timeNs`` 0).
    public var importedNs: Int64?
    /// Dictionary id + 1 of an `UpdatedTime` kept as given, 0 where it is derived from the time.
    let updatedIDs: [Int32]

    let arena: [UInt8]
    let offsets: [Int32]
    /// Rows of ``BlockCodec/contextWidth`` cells: string ids, the five numbers, the layout id.
    let contexts: [Int32]
    public let contextCount: Int
    /// Rows of ``BlockCodec/verdictStrings``'s width: string ids.
    let verdicts: [Int32]
    public let verdictCount: Int
    /// Key ids of each layout; index 0 is "no layout".
    let layouts: [[Int32]]
    /// Key/value id pairs of each extras set; index 0 is the empty set.
    let extrasSets: [[Int32]]

    // Caches filled by the one thread reading the batch: no exclusivity checks on the hot path.
    @exclusivity(unchecked) private var strings: [String?]
    @exclusivity(unchecked) private var templates: [Event?]
    @exclusivity(unchecked) private var keyLayouts: [KeyLayout?]
    @exclusivity(unchecked) private var extraFields: [[ExtraField]?]

    init(count: Int, columns: BatchColumns, firstSeq: UInt64, timeNs: [Int64], timestamps: [Int64], contextIDs: [Int32], verdictIDs: [Int32],
         resourceIDs: [Int32], dataIDs: [Int32], extrasIDs: [Int32], updatedIDs: [Int32], arena: [UInt8], offsets: [Int32],
         contexts: [Int32], verdicts: [Int32], layouts: [[Int32]], extrasSets: [[Int32]]) {
        self.count = count
        self.columns = columns
        self.firstSeq = firstSeq
        self.timeNs = timeNs
        self.timestamps = timestamps
        self.contextIDs = contextIDs
        self.verdictIDs = verdictIDs
        self.resourceIDs = resourceIDs
        self.dataIDs = dataIDs
        self.extrasIDs = extrasIDs
        self.updatedIDs = updatedIDs
        self.arena = arena
        self.offsets = offsets
        self.contexts = contexts
        contextCount = contexts.count / BlockCodec.contextWidth
        self.verdicts = verdicts
        verdictCount = verdicts.count / BlockCodec.verdictStrings.count
        self.layouts = layouts
        self.extrasSets = extrasSets
        strings = Array(repeating: nil, count: offsets.count - 1)
        templates = Array(repeating: nil, count: contextCount)
        keyLayouts = Array(repeating: nil, count: layouts.count)
        extraFields = Array(repeating: nil, count: extrasSets.count)
    }

    /// Distinct strings in the block's dictionary (id 0 is "").
    public var stringCount: Int { offsets.count - 1 }
    /// Distinct extras sets (id 0 is the empty set).
    public var extrasSetCount: Int { extrasSets.count }

    // MARK: values

    /// Runs `body` on the UTF-8 bytes of dictionary string `id`.
    @inline(__always)
    public func withBytes<R>(ofString id: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = Int(offsets[Int(id)]), end = Int(offsets[Int(id) + 1])
        return try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Dictionary string `id` as a `String`, made once per batch.
    public func string(_ id: Int32) -> String {
        if let s = strings[Int(id)] { return s }
        let s = withBytes(ofString: id) { String(decoding: $0, as: UTF8.self) }
        strings[Int(id)] = s
        return s
    }

    /// Where a typed field's value lives in a batch.
    public enum Place: Sendable, Equatable {
        /// A string of the process context (the dictionary id is ``ColumnBatch/stringID(_:context:)``).
        case contextString(Int)
        /// A number of the process context (``ColumnBatch/number(_:context:)``).
        case contextNumber(Int)
        /// A string of the verdict (``ColumnBatch/stringID(_:verdict:)``).
        case verdictString(Int)
        /// `Resource`, `Data`: a dictionary id per row.
        case rowString
        /// `Timestamp`: a number per row.
        case timestamp
        /// `UpdatedTime`: kept as given or derived from the row's time.
        case updatedTime
    }

    /// Where `field` lives; the same for every batch.
    public static func place(of field: EventField) -> Place { places[field.ordinal] }

    private static let places: [Place] = EventField.allCases.map { field in
        if let i = BlockCodec.contextStrings.firstIndex(of: field) { return .contextString(i) }
        if let i = BlockCodec.contextNumbers.firstIndex(of: field) { return .contextNumber(i) }
        if let i = BlockCodec.verdictStrings.firstIndex(of: field) { return .verdictString(i) }
        switch field {
        case .timestamp: return .timestamp
        case .updatedTime: return .updatedTime
        default: return .rowString
        }
    }

    /// Dictionary id of context string `column` (a ``Place/contextString(_:)``) of context `c`.
    @inline(__always)
    public func stringID(_ column: Int, context c: Int) -> Int32 { contexts[c * BlockCodec.contextWidth + column] }

    /// Context number `column` (a ``Place/contextNumber(_:)``: HostPPID, HostPID, PPID, PID, UID) of context `c`.
    @inline(__always)
    public func number(_ column: Int, context c: Int) -> Int32 {
        contexts[c * BlockCodec.contextWidth + BlockCodec.contextStrings.count + column]
    }

    /// Dictionary id of verdict string `column` (a ``Place/verdictString(_:)``) of verdict `v`.
    @inline(__always)
    public func stringID(_ column: Int, verdict v: Int) -> Int32 { verdicts[v * BlockCodec.verdictStrings.count + column] }

    /// Dictionary id of a row-string field (`Resource`, `Data`) for each row.
    public func rowStringIDs(_ field: EventField) -> [Int32] { field == .data ? dataIDs : resourceIDs }

    /// Dictionary id of a string field at `row`, wherever it lives; nil for numbers and `UpdatedTime`.
    public func stringID(_ field: EventField, row: Int) -> Int32? {
        switch Self.place(of: field) {
        case .contextString(let f): return stringID(f, context: Int(contextIDs[row]))
        case .verdictString(let f): return stringID(f, verdict: Int(verdictIDs[row]))
        case .rowString: return rowStringIDs(field)[row]
        case .contextNumber, .timestamp, .updatedTime: return nil
        }
    }

    /// `UpdatedTime` at `row` as the record gives it.
    public func updatedTime(row: Int) -> String {
        updatedIDs[row] > 0 ? string(updatedIDs[row] - 1) : UnixTime.rfc3339Micro(timeNs[row])
    }

    /// Dictionary id of `UpdatedTime` at `row` when the record gives it other than derived from its time.
    public func givenUpdatedTimeID(row: Int) -> Int32? { updatedIDs[row] > 0 ? updatedIDs[row] - 1 : nil }

    /// The (key id, value id) pairs of extras set `id`, in input order.
    public func extrasPairs(_ id: Int32) -> [Int32] { extrasSets[Int(id)] }

    /// Dictionary id of the compact JSON value of extra `key` in extras set `set`, if the set has it.
    public func extraValueID(_ key: String, set: Int32) -> Int32? {
        let pairs = extrasSets[Int(set)]
        var key = key
        return key.withUTF8 { wanted in
            for k in stride(from: 0, to: pairs.count, by: 2) where withBytes(ofString: pairs[k], { $0.elementsEqual(wanted) }) {
                return pairs[k + 1]
            }
            return nil
        }
    }

    // MARK: records

    /// The event at `row`, built from the columns.
    public func event(at row: Int) -> Event {
        let c = Int(contextIDs[row])
        var e = templates[c] ?? contextTemplate(c)
        let v = Int(verdictIDs[row]) * BlockCodec.verdictStrings.count
        e.operation = string(verdicts[v])
        e.result = string(verdicts[v + 1])
        e.type = string(verdicts[v + 2])
        e.policyName = string(verdicts[v + 3])
        e.severity = string(verdicts[v + 4])
        e.tags = string(verdicts[v + 5])
        e.message = string(verdicts[v + 6])
        e.action = string(verdicts[v + 7])
        e.enforcer = string(verdicts[v + 8])
        e.timeNs = timeNs[row]
        e.timestamp = timestamps[row]
        e.seq = firstSeq &+ UInt64(row)
        if columns.contains(.resource) { e.resource = string(resourceIDs[row]) }
        if columns.contains(.data) { e.data = string(dataIDs[row]) }
        if extrasIDs[row] > 0 { e.extras = extras(extrasIDs[row]) }
        if updatedIDs[row] > 0 { e.updatedTimeAsGiven = string(updatedIDs[row] - 1) }
        return e
    }

    /// Every event of the batch, in row order.
    public func events() -> [Event] { (0..<count).map(event(at:)) }

    /// The events at `rows`, in that order.
    public func events(at rows: some Sequence<Int32>) -> [Event] { rows.map { event(at: Int($0)) } }

    /// Key layouts in the block, counting "none" (id 0).
    public var layoutCount: Int { layouts.count }

    /// The id of context `c`'s key layout (0: none, KubeArmor's own order).
    public func layoutID(context c: Int) -> Int { Int(contexts[c * BlockCodec.contextWidth + BlockCodec.contextWidth - 1]) }

    /// The key layout of context `c`'s records (nil: KubeArmor's own order).
    public func layout(context c: Int) -> KeyLayout? {
        let id = layoutID(context: c)
        guard id > 0 else { return nil }
        if let known = keyLayouts[id] { return known }
        let layout = KeyLayout(keys: layouts[id].map(string))
        keyLayouts[id] = layout
        return layout
    }

    /// Extras set `id` as fields.
    public func extras(_ id: Int32) -> [ExtraField] {
        if let known = extraFields[Int(id)] { return known }
        let pairs = extrasSets[Int(id)]
        let fields = stride(from: 0, to: pairs.count, by: 2).map { ExtraField(key: string(pairs[$0]), json: string(pairs[$0 + 1])) }
        extraFields[Int(id)] = fields
        return fields
    }

    private func contextTemplate(_ c: Int) -> Event {
        var e = Event()
        for (f, field) in BlockCodec.contextStrings.enumerated() { e.setString(field, string(stringID(f, context: c))) }
        for (f, field) in BlockCodec.contextNumbers.enumerated() { e.setNumber(field, Int64(number(f, context: c))) }
        e.layout = layout(context: c)
        templates[c] = e
        return e
    }
}
