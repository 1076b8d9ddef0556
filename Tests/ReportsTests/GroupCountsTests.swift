import EventModel
import EventStore
import Foundation
import Reports
import Testing

/// Counting groups on a batch's ids must give what counting the records one by one gives.
@Suite struct GroupCountsTests {
    static func events(_ count: Int) -> [Event] {
        var state: UInt64 = 0x9E37
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        return (0..<count).map { i in
            var e = Event()
            e.timeNs = 1_717_150_000_000_000_000 + Int64(i) * 1_000_000
            e.timestamp = e.timeNs / 1_000_000_000
            e.hostName = "host-\(next(3))"
            e.hostPID = Int32(100 + next(40))
            e.processName = ["/usr/bin/ps", "/bin/sh", "/usr/bin/cat", ""][next(4)]
            e.operation = ["Process", "File", "Network"][next(3)]
            e.policyName = next(4) == 0 ? "policy-\(next(3))" : ""
            e.action = e.policyName.isEmpty ? "" : ["Audit", "Block"][next(2)]
            e.resource = "/etc/" + ["passwd", "shadow", "hosts"][next(3)]
            if next(3) == 0 { e.extras = [ExtraField(key: "cluster_id", json: "\"c\(next(3))\"")] }
            return e
        }
    }

    @Test(arguments: ["ProcessName", "HostName,ProcessName", "PolicyName,Action", "Resource,HostPID",
                      "cluster_id,Operation", "Timestamp", "Seq", "Time,HostName"])
    func batchCountsEqualRecordCounts(columns: String) throws {
        let path = NSTemporaryDirectory() + "rearview-groups-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = WriterOptions()
        options.blockEvents = 333
        let writer = try StoreWriter(path: path, options: options)
        try writer.append(Self.events(2000))
        try writer.close()
        let store = try Store.open(path)
        let fields = EventColumn.list(columns)
        var byRecord = GroupCounts(columns: fields)
        var byBatch = GroupCounts(columns: fields)
        for block in try store.blocks() {
            let all = try store.batch(in: block, columns: byBatch.batchColumns)
            // Every other row, so that selections with gaps are counted too.
            let rows = stride(from: 0, to: all.count, by: 2).map(Int32.init)
            byBatch.merge(byBatch.counting(all, rows: rows))
            for event in try store.batch(in: block).events(at: rows) { byRecord.add(event) }
        }
        #expect(byBatch.total == byRecord.total && byBatch.total > 900)
        #expect(byBatch.counts == byRecord.counts)
        #expect(byBatch.sorted(limit: 3).map(\.count) == byRecord.sorted(limit: 3).map(\.count))
    }
}
