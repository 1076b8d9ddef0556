import EventModel

/// Why retention removed a segment.
public enum RetirementReason: UInt8, Sendable, CustomStringConvertible {
    /// All its events were older than a recorder's `--retain` window.
    case retainWindow = 1
    /// The store was over a recorder's `--max-size` budget.
    case sizeBudget = 2
    /// `rearview prune --before`.
    case prunedBefore = 3
    /// `rearview prune --keep-size`.
    case prunedToSize = 4

    public var description: String {
        switch self {
        case .retainWindow: "retention (--retain)"
        case .sizeBudget: "the disk budget (--max-size)"
        case .prunedBefore: "prune --before"
        case .prunedToSize: "prune --keep-size"
        }
    }
}

/// A sealed segment that retention removed: what the hash chain, the sequence numbers and a reader
/// of the history still need to know of it.
public struct RetiredSegment: Sendable, Equatable {
    public var number: UInt64
    /// Its SHA-256, as its trailer held it: the next segment's header must hold it.
    public var hash: [UInt8]
    /// The hash its own header held (the segment before it).
    public var previousHash: [UInt8]
    public var events: UInt64
    public var bytes: UInt64
    /// Its oldest and newest event (unix ns).
    public var firstTimeNs: Int64
    public var lastTimeNs: Int64
    /// The Seq after its last event: sequence numbers are never given out twice.
    public var nextSeq: UInt64
    public var retiredAtNs: Int64
    public var reason: RetirementReason
}

/// Consecutive retired segments retired for one reason: how `verify` and `info` report them.
public struct RetiredRun: Sendable, Equatable, CustomStringConvertible {
    public var first: UInt64
    public var last: UInt64
    public var events: UInt64
    public var firstTimeNs: Int64
    public var lastTimeNs: Int64
    public var reason: RetirementReason
    /// When the last of them was retired.
    public var retiredAtNs: Int64

    public var description: String {
        let segments = first == last ? "segment \(first)" : "segments \(first)–\(last)"
        return "\(segments) retired by \(reason) at \(UnixTime.rfc3339Micro(retiredAtNs)): \(events) event(s) "
            + "\(UnixTime.rfc3339Micro(firstTimeNs)) .. \(UnixTime.rfc3339Micro(lastTimeNs))"
    }
}

/// The store's record of the segments retention removed, `segments/retired.ledger`: the anchor from
/// which `verify` proves that the segments left are the rest of the same chain.
///
/// Each retired segment keeps its hash and the hash before it, so the first segment after a retired
/// one is checked against it as against the segment itself; a segment that is missing and not in the
/// ledger is damage as before. A signing writer signs the ledger (the hash chain alone cannot tell a
/// retirement from a deletion): `verify --pubkey` requires that signature once the ledger lists any.
///
/// Layout (little-endian): magic `RVRETIR\u{1}`, store id (16 bytes), entry count u32, flags u32
/// (1: signed); per entry 128 bytes: number u64, hash (32), previous hash (32), events u64, bytes u64,
/// first time i64, last time i64, next Seq u64, retired at i64, reason u8, 7 zero bytes; when signed,
/// the signer's Ed25519 public key (32) and the signature (64) over the ASCII bytes
/// `rearview-retired-v1` followed by every byte before the key.
public struct RetirementLedger: Sendable {
    static let fileName = "retired.ledger"
    static let magic: [UInt8] = Array("RVRETIR".utf8) + [1]
    static let domain: [UInt8] = Array("rearview-retired-v1".utf8)
    static let headerSize = 32, entrySize = 128, signatureSize = 96

    /// In number order.
    public private(set) var entries: [RetiredSegment]
    var storeID: [UInt8]
    private var signature: (publicKey: [UInt8], signature: [UInt8])?

    init(storeID: [UInt8], entries: [RetiredSegment] = []) {
        self.storeID = storeID
        self.entries = entries
    }

    /// The key the ledger names as its signer (anyone can sign: check it against `--pubkey`); nil when unsigned.
    public var signer: SealVerifyingKey? { signature.map { SealVerifyingKey(raw: $0.publicKey) } }

    /// Whether `key` signed exactly these entries.
    func isSigned(by key: SealVerifyingKey) -> Bool {
        guard let signature, signature.publicKey == key.raw else { return false }
        return key.isValid(signature.signature, for: Self.domain + body(signed: true))
    }

