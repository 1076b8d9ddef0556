import EventModel
import Glibc

/// One thing wrong with a store, located as precisely as possible.
public struct IntegrityProblem: Sendable, CustomStringConvertible, Equatable {
    public var path: String
    public var offset: Int?
    public var message: String

    public var description: String {
        offset.map { "\(path): offset \($0): \(message)" } ?? "\(path): \(message)"
    }
}

/// What ``StoreVerifier`` found: the problems, where the chain ends, and what is not sealed yet.
public struct VerificationReport: Sendable {
    /// A segment still being written: its events are not covered by a segment hash or signature yet.
    public struct OpenSegment: Sendable, Equatable {
        public var path: String
        /// Events in its complete blocks (a torn tail is reported as a problem).
        public var events: Int
    }

    /// Every problem found; empty when the store verifies.
    public var problems: [IntegrityProblem] = []
    /// Where the chain of sealed segments ends, as the segments say: what to note in the case file.
    public var head = ChainPosition.start
    /// The store's signed chain head, when it has a readable one (checked only against a key).
    public var signedHead: SignedChainHead?
    public var openSegments: [OpenSegment] = []
    /// With an expected head: the sealed segment that has that hash (nil when none has it).
    public var expectedHead: ChainPosition?
    /// The segments retention removed, as the retirement ledger lists them.
    public var retired: [RetiredRun] = []
    /// The key the retirement ledger names as its signer (checked only against `--pubkey`).
    public var retirementSigner: SealVerifyingKey?
    /// Segments the ledger lists whose files a killed writer had not removed yet (the next writer does).
    public var pendingRetirements: [UInt64] = []
}

/// Checks a store's evidence: every block's checksums, every sealed segment's SHA-256, the hash chain
/// from segment to segment, the index against the segments, and optionally the seal signatures and
/// the signed chain head. Read-only.
public enum StoreVerifier {
    /// Returns every problem found; an empty array means the store verifies (see ``check(_:signedBy:expectingHead:)``).
    public static func verify(_ store: Store, signedBy key: SealVerifyingKey? = nil) throws(StoreError) -> [IntegrityProblem] {
        try check(store, signedBy: key).problems
    }

