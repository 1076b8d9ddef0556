import ArgumentParser
import EventStore

/// `rearview keygen`: create the Ed25519 key pair that signs sealed segments.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair for signing sealed segments.",
        discussion: """
            Writes the private key to FILE (mode 0600) and the public key to FILE.pub, both as PEM \
            (PKCS#8 and SubjectPublicKeyInfo, readable by OpenSSL; a key from \
            `openssl genpkey -algorithm ed25519` works too). Refuses to overwrite either file. The key \
            itself is never printed; only its fingerprint is.

            Give the private key to the writer (`rearview record --sign-key FILE`, \
            `rearview import --sign-key FILE`): every segment it seals gets a signature over its SHA-256 \
            in segments/NNNNNN.rvseg.sig. Keep FILE.pub apart from the store, e.g. with the case notes, \
            and check a copied store with `rearview verify --pubkey FILE.pub`.

            Example: rearview keygen --out /root/rearview-seal.key

            \(ExitStatusHelp.paragraph(ExitStatusHelp.success, ExitStatusHelp.usage))
            """)

    @Option(help: ArgumentHelp("Private key file to create; the public key goes to FILE.pub.", valueName: "file"))
    var out: String

    func run() throws {
        try reportingFailures {
            let key = try SegmentSigner.generateKeyFiles(privateKeyPath: out)
            Terminal.error("wrote private key \(out) (mode 0600) and public key \(out).pub, fingerprint \(key.fingerprint)")
        }
    }
}
