import EventModel
import Foundation
import GRDB
import Testing
@testable import EventStore

/// Attacks on the store directory by another local user (or by a store copied off a compromised
/// host): planted directories and links, shared modes, FIFOs, an index from elsewhere.
@Suite struct StoreTrustTests {
    static let isRoot = geteuid() == 0
    /// `nobody`: the other user the attacks run as.
    static let otherUID: uid_t = 65534

    /// A file outside the store that an attack aims at, and what it held before.
    struct Victim {
        let path: String
        let bytes: Data
        let mode: mode_t

        init(_ path: String, _ text: String = "the victim's own bytes\n") throws {
            self.path = path
            bytes = Data(text.utf8)
            try bytes.write(to: URL(fileURLWithPath: path))
            chmod(path, 0o644)
            mode = 0o644
        }

        /// Whether the file still holds exactly what it held, with its mode.
        var untouched: Bool {
            var st = stat()
            return stat(path, &st) == 0 && st.st_mode & 0o7777 == mode && FileManager.default.contents(atPath: path) == bytes
        }
    }

    func makeStore(_ path: String, events: Int = 300, signer: SegmentSigner? = nil) throws {
        var options = WriterOptions()
        options.signer = signer
        let writer = try StoreWriter(path: path, options: options)
        var factory = EventFactory(seed: 15)
        try writer.append(factory.events(events))
        try writer.close()
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    func untrusted(_ body: () throws -> Void) -> StoreError? {
        do {
            try body()
            return nil
        } catch let error as StoreError {
            return error
        } catch {
            return StoreError(.io, "\(error)")
        }
    }

    @Test func newStoreDirectoriesAreOwnerOnlyAndItsFilesMode0600() throws {
        let tmp = TemporaryDirectory()
        let keys = TemporaryDirectory()
        try SegmentSigner.generateKeyFiles(privateKeyPath: keys.path + "/seal.key")
        let store = tmp.path + "/cases/incident"
        try makeStore(store, signer: try SegmentSigner(privateKeyFile: keys.path + "/seal.key"))
        let input = tmp.path + "/bad.ndjson"
        try Data("{\"Timestamp\":1717150000,\"HostName\":\"h\",\"HostPID\":\"x\"}\n".utf8).write(to: URL(fileURLWithPath: input))
        let report = try Importer(storePath: store).run(files: [input])
        #expect(report.rejectFiles.count == 1)

        for directory in [tmp.path + "/cases", store, store + "/segments", store + "/rejects"] {
            #expect(mode(directory) == 0o700, "\(directory)")
        }
        var files = try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasPrefix("index.sqlite") }.map { store + "/" + $0 }
        files += try FileManager.default.contentsOfDirectory(atPath: store + "/segments").map { store + "/segments/" + $0 }
        files += try FileManager.default.contentsOfDirectory(atPath: store + "/rejects").map { store + "/rejects/" + $0 }
        #expect(files.contains { $0.hasSuffix(".rvseg.sig") })
        #expect(files.contains { $0.hasSuffix(".reasons") })
        for file in files { #expect(mode(file) == 0o600, "\(file)") }
        // The writer took its lock on the directory: no lock file.
        #expect(!FileManager.default.fileExists(atPath: store + "/lock"))
    }

    @Test(.enabled(if: isRoot, "chown needs root")) func aStoreAnotherUserMadeIsRefusedAndItsLinksAreNotFollowed() throws {
        let tmp = TemporaryDirectory()
        let victim = try Victim(tmp.path + "/victim")
        let store = tmp.path + "/incident"
        // What a local user does before root runs `record --store …/incident`.
        try FileManager.default.createDirectory(atPath: store + "/segments", withIntermediateDirectories: true)
        for link in ["lock", "index.sqlite", "segments/000001.rvseg.sig.tmp", "segments/000001.rvseg.open"] {
            #expect(symlink(victim.path, store + "/" + link) == 0)
            lchown(store + "/" + link, Self.otherUID, Self.otherUID)
        }
        chown(store + "/segments", Self.otherUID, Self.otherUID)
        chown(store, Self.otherUID, Self.otherUID)

        let error = try #require(untrusted { try makeStore(store) })
        #expect(error.code == .untrusted)
        #expect(error.description == "\(store): owned by uid 65534, not by the user running rearview (uid 0); refusing to write into a directory another user controls")
        #expect(victim.untouched)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).sorted() == ["index.sqlite", "lock", "segments"])
        // A reader of that directory does not follow its links either.
        let read = try #require(untrusted { _ = try Store.open(store) })
        #expect(read.description == "\(store)/index.sqlite: is a symbolic link; rearview does not follow links in a store")
        #expect(victim.untouched)
    }

    @Test(.enabled(if: isRoot, "chown needs root")) func aReaderReadsAStoreOfAnotherUserThatOnlyItsOwnerCanWrite() throws {
        let tmp = TemporaryDirectory()
        let store = tmp.path + "/copied"
        try makeStore(store)
        for path in [store, store + "/segments"] { chown(path, Self.otherUID, Self.otherUID) }
        #expect(try Store.open(store).summary().events == 300)
        #expect(try StoreVerifier.verify(try Store.open(store)).isEmpty)
        // Writing into it is another matter.
        #expect(untrusted { try makeStore(store) }?.code == .untrusted)
    }

    @Test func aStoreOthersCanWriteIsRefusedByWritersAndReaders() throws {
        let tmp = TemporaryDirectory()
        let store = tmp.path + "/shared"
        try makeStore(store)
        chmod(store, 0o775)
        let message = "\(store): writable by group (mode 775); refusing a store other users can change (chmod go-w it)"
        #expect(untrusted { try makeStore(store) }?.description == message)
        #expect(untrusted { _ = try Store.open(store) }?.description == message)
        chmod(store, 0o700)
        chmod(store + "/segments", 0o1777)
        #expect(untrusted { _ = try Store.open(store) }?.description
                == "\(store)/segments: writable by group and others (mode 1777); refusing a store other users can change (chmod go-w it)")
        #expect(untrusted { try makeStore(store) }?.code == .untrusted)
        chmod(store + "/segments", 0o700)
        #expect(try Store.open(store).summary().events == 300)
    }