    /// Verifies the store. With `signedBy`, every sealed segment must also carry a valid signature by
    /// that key (see ``SegmentSigner``), and the store a chain head signed by it that names its newest
    /// sealed segment (a head ahead of the segments is a truncation). With `expectingHead` (a segment
    /// hash noted earlier), one of the sealed segments must have that hash: the chain up to the note is intact.
    public static func check(_ store: Store, signedBy key: SealVerifyingKey? = nil,
                             expectingHead expected: [UInt8]? = nil) throws(StoreError) -> VerificationReport {
        var report = VerificationReport()
        var chain: [ChainPosition] = []
        var problems: [IntegrityProblem] = []
        // Read before the segments are listed and again after the walk: a writer sealing meanwhile moves it on.
        let headBefore = Result { () throws(StoreError) in try SignedChainHead.read(store: store) }
        let directory = Store.segmentsPath(store.path)
        let indexed = try store.segments()
        let indexedByNumber = Dictionary(uniqueKeysWithValues: indexed.map { ($0.number, $0) })
        let blocksBySegment = Dictionary(grouping: try store.blocks(), by: \.segment)
        let files = try StoreWriter.segmentFiles(store)
        let ledgerPath = store.segmentsDirectory.pathOf(RetirementLedger.fileName)
        var ledger: RetirementLedger?
        do {
            ledger = try RetirementLedger.read(store: store)
        } catch {
            problems.append(IntegrityProblem(path: ledgerPath, offset: error.offset, message: error.message))
        }
        report.retired = ledger?.runs ?? []
        report.retirementSigner = ledger?.signer
        var retiredLeft = ledger?.entries[...] ?? []
        var previousHash = [UInt8](repeating: 0, count: 32)
        var expectedNumber: UInt64 = 1
        /// A retired segment takes its place in the chain from its ledger entry.
        func link(_ retired: RetiredSegment) {
            if retired.number > expectedNumber {
                problems.append(IntegrityProblem(path: directory + "/" + SegmentFile.name(number: retired.number, sealed: true),
                                                 message: "segment(s) \(expectedNumber)…\(retired.number - 1) missing before this retired one"))
            }
            if retired.previousHash != previousHash {
                problems.append(IntegrityProblem(path: ledgerPath, message: "hash chain broken: retired segment \(retired.number)'s previous-segment hash does not match the segment before it (altered ledger or segment)"))
            }
            previousHash = retired.hash
            expectedNumber = retired.number + 1
            chain.append((chain.last ?? .start).advanced(to: retired.number, hash: retired.hash, events: retired.events))
        }
        for entry in files {
            while let next = retiredLeft.first, next.number < entry.number {
                link(next)
                retiredLeft.removeFirst()
            }
            let path = directory + "/" + entry.name
            if let retired = retiredLeft.first, retired.number == entry.number {
                // Retired, its file not removed yet: the ledger's hash must be the file's.
                retiredLeft.removeFirst()
                report.pendingRetirements.append(entry.number)
                if entry.sealed, let hash = try? SegmentFile.readSealed(try store.segmentsDirectory.open(entry.name)).sealedHash, hash != retired.hash {
                    problems.append(IntegrityProblem(path: path, message: "the retirement ledger holds another hash for this segment (altered ledger or segment)"))
                }
                link(retired)
                continue
            }
            if entry.number != expectedNumber {
                problems.append(IntegrityProblem(path: path, message: entry.number > expectedNumber
                    ? "segment(s) \(expectedNumber)…\(entry.number - 1) missing before this one"
                    : "duplicate segment number \(entry.number)"))
            }
            expectedNumber = entry.number + 1
            do {
                let file = try store.segmentsDirectory.open(entry.name)
                let contents = entry.sealed ? try SegmentFile.readSealed(file) : try SegmentFile.scanOpen(file)
                if contents.header.number != entry.number {
                    problems.append(IntegrityProblem(path: path, offset: 0, message: "header says segment \(contents.header.number), file name says \(entry.number) (renamed or reordered)"))
                }
                if contents.header.previousHash != previousHash {
                    problems.append(IntegrityProblem(path: path, offset: 40, message: "hash chain broken: previous-segment hash does not match the segment before it (missing, reordered or altered segment)"))
                }
                if let stored = contents.sealedHash {
                    let actual = try SegmentFile.sha256(file, length: contents.fileLength - 40)
                    if actual != stored {
                        problems.append(IntegrityProblem(path: path, message: "SHA-256 mismatch: the sealed segment was altered"))
                    }
                    previousHash = stored
                    chain.append((chain.last ?? .start).advanced(to: entry.number, hash: stored, blocks: contents.blocks))
                    if let key, let problem = try signatureProblem(store: store, segment: entry.number, hash: stored, key: key) {
                        problems.append(IntegrityProblem(path: path, message: problem))
                    }
                } else {
                    report.openSegments.append(.init(path: path, events: contents.blocks.reduce(0) { $0 + $1.eventCount }))
                    if let reason = contents.tornTailReason {
                        problems.append(IntegrityProblem(path: path, offset: contents.validLength, message: "open segment with a torn tail: \(reason) (a writer will recover it)"))
                    }
                }
                for location in contents.blocks {
                    do {
                        _ = try SegmentFile.readBlock(file, location)
                    } catch {
                        problems.append(IntegrityProblem(path: path, offset: error.offset, message: error.message))
                    }
                }
                let indexedBlocks = Set((blocksBySegment[entry.number] ?? []).map(\.location))
                if entry.sealed || indexedByNumber[entry.number] != nil {
                    for location in contents.blocks where !indexedBlocks.contains(location) {
                        problems.append(IntegrityProblem(path: Store.indexPath(store.path), message: "block at offset \(location.offset) of \(entry.name) is missing from the index or differs from it"))
                    }
                    for location in indexedBlocks.subtracting(contents.blocks) {
                        problems.append(IntegrityProblem(path: Store.indexPath(store.path), message: "index lists a block at offset \(location.offset) of \(entry.name) that the segment does not have"))
                    }
                }
                if let row = indexedByNumber[entry.number], let stored = contents.sealedHash, row.hash != stored {
                    problems.append(IntegrityProblem(path: Store.indexPath(store.path), message: "index holds a different hash for \(entry.name)"))
                }
            } catch {
                problems.append(IntegrityProblem(path: error.path ?? path, offset: error.offset, message: error.message))
            }
        }
        for retired in retiredLeft { link(retired) }
        if let ledger, !ledger.entries.isEmpty, let key, !ledger.isSigned(by: key) {
            let runs = ledger.runs.map { $0.first == $0.last ? "segment \($0.first)" : "segments \($0.first)–\($0.last)" }.joined(separator: ", ")
            let why = ledger.signer.map { $0 == key ? "its signature is not valid (altered ledger)" : "it is signed by another key (\($0.fingerprint)), not \(key.fingerprint)" }
                ?? "it is not signed"
            problems.append(IntegrityProblem(path: ledgerPath, message: "the retirement ledger does not prove that retention removed \(runs): \(why)"))
        }
        let present = Set(files.map(\.number)).union(ledger?.entries.map(\.number) ?? [])
        for segment in indexed where !present.contains(segment.number) {
            problems.append(IntegrityProblem(path: directory + "/" + SegmentFile.name(number: segment.number, sealed: segment.sealed),
                                             message: "segment listed in the index is missing"))
        }
        report.head = chain.last ?? .start
        let headAfter = Result { () throws(StoreError) in try SignedChainHead.read(store: store) }
        report.signedHead = try? headAfter.get()
        if let key, let problem = try headProblem(headAfter, store: store, chain: chain, key: key),
           try headProblem(headBefore, store: store, chain: chain, key: key) != nil {
            problems.append(IntegrityProblem(path: SignedChainHead.path(store: store), message: problem))
        }
        if let expected {
            report.expectedHead = chain.first { $0.hash == expected }
            if report.expectedHead == nil {
                problems.append(IntegrityProblem(path: store.path, message: "the expected head \(StoreWriter.hex(expected)) is not a sealed segment of this store (its head is segment \(report.head.segment), \(report.head.hashHex)): segments removed or replaced since it was noted, or another store"))
            }
        }
        report.problems = problems
        return report
    }

