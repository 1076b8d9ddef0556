import Testing
@testable import EventModel
@Test func fieldLookupIgnoresCase() { #expect(EventField(key: "hostPid") == .hostPID) }
