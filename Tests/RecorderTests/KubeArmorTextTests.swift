import Testing
import EventModel
@testable import Recorder

@Suite struct KubeArmorTextTests {
    @Test func openFlagsInKubeArmorOrder() {
        #expect(KubeArmorText.openFlags(0) == "O_RDONLY")
        #expect(KubeArmorText.openFlags(0o2000000) == "O_RDONLY|O_CLOEXEC")
        #expect(KubeArmorText.openFlags(0o1 | 0o100 | 0o1000) == "O_WRONLY|O_CREAT|O_TRUNC")
        #expect(KubeArmorText.openFlags(0o1 | 0o100 | 0o400 | 0o4000) == "O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK")
        #expect(KubeArmorText.openFlags(0o4000 | 0o200000 | 0o2000000) == "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC")
        #expect(KubeArmorText.openFlags(0o2 | 0o2000) == "O_RDWR|O_APPEND")
    }

    @Test func socketTypesAndFamilies() {
        #expect(KubeArmorText.socketType(1 | 0o4000 | 0o2000000) == "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC")
        #expect(KubeArmorText.socketType(2) == "SOCK_DGRAM")
        #expect(KubeArmorText.socketType(9) == "9")
        #expect(KubeArmorText.addressFamily(1) == "AF_UNIX")
        #expect(KubeArmorText.addressFamily(10) == "AF_INET6")
        #expect(KubeArmorText.addressFamily(17) == "AF_PACKET")
        #expect(KubeArmorText.addressFamily(99) == "99")
    }

    @Test func socketAddresses() {
        let v4 = KubeArmorText.socketAddress(family: 2, port: 53, address: [10, 0, 0, 10] + Array(repeating: 0, count: 12), unixPath: [])
        #expect(v4 == "sa_family=AF_INET sin_port=53 sin_addr=10.0.0.10")
        let loopback6 = KubeArmorText.socketAddress(family: 10, port: 8080, address: Array(repeating: 0, count: 15) + [1], unixPath: [])
        #expect(loopback6 == "sa_family=AF_INET6 sin_port=8080 sin_addr=::1")
        #expect(KubeArmorText.socketAddress(family: 1, port: 0, address: [], unixPath: Array("/run/x.sock".utf8) + [0, 0])
                == "sa_family=AF_UNIX sun_path=/run/x.sock")
        #expect(KubeArmorText.socketAddress(family: 1, port: 0, address: [], unixPath: [0] + Array("abstract".utf8))
                == "sa_family=AF_UNIX sun_path=@abstract")
        #expect(KubeArmorText.socketAddress(family: 16, port: 0, address: [], unixPath: []) == "sa_family=AF_NETLINK")
    }

    @Test func ipv6TextFollowsRFC5952() {
        func bytes(_ groups: [UInt16]) -> [UInt8] { groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } }
        #expect(KubeArmorText.ipv6(bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])) == "2001:db8::1")
        #expect(KubeArmorText.ipv6(bytes([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1])) == "2001:db8:0:1::1")
        #expect(KubeArmorText.ipv6(bytes([0x2001, 0xdb8, 1, 1, 1, 1, 1, 1])) == "2001:db8:1:1:1:1:1:1")
        #expect(KubeArmorText.ipv6(bytes([0, 0, 0, 0, 0, 0, 0, 0])) == "::")
        #expect(KubeArmorText.ipv6(bytes([0xfe80, 0, 0, 0, 0x1, 0, 0, 0])) == "fe80::1:0:0:0")
        #expect(KubeArmorText.ipv6(bytes([0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001])) == "127.0.0.1")
    }

    @Test func exitData() {
        #expect(KubeArmorText.exitData(waitStatus: 0) == "syscall=SYS_EXIT code=0")
        #expect(KubeArmorText.exitData(waitStatus: 7 << 8) == "syscall=SYS_EXIT code=7")
        #expect(KubeArmorText.exitData(waitStatus: 9) == "syscall=SYS_EXIT signal=SIGKILL")
        #expect(KubeArmorText.exitData(waitStatus: 11 | 0x80) == "syscall=SYS_EXIT signal=SIGSEGV core=dumped")
        #expect(KubeArmorText.signalName(36) == "SIGRTMIN+2")
    }

    @Test func otherFlagsAndModes() {
        #expect(KubeArmorText.unlinkFlags(0x200) == "AT_REMOVEDIR")
        #expect(KubeArmorText.unlinkFlags(0) == "")
        #expect(KubeArmorText.renameFlags(1) == "RENAME_NOREPLACE")
        #expect(KubeArmorText.renameFlags(0) == "0")
        #expect(KubeArmorText.mode(0o644) == "0644")
        #expect(KubeArmorText.mode(0o4755) == "4755")
    }

    @Test func errorTextIsKubeArmors() {
        #expect(SystemErrorText.result(errno: 13) == "Permission denied")
        #expect(SystemErrorText.result(errno: 2) == "No such file or directory")
        #expect(SystemErrorText.result(errno: 111) == "Connection refused")
        #expect(SystemErrorText.result(errno: 512) == "Unknown (-512)")
        #expect(RecordDecoder.result(0) == "Passed")
        #expect(RecordDecoder.result(-13) == "Permission denied")
    }

    @Test func pathsAndJSON() {
        #expect(PathText.normalized("/home/a/./b/../c") == "/home/a/c")
        #expect(PathText.normalized("/tmp//x") == "/tmp/x")
        #expect(PathText.normalized("/../etc") == "/etc")
        #expect(PathText.normalized("relative/../x") == "relative/../x")
        #expect(PathText.normalized("/usr/bin/ls") == "/usr/bin/ls")
        #expect(KubeArmorJSONWriter.quoted("a\"b\\c<") == "\"a\\\"b\\\\c\\u003c\"")
        #expect(KubeArmorJSONWriter.quoted("\u{1}") == "\"\\u0001\"")
        #expect(RecordDecoder.kubeArmorCwd("/root") == "/root/")
        #expect(RecordDecoder.kubeArmorCwd("/") == "/")
    }
}
