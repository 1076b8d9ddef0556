import Glibc

/// Where a store's hash chain ends: its newest sealed segment, that segment's SHA-256, and the events
/// the chain holds up to it.
///
/// `verify` prints it so that an investigator can note it in the case file (`verify --expect-head`
/// checks a copy against the note), and a signing writer signs it at every seal (``SignedChainHead``).
/// The hash pins the whole chain: each segment's hash covers its header, which holds the hash before.
public struct ChainPosition: Sendable, Equatable {
    /// The newest sealed segment's number; 0 before any segment is sealed.
    public var segment: UInt64
    /// That segment's SHA-256 as its trailer holds it (zeros before any segment is sealed).
    public var hash: [UInt8]
    /// Events in the sealed segments 1…`segment`.
    public var events: UInt64

    /// The chain before any segment is sealed.
    public static let start = ChainPosition(segment: 0, hash: [UInt8](repeating: 0, count: 32), events: 0)

    /// The hash in lowercase hex, as `verify` prints it.
    public var hashHex: String { StoreWriter.hex(hash) }

    /// The 32 bytes of a hash given as 64 hex digits (either case), as `verify --expect-head` takes it; nil otherwise.
    public static func hash(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64, digits.allSatisfy({ $0 < 128 && Character(Unicode.Scalar($0)).isHexDigit }) else { return nil }
        return StoreWriter.bytes(hex: text)
    }

    /// The position once `segment`, holding `blocks`, is sealed with `hash` on top of this one.
    func advanced(to segment: UInt64, hash: [UInt8], blocks: [BlockLocation]) -> ChainPosition {
        advanced(to: segment, hash: hash, events: UInt64(blocks.reduce(0) { $0 + $1.eventCount }))
    }

    func advanced(to segment: UInt64, hash: [UInt8], events: UInt64) -> ChainPosition {
        ChainPosition(segment: segment, hash: hash, events: self.events + events)
    }

    /// Every sealed segment's position, in number order, from the segments' footers (hashes not
    /// recomputed) and the retirement ledger's entries for the segments retention removed.
    static func sealedChain(store: Store) throws(StoreError) -> [ChainPosition] {
        var links: [(number: UInt64, hash: [UInt8], events: UInt64)] = []
        let ledger = try RetirementLedger.read(store: store)
        for entry in try StoreWriter.segmentFiles(store) where entry.sealed && ledger?.entry(entry.number) == nil {
            let contents = try SegmentFile.readSealed(try store.segmentsDirectory.open(entry.name))
            links.append((entry.number, contents.sealedHash ?? [], UInt64(contents.blocks.reduce(0) { $0 + $1.eventCount })))
        }
        links += (ledger?.entries ?? []).map { ($0.number, $0.hash, $0.events) }
        var chain: [ChainPosition] = []
        for link in links.sorted(by: { $0.number < $1.number }) {
            chain.append((chain.last ?? .start).advanced(to: link.number, hash: link.hash, events: link.events))
        }
        return chain
    }
}

/// A signing writer's statement of where the chain ended, `segments/head.sig`, signed again at every seal.
///
/// The hash chain alone cannot show that the newest segments were removed: what is left still chains
/// (journald's Forward Secure Sealing had this hole, CVE-2023-31438). The head can: `verify --pubkey`
/// requires the newest sealed segment to be the one the head names, with its hash and event count.
/// It cannot stop a rollback: whoever can write the store can put back an older head together with
/// the segments up to it. The investigator's note of the head (`verify --expect-head`) answers that.
///
/// Layout (176 bytes): magic `RVHEAD\0\u{1}`, the signer's Ed25519 public key (32 bytes), the signed
/// fields (72 bytes: store id, 16 bytes; segment number, u64; segment hash, 32 bytes; events, u64;
/// signing time, unix ns, i64; integers little-endian), the Ed25519 signature (64 bytes) over the ASCII
/// bytes `rearview-head-v1` followed by the signed fields.
public struct SignedChainHead: Sendable, Equatable {
    static let magic: [UInt8] = Array("RVHEAD".utf8) + [0, 1]
    static let size = 176
    static let domain: [UInt8] = Array("rearview-head-v1".utf8)
    static let fileName = "head.sig"

    var publicKey: [UInt8]
    var storeID: [UInt8]
    /// Where the chain ended when the head was signed.
    public var position: ChainPosition
    /// When it was signed (unix ns, by the writer's clock).
    public var signedAtNs: Int64
    var signature: [UInt8]

    /// The key the head names as its signer: anyone can sign a head, so check it against `--pubkey`.
    public var signer: SealVerifyingKey { SealVerifyingKey(raw: publicKey) }

    static func path(store: Store) -> String { store.segmentsDirectory.pathOf(fileName) }

    var signedFields: [UInt8] {
        var w = ByteWriter(capacity: 72)
        w.raw(storeID)
        w.fixed(position.segment)
        w.raw(position.hash)
        w.fixed(position.events)
        w.fixed(signedAtNs)
        return w.bytes
    }

    var message: [UInt8] { Self.domain + signedFields }

