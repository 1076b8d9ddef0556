import EventModel

/// What a `Process` event says about a process's life, read from its `Data` the way the recorder and
/// KubeArmor write it: fork/clone, exec (or a /proc snapshot), exit.
enum ProcessLifecycleEvent: Equatable {
    /// `syscall=SYS_CLONE` (also `SYS_FORK`, `SYS_VFORK`, `SYS_CLONE3`): the event's HostPID is the new child.
    case fork
    /// `syscall=SYS_EXECVE` / `SYS_EXECVEAT`; `succeeded` when `Result` is `Passed`.
    case exec(succeeded: Bool)
    /// `syscall=SYS_EXECVE snapshot=procfs`: a process alive when a recording started, at its start time.
    case snapshot
    /// `syscall=SYS_EXIT code=N`, or `… signal=SIGKILL[ core=dumped]`.
    case exit(code: Int32?, signal: String?)
    /// Any other event: it only shows the process alive.
    case activity

    init<E: ProcessEventFields>(_ event: UnsafePointer<E>) {
        guard event.pointee.operation == "Process" else {
            self = .activity
            return
        }
        var data = event.pointee.data
        self = data.withUTF8 { ProcessLifecycleEvent.parse($0, result: event.pointee.result) }
    }

    var isExec: Bool {
        if case .exec = self { return true }
        return false
    }

    private static let syscallPrefix = Array("syscall=SYS_".utf8)

    private static func parse(_ data: UnsafeBufferPointer<UInt8>, result: String) -> ProcessLifecycleEvent {
        guard data.starts(with: syscallPrefix) else { return .activity }
        let rest = UnsafeBufferPointer(rebasing: data[syscallPrefix.count...])
        let nameEnd = rest.firstIndex(of: UInt8(ascii: " ")) ?? rest.count
        let name = UnsafeBufferPointer(rebasing: rest[..<nameEnd])
        let arguments = UnsafeBufferPointer(rebasing: rest[nameEnd...])
        switch String(decoding: name, as: UTF8.self) {
        case "CLONE", "CLONE3", "FORK", "VFORK":
            return .fork
        case "EXECVE", "EXECVEAT":
            if snapshotMarker.withUnsafeBufferPointer({ Bytes.contains(arguments, $0) }) { return .snapshot }
            return .exec(succeeded: result == "Passed")
        case "EXIT", "EXIT_GROUP":
            return exit(arguments)
        default:
            return .activity
        }
    }

    private static let snapshotMarker = Array("snapshot=procfs".utf8)

    /// ` code=N` or ` signal=NAME[ core=dumped]`.
    private static func exit(_ arguments: UnsafeBufferPointer<UInt8>) -> ProcessLifecycleEvent {
        var code: Int32?
        var signal: String?
        var coreDumped = false
        for part in arguments.split(separator: UInt8(ascii: " ")) {
            let text = String(decoding: part, as: UTF8.self)
            if text.hasPrefix("code=") {
                code = Int32(text.dropFirst(5))
            } else if text.hasPrefix("signal=") {
                signal = String(text.dropFirst(7))
            } else if text == "core=dumped" {
                coreDumped = true
            }
        }
        if coreDumped, let name = signal { signal = name + " (core dumped)" }
        return .exit(code: code, signal: signal)
    }
}
