/// A process instance as a flat row of integers and strings, for storing in the store's index.
///
/// Optional integers are SQL `NULL` when absent. `images` is a JSON array of strings
/// (`["/usr/bin/bash","/usr/bin/ps"]`), `origin` a ``ProcessInstance/Origin`` raw value, and
/// `exitSignal` empty when no signal ended the process.
public struct ProcessInstanceRow: Sendable, Hashable {
    public var id: Int64
    public var hostName: String
    public var hostPID: Int64
    public var pid: Int64
    public var startNs: Int64
    public var exitNs: Int64?
    public var lastActivityNs: Int64
    public var exitCode: Int64?
    public var exitSignal: String
    public var images: String
    public var command: String
    public var uid: Int64?
    public var containerID: String
    public var podName: String
    public var parentID: Int64?
    public var reaperID: Int64?
    public var origin: String
    public var processEvents: Int64
    public var fileEvents: Int64
    public var networkEvents: Int64
    public var capabilitiesEvents: Int64
    public var syscallEvents: Int64
    public var otherEvents: Int64

    public init(_ instance: ProcessInstance) {
        id = instance.id
        hostName = instance.hostName
        hostPID = Int64(instance.hostPID)
        pid = Int64(instance.pid)
        startNs = instance.startNs
        exitNs = instance.exitNs
        lastActivityNs = instance.lastActivityNs
        exitCode = instance.exitCode.map(Int64.init)
        exitSignal = instance.exitSignal ?? ""
        images = ProcessJSONText.stringArray(instance.images)
        command = instance.command
        uid = instance.uid.map(Int64.init)
        containerID = instance.containerID
        podName = instance.podName
        parentID = instance.parentID
        reaperID = instance.reaperID
        origin = instance.origin.rawValue
        processEvents = Int64(instance.events.process)
        fileEvents = Int64(instance.events.file)
        networkEvents = Int64(instance.events.network)
        capabilitiesEvents = Int64(instance.events.capabilities)
        syscallEvents = Int64(instance.events.syscall)
        otherEvents = Int64(instance.events.other)
    }

    /// The instance this row stores; throws when a field is not in its stored form.
    public func instance() throws(ProcessTableError) -> ProcessInstance {
        guard let images = ProcessJSONText.parseStringArray(images) else { throw malformed("images", self.images) }
        guard let origin = ProcessInstance.Origin(rawValue: origin) else { throw malformed("origin", origin) }
        return ProcessInstance(
            id: id, hostName: hostName, hostPID: try int32("hostPID", hostPID), pid: try int32("pid", pid),
            startNs: startNs, exitNs: exitNs, lastActivityNs: lastActivityNs,
            exitCode: try exitCode.map { v throws(ProcessTableError) in try int32("exitCode", v) },
            exitSignal: exitSignal.isEmpty ? nil : exitSignal, images: images, command: command,
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
    public var rows: [ProcessInstanceRow] { instances.map(ProcessInstanceRow.init) }
}
