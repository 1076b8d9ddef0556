import EventModel
import Testing
@testable import Investigation

@Suite struct FilterExpressionTests {
    @Test func issueExampleMatchesPsAndPgrepAtSeverityFiveOrMore() throws {
        let expression = "Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep) and Severity >= 5"
        #expect(try matches(expression))
        #expect(try matches(expression, sampleEvent { $0.processName = "/usr/bin/pgrep" }))
        #expect(try !matches(expression, sampleEvent { $0.processName = "/usr/bin/top" }))
        #expect(try !matches(expression, sampleEvent { $0.severity = "4" }))
        #expect(try !matches(expression, sampleEvent { $0.operation = "File" }))
    }

    @Test func equalityAndInequalityCompareExactBytes() throws {
        #expect(try matches("HostName = worker-1"))
        #expect(try !matches("HostName = Worker-1"))
        #expect(try matches("HostName == worker-1"))
        #expect(try matches("HostName != worker-2"))
        #expect(try !matches("HostName != worker-1"))
        #expect(try matches("Enforcer = 'eBPF Monitor'"))
        // "é" precomposed vs "e" + combining accent: equal as Swift strings, different bytes.
        #expect(try !matches("Message = 'caf\u{E9}'", sampleEvent { $0.message = "cafe\u{301}" }))
    }

    @Test func orderingsAreNumericForNumericFieldsAndBytewiseForStrings() throws {
        // As strings "1234" < "2" would hold; as numbers it does not.
        #expect(try !matches("HostPID < 2"))
        #expect(try matches("HostPID > 999"))
        #expect(try matches("HostPID >= 1234"))
        #expect(try matches("HostPID <= 1234"))
        #expect(try !matches("HostPID < 1234"))
        #expect(try matches("PID = 077"))
        #expect(try matches("UID = 0"))
        #expect(try matches("HostName < worker-2"))
        #expect(try matches("HostName > worker-0"))
        #expect(try !matches("HostName > worker-10"))
    }

    @Test func severityComparesAsANumberWhenTheLiteralIsAnInteger() throws {
        let ten = sampleEvent { $0.severity = "10" }
        #expect(try matches("Severity >= 5", ten))
        #expect(try matches("Severity > 9", ten))
        #expect(try matches("Severity = 10", ten))
        #expect(try !matches("Severity < 5", ten))
        // A non-numeric severity satisfies no numeric comparison but `!=`.
        let none = sampleEvent { $0.severity = "" }
        #expect(try !matches("Severity >= 0", none))
        #expect(try !matches("Severity < 100", none))
        #expect(try matches("Severity != 5", none))
        // A non-numeric literal compares as text.
        #expect(try matches("Severity = high", sampleEvent { $0.severity = "high" }))
    }

    @Test func virtualFieldsTimeNsAndSeq() throws {
        #expect(try matches("Seq = 42"))
        #expect(try matches("TimeNs = 1717149600043498000"))
        #expect(try matches("TimeNs >= 2024-05-31T10:00:00Z and TimeNs < 2024-05-31T10:00:01Z"))
        #expect(try !matches("TimeNs > 2024-05-31T10:00:00.1Z"))
        #expect(try matches("timens ~ '^1717'"))
    }

    @Test func timestampTakesSecondsFractionsAndRFC3339AtNanosecondPrecision() throws {
        #expect(try matches("Timestamp = 1717149600"))
        #expect(try matches("Timestamp = 2024-05-31T10:00:00Z"))
        #expect(try matches("Timestamp < 1717149600.5"))
        #expect(try !matches("Timestamp = 1717149600.5"))
        #expect(try matches("Timestamp > 1717149599.999999999"))
        #expect(try !matches("Timestamp >= 1717149600.000000001"))
        #expect(try matches("Timestamp in (1, 1717149600)"))
    }

    @Test func regexIsUnanchoredPCRE2() throws {
        #expect(try matches("Resource ~ 'ps'"))
        #expect(try matches("Resource ~ '^/usr/bin/(ps|pgrep)\\b'"))
        #expect(try matches(#"Resource ~ '\s+aux$'"#))
        #expect(try !matches("Resource ~ '^ps'"))
        #expect(try !matches("Operation ~ process"))
        #expect(try matches("Operation ~ '(?i)process'"))
        #expect(try matches("HostPID ~ '^12'"))
    }

    @Test func badRegexIsASyntaxErrorAtThePatternPosition() throws {
        let error = try #require(syntaxError("Resource ~ 'ab(c'"))
        #expect(error.reason.contains("bad regular expression"))
        #expect(error.reason.contains("missing closing parenthesis"))
        #expect(error.offset == 16)
        #expect(error.description.contains("Resource ~ 'ab(c'\n"))
    }

