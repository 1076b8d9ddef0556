import ArgumentParser
import EventStore

/// `rearview verify`: check the store's checksums, hash chain, index and (optionally) seal signatures. Read-only.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block checksum, segment hash, the hash chain and the index; exit 3 if damaged.",
        discussion: """
            Recomputes each block's checksums and each sealed segment's SHA-256, walks the hash chain \
            (each segment header holds the previous segment's hash), and compares the index with the \
            segments. Every problem is printed as `DAMAGED path: offset N: what` (a flipped byte, a \
            missing, renamed, reordered or truncated segment, an index row that disagrees). Never writes: \
            a segment still being written (`.rvseg.open`) is reported only if its tail is torn, which the \
            next writer repairs.

            --pubkey FILE also requires every sealed segment to carry a valid Ed25519 signature by that \
            key (segments/NNNNNN.rvseg.sig, written by `--sign-key`): an unsigned segment, one signed by \
            another key, or an altered signature is reported naming the segment. The signed message is \
            the ASCII bytes `rearview-seal-v1` followed by the 32-byte segment hash (the trailer's), so \
            OpenSSL can check a signature independently.

            Exit 0 when everything verifies, 3 when anything is damaged or unsigned, 2 when the store or \
            key cannot be read.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Require every sealed segment to be signed by this Ed25519 public key (FILE.pub of `keygen`).",
                               valueName: "file"))
    var pubkey: String?

    func run() throws {
        try reportingFailures {
            let key = try pubkey.map { (path) throws -> SealVerifyingKey in
                do { return try SealVerifyingKey(publicKeyFile: path) } catch { throw CommandFailure(error) }
            }
            let store = try storeOptions.open()
            let problems = try StoreVerifier.verify(store, signedBy: key)
            let out = StandardOutput()
            for problem in problems { out.line("DAMAGED \(problem)") }
            let segments = try store.segments().count
            let signed = key.map { ", all signed by \($0.fingerprint)" } ?? ""
            out.line(problems.isEmpty ? "ok: \(segments) segment(s) verified\(signed)" : "\(problems.count) problem(s) found")
            out.flush()
            if !problems.isEmpty { throw ExitCode(3) }
        }
    }
}
