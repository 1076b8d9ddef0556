import EventModel
import EventStore
import Foundation
import Testing
@testable import Investigation

/// The process table kept in a store's index: built, extended, rebuilt, read back, and read in part
/// for trees, always equal to a build from every event in memory.
@Suite struct StoredProcessTableTests {
    /// The demo incident's events (two hosts, a web shell, PIDs as KubeArmor logs them), in time order.
    static var demo: [Event] { get throws { try loadedDemo.get() } }

    private static let loadedDemo = Result { () throws -> [Event] in
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/demo-incident.ndjson").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let events = try KubeArmorJSONReader.readAll(bytes: bytes, origin: path).map { try $0.get() }
        return events.enumerated().sorted { ($0.element.timeNs, $0.offset) < ($1.element.timeNs, $1.offset) }.map(\.element)
    }

    /// The table a builder makes from `events` in memory.
    static func built(_ events: [Event]) -> ProcessInstanceTable {
        var builder = ProcessInstanceBuilder()
        _ = builder.add(events)
        return builder.table
    }

    /// Appends `events` in small blocks (so updates see several) and closes the writer.
    static func append(_ events: [Event], to path: String, updating: Bool) throws -> ProcessTableUpdate? {
        var options = WriterOptions()
        options.blockEvents = 128
        let writer = try StoreWriter(path: path, options: options)
        try writer.append(events)
        try writer.flush()
        let outcome = updating ? try StoredProcessTable.update(writer) : nil
        try writer.close()
        return outcome
    }

    static func storedTable(_ path: String) throws -> (view: StoredProcessTable, table: ProcessInstanceTable) {
        let view = try StoredProcessTable(store: try Store.open(path))
        return (view, try view.table())
    }