    @Test func aStorePathThatIsASymbolicLinkIsRefused() throws {
        let tmp = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: tmp.path + "/etc", withIntermediateDirectories: true)
        #expect(symlink(tmp.path + "/etc", tmp.path + "/incident") == 0)
        let error = try #require(untrusted { try makeStore(tmp.path + "/incident") })
        #expect(error.description == "\(tmp.path)/incident: is a symbolic link; rearview does not follow links in a store (give the real path)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/etc").isEmpty)
    }

    @Test func aSymlinkedIndexIsRefusedAndTheDatabaseItPointsAtIsUntouched() throws {
        let tmp = TemporaryDirectory()
        // The victim is an SQLite database: one a writer that followed the link would migrate.
        let victimPath = tmp.path + "/app.db"
        try DatabaseQueue(path: victimPath).write { db in try db.execute(sql: "CREATE TABLE accounts(name TEXT)") }
        let before = try #require(FileManager.default.contents(atPath: victimPath))
        let store = tmp.path + "/store"
        try makeStore(store)
        for suffix in ["", "-wal", "-shm"] { unlink(store + "/index.sqlite" + suffix) }
        #expect(symlink(victimPath, store + "/index.sqlite") == 0)
        for open in [{ try makeStore(store) }, { _ = try Store.open(store) }] {
            let error = try #require(untrusted(open))
            #expect(error.code == .untrusted)
            #expect(error.description == "\(store)/index.sqlite: is a symbolic link; rearview does not follow links in a store")
        }
        #expect(FileManager.default.contents(atPath: victimPath) == before)
        // `reindex` replaces the index: it removes the link itself, and builds a real index.
        _ = try Store.reindex(store)
        #expect(FileManager.default.contents(atPath: victimPath) == before)
        #expect(mode(store + "/index.sqlite") == 0o600)
        // The same for the write-ahead log beside a real index.
        unlink(store + "/index.sqlite-wal")
        let victim = try Victim(tmp.path + "/victim")
        #expect(symlink(victim.path, store + "/index.sqlite-wal") == 0)
        #expect(untrusted { try makeStore(store) }?.description == "\(store)/index.sqlite-wal: is a symbolic link; rearview does not follow links in a store")
        #expect(victim.untouched)
    }

    @Test func aSymlinkedLockIsNeverOpened() throws {
        let tmp = TemporaryDirectory()
        let store = tmp.path + "/store"
        try makeStore(store)
        // Opened with O_CREAT through the link, it would create this file wherever the link points.
        let target = tmp.path + "/cron.d/lock"
        try FileManager.default.createDirectory(atPath: tmp.path + "/cron.d", withIntermediateDirectories: true)
        #expect(symlink(target, store + "/lock") == 0)
        try makeStore(store)
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(try Store.open(store).summary().events == 600)
    }

    @Test func aSymlinkedSignatureTemporaryIsNotWrittenThrough() throws {
        let tmp = TemporaryDirectory()
        let keys = TemporaryDirectory()
        let publicKey = try SegmentSigner.generateKeyFiles(privateKeyPath: keys.path + "/seal.key")
        let signer = try SegmentSigner(privateKeyFile: keys.path + "/seal.key")
        let victim = try Victim(tmp.path + "/victim")
        let store = tmp.path + "/store"
        try makeStore(store, signer: signer)
        // The temporary name the signer used to open with O_CREAT | O_TRUNC, for the next segment.
        #expect(symlink(victim.path, store + "/segments/000002.rvseg.sig.tmp") == 0)
        try makeStore(store, signer: signer)
        #expect(victim.untouched)
        #expect(mode(store + "/segments/000002.rvseg.sig") == 0o600)
        #expect(try StoreVerifier.verify(try Store.open(store), signedBy: publicKey).isEmpty)
    }

    @Test(.timeLimit(.minutes(1))) func aFIFOInPlaceOfASegmentIsRefusedWithoutWaitingForAWriter() throws {
        let tmp = TemporaryDirectory()
        let store = tmp.path + "/store"
        try makeStore(store)
        let segment = store + "/segments/000001.rvseg"
        unlink(segment)
        #expect(mkfifo(segment, 0o600) == 0)
        let opened = try Store.open(store)
        let block = try #require(try opened.blocks().first)
        let error = try #require(untrusted { _ = try opened.batch(in: block) })
        #expect(error.description == "\(segment): is not a regular file")
        #expect(try StoreVerifier.verify(opened).contains { $0.description == "\(segment): is not a regular file" })
    }

    @Test func sqliteRefusesADatabasePathThroughASymbolicLink() throws {
        let tmp = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: tmp.path + "/real", withIntermediateDirectories: true)
        #expect(symlink(tmp.path + "/real", tmp.path + "/link") == 0)
        #expect(IndexHardening.noFollowVFS)
        #expect(throws: DatabaseError.self) { _ = try DatabaseQueue(path: tmp.path + "/link/index.sqlite") }
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/real/index.sqlite"))
        _ = try DatabaseQueue(path: tmp.path + "/real/index.sqlite")
    }

    @Test func theIndexIsOpenedDefensively() throws {
        let tmp = TemporaryDirectory()
        try makeStore(tmp.path)
        for readOnly in [false, true] {
            let index = try StoreIndex(directory: try DirectoryHandle(path: tmp.path, trust: .owned), readOnly: readOnly)
            #expect(try index.db.read { db in try Int.fetchOne(db, sql: "PRAGMA trusted_schema") } == 0)
        }
        // A connection that may write cannot rewrite the schema behind SQLite's back.
        let index = try StoreIndex(directory: try DirectoryHandle(path: tmp.path, trust: .owned), readOnly: false)
        #expect(throws: DatabaseError.self) {
            try index.db.write { db in
                try db.execute(sql: "PRAGMA writable_schema = ON")
                try db.execute(sql: "UPDATE sqlite_master SET sql = 'CREATE TABLE meta(x)' WHERE name = 'meta'")
            }
        }
        #expect(try Store.open(tmp.path).storeID().count == 32)
    }

    @Test func aReaderNeverMigratesAnOlderIndex() throws {
        let tmp = TemporaryDirectory()
        try makeStore(tmp.path)
        // The index as a rearview from before migrations v3 and v4 left it.
        try StoreIndex(directory: try DirectoryHandle(path: tmp.path, trust: .owned), readOnly: false).writeLegacyTermLayout()
        try DatabaseQueue(path: tmp.path + "/index.sqlite").write { db in
            try db.execute(sql: "DROP TABLE process_chunks; DROP TABLE process_texts; DELETE FROM grdb_migrations WHERE identifier = 'v3-process-chunks'")
        }
        let store = try Store.open(tmp.path)
        #expect(try store.summary().events == 300)
        #expect(try !store.index.tableExists("process_chunks"))
        #expect(try !store.index.tableExists("term_blocks"))
        let applied = try DatabaseQueue(path: tmp.path + "/index.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
        #expect(applied == ["v1", "v2-processes"])
    }

    @Test func rejectsAreNotWrittenThroughAPlantedLink() throws {
        let tmp = TemporaryDirectory()
        let store = tmp.path + "/store"
        try makeStore(store)
        try FileManager.default.createDirectory(atPath: tmp.path + "/elsewhere", withIntermediateDirectories: true)
        #expect(symlink(tmp.path + "/elsewhere", store + "/rejects") == 0)
        let input = tmp.path + "/bad.ndjson"
        try Data("{\"Timestamp\":1717150000,\"HostName\":\"h\",\"HostPID\":\"x\"}\n".utf8).write(to: URL(fileURLWithPath: input))
        let error = try #require(untrusted { _ = try Importer(storePath: store).run(files: [input]) })
        #expect(error.description == "\(store)/rejects: is a symbolic link; rearview does not follow links in a store")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/elsewhere").isEmpty)
    }

    @Test func anAtomicFileReplacesOnlyOnCommitAndRefusesADirectory() throws {
        let tmp = TemporaryDirectory()
        let path = tmp.path + "/report.html"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        do {
            let file = try AtomicFile(replacing: path)
            try file.write(Array("new".utf8))
            #expect(FileManager.default.contents(atPath: path) == Data("old".utf8))
            // Dropped without a commit (a failed run): the old file stays, the temporary goes.
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["report.html"])
        let file = try AtomicFile(replacing: path)
        try file.write(Array("new".utf8))
        try file.commit()
        #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
        #expect(mode(path) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["report.html"])

        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        try Data("kept".utf8).write(to: URL(fileURLWithPath: tmp.path + "/out/inside"))
        for target in [tmp.path + "/out", tmp.path + "/out/", tmp.path + "/out/."] {
            #expect(untrusted { _ = try AtomicFile(replacing: target) }?.description == "\(target): is a directory; give the name of a file to write")
        }
        #expect(FileManager.default.contents(atPath: tmp.path + "/out/inside") == Data("kept".utf8))
    }
}
