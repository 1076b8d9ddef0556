import EventModel
import Testing
@testable import Investigation

@Suite struct PruningHintTests {
    private func constraint(_ expression: String) throws -> TermConstraint {
        EventFilter(try FilterExpression(parsing: expression)).termConstraint
    }

    @Test func equalityAndInOnIndexedFieldsGiveTerms() throws {
        #expect(try constraint("Operation = Process and HostPID = 1234")
                == .allOf([.anyOf(.operation, ["Process"]), .anyOf(.hostPID, ["1234"])]))
        #expect(try constraint("HostPID = 01234") == .anyOf(.hostPID, ["1234"]))
        #expect(try constraint("PodName = c or PodName in (b, a, c)") == .anyOf(.podName, ["a", "b", "c"]))
        #expect(try constraint("hostname = h1 or Type = MatchedPolicy")
                == .oneOf([.anyOf(.hostName, ["h1"]), .anyOf(.type, ["MatchedPolicy"])]))
        #expect(try constraint("(PodName = a and Resource = x) or ContainerID = c")
                == .oneOf([.anyOf(.podName, ["a"]), .anyOf(.containerID, ["c"])]))
    }

    @Test func whatCannotBeCheckedAgainstPostingsIsAnything() throws {
        for expression in [
            "not Operation = Process", "Operation != Process", "Resource = /etc/shadow", "HostPID > 5",
            "PodName = ''", "PodName in (a, '')", "Operation = Process or Resource = x", "PodName exists",
            "PodName ~ '.*'", "PodName glob '*'", "PodName contains ''", "cluster_id = 1", "Severity = 5",
        ] {
            #expect(try constraint(expression) == .anything, "\(expression)")
        }
        #expect(try constraint("Operation = Process and Resource ~ x") == .anyOf(.operation, ["Process"]))
    }

    @Test func stringTestsOnIndexedFieldsGivePatterns() throws {
        let c = try constraint("PodName ~ '^web' and ProcessName glob '/usr/*'")
        guard case .allOf(let parts) = c, parts.count == 2,
              case .matching(.podName, let pod) = parts[0], case .matching(.processName, let process) = parts[1] else {
            Issue.record("unexpected \(c)")
            return
        }
        #expect(pod.matches("web-1") && !pod.matches("old-web"))
        #expect(process.matches("/usr/bin/ps") && !process.matches("/bin/sh"))
        #expect(c.description == "all(PodName ~ '^web', ProcessName glob '/usr/*')")
    }

    @Test func shortcutFlagsPruneLikeTheirRegexes() throws {
        let filter = EventFilter(try ShortcutFilters(pod: "WEB", operation: "process", pid: 7).expression())
        #expect(filter.termConstraint.description
                == "all(PodName ~ '(?i)WEB', Operation ~ '(?i)process', HostPID in ('7'))")
        let vocabulary: [EventField: [String]] = [.podName: ["web-1", "db-1", "Web-2"], .operation: ["Process", "File"]]
        #expect(filter.termConstraint.resolvingPatterns { vocabulary[$0] ?? [] }
                == .allOf([.anyOf(.podName, ["Web-2", "web-1"]), .anyOf(.operation, ["Process"]), .anyOf(.hostPID, ["7"])]))
        #expect(try EventFilter(ShortcutFilters(type: "alert").expression()).termConstraint.description
                == "Type startswith 'Matched'")
        #expect(try EventFilter(ShortcutFilters(container: "abc").expression()).termConstraint == .anything)
    }

    @Test func admitsChecksAnEventsIndexedValues() throws {
        let c = try constraint("Operation = Process and (PodName ~ '^web' or HostPID in (1, 2))")
        let event: [EventField: String] = [.operation: "Process", .podName: "db", .hostPID: "2"]
        #expect(c.admits { event[$0] ?? "" })
        let other: [EventField: String] = [.operation: "Process", .podName: "db", .hostPID: "3"]
        #expect(!c.admits { other[$0] ?? "" })
        #expect(!TermConstraint.anyOf(.podName, []).admits { _ in "x" })
    }

    @Test func timeBoundsFromAndedAndOredComparisons() throws {
        func bounds(_ expression: String) throws -> (TimeBounds, TimeBounds) {
            let filter = EventFilter(try FilterExpression(parsing: expression))
            return (filter.timeNsBounds, filter.timestampBounds)
        }
        #expect(try bounds("TimeNs >= 100 and TimeNs < 200 and Operation = Process").0 == TimeBounds(lower: 100, upper: 199))
        #expect(try bounds("TimeNs > 100 and TimeNs <= 200").0 == TimeBounds(lower: 101, upper: 200))
        #expect(try bounds("(TimeNs > 100 and TimeNs < 150) or (TimeNs > 300 and TimeNs < 400)").0
                == TimeBounds(lower: 101, upper: 399))
        #expect(try bounds("TimeNs > 100 or Operation = File").0 == .unbounded)
        #expect(try bounds("not TimeNs < 100").0 == .unbounded)
        #expect(try bounds("TimeNs = 5 and TimeNs = 6").0.isEmpty)
        #expect(try bounds("TimeNs in (7, 3, 5)").0 == TimeBounds(lower: 3, upper: 7))
        #expect(try bounds("Timestamp >= 10.5 and Timestamp < 20").1 == TimeBounds(lower: 11, upper: 19))
        #expect(try bounds("Timestamp > 10 and Timestamp <= 20.5").1 == TimeBounds(lower: 11, upper: 20))
        #expect(try bounds("Timestamp = 10.5").1.isEmpty)
        #expect(try bounds("Timestamp >= 2024-05-31T10:00:00Z").1 == TimeBounds(lower: 1_717_149_600, upper: .max))
        let since = EventFilter(.and([.timeRange(since: 1000, until: nil)]))
        #expect(since.timeNsBounds == TimeBounds(lower: 1000, upper: .max))
        #expect(since.timeNsBounds.overlaps(first: 500, last: 1000))
        #expect(!since.timeNsBounds.overlaps(first: 500, last: 999))
    }

    /// For a few hundred random expressions over a few thousand random events: every event the
    /// predicate accepts satisfies the derived term constraint (with and without resolved patterns)
    /// and lies within the derived time bounds — pruning never loses a match.
    @Test func randomizedHintsNeverExcludeAMatch() throws {
        var rng = SplitMix64(seed: 0x5EED_CAFE)
        let events = (0..<3000).map { _ in RandomEvents.event(&rng) }
        // Byte-distinct terms per field, as the index holds them (a Set<String> would merge the
        // canonically equivalent "caf\u{E9}" and "cafe\u{301}").
        var vocabulary = [EventField: [String]]()
        for field in TermConstraint.indexedFields {
            let terms = Set(events.compactMap { RandomEvents.term(field, $0).map { Array($0.utf8) } })
            vocabulary[field] = terms.map { String(decoding: $0, as: UTF8.self) }
        }
        var informative = 0, matchedTotal = 0, prunedTotal = 0
        for _ in 0..<500 {
            let source = RandomEvents.expression(&rng, depth: 3)
            let filter = EventFilter(try FilterExpression(parsing: source))
            let resolved = filter.termConstraint.resolvingPatterns { vocabulary[$0] ?? [] }
            if filter.termConstraint != .anything { informative += 1 }
            for e in events {
                let admitted = filter.termConstraint.admits { field in RandomEvents.term(field, e) ?? "" }
                if filter.matches(e) {
                    matchedTotal += 1
                    #expect(admitted, "\(source) excludes a match: \(filter.termConstraint)")
                    #expect(resolved.admits { field in RandomEvents.term(field, e) ?? "" },
                            "\(source) resolved excludes a match: \(resolved)")
                    #expect(filter.timeNsBounds.contains(e.timeNs), "\(source): \(filter.timeNsBounds)")
                    #expect(filter.timestampBounds.contains(e.timestamp), "\(source): \(filter.timestampBounds)")
                } else if !admitted {
                    prunedTotal += 1
                }
            }
        }
        // The test means something only if expressions match, constrain and prune.
        #expect(matchedTotal > 10_000, "\(matchedTotal)")
        #expect(informative > 40, "\(informative)")
        #expect(prunedTotal > 50_000, "\(prunedTotal)")
    }
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random events and expressions over small vocabularies, so that expressions often match.
enum RandomEvents {
    static let values: [EventField: [String]] = [
        .hostName: ["node-a", "node-b", "Node-A", ""],
        .operation: ["Process", "File", "Network", "process"],
        .type: ["MatchedPolicy", "MatchedHostPolicy", "ContainerLog", "HostLog"],
        .policyName: ["ksp-a", "ksp-b", "DefaultPosture", ""],
        .containerID: ["abc123", "abd456", "ffe789", ""],
        .podName: ["web-1", "web-2", "db-0", ""],
        .namespaceName: ["prod", "dev", "caf\u{E9}", "cafe\u{301}", ""],
        .processName: ["/usr/bin/ps", "/usr/bin/pgrep", "/bin/sh", ""],
        .resource: ["/etc/shadow", "/etc/passwd", "/usr/bin/ps aux", ""],
        .severity: ["1", "5", "10", ""],
        .labels: ["app=web", "app=web,tier=a", "app=db", ""],
    ]
    static let pids: [Int32] = [0, 1, 7, 12, 1234]

