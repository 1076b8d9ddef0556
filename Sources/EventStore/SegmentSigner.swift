import Crypto
import Foundation
import Glibc

/// An Ed25519 private key that signs the SHA-256 of every segment a writer seals.
///
/// Keys live only in files (PKCS#8 PEM, the form `openssl genpkey -algorithm ed25519` writes), so
/// they never appear on a command line; nothing here prints or formats the key bytes. A writer given
/// a signer (``WriterOptions/signer``) writes `NNNNNN.rvseg.sig` beside each segment before the
/// segment takes its sealed name, so a sealed segment of a signing writer always has its signature,
/// and after each seal it signs where the chain now ends (``SignedChainHead``, `segments/head.sig`).
public struct SegmentSigner: Sendable {
    private let seed: [UInt8]
    /// The public half, as `verify --pubkey` reads it from `FILE.pub`.
    public let verifyingKey: SealVerifyingKey

    /// Loads a private key file; refuses one that other users can read.
    public init(privateKeyFile path: String) throws(StoreError) {
        let seed = try KeyFileFormat.decode(try SecretFile.read(path, what: "the private key", maxBytes: 4096), kind: .privateKey, path: path)
        try self.init(seed: seed, path: path)
    }

    private init(seed: [UInt8], path: String) throws(StoreError) {
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            self.seed = seed
            verifyingKey = SealVerifyingKey(raw: Array(key.publicKey.rawRepresentation))
        } catch {
            throw StoreError(.invalidRequest, path: path, "not a usable Ed25519 private key")
        }
    }

    /// Creates a new key pair: the private key at `privateKeyPath` (mode 0600) and the public key at
    /// `privateKeyPath + ".pub"`. Refuses to overwrite either file.
    @discardableResult
    public static func generateKeyFiles(privateKeyPath: String) throws(StoreError) -> SealVerifyingKey {
        let key = Curve25519.Signing.PrivateKey()
        let publicKey = SealVerifyingKey(raw: Array(key.publicKey.rawRepresentation))
        let publicPath = privateKeyPath + ".pub"
        guard access(publicPath, F_OK) != 0 else {
            throw StoreError(.invalidRequest, path: publicPath, "already exists; refusing to overwrite a key")
        }
        try KeyFileFormat.create(privateKeyPath, KeyFileFormat.encode(Array(key.rawRepresentation), kind: .privateKey), mode: 0o600)
        do {
            try KeyFileFormat.create(publicPath, KeyFileFormat.encode(publicKey.raw, kind: .publicKey), mode: 0o644)
        } catch {
            unlink(privateKeyPath)
            throw error
        }
        return publicKey
    }

    /// Signs one sealed segment's hash.
    func signature(forSegmentHash hash: [UInt8]) throws(StoreError) -> SealSignature {
        SealSignature(publicKey: verifyingKey.raw, segmentHash: hash, signature: try sign(SealSignature.message(segmentHash: hash)))
    }

    /// Signs where the chain ends now and writes it as the store's `segments/head.sig`.
    func writeHead(store: Store, storeID: [UInt8], position: ChainPosition) throws(StoreError) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var head = SignedChainHead(publicKey: verifyingKey.raw, storeID: storeID, position: position,
                                   signedAtNs: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec), signature: [])
        head.signature = try sign(head.message)
        try head.write(store: store)
    }

    func sign(_ message: [UInt8]) throws(StoreError) -> [UInt8] {
        do {
            return Array(try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: message))
        } catch {
            throw StoreError(.io, "Ed25519 signing failed: \(error)")
        }
    }
}

/// An Ed25519 public key that checks seal signatures (`rearview verify --pubkey FILE`).
public struct SealVerifyingKey: Sendable, Equatable {
    let raw: [UInt8]

    init(raw: [UInt8]) { self.raw = raw }

    /// Loads a public key file (SubjectPublicKeyInfo PEM, as `keygen` and `openssl pkey -pubout` write).
    public init(publicKeyFile path: String) throws(StoreError) {
        let file = try PosixFile(path: path, flags: O_RDONLY)
        raw = try KeyFileFormat.decode(try file.read(count: min(try file.size(), 4096), at: 0), kind: .publicKey, path: path)
    }

