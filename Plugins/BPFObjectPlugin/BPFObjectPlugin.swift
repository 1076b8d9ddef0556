import Foundation
import PackagePlugin

/// Compiles the package's BPF programs (`bpf/*.bpf.c`) with the toolchain's clang and embeds each
/// object in the target it is attached to, as a generated Swift source file.
///
/// The object is loaded at run time with `bpf_object__open_mem`, so the binary carries its own BPF
/// code and no `.o` is installed or committed. `bpf/Makefile` builds the same object with the same
/// flags by hand, for reading verifier logs.
@main
struct BPFObjectPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf").resolvingSymlinksInPath()
        let files = try FileManager.default.subpathsOfDirectory(atPath: bpfDirectory.path)
            .filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") }
            .sorted()
        let sources = files.filter { $0.hasSuffix(".bpf.c") && !$0.contains("/") }
        guard !sources.isEmpty else {
            throw PluginFailure(description: "no BPF programs (*.bpf.c) in \(bpfDirectory.path)")
        }
        let embedder = try context.tool(named: "BPFObjectEmbedder")
        let clang = try context.tool(named: "clang")
        let objcopy = try context.tool(named: "llvm-objcopy")
        return sources.map { source in
            let name = String(source.dropLast(".bpf.c".count))
            let output = context.pluginWorkDirectoryURL.appending(path: "BPFObject_\(name).swift")
            return .buildCommand(
                displayName: "Compiling BPF program \(source)",
                executable: embedder.url,
                arguments: [
                    "--clang", clang.url.path,
                    "--objcopy", objcopy.url.path,
                    "--arch", Self.bpfTargetArchitecture,
                    "--include", bpfDirectory.appending(path: "include").path,
                    "--name", name,
                    "--output", output.path,
                    bpfDirectory.appending(path: source).path,
                ],
                inputFiles: files.map { bpfDirectory.appending(path: $0) },
                outputFiles: [output])
        }
    }

    /// The `__TARGET_ARCH_*` the programs are built for: the build machine's, as the recorder runs there.
    static var bpfTargetArchitecture: String {
        #if arch(x86_64)
        return "x86"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unsupported"
        #endif
    }
}

struct PluginFailure: Error, CustomStringConvertible {
    let description: String
}
