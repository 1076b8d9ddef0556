import EventModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small readers for /proc and /sys files: whole small files and symbolic links, as bytes.
enum ProcFS {
    /// The bytes of a file of at most `limit` bytes (procfs files report size 0, so read until EOF).
    static func read(_ path: String, limit: Int = 1 << 16) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? bytes : nil }
            bytes += chunk[0..<count]
        }
        return Array(bytes.prefix(limit))
    }

    static func readText(_ path: String, limit: Int = 1 << 16) -> String? {
        read(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The target of a symbolic link (`/proc/<pid>/exe`, `/proc/<pid>/cwd`).
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return KernelText.string(buffer[0..<count].map { UInt8(bitPattern: $0) })
    }

    /// The numeric entries of /proc: the process IDs alive now.
    static func processIDs() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let pid = Int32(name) {
                pids.append(pid)
            }
        }
        return pids
    }

    /// Arguments from NUL-separated bytes (/proc/<pid>/cmdline, an exec record's argv).
    static func arguments(_ bytes: some Collection<UInt8>) -> [String] {
        var arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { KernelText.string($0) }
        if arguments.last == "" {
            arguments.removeLast()
        }
        return arguments
    }
}
