#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer on one input handler, with the process's own arguments (`-max_total_time=…`,
/// corpus directories). SwiftPM names every executable's entry point itself, so the fuzzers call
/// libFuzzer's driver instead of letting libFuzzer provide `main`.
public enum FuzzDriver {
    public typealias Handler = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

    public static func run(_ handler: Handler) -> Never {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, handler))
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ handler: FuzzDriver.Handler) -> Int32
