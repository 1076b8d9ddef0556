import CSQLite
import Glibc
import GRDB

/// How SQLite is set up for an index that may come from a compromised host (a store copied off it,
/// or planted in a directory rearview was told to use).
///
/// - Paths: SQLite's default VFS is wrapped once so that a database path going through a symbolic
///   link is refused, the rule `SQLITE_OPEN_NOFOLLOW` sets (GRDB chooses the open flags itself, so
///   the flag cannot be passed). The index is opened by the store directory's resolved path, so
///   only a link planted on the way is refused. SQLite opens `-wal` and `-shm` with `O_NOFOLLOW`.
/// - Connections: `SQLITE_DBCONFIG_DEFENSIVE` (no `writable_schema`, `journal_mode=OFF` or other
///   way to corrupt the file on purpose) and `PRAGMA trusted_schema = OFF` (SQL kept in the schema,
///   such as views, triggers and defaults, cannot call functions with side effects).
enum IndexHardening {
    /// Installs the no-follow VFS as SQLite's default, once; false when SQLite has no VFS to wrap.
    static let noFollowVFS: Bool = {
        guard let base = sqlite3_vfs_find(nil) else { return false }
        defaultVFS = base
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: base.pointee)
        vfs.pointee.pNext = nil
        vfs.pointee.zName = UnsafePointer(strdup("rearview-nofollow"))
        vfs.pointee.xFullPathname = { _, path, count, out in
            guard let base = IndexHardening.defaultVFS, let resolve = base.pointee.xFullPathname else { return SQLITE_ERROR }
            let code = resolve(base, path, count, out)
            return code == rearview_sqlite3_ok_symlink ? rearview_sqlite3_cantopen_symlink : code
        }
        return sqlite3_vfs_register(vfs, 1) == SQLITE_OK
    }()

    /// The VFS the no-follow one wraps (SQLite's unix VFS).
    nonisolated(unsafe) private static var defaultVFS: UnsafeMutablePointer<sqlite3_vfs>?

    /// Sets up one connection (GRDB's `prepareDatabase`).
    static func prepare(_ db: Database) throws {
        guard let connection = db.sqliteConnection, rearview_sqlite3_enable_defensive(connection) == SQLITE_OK else {
            throw DatabaseError(message: "cannot enable SQLITE_DBCONFIG_DEFENSIVE")
        }
        try db.execute(sql: "PRAGMA trusted_schema = OFF")
    }
}
