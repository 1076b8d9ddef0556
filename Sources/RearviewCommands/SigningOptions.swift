import ArgumentParser
import EventStore

/// The `--sign-key` option of the commands that seal segments (`import`, `record`).
struct SigningOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Sign each sealed segment's hash, and where the chain ends (segments/head.sig), with this Ed25519 private key file (from `rearview keygen`).",
        valueName: "file"))
    var signKey: String?

    /// The signer, loaded from the key file (never echoed); nil without `--sign-key`.
    func signer() throws -> SegmentSigner? {
        guard let signKey else { return nil }
        do { return try SegmentSigner(privateKeyFile: signKey) } catch { throw CommandFailure(error) }
    }
}
