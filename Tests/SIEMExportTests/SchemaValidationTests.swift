import EventModel
import Foundation
import SIEMExport
import Testing

/// ECS and OCSF output checked against the published schemas (vendored under Schemas/, see SOURCES.md).
@Suite struct SchemaValidationTests {
    private static let loadedECS = Result { try ECSSchema(file: Paths.schemas + "/ecs-8.17.0/ecs_flat.yml") }
    private static let loadedOCSF = Result { try OCSFSchema(root: Paths.schemas + "/ocsf-1.3.0") }
    static var ecs: ECSSchema { get throws { try loadedECS.get() } }
    static var ocsf: OCSFSchema { get throws { try loadedOCSF.get() } }

    static var allEvents: [Event] { get throws { TestEvents.handMade + [bare] + (try TestEvents.corpus) } }

    /// An event with hardly anything set: no host, no process names, no container.
    static var bare: Event {
        var event = Event()
        event.operation = "Process"
        event.type = "HostLog"
        event.data = "syscall=SYS_EXECVE"
        return event
    }

    @Test func corpusIsTheRealOne() throws {
        // The demo incident (2000) and the real KubeArmor and AccuKnox samples.
        #expect(try TestEvents.corpus.count >= 2050)
        #expect(try TestEvents.corpus.contains { $0.isAlert })
    }

    @Test func everyECSDocumentIsValid() throws {
        var failures: [String] = []
        let events = try Self.allEvents, schema = try Self.ecs
        for (event, bytes) in zip(events, Encode.bytes(events, .ecs)) {
            let problems = schema.problems(try JSONValue.parse(bytes))
            if !problems.isEmpty { failures.append("seq \(event.seq) \(event.operation): \(problems)") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
    }

    @Test func everyOCSFEventIsValid() throws {
        var failures: [String] = []
        var classes: Set<Int64> = []
        let events = try Self.allEvents, schema = try Self.ocsf
        for (event, bytes) in zip(events, Encode.bytes(events, .ocsf)) {
            let value = try JSONValue.parse(bytes)
            if case .integer(let uid)? = value["class_uid"] { classes.insert(uid) }
            let problems = schema.problems(value)
            if !problems.isEmpty { failures.append("seq \(event.seq) \(event.operation): \(problems)") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        #expect(classes == [1007, 1001, 4001, 2004])
    }

    @Test func ecsValidatorRejectsWhatIsWrong() throws {
        let document = try JSONValue.parse(Array(#"""
            {"@timestamp":"yesterday","ecs":{"version":"8.17.0"},"event":{"kind":"nonsense","category":["file"],"type":["start"],
             "severity":"high"},"process":{"pid":"12","madeup":1},"destination":{"ip":"999.1.1.1"},"tags":"one",
             "kubearmor":{"anything":{"goes":1}}}
            """#.utf8))
        let problems = try Self.ecs.problems(document)
        for expected in ["@timestamp: ", "event.kind: nonsense", "event.severity: ", "process.pid: ", "process.madeup: not an ECS field",
                         "destination.ip: ", "tags: ECS expects an array", "event.type start is not expected for event.category file"] {
            #expect(problems.contains { $0.hasPrefix(expected) }, "\(expected) in \(problems)")
        }
        #expect(!problems.contains { $0.contains("kubearmor") })
        #expect(problems.count == 8)
    }

    @Test func ocsfValidatorRejectsWhatIsWrong() throws {
        var event = TestEvents.connect
        event.hostName = "node"
        let valid = try JSONValue.parse(Encode.bytes([event], .ocsf)[0])
        #expect(try Self.ocsf.problems(valid).isEmpty)
        guard case .object(var members) = valid else { Issue.record("not an object"); return }
        members.removeAll { $0.key == "time" || $0.key == "dst_endpoint" }
        members[members.firstIndex { $0.key == "activity_id" }!].value = .integer(42)
        members[members.firstIndex { $0.key == "severity_id" }!].value = .string("1")
        members.append((key: "made_up", value: .integer(1)))
        members.append((key: "container", value: .object([(key: "name", value: .string("x"))])))
        let problems = try Self.ocsf.problems(.object(members))
        for expected in ["network_activity.time: required attribute missing", "network_activity.dst_endpoint: required attribute missing",
                         "network_activity.activity_id: 42 is not one of its enum values", "type_uid is not",
                         "network_activity.severity_id: ", "network_activity.made_up: not an attribute",
                         "network_activity.container: not an attribute"] {
            #expect(problems.contains { $0.hasPrefix(expected) }, "\(expected) in \(problems)")
        }
    }

    /// Every field an encoder writes is named in its mapping table (the table is what `man` shows).
    @Test func mappingTablesNameEveryWrittenField() throws {
        for format in [ExportFormat.ecs, .ocsf] {
            let targets = format.fieldMappings.map(\.target).joined(separator: " ")
            var seen: Set<String> = []
            for bytes in Encode.bytes(try Self.allEvents, format) {
                for path in leafPaths(try JSONSerialization.jsonObject(with: Data(bytes))) { seen.insert(path) }
            }
            var unnamed: [String] = []
            for path in seen.sorted() {
                let parts = path.split(separator: ".")
                if ["kubearmor", "unmapped"].contains(parts[0]) { continue }
                // A row names a field by its full path or by its last parts after an ellipsis (….pid).
                let named = (0..<parts.count).contains { start in
                    let tail = parts[start...].joined(separator: ".")
                    return targets.contains(start == 0 ? tail : "." + tail)
                }
                if !named { unnamed.append(path) }
            }
            #expect(unnamed.isEmpty, "\(format.rawValue): not in the mapping table")
        }
    }
}
