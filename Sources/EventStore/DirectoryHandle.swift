import Glibc

/// A directory held open by its descriptor, so that nothing can redirect rearview's files in it.
///
/// rearview runs as root on hosts where other users may be hostile, and reads stores copied from
/// such hosts. Every file in a store is therefore opened relative to the directory's descriptor
/// (`openat`, `renameat`, `unlinkat`) with `O_NOFOLLOW`: a symbolic link planted in the store is
/// refused, never followed, and a parent directory renamed under a running writer changes nothing.
/// Only regular files are opened (a FIFO or a device node in a copied store is refused), new files
/// are created with `O_EXCL` and mode 0600, new directories with mode 0700.
///
/// Opening a directory checks who controls it (``Trust``); subdirectories opened through a handle
/// are checked the same way.
public final class DirectoryHandle: @unchecked Sendable {
    /// Who must control a directory for rearview to use it.
    public enum Trust: Sendable {
        /// Owned by the user running rearview and writable by nobody else: a store a writer changes.
        case owned
        /// Writable by its owner only, whoever that is: a store that is only read (a reader never
        /// follows a link and never writes, so a store copied by another user can be read).
        case unshared
        /// Not checked, and symbolic links in its path followed: a directory the user names for an
        /// output file.
        case unchecked
    }

    /// The directory as given (for messages).
    public let path: String
    let fd: Int32
    let trust: Trust

    private init(fd: Int32, path: String, trust: Trust) throws(StoreError) {
        self.fd = fd
        self.path = path
        self.trust = trust
        try check()
    }

    /// Opens the directory at `path`, refusing a symbolic link and, as `trust` says, a directory
    /// another user controls. With `creating`, a missing directory is made with mode 0700 (and its
    /// missing parents, also 0700).
    public convenience init(path: String, trust: Trust, creating: Bool = false) throws(StoreError) {
        if creating { try Self.makeDirectories(path) }
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (trust == .unchecked ? 0 : O_NOFOLLOW)
        let fd = Glibc.open(path, flags)
        guard fd >= 0 else { throw Self.openFailure(path, at: AT_FDCWD, name: path, hint: " (give the real path)") }
        try self.init(fd: fd, path: path, trust: trust)
    }

    deinit { close(fd) }

