import Testing
@testable import Recorder

@Suite struct ContainerIDTests {
    static let id = "4d8f2c1a9b7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c"

    @Test(arguments: [
        "/docker/\(id)",
        "/system.slice/docker-\(id).scope",
        "/kubepods/besteffort/pod8e0a2e4c-1111-2222-3333-444455556666/\(id)",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8e0a2e4c_1111.slice/cri-containerd-\(id).scope",
        "/kubepods.slice/kubepods-pod1.slice/crio-\(id).scope",
        "/machine.slice/libpod-\(id).scope",
        "/machine.slice/libpod-\(id).scope/container",
        "/system.slice/containerd.service/kubepods-besteffort-pod1.slice:cri-containerd:\(id)",
    ])
    func recognisesRuntimes(path: String) {
        #expect(ContainerID.fromCgroupPath(path) == Self.id)
    }

    @Test(arguments: [
        "/",
        "/user.slice/user-0.slice/session-1.scope",
        "/machine.slice/libpod-conmon-\(id).scope",
        "/kubepods.slice/crio-conmon-\(id).scope",
        "/process_api/660804254b1d1c67ae48e54ff0bcdbfa",
    ])
    func hostProcessesHaveNone(path: String) {
        #expect(ContainerID.fromCgroupPath(path) == "")
    }

    @Test func readsProcCgroupFiles() {
        let hybrid = "9:name=systemd:/\n4:memory:/docker/\(Self.id)\n0::/\n"
        #expect(ContainerID.fromProcCgroupFile(hybrid) == Self.id)
        #expect(ContainerID.fromProcCgroupFile("0::/user.slice\n") == "")
    }
}
