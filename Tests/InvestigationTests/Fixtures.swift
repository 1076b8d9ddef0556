import EventModel
@testable import Investigation

/// A process alert like the ones in KubeArmor's docs, with fields tests change as they need.
func sampleEvent(_ change: (inout Event) -> Void = { _ in }) -> Event {
    var e = Event()
    e.timeNs = 1_717_149_600_043_498_000
    e.timestamp = 1_717_149_600
    e.seq = 42
    e.clusterName = "default"
    e.hostName = "worker-1"
    e.namespaceName = "wordpress-mysql"
    e.podName = "wordpress-7c966b5d85-42jwr"
    e.labels = "app=wordpress,tier=frontend"
    e.containerID = "6e3d6e3dfa2c1b7a"
    e.containerName = "wordpress"
    e.containerImage = "docker.io/library/wordpress:4.8-apache"
    e.hostPID = 1234
    e.hostPPID = 1200
    e.pid = 77
    e.ppid = 70
    e.uid = 0
    e.processName = "/usr/bin/ps"
    e.parentProcessName = "/bin/bash"
    e.source = "/bin/bash"
    e.operation = "Process"
    e.resource = "/usr/bin/ps aux"
    e.data = "syscall=SYS_EXECVE"
    e.result = "Passed"
    e.type = "MatchedPolicy"
    e.policyName = "ksp-discovery"
    e.severity = "5"
    e.tags = "MITRE,MITRE_T1057"
    e.message = "process discovery"
    e.action = "Audit"
    e.enforcer = "eBPF Monitor"
    e.extras = [
        ExtraField(key: "cluster_id", json: "\"27273\""),
        ExtraField(key: "Owner", json: #"{"Name":"wordpress","Ref":"Deployment"}"#),
        ExtraField(key: "retries", json: "3"),
        ExtraField(key: "note", json: #""a \"quoted\" \u00e9 word""#),
    ]
    change(&e)
    return e
}

/// Whether `expression` parses and matches `event`.
func matches(_ expression: String, _ event: Event = sampleEvent()) throws -> Bool {
    EventFilter(try FilterExpression(parsing: expression)).matches(event)
}

/// The syntax error `expression` gives, or nil when it parses.
func syntaxError(_ expression: String) -> FilterSyntaxError? {
    do {
        _ = try FilterExpression(parsing: expression)
        return nil
    } catch {
        return error
    }
}