    /// Why a sealed segment's signature does not show that `key` sealed it; nil when it does.
    private static func signatureProblem(store: Store, segment: UInt64, hash: [UInt8], key: SealVerifyingKey) throws(StoreError) -> String? {
        let name = SegmentFile.name(number: segment, sealed: true) + SealSignature.suffix
        let signature: SealSignature
        do {
            guard let found = try SealSignature.read(store: store, segment: segment) else { return "not signed (no \(name))" }
            signature = found
        } catch {
            return "unreadable signature: \(error.message)"
        }
        if signature.segmentHash != hash { return "\(name) signs a different segment hash (segment resealed or signature copied from another)" }
        return keyProblem(name, valid: key.isValid(signature), naming: signature.publicKey, key: key)
    }

    /// Why the chain head (as read) does not show that `key` vouches for the newest sealed segment; nil when it does.
    private static func headProblem(_ read: Result<SignedChainHead?, StoreError>, store: Store, chain: [ChainPosition],
                                    key: SealVerifyingKey) throws(StoreError) -> String? {
        let head: SignedChainHead
        do {
            guard let found = try read.get() else {
                return "no signed chain head: the removal of the newest segments cannot be ruled out"
            }
            head = found
        } catch {
            return "unreadable chain head: \(error.message)"
        }
        if let problem = keyProblem(SignedChainHead.fileName, valid: key.isValid(head.signature, for: head.message), naming: head.publicKey, key: key) {
            return problem
        }
        switch head.agreement(storeID: StoreWriter.bytes(hex: try store.storeID()), chain: chain) {
        case .matches: return nil
        case .behind(let why), .contradicts(let why): return why
        }
    }

    /// Why a signature that is `valid` (or not) by `key`, in a file `name` that names `signer`, does not
    /// show that `key` made it; nil when it does.
    private static func keyProblem(_ name: String, valid: Bool, naming signer: [UInt8], key: SealVerifyingKey) -> String? {
        switch (valid, signer == key.raw) {
        case (true, true): nil
        case (true, false): "\(name) is a valid signature by \(key.fingerprint) but names another key (altered signature file)"
        case (false, false): "signed by another key (\(SealVerifyingKey(raw: signer).fingerprint)), not \(key.fingerprint)"
        case (false, true): "\(name) is not a valid signature by \(key.fingerprint) (altered signature)"
        }
    }
}
