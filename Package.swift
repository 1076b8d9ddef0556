// swift-tools-version:6.1
import PackageDescription

/// Debian packages that provide the C libraries rearview links (installed by `make deps`).
let apt: [SystemPackageProvider] = [.apt(["liblz4-dev", "libpcre2-dev", "libbpf-dev", "zlib1g-dev"])]

let package = Package(
    name: "rearview",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rearview", targets: ["rearview"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, wrapped once at the edge.
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: apt),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: apt),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: apt),
        .systemLibrary(name: "CBPF", pkgConfig: "libbpf", providers: apt),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // The few SQLite calls GRDB does not make (hardening an index from another host).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // Libraries: one job each.
        .target(name: "EventModel", dependencies: ["CLZ4", "CZlib"]),
        .target(name: "EventStore", dependencies: [
            "EventModel", "CLZ4", "CZlib", "CSQLite",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Investigation", dependencies: ["EventModel", "EventStore", "CPCRE2"]),
        .target(name: "Recorder", dependencies: ["EventModel", "EventStore", "CBPF"],
                plugins: ["BPFObjectPlugin"]),
        .target(name: "PolicyEngine", dependencies: ["EventModel", "EventStore", "Investigation", .product(name: "Yams", package: "Yams")]),
        .target(name: "Reports", dependencies: ["EventModel", "EventStore", "Investigation"]),
        .target(name: "IncidentReport", dependencies: ["EventModel", "EventStore", "Investigation", "PolicyEngine", "Reports"]),
        .target(name: "SIEMExport", dependencies: ["EventModel", "EventStore"]),
        .target(name: "Forwarding", dependencies: ["EventModel", "EventStore", "SIEMExport", "COpenSSL"]),
        .target(name: "RearviewCommands", dependencies: [
            "EventModel", "EventStore", "Investigation", "Recorder", "PolicyEngine", "Reports",
            "IncidentReport", "SIEMExport", "Forwarding",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "rearview", dependencies: ["RearviewCommands"]),

        // Build tools: compile bpf/*.bpf.c and embed the objects in Recorder.
        .executableTarget(name: "BPFObjectEmbedder", path: "Plugins/BPFObjectEmbedder"),
        .plugin(name: "BPFObjectPlugin", capability: .buildTool(), dependencies: ["BPFObjectEmbedder"]),
        // `make man`: the man pages from the commands' help.
        .executableTarget(name: "ManualPageWriter", path: "Plugins/ManualPageWriter"),

        // Benchmarks live apart from tests and run in release mode (`make bench`).
        .executableTarget(name: "RearviewBench", dependencies: ["EventModel", "EventStore", "Investigation", "PolicyEngine", "Reports"],
                          path: "Benchmarks/RearviewBench"),

        .testTarget(name: "EventModelTests", dependencies: ["EventModel"]),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "EventModel"]),
        .testTarget(name: "InvestigationTests", dependencies: ["Investigation", "EventModel", "EventStore"]),
        .testTarget(name: "RecorderTests", dependencies: ["Recorder", "EventModel", "EventStore"]),
        .testTarget(name: "PolicyEngineTests", dependencies: ["PolicyEngine", "EventModel", "EventStore"]),
        .testTarget(name: "IncidentReportTests", dependencies: ["IncidentReport", "EventModel", "EventStore", "Investigation", "PolicyEngine"]),
        .testTarget(name: "ForwardingTests", dependencies: ["Forwarding", "SIEMExport", "EventModel", "EventStore"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Investigation", "EventStore", "EventModel"]),
        .testTarget(name: "RearviewCommandsTests", dependencies: ["RearviewCommands", "EventStore", "EventModel", "Investigation", "SIEMExport"]),
        .testTarget(name: "SIEMExportTests", dependencies: ["SIEMExport", "EventModel", "EventStore", .product(name: "Yams", package: "Yams")],
                    exclude: ["Schemas"]),
    ]
)

// libFuzzer targets (`make fuzz`): only in the manifest when REARVIEW_FUZZ is set. They and the
// libraries they exercise are built with -sanitize=fuzzer,address; build tools and the rest of the
// package are not.
if Context.environment["REARVIEW_FUZZ"] != nil {
    let sanitize = ["-sanitize=fuzzer,address"]
    for target in package.targets where ["EventModel", "EventStore", "Investigation", "PolicyEngine", "Forwarding"].contains(target.name) {
        // -enable-testing: the block decoder's fuzzer reaches below LZ4, the HTTP one the internal client,
        // with @testable import.
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitize + ["-enable-testing"])]
    }
    func fuzzer(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
        .executableTarget(name: "Fuzz" + name, dependencies: dependencies + ["FuzzSupport"], path: "Fuzz/" + name,
                          swiftSettings: [.unsafeFlags(sanitize)], linkerSettings: [.unsafeFlags(sanitize)])
    }
    package.targets += [
        .target(name: "FuzzSupport", path: "Fuzz/Support"),
        fuzzer("KubeArmorJSON", ["EventModel"]),
        fuzzer("BlockDecoder", ["EventStore", "EventModel"]),
        fuzzer("FilterParser", ["Investigation"]),
        fuzzer("PolicyLoader", ["PolicyEngine"]),
        fuzzer("HTTPResponse", ["Forwarding"]),
    ]
}