    func encoded() -> [UInt8] { Self.magic + publicKey + signedFields + signature }

    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> SignedChainHead {
        guard bytes.count == size else { throw StoreError(.damaged, path: path, "chain head has \(bytes.count) bytes, expected \(size)") }
        guard Array(bytes[0..<8]) == magic else { throw StoreError(.damaged, path: path, offset: 0, "not a rearview chain head (bad magic)") }
        do {
            return try bytes.decoding { (raw) throws(DecodeFailure) -> SignedChainHead in
                var r = ByteReader(raw, offset: 8)
                let publicKey = Array(try r.bytes(32)), storeID = Array(try r.bytes(16))
                let segment = try r.fixed(UInt64.self), hash = Array(try r.bytes(32)), events = try r.fixed(UInt64.self)
                let signedAt = try r.fixed(Int64.self)
                return SignedChainHead(publicKey: publicKey, storeID: storeID, position: ChainPosition(segment: segment, hash: hash, events: events),
                                       signedAtNs: signedAt, signature: Array(try r.bytes(64)))
            }
        } catch {
            throw StoreError(.damaged, path: path, offset: error.offset, error.reason)
        }
    }

    /// Reads the store's chain head; nil when it has none.
    static func read(store: Store) throws(StoreError) -> SignedChainHead? {
        guard try store.segmentsDirectory.status(fileName) != nil else { return nil }
        let file = try store.segmentsDirectory.open(fileName)
        return try decode(try file.read(count: min(try file.size(), size + 1), at: 0), path: file.path)
    }

    /// Writes the head durably, replacing the older one.
    func write(store: Store) throws(StoreError) {
        try store.segmentsDirectory.replaceFile(Self.fileName, with: encoded())
    }

    /// How the head relates to a store's sealed segments (`chain`, as ``ChainPosition/sealedChain(store:)`` reads it).
    enum Agreement: Equatable {
        case matches
        /// Segments were sealed after the head (by a writer without the key, or one stopped before it
        /// signed the head); nothing the head vouches for is missing.
        case behind(String)
        /// The segments contradict the head: some it vouches for were removed or replaced.
        case contradicts(String)
    }

    func agreement(storeID: [UInt8], chain: [ChainPosition]) -> Agreement {
        guard storeID == self.storeID else {
            return .contradicts("the signed head belongs to another store (store id \(StoreWriter.hex(self.storeID)), this store's is \(StoreWriter.hex(storeID)))")
        }
        let newest = chain.last ?? .start
        let head = position.segment
        if head > 0 {
            guard let found = chain.first(where: { $0.segment == head }) else {
                return .contradicts(head > newest.segment
                    ? "truncated: the signed head is segment \(head) but the newest sealed segment is \(newest.segment): \(Self.segments(newest.segment + 1, head)) removed"
                    : "the signed head's segment \(head) is missing")
            }
            if found.hash != position.hash {
                return .contradicts("segment \(head) has another hash than the signed head's \(position.hashHex) (segment replaced)")
            }
            if found.events != position.events {
                return .contradicts("the segments up to \(head) hold \(found.events) events, the signed head says \(position.events)")
            }
        }
        if newest.segment > head {
            return .behind("\(Self.segments(head + 1, newest.segment)) sealed after the signed head (segment \(head)): by a writer without the key, or one stopped before it signed the head")
        }
        return .matches
    }

    private static func segments(_ first: UInt64, _ last: UInt64) -> String {
        first == last ? "segment \(first)" : "segments \(first)…\(last)"
    }

    /// What a signing writer does on opening a store, after recovery. It refuses (rather than sign over
    /// the gap) a store whose head is altered or contradicted by the segments, and a store with a segment
    /// signed by its key but no head of its key (the head was removed, perhaps with the newest segments).
    /// Otherwise it signs a head for the newest sealed segment where the head is missing or behind.
    /// Returns that position, on which the next seal's head builds.
    static func keep(store: Store, storeID: [UInt8], signer: SegmentSigner) throws(StoreError) -> ChainPosition {
        let path = path(store: store)
        let refusal = "; not signing over it: keep this store as evidence (`rearview verify --pubkey`) and write to a new one"
        let chain = try ChainPosition.sealedChain(store: store)
        let newest = chain.last ?? .start
        let existing: SignedChainHead?
        do {
            existing = try read(store: store)
        } catch {
            throw StoreError(.damaged, path: path, error.message + refusal)
        }
        if let existing {
            guard existing.signer.isValid(existing.signature, for: existing.message) else {
                throw StoreError(.damaged, path: path, "not a valid signature by the key it names (altered chain head)" + refusal)
            }
            if case .contradicts(let why) = existing.agreement(storeID: storeID, chain: chain) {
                throw StoreError(.damaged, path: path, why + refusal)
            }
        }
        let key = signer.verifyingKey
        if existing?.publicKey != key.raw {
            for position in chain {
                guard let signature = try? SealSignature.read(store: store, segment: position.segment),
                      signature.publicKey == key.raw, key.isValid(signature) else { continue }
                throw StoreError(.damaged, path: path, (existing == nil ? "missing" : "signed by another key")
                    + ", although segment \(position.segment) is signed by \(key.fingerprint) (chain head removed or replaced)" + refusal)
            }
        }
        if existing?.publicKey != key.raw || existing?.position != newest {
            try signer.writeHead(store: store, storeID: storeID, position: newest)
        }
        return newest
    }
}
