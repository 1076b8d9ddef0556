import Foundation
import Testing
@testable import Recorder

/// The runtimes' state files as they lie on a host, written into a temporary root.
@Suite struct ContainerRuntimeStateTests {
    static let id = "4d8f2c1a9b7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c"
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("rearview-runtime-\(UUID().uuidString)").path

    func write(_ relativePath: String, _ json: String) throws {
        let path = root + "/" + relativePath
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func containerdAnnotationsNameThePod() throws {
        try write("run/containerd/io.containerd.runtime.v2.task/k8s.io/\(Self.id)/config.json", """
            {"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container",
             "io.kubernetes.cri.sandbox-name":"web-7d9f-abcde","io.kubernetes.cri.sandbox-namespace":"shop",
             "io.kubernetes.cri.container-name":"nginx","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.27"}}
            """)
        let identity = ContainerRuntimeState(root: root).identity(of: Self.id)
        #expect(identity == ContainerIdentity(podName: "web-7d9f-abcde", namespaceName: "shop", containerName: "nginx",
                                              image: "docker.io/library/nginx:1.27"))
    }

    @Test func crioAnnotationsNameThePod() throws {
        try write("var/lib/containers/storage/overlay-containers/\(Self.id)/userdata/config.json", """
            {"annotations":{"io.kubernetes.pod.name":"db-0","io.kubernetes.pod.namespace":"data",
             "io.kubernetes.container.name":"postgres","io.kubernetes.cri-o.ImageName":"postgres:16"}}
            """)
        let identity = ContainerRuntimeState(root: root).identity(of: Self.id)
        #expect(identity == ContainerIdentity(podName: "db-0", namespaceName: "data", containerName: "postgres", image: "postgres:16"))
    }

    @Test func dockerLabelsOrNameAndImage() throws {
        try write("var/lib/docker/containers/\(Self.id)/config.v2.json", """
            {"Name":"/k8s_app_api-1_prod_uid_0","Config":{"Image":"acme/api:2","Labels":{
             "io.kubernetes.pod.name":"api-1","io.kubernetes.pod.namespace":"prod","io.kubernetes.container.name":"app"}}}
            """)
        let plain = "ab" + String(Self.id.dropFirst(2))
        try write("var/lib/docker/containers/\(plain)/config.v2.json", #"{"Name":"/quirky_turing","Config":{"Image":"alpine:3.20","Labels":{}}}"#)
        let state = ContainerRuntimeState(root: root)
        #expect(state.identity(of: Self.id) == ContainerIdentity(podName: "api-1", namespaceName: "prod", containerName: "app", image: "acme/api:2"))
        #expect(state.identity(of: plain) == ContainerIdentity(containerName: "quirky_turing", image: "alpine:3.20"))
    }

    @Test func unknownDamagedOrOddIDsGiveNothing() throws {
        try write("run/containerd/io.containerd.runtime.v2.task/k8s.io/\(Self.id)/config.json", "{not json")
        let state = ContainerRuntimeState(root: root)
        #expect(state.identity(of: Self.id) == ContainerIdentity())
        #expect(state.identity(of: "ffff" + String(Self.id.dropFirst(4))) == ContainerIdentity())
        #expect(state.identity(of: "../../etc") == ContainerIdentity())
    }

    @Test func decoderFillsKubernetesFieldsForContainerEvents() throws {
        try write("run/containerd/io.containerd.runtime.v2.task/k8s.io/\(Self.id)/config.json", """
            {"annotations":{"io.kubernetes.cri.sandbox-name":"web-1","io.kubernetes.cri.sandbox-namespace":"shop",
             "io.kubernetes.cri.container-name":"nginx","io.kubernetes.cri.image-name":"nginx:1.27"}}
            """)
        let decoder = RecordDecoder(clusterName: "lab", hostName: "host1", deliveredKinds: Set(EventKind.allCases),
                                    bootToWallOffsetNs: 0, containers: ContainerRuntimeState(root: root))
        func process(_ pid: Int32, containerID: String) -> SnapshotProcess {
            SnapshotProcess(pid: pid, ppid: 1, namespacePID: pid, namespacePPID: 0, uid: 0, gid: 0, comm: "nginx",
                            startBootNs: 1_000, process: TrackedProcess(executable: "/usr/sbin/nginx", command: "nginx",
                                                                        tty: "", containerID: containerID),
                            arguments: ["nginx"], cwd: "/")
        }
        decoder.addSnapshot([process(4242, containerID: Self.id), process(4243, containerID: "")], deliver: true)
        let events = decoder.takeBatch()
        let inContainer = try #require(events.first { $0.hostPID == 4242 })
        #expect(inContainer.podName == "web-1" && inContainer.namespaceName == "shop")
        #expect(inContainer.containerName == "nginx" && inContainer.containerImage == "nginx:1.27")
        #expect(inContainer.type == "ContainerLog")
        let onHost = try #require(events.first { $0.hostPID == 4243 })
        #expect(onHost.podName.isEmpty && onHost.containerName.isEmpty && onHost.type == "HostLog")
    }
}
