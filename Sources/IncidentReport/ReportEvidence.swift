import EventStore
import Foundation
import Investigation

/// Where a report's events come from and how to check them: stores, segment hashes, verification,
/// and the command and version that produced the report.
public struct ReportEvidence: Sendable {
    public var stores: [StoreEvidence]
    /// The command line that produced the report, shell-quoted (see ``ShellQuoting``).
    public var commandLine: String
    /// The rearview version that produced the report.
    public var version: String
    /// Unix ns when the report was generated.
    public var generatedAtNs: Int64

    public init(stores: [StoreEvidence], commandLine: String, version: String, generatedAtNs: Int64) {
        self.stores = stores
        self.commandLine = commandLine
        self.version = version
        self.generatedAtNs = generatedAtNs
    }

    /// Whether every store verified.
    public var verified: Bool { stores.allSatisfy { $0.problems.isEmpty } }
}

/// One store's identity, segments and verification result.
public struct StoreEvidence: Sendable, Equatable {
    /// The store directory as given.
    public var path: String
    /// The store id kept in its index.
    public var storeID: String
    public var segments: [SegmentEvidence]
    /// What ``StoreVerifier`` found wrong (empty: the store verifies).
    public var problems: [String]
    /// What the store does not cover (``CoverageHole``), in words: absence there proves nothing.
    public var coverageHoles: [String]

    public init(path: String, storeID: String, segments: [SegmentEvidence], problems: [String], coverageHoles: [String] = []) {
        self.path = path
        self.storeID = storeID
        self.segments = segments
        self.problems = problems
        self.coverageHoles = coverageHoles
    }

    /// `path` from the root, so that the report names the store wherever it is read.
    public static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Reads `store`'s id, segments and coverage holes, and verifies it (checksums, segment SHA-256,
    /// hash chain, index).
    public static func gather(_ store: Store) throws -> StoreEvidence {
        let segments = try store.segments().sorted { $0.number < $1.number }.map(SegmentEvidence.init)
        let problems = try StoreVerifier.verify(store).map(\.description)
        return StoreEvidence(path: absolutePath(store.path), storeID: try store.storeID(), segments: segments, problems: problems,
                             coverageHoles: try CoverageHole.holes(in: store).map(\.description))
    }
}

/// One segment file of a store: its name, size and, once sealed, its SHA-256.
public struct SegmentEvidence: Sendable, Equatable {
    public var number: UInt64
    /// The file name under `segments/` (`000001.rvseg`, or `….rvseg.open` while it is written).
    public var fileName: String
    public var sealed: Bool
    public var bytes: Int
    /// The segment's SHA-256 in lowercase hex (it also covers the previous segment's hash); nil while open.
    public var sha256: String?

    public init(number: UInt64, fileName: String, sealed: Bool, bytes: Int, sha256: String?) {
        self.number = number
        self.fileName = fileName
        self.sealed = sealed
        self.bytes = bytes
        self.sha256 = sha256
    }

    init(_ segment: IndexedSegment) {
        self.init(number: segment.number, fileName: segment.fileName,
                  sealed: segment.sealed, bytes: segment.bytes,
                  sha256: segment.hashHex)
    }
}

/// Quotes a command line for a POSIX shell, so the line in a report can be pasted and run again.
public enum ShellQuoting {
    /// `arguments` joined by spaces, each quoted when it holds anything but letters, digits and `-_./=:,@%+`.
    public static func commandLine(_ arguments: [String]) -> String {
        arguments.map(quoted).joined(separator: " ")
    }

    /// One argument, single-quoted when needed (a `'` inside becomes `'\''`).
    public static func quoted(_ argument: String) -> String {
        let plain = !argument.isEmpty && argument.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/", "=", ":", ",", "@", "%", "+": true
            default: false
            }
        }
        return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
