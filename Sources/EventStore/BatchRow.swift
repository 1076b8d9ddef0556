import EventModel

/// One row of a ``ColumnBatch``, read field by field without building an ``Event``: the one batch-row
/// accessor, for readers that take some fields of every row (the process-table builder, the record
/// writers of `export` and `forward`). Strings are the batch's, made once per batch; dictionary ids
/// let a reader keep per-block work (escaped text, parsed facts) per distinct value.
public struct BatchRow {
    public let batch: ColumnBatch
    public let row: Int
    /// The row's process context (`0..<batch.contextCount`).
    public let context: Int
    /// The row's verdict (`0..<batch.verdictCount`).
    public let verdict: Int

    @inline(__always)
    public init(_ batch: ColumnBatch, row: Int) {
        self.batch = batch
        self.row = row
        context = Int(batch.contextIDs[row])
        verdict = Int(batch.verdictIDs[row])
    }

    public var timeNs: Int64 { batch.timeNs[row] }
    /// `Seq`, the store-wide sequence number.
    public var seq: UInt64 { batch.firstSeq &+ UInt64(row) }
    public var hostName: String { contextString(Self.hostName) }
    public var namespaceName: String { contextString(Self.namespaceName) }
    public var podName: String { contextString(Self.podName) }
    public var labels: String { contextString(Self.labels) }
    public var containerID: String { contextString(Self.containerID) }
    public var containerName: String { contextString(Self.containerName) }
    public var parentProcessName: String { contextString(Self.parentProcessName) }
    public var processName: String { contextString(Self.processName) }
    public var source: String { contextString(Self.source) }
    public var tty: String { contextString(Self.tty) }
    public var hostPPID: Int32 { batch.number(Self.hostPPID, context: context) }
    public var hostPID: Int32 { batch.number(Self.hostPID, context: context) }
    public var ppid: Int32 { batch.number(Self.ppid, context: context) }
    public var pid: Int32 { batch.number(Self.pid, context: context) }
    public var uid: Int32 { batch.number(Self.uid, context: context) }
    public var operation: String { batch.string(batch.stringID(Self.operation, verdict: verdict)) }
    public var result: String { batch.string(batch.stringID(Self.result, verdict: verdict)) }
    /// `Resource`; empty when the batch was decoded without it.
    public var resource: String { batch.columns.contains(.resource) ? batch.string(batch.resourceIDs[row]) : "" }
    /// `Data`; empty when the batch was decoded without it.
    public var data: String { batch.columns.contains(.data) ? batch.string(batch.dataIDs[row]) : "" }
    /// The compact JSON text of extra field `key`, when the row has it (nil when the batch was decoded
    /// without extras).
    public func extra(_ key: String) -> String? {
        let set = batch.extrasIDs[row]
        return set == 0 ? nil : batch.extraValueID(key, set: set).map(batch.string)
    }

    /// Whether the row is a policy alert (`Type` starts with `Matched`).
    public var isAlert: Bool {
        batch.withBytes(ofString: batch.stringID(Self.type, verdict: verdict)) { $0.starts(with: "Matched".utf8) }
    }

    /// A numeric field's value (`Timestamp`, the PIDs, `UID`); 0 for string fields.
    public func number(_ field: EventField) -> Int64 {
        switch ColumnBatch.place(of: field) {
        case .contextNumber(let column): return Int64(batch.number(column, context: context))
        case .timestamp: return batch.timestamps[row]
        default: return 0
        }
    }

    /// Dictionary id of a string field's value (0, the empty string, for numbers, `UpdatedTime` and
    /// columns the batch was decoded without).
    public func stringID(_ field: EventField) -> Int32 {
        switch ColumnBatch.place(of: field) {
        case .contextString(let column): return batch.stringID(column, context: context)
        case .verdictString(let column): return batch.stringID(column, verdict: verdict)
        case .rowString: return batch.rowStringIDs(field)[row]
        case .contextNumber, .timestamp, .updatedTime: return 0
        }
    }

    /// A string field's value (not `UpdatedTime`: see ``givenUpdatedTimeID``).
    public func string(_ field: EventField) -> String { batch.string(stringID(field)) }

    /// Whether a string field is empty.
    public func isEmpty(_ field: EventField) -> Bool { batch.withBytes(ofString: stringID(field)) { $0.isEmpty } }

    /// Dictionary id of `UpdatedTime` when the record gives it other than derived from its time.
    public var givenUpdatedTimeID: Int32? { batch.givenUpdatedTimeID(row: row) }

    /// The row's extras set (0: none).
    public var extrasID: Int32 { batch.extrasIDs[row] }
    /// How many extra fields the row has.
    public var extraCount: Int { batch.extrasPairs(extrasID).count / 2 }
    /// Dictionary id of extra `index`'s key.
    public func extraKeyID(_ index: Int) -> Int32 { batch.extrasPairs(extrasID)[2 * index] }
    /// Dictionary id of extra `index`'s value, compact JSON.
    public func extraValueID(_ index: Int) -> Int32 { batch.extrasPairs(extrasID)[2 * index + 1] }
    /// Extra `index`'s key.
    public func extraKey(_ index: Int) -> String { batch.string(extraKeyID(index)) }

    private func contextString(_ column: Int) -> String { batch.string(batch.stringID(column, context: context)) }

    private static func column(_ field: EventField, of fields: [EventField]) -> Int { fields.firstIndex(of: field)! }
    private static let hostName = column(.hostName, of: BlockCodec.contextStrings)
    private static let namespaceName = column(.namespaceName, of: BlockCodec.contextStrings)
    private static let podName = column(.podName, of: BlockCodec.contextStrings)
    private static let labels = column(.labels, of: BlockCodec.contextStrings)
    private static let containerID = column(.containerID, of: BlockCodec.contextStrings)
    private static let containerName = column(.containerName, of: BlockCodec.contextStrings)
    private static let parentProcessName = column(.parentProcessName, of: BlockCodec.contextStrings)
    private static let processName = column(.processName, of: BlockCodec.contextStrings)
    private static let source = column(.source, of: BlockCodec.contextStrings)
    private static let tty = column(.tty, of: BlockCodec.contextStrings)
    private static let hostPPID = column(.hostPPID, of: BlockCodec.contextNumbers)
    private static let hostPID = column(.hostPID, of: BlockCodec.contextNumbers)
    private static let ppid = column(.ppid, of: BlockCodec.contextNumbers)
    private static let pid = column(.pid, of: BlockCodec.contextNumbers)
    private static let uid = column(.uid, of: BlockCodec.contextNumbers)
    private static let operation = column(.operation, of: BlockCodec.verdictStrings)
    private static let result = column(.result, of: BlockCodec.verdictStrings)
    private static let type = column(.type, of: BlockCodec.verdictStrings)
}