    /// `SHA256:` and the first 16 bytes of the SHA-256 of the key, in hex: safe to print, enough to tell keys apart.
    public var fingerprint: String {
        "SHA256:" + SHA256.hash(data: raw).prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    func isValid(_ signature: SealSignature) -> Bool {
        isValid(signature.signature, for: SealSignature.message(segmentHash: signature.segmentHash))
    }

    func isValid(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// The signature over one sealed segment's hash, kept beside the segment as `NNNNNN.rvseg.sig`.
///
/// Layout (136 bytes): magic `RVSIG\0\0\u{1}`, the signer's Ed25519 public key (32 bytes), the segment's
/// SHA-256 as its trailer holds it (32 bytes), the Ed25519 signature (64 bytes). The signed message is
/// the ASCII bytes `rearview-seal-v1` followed by the segment hash; the hash covers the segment header
/// (store id, segment number, previous segment's hash), so a signature also pins the segment's place
/// in the chain. The segment file itself is unchanged: signing never alters the hash chain.
struct SealSignature: Equatable {
    static let magic: [UInt8] = Array("RVSIG".utf8) + [0, 0, 1]
    static let size = 136
    static let suffix = ".sig"
    static let domain: [UInt8] = Array("rearview-seal-v1".utf8)

    var publicKey: [UInt8]
    var segmentHash: [UInt8]
    var signature: [UInt8]

    static func message(segmentHash: [UInt8]) -> [UInt8] { domain + segmentHash }

    static func path(store: String, segment: UInt64) -> String {
        Store.segmentsPath(store) + "/" + name(segment: segment)
    }

    static func name(segment: UInt64) -> String { SegmentFile.name(number: segment, sealed: true) + suffix }

    func encoded() -> [UInt8] { Self.magic + publicKey + segmentHash + signature }

    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> SealSignature {
        guard bytes.count == size else {
            throw StoreError(.damaged, path: path, "signature file has \(bytes.count) bytes, expected \(size)")
        }
        guard Array(bytes[0..<8]) == magic else { throw StoreError(.damaged, path: path, offset: 0, "not a rearview seal signature (bad magic)") }
        return SealSignature(publicKey: Array(bytes[8..<40]), segmentHash: Array(bytes[40..<72]), signature: Array(bytes[72..<136]))
    }

    /// Reads the signature of a segment; nil when the segment has none.
    static func read(store: Store, segment: UInt64) throws(StoreError) -> SealSignature? {
        let name = name(segment: segment)
        guard try store.segmentsDirectory.status(name) != nil else { return nil }
        let file = try store.segmentsDirectory.open(name)
        return try decode(try file.read(count: min(try file.size(), size + 1), at: 0), path: file.path)
    }

    /// Writes the signature durably (temporary file, fsync, rename, directory fsync), replacing an older one.
    func write(store: Store, segment: UInt64) throws(StoreError) {
        try store.segmentsDirectory.replaceFile(Self.name(segment: segment), with: encoded())
    }
}

/// Ed25519 keys as PEM: PKCS#8 for private keys, SubjectPublicKeyInfo for public keys (RFC 8410),
/// so OpenSSL reads rearview's keys and rearview reads OpenSSL's.
enum KeyFileFormat {
    enum Kind {
        case privateKey, publicKey

        var label: String { self == .privateKey ? "PRIVATE KEY" : "PUBLIC KEY" }

        /// The fixed DER prefix before the 32 key bytes.
        var derPrefix: [UInt8] {
            switch self {
            case .privateKey: [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
            case .publicKey: [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
            }
        }
    }

    static func encode(_ key: [UInt8], kind: Kind) -> [UInt8] {
        let base64 = Data(kind.derPrefix + key).base64EncodedString()
        return Array("-----BEGIN \(kind.label)-----\n\(base64)\n-----END \(kind.label)-----\n".utf8)
    }

    /// The 32 key bytes; the error never quotes the file's content.
    static func decode(_ bytes: [UInt8], kind: Kind, path: String) throws(StoreError) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        let begin = "-----BEGIN \(kind.label)-----", end = "-----END \(kind.label)-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex),
              let der = Data(base64Encoded: text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }),
              der.count == kind.derPrefix.count + 32, Array(der.prefix(kind.derPrefix.count)) == kind.derPrefix
        else {
            throw StoreError(.invalidRequest, path: path, "not an Ed25519 \(kind.label.lowercased()) in PEM form (as `rearview keygen` writes)")
        }
        return Array(der.suffix(32))
    }

    /// Creates a new file with `mode` (regardless of the umask); fails if it exists.
    static func create(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(StoreError) {
        let file: PosixFile
        do {
            file = try PosixFile(path: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        } catch {
            if access(path, F_OK) == 0 { throw StoreError(.invalidRequest, path: path, "already exists; refusing to overwrite a key") }
            throw error
        }
        guard fchmod(file.fd, mode) == 0 else { throw StoreError.system("fchmod", path: path) }
        try file.write(bytes, at: 0)
        try file.sync()
    }
}
