import EventModel
import EventStore

/// Process instances in their stored form (EventStore's ``ProcessInstanceRow``, a row of the
/// index's `processes` table): EventStore keeps the rows, this module makes and reads them.
extension ProcessInstanceRow {
    /// The row that stores `instance`.
    public init(_ instance: ProcessInstance) {
        self.init(
            id: instance.id, hostName: instance.hostName, hostPID: Int64(instance.hostPID), pid: Int64(instance.pid),
            startNs: instance.startNs, exitNs: instance.exitNs, lastActivityNs: instance.lastActivityNs,
            exitCode: instance.exitCode.map(Int64.init), exitSignal: instance.exitSignal ?? "",
            images: ProcessJSONText.stringArray(instance.images), command: instance.command,
            failedExecs: ProcessJSONText.stringArray(instance.failedExecs), uid: instance.uid.map(Int64.init),
            containerID: instance.containerID, podName: instance.podName, parentID: instance.parentID,
            reaperID: instance.reaperID, origin: instance.origin.rawValue, processEvents: Int64(instance.events.process),
            fileEvents: Int64(instance.events.file), networkEvents: Int64(instance.events.network),
            capabilitiesEvents: Int64(instance.events.capabilities), syscallEvents: Int64(instance.events.syscall),
            otherEvents: Int64(instance.events.other))
    }

    /// The instance this row stores; throws when a field is not in its stored form.
    public func instance() throws(ProcessTableError) -> ProcessInstance {
        guard let images = ProcessJSONText.parseStringArray(images) else { throw malformed("images", self.images) }
        guard let failedExecs = ProcessJSONText.parseStringArray(failedExecs) else { throw malformed("failedExecs", self.failedExecs) }
        guard let origin = ProcessInstance.Origin(rawValue: origin) else { throw malformed("origin", origin) }
        return ProcessInstance(
            id: id, hostName: hostName, hostPID: try int32("hostPID", hostPID), pid: try int32("pid", pid),
            startNs: startNs, exitNs: exitNs, lastActivityNs: lastActivityNs,
            exitCode: try exitCode.map { v throws(ProcessTableError) in try int32("exitCode", v) },
            exitSignal: exitSignal.isEmpty ? nil : exitSignal, images: images, command: command, failedExecs: failedExecs,
            uid: try uid.map { v throws(ProcessTableError) in try int32("uid", v) },
            containerID: containerID, podName: podName, parentID: parentID, reaperID: reaperID, origin: origin,
            events: OperationCounts(
                process: Int(processEvents), file: Int(fileEvents), network: Int(networkEvents),
                capabilities: Int(capabilitiesEvents), syscall: Int(syscallEvents), other: Int(otherEvents)))
    }

    private func int32(_ field: String, _ value: Int64) throws(ProcessTableError) -> Int32 {
        guard let narrow = Int32(exactly: value) else { throw malformed(field, String(value)) }
        return narrow
    }

    private func malformed(_ field: String, _ value: String) -> ProcessTableError {
        ProcessTableError(reason: .malformedField(id: id, field: field, value: value))
    }
}

extension ProcessInstanceTable {
    /// The table of stored rows; throws when a row is malformed.
    public init(rows: [ProcessInstanceRow]) throws(ProcessTableError) {
        var instances: [ProcessInstance] = []
        instances.reserveCapacity(rows.count)
        for row in rows { instances.append(try row.instance()) }
        self.init(instances)
    }

    /// The rows to store, by id.
    public var rows: [ProcessInstanceRow] { instances.storedRows }
}

extension Array where Element == ProcessInstance {
    /// The rows that store these instances, in their order, made on every core (each row spells its
    /// images and command line out as JSON text: at 10 M events, millions of strings).
    var storedRows: [ProcessInstanceRow] {
        [ProcessInstanceRow](count: count, parallel: count > 4096) { ProcessInstanceRow(self[$0]) }
    }
}
