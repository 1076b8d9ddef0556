import Testing
@testable import EventModel
@Test func fieldLookupIgnoresCase() { #expect(EventField(key: "hostPid") == .hostPID) }
@Test func ordinalIsThePositionInAllCases() {
    #expect(EventField.allCases.map(\.ordinal) == Array(EventField.allCases.indices))
}
