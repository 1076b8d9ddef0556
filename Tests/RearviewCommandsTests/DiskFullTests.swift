import Foundation
import Testing

/// Writers that run out of space stop with one clear line and exit 2, and leave a store that opens,
/// verifies, and takes the rest once there is room again.
@Suite(.serialized, .enabled(if: geteuid() == 0, "mounting a small tmpfs needs root"))
struct DiskFullTests {
    @Test func importIntoAFullFileSystemStopsCleanlyAndTheStoreVerifies() throws {
        let scratch = Scratch()
        let input = scratch.path + "/input.ndjson"
        try Shared.generate(input, ["--events", "40000", "--seed", "12", "--hosts", "3"])
        let small = try SmallFileSystem(scratch.path + "/small", size: "512k")
        let store = small.path + "/store"
        let importing = ["import", "--store", store, "--block-events", "50", "--segment-size", "64K", input]

        let full = try CLI.run(importing)
        #expect(full.status == 2)
        #expect(lines(full.stderr).count == 1, "\(full.stderr)")
        #expect(full.stderr.hasPrefix("rearview: "))
        #expect(full.stderr.contains("No space left on device") || full.stderr.contains("disk is full"), "\(full.stderr)")
        #expect(full.stderr.contains("keeps every event flushed"))
        let verify = try CLI.run(["verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(try CLI.run(["info", "--store", store]).status == 0)

        // With room again the same import completes: nothing lost, nothing stored twice.
        try small.resize("64m")
        let resumed = try CLI.run(importing)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let exported = try CLI.run(["export", "--store", store])
        #expect(lines(exported.stdout).sorted() == lines(try String(contentsOfFile: input, encoding: .utf8)).sorted())
        #expect(try CLI.run(["verify", "--store", store]).status == 0)
    }

    @Test(.enabled(if: access("/sys/kernel/btf/vmlinux", R_OK) == 0, "needs BTF to record"))
    func recordIntoAFullFileSystemStopsCleanlyAndTheStoreVerifies() throws {
        let scratch = Scratch()
        let small = try SmallFileSystem(scratch.path + "/small", size: "1m")
        let store = small.path + "/store"
        let workDirectory = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        // Enough file activity to fill 1 MB within seconds, whatever else the host does.
        let workload = try FileWorkload.start(opening: "file-{i % 5000}-with-a-longer-name-{i}", in: workDirectory, pause: 0)
        defer {
            // SIGKILL: children of the test runner may start with SIGTERM blocked.
            Glibc.kill(workload.processIdentifier, SIGKILL)
            workload.waitUntilExit()
        }
        let recorded = try CLI.run(["record", "--store", store, "--flush", "200ms", "--events", "file", "--duration", "90s"])
        #expect(recorded.status == 2, "\(recorded.stderr)")
        let failure = lines(recorded.stderr).filter { $0.hasPrefix("rearview: ") }
        #expect(failure.count == 1, "\(recorded.stderr)")
        #expect(failure.first?.contains("No space left on device") == true || failure.first?.contains("disk is full") == true,
                "\(recorded.stderr)")
        #expect(!recorded.stderr.contains("Fatal error"))
        let verify = try CLI.run(["verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(try CLI.run(["info", "--store", store]).status == 0)
    }
}

/// A tmpfs of a given size mounted for one test, unmounted when the value is released.
final class SmallFileSystem {
    let path: String

    init(_ path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "mount tmpfs on \(path): \(String(cString: strerror(errno)))"])
        }
    }

    func resize(_ size: String) throws {
        guard mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT), "size=\(size)") == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "remount \(path): \(String(cString: strerror(errno)))"])
        }
    }

    deinit { umount2(path, Int32(MNT_DETACH)) }
}