    @Test func globMatchesWholeValuesAndStarCrossesSlashes() throws {
        #expect(try matches("ProcessName glob '/usr/*'"))
        #expect(try matches("ProcessName glob /usr/bin/p?"))
        #expect(try matches("ProcessName glob '/usr/bin/[a-p]s'"))
        #expect(try !matches("ProcessName glob '/usr/bin/[!p]s'"))
        #expect(try !matches("ProcessName glob '/usr'"))
        #expect(try matches("ProcessName glob '*'"))
        #expect(try matches("Message glob 'caf?'", sampleEvent { $0.message = "caf\u{E9}" }))
        #expect(try matches(#"Message glob 'a\*b'"#, sampleEvent { $0.message = "a*b" }))
        #expect(try !matches(#"Message glob 'a\*b'"#, sampleEvent { $0.message = "axb" }))
        #expect(try matches("Message glob '*a*b*c*'", sampleEvent { $0.message = "xxaxxbxxcxx" }))
        #expect(try !matches("Message glob '*a*b*c*'", sampleEvent { $0.message = "xxaxxcxxbxx" }))
        let error = try #require(syntaxError("ProcessName glob '/usr/[ab'"))
        #expect(error.reason.contains("no closing ']'"))
        #expect(error.offset == 23)
    }

    @Test func containsStartsWithHasAndExists() throws {
        #expect(try matches("Resource contains 'bin/ps'"))
        #expect(try !matches("Resource contains 'BIN'"))
        #expect(try matches("Resource startswith /usr/"))
        #expect(try !matches("Resource startswith /bin/"))
        #expect(try matches("Labels has app=wordpress"))
        #expect(try !matches("Labels has app=word"))
        #expect(try matches("Tags has MITRE_T1057"))
        #expect(try matches("Message exists"))
        #expect(try !matches("Cwd exists"))
        #expect(try matches("HostPID exists"))
        #expect(try !matches("UID exists"))
        #expect(try matches("cluster_id exists"))
        #expect(try !matches("workload exists"))
    }

    @Test func inListsOnStringsNumbersAndExtras() throws {
        #expect(try matches("HostPID in (1, 1234, 99)"))
        #expect(try !matches("HostPID in (1, 99)"))
        #expect(try matches("Operation in (File, Process)"))
        #expect(try matches("Operation in (\"File\",'Process')"))
        #expect(try !matches("Operation in (File, Network)"))
        #expect(try matches("cluster_id in (1, 27273)"))
        #expect(try matches("Severity in (5, 6)"))
    }

    @Test func precedenceIsNotThenAndThenOr() throws {
        // or binds loosest: true or (false and false)
        #expect(try matches("Operation = Process or Operation = File and HostPID = 1"))
        // parentheses change it: (true or false) and false
        #expect(try !matches("(Operation = Process or Operation = File) and HostPID = 1"))
        // not binds tighter than and: (not false) and true
        #expect(try matches("not Operation = File and HostPID = 1234"))
        #expect(try !matches("not (Operation = Process and HostPID = 1234)"))
        #expect(try matches("not not Operation = Process"))
        #expect(try matches("Operation = File or not HostPID = 1 and Seq = 42"))
        #expect(try matches("OPERATION = Process AND hostpid = 1234 Or Seq = 0"))
    }

    @Test func fieldNamesIgnoreCaseButValuesDoNot() throws {
        #expect(try matches("processname = /usr/bin/ps"))
        #expect(try matches("PROCESSNAME = /usr/bin/ps"))
        #expect(try matches("hostPid = 1234"))
        #expect(try !matches("operation = process"))
    }

    @Test func extrasCompareUnescapedStringsAndJSONNumbers() throws {
        #expect(try matches("cluster_id = 27273"))
        #expect(try matches("cluster_id = '27273'"))
        #expect(try !matches("Cluster_ID = 27273"))  // extras keys are exact
        #expect(try matches("note = 'a \"quoted\" \u{E9} word'"))
        #expect(try matches("note contains 'quoted'"))
        #expect(try matches("retries = 3"))
        #expect(try matches("retries > 2.5"))
        #expect(try matches("retries < 10"))  // numerically, though "3" > "10" as text
        #expect(try matches("Owner contains '\"Ref\":\"Deployment\"'"))
        #expect(try !matches("missing = x"))
        #expect(try matches("missing != x"))
        #expect(try matches("'cluster_id' = 27273"))
    }

    @Test func quotingAndEscapes() throws {
        let e = sampleEvent { $0.message = "it's a \"test\"\\ with\ttab" }
        #expect(try matches(#"Message = 'it\'s a "test"\\ with\ttab'"#, e))
        #expect(try matches(#"Message = "it's a \"test\"\\ with\ttab""#, e))
        // an unknown escape keeps its backslash, so regexes need no doubling
        #expect(try matches(#"Resource ~ '\bps\b'"#))
        #expect(try matches("Resource = '/usr/bin/ps aux'"))
        #expect(try matches("Message = 'and'", sampleEvent { $0.message = "and" }))
        #expect(try matches("Data = syscall=SYS_EXECVE"))
    }

