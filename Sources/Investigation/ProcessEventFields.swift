import EventModel
import EventStore

/// The fields of an event that tell which process it belongs to and what it did to it: what
/// ``ProcessInstanceBuilder`` reads, from an ``Event`` or straight from a batch row (``BatchRow``).
protocol ProcessEventFields {
    var timeNs: Int64 { get }
    var hostName: String { get }
    var podName: String { get }
    var containerID: String { get }
    var hostPPID: Int32 { get }
    var hostPID: Int32 { get }
    var ppid: Int32 { get }
    var pid: Int32 { get }
    var uid: Int32 { get }
    var parentProcessName: String { get }
    var processName: String { get }
    var source: String { get }
    var operation: String { get }
    var resource: String { get }
    var data: String { get }
    var result: String { get }
}

extension Event: ProcessEventFields {}
extension BatchRow: ProcessEventFields {}
