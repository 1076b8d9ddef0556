import EventModel

/// Measures evaluation throughput for `make bench` (release builds only mean anything).
public enum PolicyEvaluationBenchmark {
    /// One measurement: how many events were evaluated, how long it took, how many alerts came out.
    public struct Measurement: Sendable {
        public var events: Int
        public var seconds: Double
        public var alerts: Int

        public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
    }

    /// Evaluates `events` with a fresh evaluator of `policySet` (so that building its rule tables is
    /// part of the cost) through ``PolicyEvaluator/verdicts(for:_:)`` and returns the best of `runs`
    /// timings. With `buildingAlerts`, every verdict is also made into its alert record
    /// (``PolicyVerdict/alert(for:enforcer:)``, what output needs); without, only decided (what
    /// `--count` and `--summary` need).
    public static func measure(_ policySet: PolicySet, events: [Event], buildingAlerts: Bool = true,
                               runs: Int = 3) -> Measurement {
        var best = Measurement(events: events.count, seconds: .infinity, alerts: 0)
        let clock = ContinuousClock()
        let enforcer = policySet.options.enforcerName
        for _ in 0..<max(1, runs) {
            var evaluator = policySet.makeEvaluator()
            var alerts = 0
            var built = 0
            let elapsed = clock.measure {
                evaluator.verdicts(for: events) { index, verdict in
                    alerts += 1
                    if buildingAlerts { built &+= verdict.alert(for: events[index], enforcer: enforcer).extras.count }
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if seconds < best.seconds { best = Measurement(events: events.count, seconds: seconds, alerts: alerts) }
        }
        return best
    }
}
