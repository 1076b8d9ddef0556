import Forwarding
import Testing

@Suite struct ForwardDestinationTests {
    @Test func syslogSchemesTakeTheirDefaultPorts() throws {
        #expect(try ForwardDestination(parsing: "syslog+tcp://siem.example").port == 514)
        #expect(try ForwardDestination(parsing: "syslog+udp://10.0.0.7").port == 514)
        #expect(try ForwardDestination(parsing: "syslog+tls://siem.example").port == 6514)
        let https = try ForwardDestination(parsing: "https://splunk.example:8088/services/collector/event")
        #expect(https.transport == .https && https.port == 8088 && https.path == "/services/collector/event")
        #expect(try ForwardDestination(parsing: "https://es.example").path == "/")
    }

    @Test func ipv6HostsAreBracketed() throws {
        let destination = try ForwardDestination(parsing: "syslog+tcp://[::1]:1514")
        #expect(destination.host == "::1" && destination.port == 1514)
        #expect(destination.description == "syslog+tcp://[::1]:1514")
    }

    @Test(arguments: ["tcp://host:514", "syslog+tcp://host:0", "syslog+tcp://host:x", "syslog+tcp://:514",
                      "syslog+udp://host:514/path", "host:514", "syslog+tcp://[::1:514"])
    func badURLsAreRefusedWithAReason(url: String) {
        #expect(throws: ForwardDestinationError.self) { try ForwardDestination(parsing: url) }
    }
}
