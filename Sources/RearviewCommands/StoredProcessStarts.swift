import EventStore
import Investigation
import SIEMExport

/// The stores' process tables as `export` and `forward` use them: when the process instance of an
/// event started, so ECS `process.entity_id` and OCSF `process.uid` name the same instance whatever
/// the selection holds.
struct StoredProcessStarts: ProcessStartLookup {
    let table: ProcessInstanceTable

    /// The lookup for `format`, or nil when the format carries no process ids.
    static func lookup(for format: ExportFormat, stores: [Store]) throws -> StoredProcessStarts? {
        guard format == .ecs || format == .ocsf else { return nil }
        return StoredProcessStarts(table: try ProcessInstanceTable.merging(stores.map { try StoredProcessTable(store: $0).table() }))
    }

    func startNs(hostName: String, hostPID: Int32, at timeNs: Int64) -> Int64? {
        table.startNs(hostName: hostName, hostPID: hostPID, at: timeNs)
    }

    func startSpan(hostName: String, hostPID: Int32, at timeNs: Int64) -> ProcessStartSpan {
        let span = table.startSpan(hostName: hostName, hostPID: hostPID, at: timeNs)
        return ProcessStartSpan(startNs: span.startNs, from: span.from, until: span.until)
    }
}