    static func event<R: RandomNumberGenerator>(_ rng: inout R) -> Event {
        var e = Event()
        for (field, options) in values.sorted(by: { $0.key.ordinal < $1.key.ordinal }) {
            e.setString(field, options.randomElement(using: &rng)!)
        }
        e.hostPID = pids.randomElement(using: &rng)!
        e.timeNs = Int64.random(in: 0..<20, using: &rng) * 500_000_000 + Int64.random(in: 0...2, using: &rng)
        e.timestamp = e.timeNs / 1_000_000_000 + Int64.random(in: 0...1, using: &rng)
        if Bool.random(using: &rng) { e.extras = [ExtraField(key: "cluster_id", json: "\"c\(Int.random(in: 1...3, using: &rng))\"")] }
        return e
    }

    /// The term the store would post for `field` of `e`: non-empty values; `HostPID` in decimal.
    static func term(_ field: EventField, _ e: Event) -> String? {
        let value = e.string(field)
        return value.isEmpty ? nil : value
    }

    static func expression<R: RandomNumberGenerator>(_ rng: inout R, depth: Int) -> String {
        switch depth == 0 ? 3 : Int.random(in: 0..<6, using: &rng) {
        case 0: return "(\(expression(&rng, depth: depth - 1)) and \(expression(&rng, depth: depth - 1)))"
        case 1: return "(\(expression(&rng, depth: depth - 1)) or \(expression(&rng, depth: depth - 1)))"
        case 2: return "not \(expression(&rng, depth: depth - 1))"
        default: return condition(&rng)
        }
    }

