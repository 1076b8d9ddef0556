#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Comparisons of UTF-8 byte strings: exact, with no Unicode normalisation, so that a filter means the
/// same bytes the index posts.
enum Bytes {
    /// The sign of `a` − `b` in byte order (which is also Unicode scalar order).
    @inline(__always)
    static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(a.count, b.count)
        if common > 0 {
            let order = memcmp(a.baseAddress!, b.baseAddress!, common)
            if order != 0 { return order < 0 ? -1 : 1 }
        }
        return a.count == b.count ? 0 : a.count < b.count ? -1 : 1
    }

    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    @inline(__always)
    static func hasPrefix(_ s: UnsafeBufferPointer<UInt8>, _ prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        s.count >= prefix.count && (prefix.count == 0 || memcmp(s.baseAddress!, prefix.baseAddress!, prefix.count) == 0)
    }

    @inline(__always)
    static func contains(_ s: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        if needle.count == 0 { return true }
        guard s.count >= needle.count else { return false }
        let first = needle[0], last = s.count - needle.count
        var i = 0
        while i <= last {
            guard let hit = memchr(s.baseAddress! + i, Int32(first), last - i + 1) else { return false }
            i = s.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if memcmp(s.baseAddress! + i, needle.baseAddress!, needle.count) == 0 { return true }
            i += 1
        }
        return false
    }

    /// Whether one item of the comma-separated list `s` equals `item`.
    static func hasListItem(_ s: UnsafeBufferPointer<UInt8>, _ item: UnsafeBufferPointer<UInt8>) -> Bool {
        var start = 0
        while start <= s.count {
            var end = start
            while end < s.count, s[end] != UInt8(ascii: ",") { end += 1 }
            if equal(UnsafeBufferPointer(rebasing: s[start..<end]), item) { return true }
            start = end + 1
        }
        return false
    }

    /// A strict decimal integer (optional `-`, digits only); nil for anything else or overflow.
    @inline(__always)
    static func integer(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        let negative = s.count > 0 && s[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        guard i < s.count else { return nil }
        var value: Int64 = 0
        while i < s.count {
            let digit = s[i] &- 48
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { return nil }
            value = next
            i += 1
        }
        return negative ? -value : value
    }

    /// Runs `body` on the decimal digits of `value`, formatted on the stack.
    @inline(__always)
    static func withDecimal<R>(_ value: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var v = value.magnitude
            var i = buffer.count
            repeat {
                i -= 1
                buffer[i] = UInt8(48 + v % 10)
                v /= 10
            } while v > 0
            if value < 0 { i -= 1; buffer[i] = UInt8(ascii: "-") }
            return body(UnsafeBufferPointer(rebasing: buffer[i...]))
        }
    }
}
