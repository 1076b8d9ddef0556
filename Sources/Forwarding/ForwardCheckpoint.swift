import EventStore
import Foundation

/// How far `forward` got for one destination: the store position (Seq) of the last record the receiver
/// acknowledged, and what that position is about (store, destination, selection).
///
/// The position is the event's Seq, the store-wide sequence number written into each block header:
/// blocks hold contiguous Seq ranges and later blocks higher ones, `reindex` rebuilds the index from
/// the segments without changing them, and new imports or recordings only add higher numbers. So
/// "every matching event with Seq > lastSeq" is still exactly the unsent part after a reindex, a
/// restart, or new data (block ids, by contrast, are index rows that a reindex renumbers).
public struct ForwardCheckpoint: Equatable, Sendable {
    /// The destination as `ForwardDestination.description` shows it.
    public var destination: String
    /// What was selected and how it is sent (filter, flags, format), as the command describes it.
    public var selection: String
    /// The store's id: a checkpoint copied into another store does not apply there.
    public var storeID: String
    /// Seq of the last acknowledged record; 0 before the first.
    public var lastSeq: UInt64
    /// How many records were acknowledged in all, over every run.
    public var records: UInt64

    public init(destination: String, selection: String, storeID: String, lastSeq: UInt64 = 0, records: UInt64 = 0) {
        self.destination = destination
        self.selection = selection
        self.storeID = storeID
        self.lastSeq = lastSeq
        self.records = records
    }
}

/// The checkpoint file of one destination in a store: `<store>/forward/<destination>.checkpoint`, a small
/// JSON object replaced atomically (temporary file, fsync, rename, fsync of the directory), opened
/// relative to the store's directory and never through a symbolic link (see ``DirectoryHandle``).
public struct CheckpointFile: Sendable {
    public let path: String
    private let store: DirectoryHandle
    private let name: String
    private static let directoryName = "forward"

    /// The checkpoint of `destination` in the store directory `store`; the name keeps letters, digits,
    /// `.` and `-` of the destination and turns every other byte into `_`.
    public init(store: DirectoryHandle, destination: ForwardDestination) {
        self.store = store
        name = String(decoding: destination.description.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"): byte
            default: UInt8(ascii: "_")
            }
        }, as: UTF8.self) + ".checkpoint"
        path = store.path + "/" + Self.directoryName + "/" + name
    }

    /// The saved checkpoint, or nil when there is none.
    public func load() throws(ForwardError) -> ForwardCheckpoint? {
        let bytes: [UInt8]?
        do {
            bytes = try store.subdirectory(Self.directoryName)?.readFile(name, maxBytes: 1 << 20)
        } catch {
            throw ForwardError(.checkpoint, "\(error.description) (cannot read the checkpoint)")
        }
        guard let bytes else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let destination = object["destination"] as? String, let selection = object["selection"] as? String,
              let storeID = object["store_id"] as? String, let lastSeq = (object["last_seq"] as? NSNumber)?.uint64Value,
              let records = (object["records"] as? NSNumber)?.uint64Value else {
            throw ForwardError(.checkpoint, "\(path): not a forward checkpoint (remove it or use --from-start)")
        }
        return ForwardCheckpoint(destination: destination, selection: selection, storeID: storeID, lastSeq: lastSeq, records: records)
    }

    /// Replaces the checkpoint atomically and durably.
    public func save(_ checkpoint: ForwardCheckpoint) throws(ForwardError) {
        let object: [String: Any] = [
            "destination": checkpoint.destination, "selection": checkpoint.selection, "store_id": checkpoint.storeID,
            "last_seq": NSNumber(value: checkpoint.lastSeq), "records": NSNumber(value: checkpoint.records),
        ]
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw ForwardError(.checkpoint, "\(path): cannot encode the checkpoint")
        }
        data.append(0x0A)
        do {
            try store.makeSubdirectory(Self.directoryName).replaceFile(name, with: Array(data))
        } catch {
            throw ForwardError(.checkpoint, "\(error.description) (cannot save the checkpoint)")
        }
    }

    /// Deletes the checkpoint (for `--from-start`); no checkpoint is not an error.
    public func remove() throws(ForwardError) {
        do {
            try store.subdirectory(Self.directoryName)?.removeFile(name)
        } catch {
            throw ForwardError(.checkpoint, "\(error.description) (cannot remove the checkpoint)")
        }
    }
}
