import EventModel
import Testing
@testable import Investigation

@Suite struct ShortcutFiltersTests {
    private func passes(_ shortcuts: ShortcutFilters, _ event: Event = sampleEvent()) throws -> Bool {
        EventFilter(try shortcuts.expression()).matches(event)
    }

    @Test func noFlagsIsEverything() throws {
        #expect(try ShortcutFilters().expression().description == "everything")
        #expect(try passes(ShortcutFilters(host: "", pod: "", labels: [])))
    }

    @Test func caselessUnanchoredRegexForNamespacePodContainerOperationTypeHostPolicyAction() throws {
        #expect(try passes(ShortcutFilters(namespace: "WORDPRESS")))
        #expect(try passes(ShortcutFilters(namespace: "press-my")))
        #expect(try !passes(ShortcutFilters(namespace: "^mysql")))
        #expect(try passes(ShortcutFilters(pod: "WordPress-7c")))
        #expect(try passes(ShortcutFilters(container: "WORDPRESS")))
        #expect(try passes(ShortcutFilters(operation: "process")))
        #expect(try passes(ShortcutFilters(operation: "proc|file")))
        #expect(try !passes(ShortcutFilters(operation: "network")))
        #expect(try passes(ShortcutFilters(type: "matchedpolicy")))
        #expect(try passes(ShortcutFilters(host: "WORKER")))
        #expect(try passes(ShortcutFilters(policy: "KSP-")))
        #expect(try passes(ShortcutFilters(action: "audit")))
        #expect(try !passes(ShortcutFilters(action: "block")))
    }

    @Test func caseSensitiveRegexForSourceResourceAndProcess() throws {
        #expect(try passes(ShortcutFilters(source: "bash$")))
        #expect(try !passes(ShortcutFilters(source: "BASH")))
        #expect(try passes(ShortcutFilters(resource: "ps a")))
        #expect(try !passes(ShortcutFilters(resource: "PS")))
        #expect(try passes(ShortcutFilters(process: "/ps$")))
        #expect(try !passes(ShortcutFilters(process: "/PS$")))
    }

    @Test func anEmptyFieldNeverMatchesARegexFlagLikeKarmor() throws {
        let hostLog = sampleEvent { $0.namespaceName = ""; $0.podName = ""; $0.containerName = ""; $0.containerID = "" }
        #expect(try !passes(ShortcutFilters(namespace: ".*"), hostLog))
        #expect(try !passes(ShortcutFilters(pod: "^"), hostLog))
        #expect(try !passes(ShortcutFilters(container: ".*"), hostLog))
        #expect(try passes(ShortcutFilters(namespace: ".*")))
    }

    @Test func containerMatchesNameOrIDPrefix() throws {
        #expect(try passes(ShortcutFilters(container: "6E3D6E")))
        #expect(try passes(ShortcutFilters(container: "6e3d")))
        #expect(try !passes(ShortcutFilters(container: "dfa2c1")))  // inside the ID, not a prefix
        #expect(try passes(ShortcutFilters(container: "^word")))
    }

    @Test func typeAlertLogAndKarmorLogFilterWords() throws {
        let alert = sampleEvent()
        let hostAlert = sampleEvent { $0.type = "MatchedHostPolicy" }
        let containerLog = sampleEvent { $0.type = "ContainerLog" }
        let hostLog = sampleEvent { $0.type = "HostLog" }
        let systemEvent = sampleEvent { $0.type = "SystemEvent" }
        for word in ["alert", "policy", "ALERT"] {
            let s = ShortcutFilters(type: word)
            #expect(try passes(s, alert) && passes(s, hostAlert))
            #expect(try !passes(s, containerLog) && !passes(s, hostLog) && !passes(s, systemEvent))
        }
        for word in ["log", "system"] {
            let s = ShortcutFilters(type: word)
            #expect(try passes(s, containerLog) && passes(s, hostLog))
            #expect(try !passes(s, alert) && !passes(s, systemEvent))
        }
        #expect(try passes(ShortcutFilters(type: "all"), systemEvent))
        // Anything else is karmor's --logType: a caseless regex on Type.
        #expect(try passes(ShortcutFilters(type: "hostlog"), hostLog))
        #expect(try !passes(ShortcutFilters(type: "hostlog"), containerLog))
    }

    @Test func labelsMatchOneItemExactly() throws {
        #expect(try passes(ShortcutFilters(labels: ["app=wordpress"])))
        #expect(try passes(ShortcutFilters(labels: ["tier=frontend"])))
        #expect(try !passes(ShortcutFilters(labels: ["app=word"])))
        // several selectors in one flag: any one suffices (karmor's -l a,b)
        #expect(try passes(ShortcutFilters(labels: ["app=nginx,tier=frontend"])))
        #expect(try !passes(ShortcutFilters(labels: ["app=nginx"])))
        // a repeated flag: each must hold, as the help says
        #expect(try !passes(ShortcutFilters(labels: ["app=nginx", "tier=frontend"])))
        #expect(try passes(ShortcutFilters(labels: ["app=wordpress", "tier=frontend"])))
        #expect(try passes(ShortcutFilters(labels: ["app=nginx,app=wordpress", "tier=frontend"])))
        #expect(try !passes(ShortcutFilters(labels: ["app=wordpress", "tier=backend,tier=db"])))
        #expect(try !passes(ShortcutFilters(labels: ["app=wordpress"]), sampleEvent { $0.labels = "" }))
    }

    @Test func pidAndSeverityMin() throws {
        #expect(try passes(ShortcutFilters(pid: 1234)))
        #expect(try !passes(ShortcutFilters(pid: 123)))
        #expect(try passes(ShortcutFilters(severityMin: 5)))
        #expect(try !passes(ShortcutFilters(severityMin: 6)))
        #expect(try !passes(ShortcutFilters(severityMin: 1), sampleEvent { $0.severity = "" }))
    }

    @Test func flagsAndTogetherAndWithTheExpression() throws {
        let shortcuts = ShortcutFilters(pod: "wordpress", operation: "Process", pid: 1234)
        #expect(try passes(shortcuts))
        #expect(try !passes(shortcuts, sampleEvent { $0.hostPID = 1 }))
        let filter = EventFilter(.and([try FilterExpression(parsing: "Severity >= 5"), try shortcuts.expression()]))
        #expect(filter.matches(sampleEvent()))
        #expect(!filter.matches(sampleEvent { $0.severity = "1" }))
        #expect(try shortcuts.expression().description
                == "PodName exists and PodName ~ '(?i)wordpress' and Operation exists and Operation ~ '(?i)Process' and HostPID = 1234")
    }

    @Test func badRegexNamesTheFlag() throws {
        #expect(throws: ShortcutFilterError.self) { try ShortcutFilters(resource: "a(").expression() }
        do {
            _ = try ShortcutFilters(pod: "[x").expression()
            Issue.record("expected an error")
        } catch {
            #expect(error.flag == "--pod")
            #expect(error.value == "[x")
            #expect(error.description.hasPrefix("--pod '[x': bad regular expression: missing terminating ]"))
        }
    }
}