    @Test func descriptionReparsesToTheSameFilter() throws {
        let sources = [
            "Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep) and Severity >= 5",
            "not (HostName = a or HostName = b) and Message = 'it\\'s'",
            "Timestamp > 1717149600.25 or TimeNs <= 5",
            "'odd key' exists or Resource ~ '\\d+' or Labels has 'a=b' or ProcessName glob '/usr/*'",
        ]
        for source in sources {
            let once = try FilterExpression(parsing: source)
            let twice = try FilterExpression(parsing: once.description)
            #expect(once.description == twice.description)
        }
        #expect(try FilterExpression(parsing: "a = 1 or b = 2 and not c = 3").description == "a = '1' or b = '2' and not c = '3'")
        #expect(try FilterExpression(parsing: "(a = 1 or b = 2) and c = 3").description == "(a = '1' or b = '2') and c = '3'")
        #expect(try FilterExpression(parsing: "Timestamp > 1717149600.25").description == "Timestamp > 1717149600.25")
    }

    @Test(arguments: [
        ("", 0, "empty"),
        ("Operation =", 11, "expected a value after '='"),
        ("Operation = and X = 1", 12, "quote 'and'"),
        ("Operation Process", 10, "expected an operator"),
        ("= Process", 0, "expected a field name"),
        ("Operation = Process and", 23, "expected a condition"),
        ("(Operation = Process", 0, "'(' is never closed"),
        ("Operation = Process)", 19, "')' has no matching '('"),
        ("Operation = Process HostPID = 1", 20, "expected 'and', 'or'"),
        ("Message = 'open", 10, "quote is never closed"),
        ("HostPID = abc", 10, "HostPID is a number"),
        ("HostPID in (1, x)", 15, "HostPID is a number"),
        ("HostPID in 1", 11, "expected '('"),
        ("HostPID in (1 2)", 14, "expected ',' or ')'"),
        ("HostPID in (1,", 14, "expected a value after ','"),
        ("Timestamp > yesterday", 12, "Timestamp is unix seconds"),
        ("TimeNs > 1.5", 9, "TimeNs is a number"),
        ("and = 1", 0, "found the keyword 'and'"),
    ])
    func syntaxErrorsPointAtTheOffendingPosition(expression: String, offset: Int, reason: String) throws {
        let error = try #require(syntaxError(expression))
        #expect(error.offset == offset)
        #expect(error.reason.contains(reason), "\(error.reason)")
        #expect(error.summary == "filter expression, column \(offset + 1): \(error.reason)")
    }

    @Test func errorDescriptionShowsTheExpressionWithACaret() throws {
        let error = try #require(syntaxError("Operation = Process and ProcessName in /usr/bin/ps"))
        #expect(error.description == """
            filter expression, column 40: expected '(' to open the list after 'in'
              Operation = Process and ProcessName in /usr/bin/ps
                                                     ^
            """)
        // The caret counts characters, not bytes, and shows only the offending line.
        let multiline = try #require(syntaxError("Message = 'caf\u{E9}'\nand Seq = x"))
        #expect(multiline.description.hasSuffix("\n  and Seq = x\n            ^"))
        #expect(multiline.column == 11)
    }

    @Test func andCombinesExpressionsAndTimeRangeIsHalfOpen() throws {
        let combined = FilterExpression.and([
            try FilterExpression(parsing: "Operation = Process"),
            .timeRange(since: 100, until: 200),
            .everything,
        ])
        #expect(combined.description == "Operation = 'Process' and TimeNs >= 100 and TimeNs < 200")
        let filter = EventFilter(combined)
        #expect(filter.matches(sampleEvent { $0.timeNs = 100 }))
        #expect(filter.matches(sampleEvent { $0.timeNs = 199 }))
        #expect(!filter.matches(sampleEvent { $0.timeNs = 200 }))
        #expect(!filter.matches(sampleEvent { $0.timeNs = 99 }))
        #expect(filter.timeNsBounds == TimeBounds(lower: 100, upper: 199))
        #expect(EventFilter(.everything).matches(Event()))
    }
}

@Suite struct EventFilterScanTests {
    @Test func matchesAcceptsWhatTheExpressionSays() throws {
        let events = (0..<50).map { i in sampleEvent { $0.hostPID = Int32(i); $0.resource = i % 3 == 0 ? "/etc/shadow" : "/tmp/x" } }
        let filter = EventFilter(try FilterExpression(parsing: "Resource ~ '^/etc/(shadow|passwd)' and HostPID < 40"))
        #expect(events.indices.filter { filter.matches(events[$0]) } == Array(stride(from: 0, to: 40, by: 3)))
    }

    @Test func oneFilterServesSeveralThreadsAtOnce() async throws {
        let events = (0..<2000).map { i in sampleEvent { $0.resource = i % 4 == 0 ? "/etc/passwd" : "/usr/bin/ps" } }
        let filter = EventFilter(try FilterExpression(parsing: "Resource ~ '^/etc/(shadow|passwd)$' or ProcessName glob '*/top'"))
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    events.filter { filter.matches($0) }.count
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 500, count: 8))
    }
}