    /// The entry of segment `number`, if it was retired.
    public func entry(_ number: UInt64) -> RetiredSegment? {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].number < number { low = mid + 1 } else { high = mid }
        }
        return low < entries.count && entries[low].number == number ? entries[low] : nil
    }

    /// The entries as runs of consecutive numbers with one reason.
    public var runs: [RetiredRun] {
        var runs: [RetiredRun] = []
        for e in entries {
            if var run = runs.last, run.last + 1 == e.number, run.reason == e.reason {
                run.last = e.number
                run.events += e.events
                run.firstTimeNs = min(run.firstTimeNs, e.firstTimeNs)
                run.lastTimeNs = max(run.lastTimeNs, e.lastTimeNs)
                run.retiredAtNs = max(run.retiredAtNs, e.retiredAtNs)
                runs[runs.count - 1] = run
            } else {
                runs.append(RetiredRun(first: e.number, last: e.number, events: e.events, firstTimeNs: e.firstTimeNs,
                                       lastTimeNs: e.lastTimeNs, reason: e.reason, retiredAtNs: e.retiredAtNs))
            }
        }
        return runs
    }

    /// Adds newly retired segments (none already listed) and signs the result with `signer`
    /// (unsigned without one).
    mutating func add(_ retired: [RetiredSegment], signedBy signer: SegmentSigner?) throws(StoreError) {
        precondition(Set(retired.map(\.number)).isDisjoint(with: entries.map(\.number)), "a segment retired twice")
        entries = (entries + retired).sorted { $0.number < $1.number }
        signature = nil
        if let signer {
            signature = (signer.verifyingKey.raw, try signer.sign(Self.domain + body(signed: true)))
        }
    }

    /// Every byte before the signature; `signed` sets the flag that says one follows.
    private func body(signed: Bool) -> [UInt8] {
        var w = ByteWriter(capacity: Self.headerSize + entries.count * Self.entrySize)
        w.raw(Self.magic)
        w.raw(storeID)
        w.fixed(UInt32(entries.count))
        w.fixed(UInt32(signed ? 1 : 0))
        for e in entries {
            w.fixed(e.number)
            w.raw(e.hash)
            w.raw(e.previousHash)
            w.fixed(e.events)
            w.fixed(e.bytes)
            w.fixed(e.firstTimeNs)
            w.fixed(e.lastTimeNs)
            w.fixed(e.nextSeq)
            w.fixed(e.retiredAtNs)
            w.fixed(e.reason.rawValue)
            w.raw([UInt8](repeating: 0, count: 7))
        }
        return w.bytes
    }

    func encoded() -> [UInt8] { body(signed: signature != nil) + (signature.map { $0.publicKey + $0.signature } ?? []) }

    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> RetirementLedger {
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == magic else {
            throw StoreError(.damaged, path: path, offset: 0, "not a rearview retirement ledger (bad magic)")
        }
        do {
            return try bytes.decoding { (raw) throws(DecodeFailure) -> RetirementLedger in
                var r = ByteReader(raw, offset: 8)
                let storeID = Array(try r.bytes(16))
                let count = Int(try r.fixed(UInt32.self)), flags = try r.fixed(UInt32.self)
                let expected = headerSize + count * entrySize + (flags & 1 == 1 ? signatureSize : 0)
                guard bytes.count == expected else {
                    throw DecodeFailure(offset: 24, reason: "retirement ledger of \(count) entries has \(bytes.count) bytes, expected \(expected)")
                }
                var ledger = RetirementLedger(storeID: storeID)
                for i in 0..<count {
                    let offset = headerSize + i * entrySize
                    let number = try r.fixed(UInt64.self)
                    let hash = Array(try r.bytes(32)), previous = Array(try r.bytes(32))
                    let events = try r.fixed(UInt64.self), size = try r.fixed(UInt64.self)
                    let first = try r.fixed(Int64.self), last = try r.fixed(Int64.self)
                    let nextSeq = try r.fixed(UInt64.self), retiredAt = try r.fixed(Int64.self)
                    let code = try r.fixed(UInt8.self)
                    _ = try r.bytes(7)
                    guard let reason = RetirementReason(rawValue: code) else {
                        throw DecodeFailure(offset: offset + 120, reason: "unknown retirement reason \(code)")
                    }
                    guard ledger.entries.last.map({ $0.number < number }) ?? (number > 0) else {
                        throw DecodeFailure(offset: offset, reason: "retired segment \(number) out of order")
                    }
                    ledger.entries.append(RetiredSegment(number: number, hash: hash, previousHash: previous, events: events, bytes: size,
                                                         firstTimeNs: first, lastTimeNs: last, nextSeq: nextSeq,
                                                         retiredAtNs: retiredAt, reason: reason))
                }
                if flags & 1 == 1 { ledger.signature = (Array(try r.bytes(32)), Array(try r.bytes(64))) }
                return ledger
            }
        } catch {
            throw StoreError(.damaged, path: path, offset: error.offset, error.reason)
        }
    }

    /// The store's ledger; nil when nothing was ever retired.
    static func read(store: Store) throws(StoreError) -> RetirementLedger? {
        guard let bytes = try store.segmentsDirectory.readFile(fileName, maxBytes: 1 << 30) else { return nil }
        return try decode(bytes, path: store.segmentsDirectory.pathOf(fileName))
    }

    /// Writes the ledger durably, replacing the older one.
    func write(store: Store) throws(StoreError) {
        try store.segmentsDirectory.replaceFile(Self.fileName, with: encoded())
    }
}

extension Store {
    /// What retention removed from this store; nil when it never removed anything.
    public func retirementLedger() throws(StoreError) -> RetirementLedger? { try RetirementLedger.read(store: self) }
}
