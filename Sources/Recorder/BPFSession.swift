import CBPF
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// rearview's BPF programs loaded into the kernel and attached, with the ring buffer they write to.
///
/// Owns the libbpf object, its links and the ring-buffer reader. Records are handed to the
/// `decoder` during ``consume()``, on the calling thread.
final class BPFSession {
    /// The attach point chosen for system calls.
    let syscallAttachment: SyscallAttachment
    private let object: OpaquePointer
    private var links: [OpaquePointer] = []
    private var ringBuffer: OpaquePointer?
    /// Ready only when the kernel wakes the reader, not whenever data waits (libbpf's own epoll
    /// set is level-triggered, which would defeat draining on a timer).
    private var wakeups: Int32 = -1
    private let dropsMapFD: Int32
    private let wakeupPendingMapFD: Int32
    /// Retained for as long as the ring buffer may call back into it.
    private let decoder: Unmanaged<RecordDecoder>

    init(configuration: RecorderConfiguration, decoder: RecordDecoder) throws(RecorderError) {
        LibbpfLog.install()
        let bytes = EmbeddedBPFObject.rearview
        guard let object = bytes.withUnsafeBytes({ rv_object_open_mem($0.baseAddress, $0.count, "rearview") }) else {
            throw RecorderError(.objectInvalid, "libbpf could not open the embedded BPF object: \(LibbpfLog.tail())", errno: errno)
        }
        self.object = object
        self.decoder = Unmanaged.passRetained(decoder)
        do throws(RecorderError) {
            syscallAttachment = try Self.chooseSyscallAttachment(configuration.syscallAttachment)
            try Self.configure(object, configuration)
            try Self.selectPrograms(object, attachment: syscallAttachment, kinds: configuration.eventKinds)
            try Self.load(object)
            dropsMapFD = try Self.mapFD(object, "rv_drops")
            wakeupPendingMapFD = try Self.mapFD(object, "rv_wakeup_pending")
            links = try Self.attach(object)
            let eventsFD = try Self.mapFD(object, "rv_events")
            let callback: ring_buffer_sample_fn = { context, data, size in
                guard let context, let data else { return 0 }
                Unmanaged<RecordDecoder>.fromOpaque(context).takeUnretainedValue()
                    .decode(UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }
            guard let ringBuffer = ring_buffer__new(eventsFD, callback, self.decoder.toOpaque(), nil) else {
                throw RecorderError(.mapFailed, "could not map the ring buffer", errno: errno)
            }
            self.ringBuffer = ringBuffer
            wakeups = rv_wakeup_watch(eventsFD)
            guard wakeups >= 0 else {
                throw RecorderError(.systemResource, "could not watch the ring buffer for wakeups", errno: errno)
            }
        } catch {
            if let ringBuffer {
                ring_buffer__free(ringBuffer)
            }
            links.forEach { bpf_link__destroy($0) }
            bpf_object__close(object)
            self.decoder.release()
            throw error
        }
    }

    deinit {
        detach()
        close(wakeups)
        if let ringBuffer {
            ring_buffer__free(ringBuffer)
        }
        bpf_object__close(object)
        decoder.release()
    }

    /// Waits up to the timeout, or until the kernel wakes the reader (it does so only when the
    /// buffer fills up).
    func waitForWakeup(timeoutMilliseconds: Int32) {
        _ = rv_wakeup_wait(wakeups, timeoutMilliseconds)
    }

    /// Hands every record waiting in the buffer to the decoder, then lets the kernel wake the
    /// reader again when the buffer fills up.
    @discardableResult
    func consume() -> Int32 {
        guard let ringBuffer else { return 0 }
        let count = ring_buffer__consume(ringBuffer)
        var key: UInt32 = 0
        var cleared: UInt32 = 0
        bpf_map_update_elem(wakeupPendingMapFD, &key, &cleared, UInt64(BPF_ANY))
        return count
    }

    /// Detaches the programs: no new records after this returns (those in the buffer stay readable).
    func detach() {
        links.forEach { bpf_link__destroy($0) }
        links = []
    }

    /// Records the kernel lost, by kind (process, file, network).
    func drops() -> [UInt64] {
        (0..<UInt32(RV_KIND_COUNT.rawValue)).map { kind in
            var key = kind
            var value: UInt64 = 0
            return bpf_map_lookup_elem(dropsMapFD, &key, &value) == 0 ? value : 0
        }
    }

    // MARK: setting up

    private static func chooseSyscallAttachment(_ requested: SyscallAttachment) throws(RecorderError) -> SyscallAttachment {
        let tracefs = HostChecks.syscallTracepointDirectory() != nil
        switch requested {
        case .automatic:
            return tracefs ? .syscallTracepoints : .rawTracepoints
        case .syscallTracepoints:
            guard tracefs else {
                throw RecorderError(.kernelFeatureMissing,
                                    "syscall tracepoints need tracefs: mount -t tracefs tracefs /sys/kernel/tracing")
            }
            return .syscallTracepoints
        case .rawTracepoints:
            return .rawTracepoints
        }
    }

    private static func configure(_ object: OpaquePointer, _ configuration: RecorderConfiguration) throws(RecorderError) {
        var config = rv_config()
        config.self_tgid = UInt32(bitPattern: getpid())
        config.kinds = configuration.eventKinds.reduce(UInt32(1) << EventKind.process.bpfKind) { $0 | 1 << $1.bpfKind }
        config.wakeup_bytes = UInt32(configuration.ringBufferBytes / 4)
        config.ignore_count = UInt32(configuration.ignoredPathPrefixes.count)
        withUnsafeMutableBytes(of: &config.ignore_len) { lengths in
            withUnsafeMutableBytes(of: &config.ignore_prefix) { prefixes in
                for (index, prefix) in configuration.ignoredPathPrefixes.enumerated() {
                    let bytes = Array(prefix.utf8)
                    lengths[index] = UInt8(bytes.count)
                    prefixes.baseAddress!.advanced(by: index * Int(RV_IGNORE_PREFIX_MAX))
                        .copyMemory(from: bytes, byteCount: bytes.count)
                }
            }
        }
        guard let map = bpf_object__find_map_by_name(object, ".rodata.config"),
              withUnsafeBytes(of: &config, { bpf_map__set_initial_value(map, $0.baseAddress, $0.count) }) == 0 else {
            throw RecorderError(.objectInvalid, "the BPF object's .rodata.config does not match rv_config", errno: errno)
        }
        guard let events = bpf_object__find_map_by_name(object, "rv_events"),
              bpf_map__set_max_entries(events, UInt32(configuration.ringBufferBytes)) == 0 else {
            throw RecorderError(.objectInvalid, "could not size the ring buffer to \(configuration.ringBufferBytes) bytes", errno: errno)
        }
    }

    /// Loads the lifecycle programs and one set of syscall programs, for the selected kinds only.
    private static func selectPrograms(_ object: OpaquePointer, attachment: SyscallAttachment,
                                       kinds: Set<EventKind>) throws(RecorderError) {
        let tracepoints = HostChecks.syscallTracepointDirectory()
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let section = String(cString: bpf_program__section_name(current))
            let load: Bool
            if section.hasPrefix("tp_btf/sched_process_") {
                load = true
            } else if section == "tp_btf/inet_sock_set_state" {
                load = kinds.contains(.network)
            } else if section.hasPrefix("tp_btf/sys_") {
                load = attachment == .rawTracepoints
            } else if section.hasPrefix("tracepoint/syscalls/"), let tracepoints {
                let event = section.dropFirst("tracepoint/syscalls/".count)
                let syscall = event.drop(while: { $0 != "_" }).dropFirst().drop(while: { $0 != "_" }).dropFirst()
                load = attachment == .syscallTracepoints
                    && kinds.union([.process]).contains(SyscallNames.kind(of: syscall))
                    && access("\(tracepoints)/\(event)", F_OK) == 0 // e.g. no sys_enter_open on arm64
            } else {
                load = false
            }
            guard bpf_program__set_autoload(current, load) == 0 else {
                throw RecorderError(.objectInvalid, "could not select program \(section)", errno: errno)
            }
            program = bpf_object__next_program(object, current)
        }
    }

