import Foundation

/// The durations and sizes options take (`--flush 500ms`, `--max-size 2G`), parsed with errors
/// that name the option.
enum QuantityArgument {
    /// `500ms`, `30s`, `5m`, `2h`, `1d`, or a bare number of seconds.
    static func seconds(_ text: String, option: String) throws -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let v = Double(text.dropLast(suffix.count)), v > 0 { return v * scale }
        }
        if let v = Double(text), v > 0 { return v }
        throw CommandFailure("\(option): '\(text)' is not a duration (e.g. 500ms, 30s, 5m, 2h)", exitCode: 2)
    }

    /// `4096`, `64K`, `16M`, `2G` (powers of 1024).
    static func bytes(_ text: String, option: String) throws -> Int {
        let scales: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = text.uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        var scale = 1
        if let last = digits.last, let s = scales[last] {
            scale = s
            digits.removeLast()
        }
        guard let v = Double(digits), v > 0 else {
            throw CommandFailure("\(option): '\(text)' is not a size (e.g. 512K, 16M, 2G)", exitCode: 2)
        }
        return Int(v * Double(scale))
    }
}

/// A byte count for people: 1.2 MB, 340 kB, 12 B.
struct ByteCount: CustomStringConvertible {
    let bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
    var description: String {
        if bytes >= 1_000_000 { return String(format: "%.1f MB", Double(bytes) / 1e6) }
        if bytes >= 1_000 { return String(format: "%.0f kB", Double(bytes) / 1e3) }
        return "\(bytes) B"
    }
}
