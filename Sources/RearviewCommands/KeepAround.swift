import EventModel
import EventStore
import Investigation

/// `record --keep-around EXPR` and the alerts of `record --policy`: the events whose surroundings
/// retention keeps, and the window kept around each.
struct KeepAround: Sendable {
    /// The `--keep-around` expressions, with their text for the pin's reason.
    var filters: [(text: String, filter: EventFilter)]
    /// The `Enforcer` of the alerts `--policy` makes; nil without policies.
    var alertEnforcer: String?
    /// Kept before and after each event (ns).
    var windowNs: Int64

    var isEmpty: Bool { filters.isEmpty && alertEnforcer == nil }

    init(expressions: [String], alertEnforcer: String?, windowSeconds: Double) throws {
        filters = []
        for text in expressions {
            do {
                filters.append((text, EventFilter(try FilterExpression(parsing: text))))
            } catch {
                throw CommandFailure("--keep-around: \(error.description)", exitCode: 2)
            }
        }
        self.alertEnforcer = alertEnforcer
        windowNs = Int64(windowSeconds * 1e9)
    }

    /// The windows `events` (as stored) pin, one per event that asks for it.
    func pins(for events: [Event]) -> [PinnedWindow] {
        guard !isEmpty else { return [] }
        var pins: [PinnedWindow] = []
        for event in events {
            let reason: String
            if let alertEnforcer, event.enforcer == alertEnforcer {
                reason = "alert '\(event.policyName)' (\(event.action)): \(Self.what(event))"
            } else if let match = filters.first(where: { $0.filter.matches(event) }) {
                reason = "keep-around '\(match.text)': \(Self.what(event))"
            } else {
                continue
            }
            pins.append(PinnedWindow(fromNs: event.timeNs - windowNs, toNs: event.timeNs + windowNs, reason: reason))
        }
        return pins
    }

    private static func what(_ e: Event) -> String {
        "\(e.processName.isEmpty ? "?" : e.processName)(\(e.hostPID)) \(e.operation) \(e.resource) on \(e.hostName)"
    }
}