    private static func load(_ object: OpaquePointer) throws(RecorderError) {
        LibbpfLog.clear()
        guard bpf_object__load(object) == 0 else {
            let code = errno
            let log = LibbpfLog.tail()
            let program = LibbpfLog.failedProgram() ?? "a program"
            if code == EPERM || code == EACCES {
                throw RecorderError(.programRefused, "the kernel refused \(program) (\(log))", errno: code)
            }
            throw RecorderError(.programRefused, "the verifier rejected \(program): \(log)", errno: code)
        }
    }

    private static func attach(_ object: OpaquePointer) throws(RecorderError) -> [OpaquePointer] {
        var links: [OpaquePointer] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            if bpf_program__autoload(current) {
                guard let link = rv_program_attach(current) else {
                    let code = errno
                    links.forEach { bpf_link__destroy($0) }
                    let name = String(cString: bpf_program__name(current))
                    let section = String(cString: bpf_program__section_name(current))
                    throw RecorderError(.attachFailed, "could not attach \(name) to \(section)", errno: code)
                }
                links.append(link)
            }
            program = bpf_object__next_program(object, current)
        }
        return links
    }

    private static func mapFD(_ object: OpaquePointer, _ name: String) throws(RecorderError) -> Int32 {
        guard let map = bpf_object__find_map_by_name(object, name) else {
            throw RecorderError(.objectInvalid, "the BPF object has no map \(name)")
        }
        return bpf_map__fd(map)
    }
}

/// The system calls the BPF programs observe, by their tracepoint names, and the kind each belongs to.
enum SyscallNames {
    static func kind(of tracepointName: some StringProtocol) -> EventKind {
        switch tracepointName {
        case "socket", "connect", "accept", "accept4", "bind", "listen": return .network
        case "execve", "execveat": return .process
        default: return .file
        }
    }
}

/// libbpf's log messages, kept (the last ones) to explain a failed load: the verifier's verdict.
enum LibbpfLog {
    private static let lines = Mutex<[String]>([])
    private static let installed = Mutex(false)

    static func install() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            libbpf_set_print { level, format, arguments in
                guard let format, let arguments else { return 0 }
                var buffer = [CChar](repeating: 0, count: 1024)
                vsnprintf(&buffer, buffer.count, format, arguments)
                let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if level != LIBBPF_DEBUG {
                    LibbpfLog.append(text)
                }
                return 0
            }
        }
    }

    static func append(_ text: String) {
        lines.withLock { lines in
            lines.append(contentsOf: text.split(separator: "\n").map(String.init))
            if lines.count > 400 {
                lines.removeFirst(lines.count - 400)
            }
        }
    }

    static func clear() {
        lines.withLock { $0.removeAll() }
    }

    /// The last messages, joined, for an error message.
    static func tail(_ count: Int = 12) -> String {
        lines.withLock { $0.suffix(count).joined(separator: " | ") }
    }

    /// The program libbpf said failed to load (`prog 'NAME': failed to load`).
    static func failedProgram() -> String? {
        lines.withLock { lines in
            for line in lines.reversed() {
                if let start = line.firstRange(of: "prog '"), line.contains("failed to load") {
                    let rest = line[start.upperBound...]
                    return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
                }
            }
            return nil
        }
    }
}
