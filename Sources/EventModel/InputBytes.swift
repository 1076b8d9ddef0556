/// The bytes of an input file, or of stdin for `-`, whole and decompressed when they are gzip or LZ4.
///
/// For inputs that are read at once (tests, small files, the forms that are not one object per line);
/// importers stream large inputs through ``InputByteStream`` instead.
public enum InputBytes {
    /// Reads `path` (`-` reads stdin to its end) and decompresses gzip (`1f 8b`, several members
    /// allowed) and LZ4 frames (`04 22 4d 18`, several frames allowed).
    public static func load(path: String) throws(InputError) -> [UInt8] {
        try InputByteStream(path: path).readToEnd()
    }
}
