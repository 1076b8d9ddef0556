import EventModel
import EventStore
import Foundation

/// A stretch of time the store does not fully cover: what happened then may be missing, and why.
///
/// Absence of evidence inside a hole is not evidence of absence: `info` lists the holes, and
/// `evaluate --diff` does not call an alert "new" when KubeArmor was throttling alerts at the time.
public struct CoverageHole: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// KubeArmor dropped alerts after an `AlertThreshold` system event (its per-container alert
        /// throttling: more than MaxAlertsPerSec, then nothing for DroppingAlertsInterval seconds).
        case alertThrottling = "alert-throttling"
        /// Retention retired the segments holding this time.
        case retired
        /// The recorder lost events in the kernel while this segment was written.
        case recorderDrops = "recorder-drops"
    }

    public var kind: Kind
    /// The hole (unix ns, inclusive).
    public var fromNs: Int64
    public var toNs: Int64
    /// Where, when it concerns one host (and one container of it); empty when it is the whole store's.
    public var hostName: String
    public var containerID: String
    /// What is missing, in words.
    public var detail: String

    /// Whether an event on `hostName` in `containerID` at `timeNs` falls in the hole.
    public func covers(timeNs: Int64, hostName: String, containerID: String) -> Bool {
        (fromNs...toNs).contains(timeNs) && (self.hostName.isEmpty || self.hostName == hostName)
            && (self.containerID.isEmpty || self.containerID == containerID)
    }

    public var description: String {
        var place = hostName.isEmpty ? "" : " on \(hostName)"
        if !containerID.isEmpty { place += " (container \(containerID.prefix(12)))" }
        let what = kind == .alertThrottling ? "no alerts" : kind == .recorderDrops ? "events lost" : "no data"
        return "\(what) \(UnixTime.rfc3339Micro(fromNs)) .. \(UnixTime.rfc3339Micro(toNs))\(place): \(detail)"
    }
}

extension CoverageHole {
    /// Every hole of `store`, in time order: KubeArmor's alert throttling (found through the index:
    /// only blocks holding an `AlertThreshold` event are read), retired segments (the retirement
    /// ledger) and recorder drops (each recorded segment's counters).
    public static func holes(in store: Store) throws -> [CoverageHole] {
        var holes = try throttling(in: store)
        for run in try store.retirementLedger()?.runs ?? [] {
            holes.append(CoverageHole(kind: .retired, fromNs: run.firstTimeNs, toNs: run.lastTimeNs, hostName: "", containerID: "",
                                      detail: "\(run.events) event(s) of \(run.first == run.last ? "segment \(run.first)" : "segments \(run.first)–\(run.last)") retired by \(run.reason)"))
        }
        holes += try recorderDrops(in: store)
        return holes.sorted { ($0.fromNs, $0.toNs, $0.kind.rawValue) < ($1.fromNs, $1.toNs, $1.kind.rawValue) }
    }

    /// KubeArmor's default throttle interval, for an `AlertThreshold` event that does not carry it.
    static let defaultDroppingSeconds: Int64 = 30

    private static func throttling(in store: Store) throws -> [CoverageHole] {
        let ids = try store.blockIDs(where: .operation, in: ["AlertThreshold"])
        guard !ids.isEmpty else { return [] }
        var holes: [CoverageHole] = []
        try store.scan(try store.blocks().filter { ids.contains($0.id) }) { event in
            guard event.operation == "AlertThreshold" else { return true }
            let seconds = event.extra("DroppingAlertsInterval").flatMap { Int64($0) } ?? defaultDroppingSeconds
            let rate = event.extra("MaxAlertsPerSec").map { "more than \($0) alerts/s" } ?? "alert rate over its threshold"
            holes.append(CoverageHole(kind: .alertThrottling, fromNs: event.timeNs, toNs: event.timeNs + seconds * 1_000_000_000,
                                      hostName: event.hostName, containerID: event.containerID,
                                      detail: "KubeArmor alert throttling (\(rate); Audit alerts dropped for \(seconds) s)"))
            return true
        }
        return holes
    }

    /// The segments whose recorder counted events lost in the kernel: counters are cumulative over
    /// a recording, so each segment's loss is the increase over the segment before it (the whole
    /// count when a new recording started).
    private static func recorderDrops(in store: Store) throws -> [CoverageHole] {
        let spans = Dictionary(grouping: try store.blocks(), by: \.segment)
        var holes: [CoverageHole] = []
        var previous: [String: UInt64] = [:]
        for segment in try store.segments() {
            guard let drops = recorderDrops(segment.metadata) else { continue }
            let restarted = drops.contains { kind, count in count < previous[kind] ?? 0 }
            var lost: [String: UInt64] = [:]
            for (kind, count) in drops { lost[kind] = restarted ? count : count - min(count, previous[kind] ?? 0) }
            previous = drops
            let total = lost.values.reduce(0, +)
            guard total > 0, let blocks = spans[segment.number] else { continue }
            let kinds = lost.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            holes.append(CoverageHole(kind: .recorderDrops, fromNs: blocks.map(\.location.minTimeNs).min()!,
                                      toNs: blocks.map(\.location.maxTimeNs).max()!, hostName: "", containerID: "",
                                      detail: "\(total) event(s) lost in the kernel while segment \(segment.number) was recorded (\(kinds))"))
        }
        return holes
    }

    /// The `recorder.drops` counters of a segment's metadata; nil for a segment not recorded.
    private static func recorderDrops(_ metadata: String) -> [String: UInt64]? {
        guard metadata.contains("\"drops\""),
              let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any],
              let recorder = object["recorder"] as? [String: Any], let drops = recorder["drops"] as? [String: Any] else { return nil }
        return drops.compactMapValues { ($0 as? NSNumber)?.uint64Value }
    }
}
