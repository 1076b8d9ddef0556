import EventModel
import Foundation
import Synchronization
import Testing
@testable import Recorder

// SCRATCH (h2): throughput measurement, to be deleted.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["RV_SCRATCH"] != nil))
struct ZZScratchThroughput {
    func run(_ args: [String]) throws -> String {
        try Workload.run(args[0], Array(args.dropFirst())).output
    }

    @Test(arguments: [SyscallAttachment.syscallTracepoints, .rawTracepoints])
    func throughput(mode: SyscallAttachment) throws {
        try KernelTests.mountTracefs()
        print("baseline:", try run(["/tmp/h2/bench", "open", "1000000"]), try run(["/tmp/h2/forkexec", "3000"]))
        let count = Mutex(0)
        var configuration = RecorderConfiguration()
        configuration.syscallAttachment = mode
        configuration.includesStartupSnapshot = false
        let recorder = try Recorder.start(configuration) { batch in count.withLock { $0 += batch.count } }
        let cpuBefore = ProcFS.readText("/proc/self/stat")!
        let start = ContinuousClock.now
        let open = try run(["/tmp/h2/bench", "open", "1000000"])
        let elapsed = ContinuousClock.now - start
        let fork = try run(["/tmp/h2/forkexec", "3000"])
        try recorder.stop()
        let cpuAfter = ProcFS.readText("/proc/self/stat")!
        func ticks(_ s: String) -> Int { let f = s[s.lastIndex(of: ")")!...].split(separator: " "); return Int(f[12])! + Int(f[13])! }
        let stats = recorder.statistics
        print("mode \(mode): \(open) \(fork) events=\(count.withLock { $0 }) opens/s=\(Double(1_000_000) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) drops=\(stats.drops) recorderCPU=\(ticks(cpuAfter) - ticks(cpuBefore)) ticks")
    }
}
