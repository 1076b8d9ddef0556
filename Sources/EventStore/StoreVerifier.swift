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

/// Checks a store's evidence: every block's checksums, every sealed segment's SHA-256, the hash chain
/// from segment to segment, the index against the segments, and optionally the seal signatures. Read-only.
public enum StoreVerifier {
    /// Returns every problem found; an empty array means the store verifies. With `signedBy`, every
    /// sealed segment must also carry a valid signature by that key (see ``SegmentSigner``).
    public static func verify(_ store: Store, signedBy key: SealVerifyingKey? = nil) throws(StoreError) -> [IntegrityProblem] {
        var problems: [IntegrityProblem] = []
        let directory = Store.segmentsPath(store.path)
        let indexed = try store.segments()
        let indexedByNumber = Dictionary(uniqueKeysWithValues: indexed.map { ($0.number, $0) })
        let blocksBySegment = Dictionary(grouping: try store.blocks(), by: \.segment)
        let files = try StoreWriter.segmentFiles(store)
        var previousHash = [UInt8](repeating: 0, count: 32)
        var expectedNumber: UInt64 = 1
        for entry in files {
            let path = directory + "/" + entry.name
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
                    if let key, let problem = try signatureProblem(store: store, segment: entry.number, hash: stored, key: key) {
                        problems.append(IntegrityProblem(path: path, message: problem))
                    }
                } else if let reason = contents.tornTailReason {
                    problems.append(IntegrityProblem(path: path, offset: contents.validLength, message: "open segment with a torn tail: \(reason) (a writer will recover it)"))
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
        let present = Set(files.map(\.number))
        for segment in indexed where !present.contains(segment.number) {
            problems.append(IntegrityProblem(path: directory + "/" + SegmentFile.name(number: segment.number, sealed: segment.sealed),
                                             message: "segment listed in the index is missing"))
        }
        return problems
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
        let valid = key.isValid(signature)
        switch (valid, signature.publicKey == key.raw) {
        case (true, true): return nil
        case (true, false): return "\(name) is a valid signature by \(key.fingerprint) but names another key (altered signature file)"
        case (false, false): return "signed by another key (\(SealVerifyingKey(raw: signature.publicKey).fingerprint)), not \(key.fingerprint)"
        case (false, true): return "\(name) is not a valid signature by \(key.fingerprint) (altered signature)"
        }
    }
}