    /// Refuses the directory when someone other than its owner, or an owner other than the running
    /// user (``Trust/owned``), could change what it holds.
    private func check() throws(StoreError) {
        guard trust != .unchecked else { return }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.system("fstat", path: path) }
        if trust == .owned, st.st_uid != geteuid() {
            throw StoreError(.untrusted, path: path, "owned by uid \(st.st_uid), not by the user running rearview (uid \(geteuid())); "
                             + "refusing to write into a directory another user controls")
        }
        let writers = [(S_IWGRP, "group"), (S_IWOTH, "others")].filter { st.st_mode & $0.0 != 0 }.map(\.1)
        guard writers.isEmpty else {
            throw StoreError(.untrusted, path: path, "writable by \(writers.joined(separator: " and ")) (mode \(String(st.st_mode & 0o7777, radix: 8))); "
                             + "refusing a store other users can change (chmod go-w it)")
        }
    }

    /// `mkdir -p` with mode 0700; an existing directory is left as it is.
    private static func makeDirectories(_ path: String) throws(StoreError) {
        guard mkdir(path, 0o700) != 0 else { return }
        switch errno {
        case EEXIST: return
        case ENOENT:
            var parent = path
            while parent.count > 1 && parent.hasSuffix("/") { parent.removeLast() }
            guard let slash = parent.lastIndex(of: "/"), slash != parent.startIndex else {
                throw StoreError.system("mkdir", path: path)
            }
            try makeDirectories(String(parent[..<slash]))
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw StoreError.system("mkdir", path: path) }
        default:
            throw StoreError.system("mkdir", path: path)
        }
    }

    /// The error for a failed open of the directory `name` (relative to `directory`): a symbolic link
    /// or a non-directory is named as such, a missing directory is "not a store".
    private static func openFailure(_ path: String, at directory: Int32, name: String, hint: String = "") -> StoreError {
        let code = errno
        var st = stat()
        if fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            if st.st_mode & S_IFMT == S_IFLNK {
                return StoreError(.untrusted, path: path, "is a symbolic link; rearview does not follow links in a store" + hint)
            }
            if code == ENOTDIR { return StoreError(.notAStore, path: path, "not a directory") }
        } else if code == ENOENT {
            return StoreError(.notAStore, path: path, "no such directory")
        }
        errno = code
        return StoreError.system("open", path: path)
    }

    func pathOf(_ name: String) -> String { path + "/" + name }

    // MARK: subdirectories

    /// The subdirectory `name`, checked like this directory; nil when there is none.
    public func subdirectory(_ name: String) throws(StoreError) -> DirectoryHandle? {
        let sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sub >= 0 else {
            if errno == ENOENT { return nil }
            throw Self.openFailure(pathOf(name), at: fd, name: name)
        }
        return try DirectoryHandle(fd: sub, path: pathOf(name), trust: trust)
    }

    /// The subdirectory `name`, made (mode 0700) when missing.
    public func makeSubdirectory(_ name: String) throws(StoreError) -> DirectoryHandle {
        if mkdirat(fd, name, 0o700) == 0 {
            try sync()
        } else if errno != EEXIST {
            throw StoreError.system("mkdir", path: pathOf(name))
        }
        guard let sub = try subdirectory(name) else { throw StoreError.system("open", path: pathOf(name)) }
        return sub
    }

    // MARK: files

    /// What `name` is (without following a symbolic link); nil when it does not exist.
    func status(_ name: String) throws(StoreError) -> stat? {
        var st = stat()
        guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw StoreError.system("stat", path: pathOf(name))
        }
        return st
    }

    /// Refuses `name` unless it is absent or a regular file (a symbolic link, a FIFO, a device node).
    func requireRegularFileIfPresent(_ name: String) throws(StoreError) {
        guard let st = try status(name) else { return }
        try Self.requireRegular(st, path: pathOf(name))
    }

    private static func requireRegular(_ st: stat, path: String) throws(StoreError) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: throw StoreError(.untrusted, path: path, "is a symbolic link; rearview does not follow links in a store")
        default: throw StoreError(.untrusted, path: path, "is not a regular file")
        }
    }

    /// Opens the existing regular file `name` (never through a symbolic link).
    func open(_ name: String, flags: Int32 = O_RDONLY) throws(StoreError) -> PosixFile {
        // O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused.
        let file = openat(fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard file >= 0 else {
            if errno == ELOOP { throw StoreError(.untrusted, path: pathOf(name), "is a symbolic link; rearview does not follow links in a store") }
            throw StoreError.system("open", path: pathOf(name))
        }
        let opened = PosixFile(fd: file, path: pathOf(name))
        var st = stat()
        guard fstat(file, &st) == 0 else { throw StoreError.system("fstat", path: opened.path) }
        try Self.requireRegular(st, path: opened.path)
        _ = fcntl(file, F_SETFL, fcntl(file, F_GETFL) & ~O_NONBLOCK)
        return opened
    }

    /// Creates the new file `name` (`O_CREAT | O_EXCL`, so never an existing file or a link; mode 0600).
    func create(_ name: String, flags: Int32 = O_RDWR) throws(StoreError) -> PosixFile {
        let file = openat(fd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw StoreError.system("create", path: pathOf(name)) }
        return PosixFile(fd: file, path: pathOf(name))
    }

    /// Creates a new file beside `name` under a name nobody can guess, as mkstemp(3) does (`O_EXCL`,
    /// mode 0600, a random suffix), relative to this directory.
    func createTemporary(for name: String, flags: Int32 = O_WRONLY) throws(StoreError) -> (name: String, file: PosixFile) {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for _ in 0..<100 {
            let temporary = name + ".tmp-" + String((0..<8).map { _ in letters.randomElement()! })
            let file = openat(fd, temporary, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if file >= 0 { return (temporary, PosixFile(fd: file, path: pathOf(temporary))) }
            guard errno == EEXIST else { throw StoreError.system("create", path: pathOf(temporary)) }
        }
        throw StoreError(.io, path: pathOf(name), "cannot create a temporary file beside it")
    }

    /// Renames `from` to `to` in this directory (replacing `to`: rename(2), so never through a link).
    func rename(_ from: String, to: String) throws(StoreError) {
        guard renameat(fd, from, fd, to) == 0 else { throw StoreError.system("rename", path: pathOf(from)) }
    }

    /// Removes the file `name` (a link itself, never its target); false when it could not.
    @discardableResult
    func remove(_ name: String) -> Bool { unlinkat(fd, name, 0) == 0 }

    /// Removes `name`, and when it is a directory everything in it first; a link is removed, never followed.
    func removeTree(_ name: String) {
        guard !remove(name), errno == EISDIR, let sub = try? subdirectory(name) else { return }
        for entry in (try? sub.names()) ?? [] { sub.removeTree(entry) }
        unlinkat(fd, name, AT_REMOVEDIR)
    }

    /// The names in this directory (without `.` and `..`).
    func names() throws(StoreError) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            throw StoreError.system("opendir", path: path)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// fsyncs the directory, so that a file created, renamed or removed in it is durable.
    func sync() throws(StoreError) {
        guard fsync(fd) == 0 else { throw StoreError.system("fsync", path: path) }
    }

    /// The directory's absolute path as the kernel finds its descriptor now, for the one library
    /// that opens by path (SQLite).
    func resolvedPath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0, buffer[0] == CChar(UInt8(ascii: "/")) else { return path }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Takes an exclusive `flock` on the directory, without waiting; false if another process holds it.
    func tryLock() -> Bool { flock(fd, LOCK_EX | LOCK_NB) == 0 }

    /// Releases ``tryLock()``'s lock.
    func unlock() { flock(fd, LOCK_UN) }

    // MARK: small whole files

    /// The content of the regular file `name` (at most `maxBytes`), or nil when there is none.
    public func readFile(_ name: String, maxBytes: Int) throws(StoreError) -> [UInt8]? {
        guard try status(name) != nil else { return nil }
        let file = try open(name)
        let size = try file.size()
        guard size <= maxBytes else { throw StoreError(.invalidRequest, path: file.path, "\(size) bytes, more than the \(maxBytes) expected") }
        return try file.read(count: size, at: 0)
    }

    /// Replaces (or creates) the file `name` with `bytes` atomically and durably (see ``AtomicFile``).
    public func replaceFile(_ name: String, with bytes: [UInt8]) throws(StoreError) {
        let file = try AtomicFile(in: self, name: name)
        try file.write(bytes)
        try file.commit()
    }

    /// Removes the file `name`; no such file is not an error.
    public func removeFile(_ name: String) throws(StoreError) {
        guard remove(name) || errno == ENOENT else { throw StoreError.system("unlink", path: pathOf(name)) }
    }
}

/// A file that replaces another all at once: what is written goes to a new temporary file beside
/// it (``DirectoryHandle/createTemporary(for:)``: `O_EXCL`, mode 0600, a random name), and
/// ``commit()`` fsyncs it, renames it over the target (rename(2), atomic) and fsyncs the directory.
/// Until then the old file is untouched; dropped without a commit, the temporary is removed.
///
/// The target is never followed: a symbolic link there is replaced, not written through; a
/// directory there is refused, never removed.
public final class AtomicFile {
    /// The file being replaced, as given.
    public let path: String
    private let directory: DirectoryHandle
    private let name: String
    private let temporary: (name: String, file: PosixFile)
    private var offset = 0
    private var committed = false

    /// Replaces the file at `path` (an output file the user names, e.g. `--out`).
    public convenience init(replacing path: String) throws(StoreError) {
        var parent = "."
        var name = path
        if let slash = path.lastIndex(of: "/") {
            parent = slash == path.startIndex ? "/" : String(path[..<slash])
            name = String(path[path.index(after: slash)...])
        }
        guard !name.isEmpty, name != ".", name != ".." else {
            throw StoreError(.invalidRequest, path: path, "is a directory; give the name of a file to write")
        }
        try self.init(in: try DirectoryHandle(path: parent, trust: .unchecked), name: name, path: path)
    }

    init(in directory: DirectoryHandle, name: String, path: String? = nil) throws(StoreError) {
        self.path = path ?? directory.pathOf(name)
        var st = stat()
        // Followed here: a link to a directory is as much a mistake as a directory.
        if fstatat(directory.fd, name, &st, 0) == 0, st.st_mode & S_IFMT == S_IFDIR {
            throw StoreError(.invalidRequest, path: self.path, "is a directory; give the name of a file to write")
        }
        self.directory = directory
        self.name = name
        temporary = try directory.createTemporary(for: name)
    }

    deinit {
        if !committed { directory.remove(temporary.name) }
    }

    /// Appends `bytes` to the new content.
    public func write(_ bytes: [UInt8]) throws(StoreError) {
        try temporary.file.write(bytes, at: offset)
        offset += bytes.count
    }

    /// Makes the new content the file's, durably.
    public func commit() throws(StoreError) {
        precondition(!committed, "commit twice")
        try temporary.file.sync()
        try directory.rename(temporary.name, to: name)
        committed = true
        try directory.sync()
    }
}
