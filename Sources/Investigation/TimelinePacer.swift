#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A clock a replay waits on: monotonic time and sleeping. Tests pass one that only counts.
public protocol ReplayClock {
    /// Monotonic time in nanoseconds.
    mutating func nowNs() -> Int64
    /// Sleeps about `ns` nanoseconds.
    mutating func sleep(ns: Int64)
}

/// The system's monotonic clock (`CLOCK_MONOTONIC`) and `nanosleep`.
public struct MonotonicReplayClock: ReplayClock {
    public init() {}

    public mutating func nowNs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    public mutating func sleep(ns: Int64) {
        guard ns > 0 else { return }
        var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}

/// Paces a replay of events like the original: each event is due the gap since the previous one
/// later, the gap capped at ``maxGapNs`` and divided by ``speed``.
///
/// Due times are kept on one schedule from the first event, so time spent writing lines is
/// absorbed rather than added (and a slow writer catches up without waiting). Events out of order
/// (a merge of hosts whose clocks differ) count as no gap.
public struct TimelinePacer<Clock: ReplayClock> {
    /// `10` replays ten times faster than the original.
    public let speed: Double
    /// The longest wait between two events, in original time (nil: no cap).
    public let maxGapNs: Int64?
    public private(set) var clock: Clock
    private var previousEventNs: Int64?
    private var dueNs: Int64 = 0

    /// `speed` must be positive; `maxGapNs`, when given, not negative.
    public init(speed: Double = 1, maxGapNs: Int64? = nil, clock: Clock) {
        precondition(speed > 0 && speed.isFinite, "replay speed must be positive")
        precondition((maxGapNs ?? 0) >= 0, "maximum gap must not be negative")
        self.speed = speed
        self.maxGapNs = maxGapNs
        self.clock = clock
    }

    /// The wait between events at `previousNs` and `nextNs`: the gap, capped, divided by the speed.
    public func delayNs(from previousNs: Int64, to nextNs: Int64) -> Int64 {
        let gap = max(0, nextNs &- previousNs)
        let capped = maxGapNs.map { min(gap, $0) } ?? gap
        return Int64((Double(capped) / speed).rounded())
    }

    /// Waits until the event at `timeNs` is due: the first at once, each later one on the schedule.
    public mutating func waitForEvent(at timeNs: Int64) {
        let now = clock.nowNs()
        guard let previous = previousEventNs else {
            previousEventNs = timeNs
            dueNs = now
            return
        }
        dueNs += delayNs(from: previous, to: timeNs)
        previousEventNs = max(previous, timeNs)
        if dueNs > now { clock.sleep(ns: dueNs - now) }
    }
}
