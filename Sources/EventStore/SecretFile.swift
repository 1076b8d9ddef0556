import Glibc

/// A file holding a secret (a seal signing key, a collector's token), read only when no other user
/// can read it.
///
/// Secrets come from files, never from the command line (where `ps` shows them). The file must be
/// a regular file, not a symbolic link, and give group and others no access (mode 0600 or stricter):
/// a secret others can read may already be theirs.
public enum SecretFile {
    /// The first `maxBytes` bytes of the secret file at `path`; `what` names it in errors ("the private key").
    public static func read(_ path: String, what: String, maxBytes: Int) throws(StoreError) -> [UInt8] {
        // O_NONBLOCK: a FIFO is refused below instead of waiting for a writer.
        let file = try PosixFile(path: path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { throw StoreError.system("fstat", path: path) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw StoreError(.invalidRequest, path: path, "\(what) is not a regular file") }
        guard st.st_mode & 0o077 == 0 else {
            throw StoreError(.invalidRequest, path: path, "\(what) is readable by other users (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        return try file.read(count: min(try file.size(), maxBytes), at: 0)
    }
}
