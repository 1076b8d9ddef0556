import Testing
@testable import Recorder

@Suite struct RecorderConfigurationTests {
    @Test func defaultsAreValid() throws {
        try RecorderConfiguration().validate()
    }

    @Test func limitsAreEnforced() {
        func code(_ change: (inout RecorderConfiguration) -> Void) -> RecorderError.Code? {
            var configuration = RecorderConfiguration()
            change(&configuration)
            do throws(RecorderError) {
                try configuration.validate()
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code { $0.ringBufferBytes = 100_000 } == .invalidConfiguration)
        #expect(code { $0.ringBufferBytes = 1 << 12 } == .invalidConfiguration)
        #expect(code { $0.ignoredPathPrefixes = ["relative/"] } == .invalidConfiguration)
        #expect(code { $0.ignoredPathPrefixes = ["/" + String(repeating: "x", count: 64)] } == .invalidConfiguration)
        #expect(code { $0.ignoredPathPrefixes = (0..<9).map { "/p\($0)/" } } == .invalidConfiguration)
        #expect(code { $0.drainInterval = .zero } == .invalidConfiguration)
        #expect(code { $0.ignoredPathPrefixes = ["/proc/", "/sys/"] } == nil)
    }

    @Test func errorsSayWhatIsMissing() {
        let error = RecorderError(.attachFailed, "could not attach rv_enter_open to tracepoint/syscalls/sys_enter_open", errno: 13)
        #expect(error.description == "could not attach rv_enter_open to tracepoint/syscalls/sys_enter_open: Permission denied")
        #expect(error.isHostCapabilityMissing)
        #expect(!RecorderError(.invalidConfiguration, "x").isHostCapabilityMissing)
    }
}
