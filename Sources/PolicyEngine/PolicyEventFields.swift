import EventModel
import EventStore

/// The fields of an event that policy evaluation reads: what ``PolicyEvaluator`` decides from, read
/// from an ``Event`` or straight from a column batch's row (``BatchRow``), so that one implementation
/// of the matching serves records (`record --policy`, `--diff`) and stored blocks alike.
///
/// A process-context field added here must be added to ``BlockVerdictMemo/contextFields`` too: batch
/// rows whose contexts agree on those fields are decided alike.
protocol PolicyEventFields {
    var operation: String { get }
    var result: String { get }
    var resource: String { get }
    var data: String { get }
    var hostName: String { get }
    var namespaceName: String { get }
    var labels: String { get }
    var containerName: String { get }
    var containerID: String { get }
    var processName: String { get }
    var parentProcessName: String { get }
    var source: String { get }
    var tty: String { get }
    var uid: Int32 { get }
    /// The compact JSON text of extra field `key` (the file owner's `OID`), when the event has it.
    func extra(_ key: String) -> String?
    /// The dictionary ids of the fields, when they come from a column batch: the evaluator then works
    /// each part of a decision out once per distinct id in the block (``BlockVerdictMemo``). Nil for
    /// records.
    var batchIDs: BatchRowIDs? { get }
}

extension Event: PolicyEventFields {
    var batchIDs: BatchRowIDs? { nil }
}

extension BatchRow: PolicyEventFields {
    var batchIDs: BatchRowIDs? {
        let context = batch.contextIDs[row]
        return BatchRowIDs(context: context, verdict: batch.verdictIDs[row], resource: batch.resourceIDs[row],
                           data: batch.dataIDs[row], extras: batch.extrasIDs[row],
                           processName: batch.stringID(Self.processNameColumn, context: Int(context)))
    }

    private static let processNameColumn = BlockVerdictMemo.contextColumn(.processName)
}