    private static func condition<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch Int.random(in: 0..<11, using: &rng) {
        case 0:
            let op = ["=", "!=", "<", ">=", "in"].randomElement(using: &rng)!
            if op == "in" { return "HostPID in (\(pids.randomElement(using: &rng)!), \(pids.randomElement(using: &rng)!))" }
            return "HostPID \(op) \(pids.randomElement(using: &rng)!)"
        case 1, 10:
            let op = ["<", "<=", ">", ">=", "=", "!="].randomElement(using: &rng)!
            let field = Bool.random(using: &rng) ? "TimeNs" : "Timestamp"
            // Literals at and next to the events' times, so that off-by-one bounds would show.
            let value = field == "TimeNs"
                ? String(Int64.random(in: 0..<20, using: &rng) * 500_000_000 + Int64.random(in: -1...3, using: &rng))
                : Bool.random(using: &rng) ? String(Int.random(in: 0..<11, using: &rng))
                : "\(Int.random(in: 0..<11, using: &rng)).\([0, 0, 5, 999999999].randomElement(using: &rng)!)"
            return "\(field) \(op) \(value)"
        case 2:
            let op = ["=", "!=", "exists"].randomElement(using: &rng)!
            return op == "exists" ? "cluster_id exists" : "cluster_id \(op) c\(Int.random(in: 1...3, using: &rng))"
        default:
            let (field, options) = values.randomElement(using: &rng)!
            let value = FilterNode.quoted(options.randomElement(using: &rng)!)
            let other = FilterNode.quoted(options.randomElement(using: &rng)!)
            let name = Bool.random(using: &rng) ? field.rawValue : field.rawValue.lowercased()
            switch Int.random(in: 0..<11, using: &rng) {
            case 0: return "\(name) = \(value)"
            case 1: return "\(name) != \(value)"
            case 2: return "\(name) in (\(value), \(other))"
            case 3: return "\(name) ~ \(FilterNode.quoted(["^web", "(?i)node", "ps$", "^/usr", "b", ".*", "^$"].randomElement(using: &rng)!))"
            case 4: return "\(name) glob \(FilterNode.quoted(["*b*", "web-?", "/usr/*", "[a-d]*", "*"].randomElement(using: &rng)!))"
            case 5: return "\(name) contains \(FilterNode.quoted(["e", "b-", "", "Policy"].randomElement(using: &rng)!))"
            case 6: return "\(name) startswith \(value)"
            case 7: return "\(name) has \(value)"
            case 8: return "\(name) exists"
            case 9: return "\(name) < \(value)"
            default: return "\(name) >= \(value)"
            }
        }
    }
}
