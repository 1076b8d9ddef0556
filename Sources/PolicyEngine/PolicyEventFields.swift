import EventModel
import EventStore

/// The fields of an event that policy evaluation reads: what ``PolicyEvaluator`` decides from, read
/// from an ``Event`` or straight from a column batch's row (``BatchRow``), so that one implementation
/// of the matching serves records (`record --policy`, `--diff`) and stored blocks alike.
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
}

extension Event: PolicyEventFields {}
extension BatchRow: PolicyEventFields {}
