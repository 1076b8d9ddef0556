import EventModel

/// One row of a ``ColumnBatch``, read field by field without building an ``Event``: for readers that
/// take a few fields of every row (the process-table builder). Strings are the batch's, made once
/// per batch.
public struct BatchRow {
    public let batch: ColumnBatch
    public let row: Int
    private let context: Int
    private let verdict: Int

    public init(_ batch: ColumnBatch, row: Int) {
        self.batch = batch
        self.row = row
        context = Int(batch.contextIDs[row])
        verdict = Int(batch.verdictIDs[row])
    }

    public var timeNs: Int64 { batch.timeNs[row] }
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
}