    @Test func persistedTableEqualsAnInMemoryBuild() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        let outcome = try Self.append(demo, to: directory.path, updating: true)
        guard case .rebuilt(_, let instances, let events)? = outcome else {
            Issue.record("expected a first build, got \(String(describing: outcome))")
            return
        }
        #expect(events == demo.count)
        let (view, table) = try Self.storedTable(directory.path)
        #expect(view.isStoredTableCurrent)
        #expect(instances == table.count)
        #expect(table.instances == Self.built(demo).instances)
        #expect(table.instances.contains { $0.hostPID == 9939 && $0.containerID.hasPrefix("14a0f9e77f1b") })
    }

    /// Appends `events` a few at a time while a follower keeps the table, as `import` does.
    static func appendFollowing(_ events: [Event], to path: String) throws -> ProcessTableUpdate {
        var options = WriterOptions()
        options.blockEvents = 16
        options.threads = 1
        let writer = try StoreWriter(path: path, options: options)
        let follower = ProcessTableFollower(writer)
        for start in stride(from: 0, to: events.count, by: 40) {
            try writer.append(Array(events[start..<min(events.count, start + 40)]))
        }
        try writer.flush()
        let outcome = try follower.finish()
        try writer.close()
        return outcome
    }

    @Test func followerBuildsTheTableWhileEventsAreWritten() throws {
        let directory = TemporaryStore()
        let demo = try Self.demo
        let half = demo.count / 2
        guard case .rebuilt(let reason, _, let events) = try Self.appendFollowing(Array(demo[..<half]), to: directory.path) else {
            Issue.record("expected a first build")
            return
        }
        #expect(reason == "the index holds no process table")
        #expect(events == half)
        guard case .extended(_, let later, _) = try Self.appendFollowing(Array(demo[half...]), to: directory.path) else {
            Issue.record("expected an extension")
            return
        }
        #expect(later == demo.count - half)
        let (view, table) = try Self.storedTable(directory.path)
        #expect(view.isStoredTableCurrent)
        #expect(table.instances == Self.built(demo).instances)
    }

    /// An import that fails after the follower started stops it: its thread ends, nothing is stored,
    /// and the next update builds the table from the blocks.
    @Test func stoppedFollowerStoresNothingAndLetsItsThreadGo() throws {
        let directory = TemporaryStore()
        let demo = try Self.demo
        var options = WriterOptions()
        options.blockEvents = 16
        options.threads = 1
        let writer = try StoreWriter(path: directory.path, options: options)
        let follower = ProcessTableFollower(writer)
        try writer.append(demo)
        try writer.flush()
        follower.stop()
        follower.stop()
        try writer.append(demo[..<1])
        try writer.close()
        #expect(try Store.open(directory.path).processTableWatermark() == nil)
        let update = try StoredProcessTable.update(storePath: directory.path)
        guard case .rebuilt(_, _, let events) = update else {
            Issue.record("expected a first build, got \(update)")
            return
        }
        #expect(events == demo.count + 1)
    }

    @Test func followerFallsBackWhenTheNewEventsAreOlder() throws {
        let directory = TemporaryStore()
        let demo = try Self.demo
        let half = demo.count / 2
        _ = try Self.appendFollowing(Array(demo[half...]), to: directory.path)
        let outcome = try Self.appendFollowing(Array(demo[..<half]), to: directory.path)
        guard case .rebuilt(let reason, _, let events) = outcome else {
            Issue.record("expected a rebuild, got \(outcome)")
            return
        }
        #expect(reason.hasPrefix("new blocks hold events older"))
        #expect(events == demo.count)
        #expect(try Self.storedTable(directory.path).table.instances == Self.built(demo).instances)
    }

    @Test func laterBlocksExtendTheStoredTable() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        let half = demo.count / 2
        _ = try Self.append(Array(demo[..<half]), to: directory.path, updating: true)
        let outcome = try Self.append(Array(demo[half...]), to: directory.path, updating: true)
        guard case .extended(let blocks, let events, let changed)? = outcome else {
            Issue.record("expected an extension, got \(String(describing: outcome))")
            return
        }
        #expect(blocks == (demo.count - half + 127) / 128)
        #expect(events == demo.count - half)
        #expect(changed > 0)
        #expect(try Self.storedTable(directory.path).table.instances == Self.built(demo).instances)
        let writer = try StoreWriter(path: directory.path)
        #expect(try StoredProcessTable.update(writer) == .upToDate)
        try writer.close()
    }

    @Test func olderEventsMakeTheTableBuildAgain() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        let half = demo.count / 2
        _ = try Self.append(Array(demo[half...]), to: directory.path, updating: true)
        let outcome = try Self.append(Array(demo[..<half]), to: directory.path, updating: true)
        guard case .rebuilt(let reason, _, let events)? = outcome else {
            Issue.record("expected a rebuild, got \(String(describing: outcome))")
            return
        }
        #expect(reason.contains("older"))
        #expect(events == demo.count)
        // The store now reads back in time order, as if imported at once.
        #expect(try Self.storedTable(directory.path).table.instances == Self.built(demo).instances)
    }

    @Test func readersFoldBlocksBeyondTheWatermark() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        let half = demo.count / 2
        _ = try Self.append(Array(demo[..<half]), to: directory.path, updating: true)
        _ = try Self.append(Array(demo[half...]), to: directory.path, updating: false)
        let (view, table) = try Self.storedTable(directory.path)
        #expect(!view.isStoredTableCurrent)
        #expect(table.instances == Self.built(demo).instances)
        // A reader never writes: the stored table is still behind.
        #expect(try !StoredProcessTable(store: try Store.open(directory.path)).isStoredTableCurrent)
    }

    @Test func reindexDropsTheTableAndTheNextUpdateRebuildsIt() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        _ = try Self.append(demo, to: directory.path, updating: true)
        _ = try Store.reindex(directory.path)
        #expect(try Store.open(directory.path).processTableWatermark() == nil)
        let outcome = try StoredProcessTable.update(storePath: directory.path)
        guard case .rebuilt? = Optional(outcome) else {
            Issue.record("expected a rebuild, got \(outcome)")
            return
        }
        #expect(try Self.storedTable(directory.path).table.instances == Self.built(demo).instances)
    }

    @Test func treesFromStoredRowsEqualTreesFromTheWholeTable() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        _ = try Self.append(demo, to: directory.path, updating: true)
        let view = try StoredProcessTable(store: try Store.open(directory.path))
        let whole = Self.built(demo)
        for pid: Int32 in [9939, 9893, 4024, 1, 4023] {
            for (ancestors, descendants, depth) in [(true, true, nil), (true, false, nil), (false, true, 1), (true, true, 2)] as [(Bool, Bool, Int?)] {
                let fromRows = try ProcessTreeQuery.tree([view], selecting: .hostPID(pid, at: nil), ancestors: ancestors,
                                                         descendants: descendants, depth: depth)
                let fromTable = ProcessTree(table: whole, selecting: .hostPID(pid), ancestors: ancestors,
                                            descendants: descendants, depth: depth)
                #expect(ProcessTreeRenderer(fromRows).json() == ProcessTreeRenderer(fromTable).json(),
                        "pid \(pid), ancestors \(ancestors), descendants \(descendants), depth \(String(describing: depth))")
            }
        }
        let blocked = EventFilter(try FilterExpression(parsing: "Action = Block"))
        let tree = try ProcessTreeQuery.tree([view], selecting: .events(blocked, hostPID: nil, at: nil), descendants: false)
        #expect(tree.selectedIDs.compactMap { tree.instancesByID[$0]?.hostPID }.sorted() == [9934, 9939])
    }

    @Test func treesOfSeveralStoresKeepTheirInstancesApart() throws {
        let demo = try Self.demo
        let first = TemporaryStore(), second = TemporaryStore()
        let hosts = Set(demo.map(\.hostName)).sorted()
        _ = try Self.append(demo.filter { $0.hostName == hosts[0] }, to: first.path, updating: true)
        _ = try Self.append(demo.filter { $0.hostName == hosts[1] }, to: second.path, updating: true)
        let views = try [first, second].map { try StoredProcessTable(store: try Store.open($0.path)) }
        let forest = try ProcessTreeQuery.tree(views, selecting: .all)
        #expect(forest.instancesByID.count == Self.built(demo).count)
        #expect(Set(forest.roots.map(\.instance.hostName)) == Set(hosts))
        let one = try ProcessTreeQuery.tree(views, selecting: .hostPID(1, at: nil))
        #expect(Set(one.selectedIDs.compactMap { one.instancesByID[$0]?.hostName }).count == 2, "PID 1 of each host")
    }

    @Test func aStoredParentCycleDoesNotMakeTreesLoop() throws {
        let demo = try Self.demo
        let directory = TemporaryStore()
        _ = try Self.append(Array(demo.prefix(10)), to: directory.path, updating: false)
        func instance(_ id: Int64, parent: Int64) -> ProcessInstance {
            ProcessInstance(id: id, hostName: "h", hostPID: Int32(100 + id), pid: Int32(100 + id), startNs: id, lastActivityNs: id,
                            images: ["/bin/sh"], uid: 0, parentID: parent, origin: .inferredFirstSeen)
        }
        let writer = try StoreWriter(path: directory.path)
        try writer.storeProcessRows([instance(0, parent: 2), instance(1, parent: 0), instance(2, parent: 1)].map(ProcessInstanceRow.init),
                                    replacingAll: true, watermark: ProcessTableWatermark(consumed: try writer.store.blocks()))
        try writer.close()
        let view = try StoredProcessTable(store: try Store.open(directory.path))
        #expect(view.isStoredTableCurrent)
        let tree = try ProcessTreeQuery.tree([view], selecting: .hostPID(101, at: nil))
        #expect(tree.instancesByID.count == 3)
        #expect(tree.nodesInOrder.count == 3)
    }
}

/// A temporary store directory, removed when released.
final class TemporaryStore {
    let path = NSTemporaryDirectory() + "rearview-processes-" + UUID().uuidString

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
