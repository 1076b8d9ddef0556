import EventModel
import Foundation

/// A stretch of history that retention keeps: the window around events a recorder was told to keep
/// the context of (`record --policy` alerts, `--keep-around` matches).
public struct PinnedWindow: Sendable, Equatable, Codable {
    /// The window (unix ns, inclusive).
    public var fromNs: Int64
    public var toNs: Int64
    /// Why: the first event that pinned it.
    public var reason: String
    /// How many events pinned it (windows that overlap are merged).
    public var matches: Int

    public init(fromNs: Int64, toNs: Int64, reason: String, matches: Int = 1) {
        self.fromNs = fromNs
        self.toNs = toNs
        self.reason = reason
        self.matches = matches
    }

    func overlaps(firstNs: Int64, lastNs: Int64) -> Bool { fromNs <= lastNs && firstNs <= toNs }

    public var description: String {
        "\(UnixTime.rfc3339Micro(fromNs)) .. \(UnixTime.rfc3339Micro(toNs)): \(reason)" + (matches > 1 ? " (and \(matches - 1) more)" : "")
    }
}

/// The store's pinned windows, `segments/pinned.json`: what retention must not retire.
///
/// Kept beside the segments (the index is derived data, rebuilt from them), replaced atomically
/// whenever pins are added or released, and written before the events that pinned them are flushed,
/// so a flushed alert is never without its pin.
struct PinnedWindows {
    static let fileName = "pinned.json"

    /// In time order, none overlapping another.
    private(set) var windows: [PinnedWindow] = []

    /// Adds windows, merging those that overlap or touch.
    mutating func add(_ new: [PinnedWindow]) {
        var merged: [PinnedWindow] = []
        for window in (windows + new).sorted(by: { ($0.fromNs, $0.toNs) < ($1.fromNs, $1.toNs) }) {
            if var last = merged.last, window.fromNs <= last.toNs {
                last.toNs = max(last.toNs, window.toNs)
                last.matches += window.matches
                merged[merged.count - 1] = last
            } else {
                merged.append(window)
            }
        }
        windows = merged
    }

    mutating func release(_ released: [PinnedWindow]) {
        windows.removeAll { released.contains($0) }
    }

    static func read(store: Store) throws(StoreError) -> PinnedWindows {
        guard let bytes = try store.segmentsDirectory.readFile(fileName, maxBytes: 64 << 20) else { return PinnedWindows() }
        do {
            return PinnedWindows(windows: try JSONDecoder().decode([PinnedWindow].self, from: Data(bytes)))
        } catch {
            throw StoreError(.damaged, path: store.segmentsDirectory.pathOf(fileName), "not a list of pinned windows: \(error)")
        }
    }

    func write(store: Store) throws(StoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(windows)) ?? Data("[]".utf8)
        try store.segmentsDirectory.replaceFile(Self.fileName, with: Array(data) + [0x0A])
    }
}

extension StoreWriter {
    /// Pins windows of history: retention keeps every sealed segment with an event inside one,
    /// unless pinned segments alone exceed the size budget (then the oldest pins are released).
    /// Durable when this returns; call it before flushing the events that pinned them.
    public func pin(_ windows: [PinnedWindow]) throws(StoreError) {
        guard !windows.isEmpty else { return }
        var pins = try PinnedWindows.read(store: store)
        pins.add(windows)
        try pins.write(store: store)
    }
}

extension Store {
    /// The windows retention keeps (``StoreWriter/pin(_:)``), in time order.
    public func pinnedWindows() throws(StoreError) -> [PinnedWindow] { try PinnedWindows.read(store: self).windows }
}
