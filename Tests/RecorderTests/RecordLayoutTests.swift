import CBPF
import Testing
@testable import Recorder

/// The Swift view of bpf/rearview_event.h must match the layout the C compiler asserts
/// (`_Static_assert` in the header): a mismatch would misread every record.
@Suite struct RecordLayoutTests {
    @Test func headerLayout() {
        #expect(MemoryLayout<rv_header>.size == 80)
        #expect(MemoryLayout<rv_header>.offset(of: \.boot_ns) == 0)
        #expect(MemoryLayout<rv_header>.offset(of: \.cgroup_id) == 8)
        #expect(MemoryLayout<rv_header>.offset(of: \.type) == 16)
        #expect(MemoryLayout<rv_header>.offset(of: \.size) == 20)
        #expect(MemoryLayout<rv_header>.offset(of: \.tgid) == 24)
        #expect(MemoryLayout<rv_header>.offset(of: \.pid_ns) == 56)
        #expect(MemoryLayout<rv_header>.offset(of: \.comm) == 64)
    }

    @Test func recordSizes() {
        #expect(MemoryLayout<rv_fork_record>.size == 88)
        #expect(MemoryLayout<rv_exec_record>.size == 96)
        #expect(MemoryLayout<rv_exit_record>.size == 88)
        #expect(MemoryLayout<rv_exec_failed_record>.size == 96)
        #expect(MemoryLayout<rv_file_record>.size == 112)
        #expect(MemoryLayout<rv_socket_record>.size == 104)
        #expect(MemoryLayout<rv_address_record>.size == 120)
        #expect(MemoryLayout<rv_listen_record>.size == 104)
        #expect(MemoryLayout<rv_config>.size == 16 + 8 * (1 + 64))
    }

    @Test func fieldOffsets() {
        #expect(MemoryLayout<rv_exec_record>.offset(of: \.filename_len) == 80)
        #expect(MemoryLayout<rv_exec_record>.offset(of: \.cgroup_len) == 90)
        #expect(MemoryLayout<rv_file_record>.offset(of: \.ret) == 80)
        #expect(MemoryLayout<rv_file_record>.offset(of: \.syscall) == 100)
        #expect(MemoryLayout<rv_file_record>.offset(of: \.new_path_len) == 106)
        #expect(MemoryLayout<rv_address_record>.offset(of: \.port) == 96)
        #expect(MemoryLayout<rv_address_record>.offset(of: \.addr) == 104)
        #expect(MemoryLayout<rv_config>.offset(of: \.ignore_prefix) == 24)
    }

    @Test func embeddedObjectIsBPFELF() {
        let object = EmbeddedBPFObject.rearview
        #expect(object.count > 10_000)
        #expect(Array(object.prefix(4)) == [0x7f, 0x45, 0x4c, 0x46]) // \x7fELF
        #expect(object[18] == 247 && object[19] == 0) // e_machine EM_BPF, little endian
    }

    @Test func base64Decoding() {
        #expect(Base64.decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Base64.decode("aGVs\nbG8") == Array("hello".utf8))
        #expect(Base64.decode("/+A=") == [0xff, 0xe0])
    }
}
