import ArgumentParser
import EventModel
import EventStore

/// `rearview verify`: check the store's checksums, hash chain, index and (optionally) seal signatures
/// and signed chain head; print the head for the case file. Read-only.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block checksum, segment hash, the hash chain and the index; exit 3 if damaged.",
        discussion: """
            Recomputes each block's checksums and each sealed segment's SHA-256, walks the hash chain \
            (each segment header holds the previous segment's hash), and compares the index with the \
            segments. Every problem is printed as `DAMAGED path: offset N: what` (a flipped byte, a \
            missing, renamed, reordered or truncated segment, an index row that disagrees). Never writes. \
            A segment still being written is named, `open: PATH: N event(s) not sealed yet` (no hash or \
            signature covers them until a writer seals it); a torn tail in it is reported, and the next \
            writer repairs it.

            Prints the head, where the chain ends: `head: segment N, E events, sha256 HASH`. Note it in \
            the case file: --expect-head HASH checks a copy of the store against the note. It passes \
            when that segment is in the copy's chain (also when the store grew since) and is DAMAGED \
            when it is not.

            --pubkey FILE requires every sealed segment to carry a valid Ed25519 signature by that key \
            (segments/NNNNNN.rvseg.sig, written by `--sign-key`; the signed message is the ASCII bytes \
            `rearview-seal-v1` followed by the 32-byte segment hash, so OpenSSL can check it), and the \
            signed chain head (segments/head.sig, signed at every seal) to name the newest sealed \
            segment with its hash and event count. An unsigned segment or one signed by another key, an \
            altered signature, newest segments removed (the head points past them), a replaced segment, \
            segments sealed after the head, a missing head or one signed by another key are DAMAGED. \
            Without --pubkey the head is not checked, and a store without one is reported as unsigned \
            (the removal of the newest segments cannot be detected). An older head put back together \
            with the segments up to it (a rollback) still verifies: the noted head catches that.

            Segments retention removed (`record --retain`/`--max-size`, `prune`) are listed in the \
            retirement ledger with their hashes: the chain is checked across them, each run is printed \
            as `retired: segments 1–41 retired by REASON at T: …`, and with --pubkey the ledger must be \
            signed by the key (a retirement is otherwise indistinguishable from a deletion). A missing \
            segment the ledger does not list is DAMAGED, as a removed ledger makes the segments it \
            listed.

            Exit 0 when everything verifies, 3 when anything is damaged or unsigned or the expected head \
            is not in the chain, 2 when the store or key cannot be read or the hash is malformed.

            \(ExitStatusHelp.paragraph("0 the store is intact", "2 bad usage or not a store", "3 a problem was found (each is listed)"))
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Require every sealed segment and the chain head to be signed by this Ed25519 public key (FILE.pub of `keygen`).",
                               valueName: "file"))
    var pubkey: String?

    @Option(help: ArgumentHelp("Require the chain to hold this segment hash (64 hex digits: the `head:` hash noted from an earlier verify).",
                               valueName: "hash"))
    var expectHead: String?

    func validate() throws {
        if let expectHead, ChainPosition.hash(hex: expectHead) == nil {
            throw ValidationError("--expect-head takes the 64 hex digits of a segment's SHA-256, as verify prints after `head:`")
        }
    }

    func run() throws {
        try reportingFailures {
            let key = try pubkey.map { (path) throws -> SealVerifyingKey in
                do { return try SealVerifyingKey(publicKeyFile: path) } catch { throw CommandFailure(error) }
            }
            let store = try storeOptions.open()
            let report = try StoreVerifier.check(store, signedBy: key, expectingHead: expectHead.flatMap(ChainPosition.hash(hex:)))
            let out = StandardOutput()
            for problem in report.problems { out.line("DAMAGED \(problem)") }
            for open in report.openSegments {
                out.line("open: \(open.path): \(open.events) event(s) not sealed yet (no segment hash or signature covers them until a writer seals it)")
            }
            for run in report.retired { out.line("retired: \(run)") }
            if let signer = report.retirementSigner {
                out.line("retirement ledger: signed by \(signer.fingerprint)" + (key == nil ? " (not checked: give --pubkey)" : ""))
            } else if !report.retired.isEmpty {
                out.line("retirement ledger: unsigned (nothing proves the retired segments were retired rather than removed)")
            }
            if !report.pendingRetirements.isEmpty {
                out.line("retiring: segment(s) \(report.pendingRetirements.map(String.init).joined(separator: ", ")) entered in the ledger, their files not removed yet (the next writer removes them)")
            }
            let head = report.head
            out.line(head.segment == 0 ? "head: none (no sealed segment yet)" : "head: segment \(head.segment), \(head.events) events, sha256 \(head.hashHex)")
            if let signed = report.signedHead {
                let checked = key == nil ? " (not checked: give --pubkey)" : ""
                out.line("signed head: segment \(signed.position.segment), \(signed.position.events) events, signed \(UnixTime.rfc3339Micro(signed.signedAtNs)) by \(signed.signer.fingerprint)\(checked)")
            } else if key == nil {
                out.line("signed head: none (unsigned store: the removal of the newest segments cannot be detected)")
            }
            if let expected = report.expectedHead {
                let since = head.segment - expected.segment
                out.line("expected head: found, segment \(expected.segment)" + (since > 0 ? " (\(since) segment(s) sealed after it)" : " (the store's head)"))
            }
            let segments = try store.segments().count
            let signed = key.map { ", all signed by \($0.fingerprint)" } ?? ""
            out.line(report.problems.isEmpty ? "ok: \(segments) segment(s) verified\(signed)" : "\(report.problems.count) problem(s) found")
            out.flush()
            if !report.problems.isEmpty { throw ExitCode(3) }
        }
    }
}
