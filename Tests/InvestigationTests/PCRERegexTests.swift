import Testing
@testable import Investigation

@Suite struct PCRERegexTests {
    @Test func matchesUnanchoredInUTF8Mode() throws {
        let regex = try PCRERegex("^/etc/(shadow|passwd)")
        #expect(regex.matches("/etc/shadow"))
        #expect(regex.matches("/etc/passwd-"))
        #expect(!regex.matches("/tmp/etc/shadow"))
        #expect(try PCRERegex("caf.$").matches("caf\u{E9}"))  // one character, two bytes
        #expect(try PCRERegex("").matches(""))
        #expect(try !PCRERegex("x").matches(""))
    }

    @Test func caselessOption() throws {
        #expect(try PCRERegex("process", options: .caseless).matches("Process"))
        #expect(try !PCRERegex("process").matches("Process"))
    }

    @Test func usesTheJITWhereAvailable() throws {
        // The Debian PCRE2 on x86-64 and arm64 has the JIT; matching works either way.
        #expect(try PCRERegex("a+b").isJITCompiled)
    }

    @Test func compileErrorsCarryOffsetAndMessage() {
        #expect(throws: RegexCompileError(pattern: "ab(c", offset: 4, message: "missing closing parenthesis")) {
            try PCRERegex("ab(c")
        }
        #expect(throws: RegexCompileError.self) { try PCRERegex("[z-a]") }
    }

    @Test func matchesConcurrentlyFromManyThreads() async throws {
        let regex = try PCRERegex("^/etc/(shadow|passwd)$")
        let counts = await withTaskGroup(of: Int.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var count = 0
                    for i in 0..<20_000 where regex.matches((i + t) % 2 == 0 ? "/etc/shadow" : "/etc/hosts") { count += 1 }
                    return count
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts.count == 8 && counts.allSatisfy { $0 == 10_000 })
    }
}
