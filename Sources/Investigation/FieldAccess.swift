import EventModel

/// Reads event fields as bytes or numbers for the compiled predicate, without allocating.
///
/// Events come by pointer: a predicate that took `Event` by value would have its callers copy the
/// whole event (retaining every string) whenever it lives in an array or behind a pointer.
enum FieldAccess {
    /// Runs `body` on the UTF-8 text of a typed field (numbers in decimal, formatted on the stack).
    /// `UpdatedTime` is formatted when the event does not carry it verbatim (the one allocating case).
    @inline(__always)
    static func withText<R>(_ field: EventField, of e: UnsafePointer<Event>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch field {
        case .timestamp: return Bytes.withDecimal(e.pointee.timestamp, body)
        case .hostPPID: return Bytes.withDecimal(Int64(e.pointee.hostPPID), body)
        case .hostPID: return Bytes.withDecimal(Int64(e.pointee.hostPID), body)
        case .ppid: return Bytes.withDecimal(Int64(e.pointee.ppid), body)
        case .pid: return Bytes.withDecimal(Int64(e.pointee.pid), body)
        case .uid: return Bytes.withDecimal(Int64(e.pointee.uid), body)
        case .updatedTime: return e.pointee.updatedTime.utf8.withContiguousBytes(body)
        case .clusterName: return e.pointee.clusterName.utf8.withContiguousBytes(body)
        case .hostName: return e.pointee.hostName.utf8.withContiguousBytes(body)
        case .namespaceName: return e.pointee.namespaceName.utf8.withContiguousBytes(body)
        case .podName: return e.pointee.podName.utf8.withContiguousBytes(body)
        case .labels: return e.pointee.labels.utf8.withContiguousBytes(body)
        case .containerID: return e.pointee.containerID.utf8.withContiguousBytes(body)
        case .containerName: return e.pointee.containerName.utf8.withContiguousBytes(body)
        case .containerImage: return e.pointee.containerImage.utf8.withContiguousBytes(body)
        case .parentProcessName: return e.pointee.parentProcessName.utf8.withContiguousBytes(body)
        case .processName: return e.pointee.processName.utf8.withContiguousBytes(body)
        case .policyName: return e.pointee.policyName.utf8.withContiguousBytes(body)
        case .severity: return e.pointee.severity.utf8.withContiguousBytes(body)
        case .tags: return e.pointee.tags.utf8.withContiguousBytes(body)
        case .message: return e.pointee.message.utf8.withContiguousBytes(body)
        case .type: return e.pointee.type.utf8.withContiguousBytes(body)
        case .source: return e.pointee.source.utf8.withContiguousBytes(body)
        case .operation: return e.pointee.operation.utf8.withContiguousBytes(body)
        case .resource: return e.pointee.resource.utf8.withContiguousBytes(body)
        case .data: return e.pointee.data.utf8.withContiguousBytes(body)
        case .enforcer: return e.pointee.enforcer.utf8.withContiguousBytes(body)
        case .action: return e.pointee.action.utf8.withContiguousBytes(body)
        case .result: return e.pointee.result.utf8.withContiguousBytes(body)
        case .cwd: return e.pointee.cwd.utf8.withContiguousBytes(body)
        case .tty: return e.pointee.tty.utf8.withContiguousBytes(body)
        }
    }

    /// The value of an integer-kind field (typed numbers, `TimeNs`, `Seq`).
    @inline(__always)
    static func integer(_ field: FieldReference, of e: UnsafePointer<Event>) -> Int64 {
        switch field {
        case .timeNs: return e.pointee.timeNs
        case .seq: return Int64(truncatingIfNeeded: e.pointee.seq)
        case .typed(.hostPID): return Int64(e.pointee.hostPID)
        case .typed(let typed): return e.pointee.number(typed) ?? 0
        case .extra: return 0
        }
    }

    /// Runs `body` on the text of any field: typed fields as ``withText(_:of:_:)``, `TimeNs`/`Seq` in
    /// decimal, an extra as its ``ExtraValue``; nil when an extra is absent.
    @inline(__always)
    static func withValue<R>(_ field: FieldReference, of e: UnsafePointer<Event>,
                             _ body: (UnsafeBufferPointer<UInt8>, ExtraValue.Kind) -> R) -> R? {
        switch field {
        case .typed(let typed): return withText(typed, of: e) { body($0, .string) }
        case .timeNs, .seq: return Bytes.withDecimal(integer(field, of: e)) { body($0, .number) }
        case .extra(let key):
            guard let json = e.pointee.extras.first(where: { $0.key == key })?.json else { return nil }
            return ExtraValue.withText(json, body)
        }
    }

    /// Whether the field is there: typed strings non-empty, numbers non-zero, extras present.
    @inline(__always)
    static func exists(_ field: FieldReference, in e: UnsafePointer<Event>) -> Bool {
        switch field {
        case .typed(let typed) where typed.isNumeric: return integer(field, of: e) != 0
        case .typed(let typed): return withText(typed, of: e) { $0.count > 0 }
        case .timeNs, .seq: return integer(field, of: e) != 0
        case .extra(let key): return e.pointee.extras.contains { $0.key == key }
        }
    }
}

/// The value of an extra field as filters see it: a JSON string by its unescaped text, anything else
/// (numbers, objects, arrays, `true`, `null`) by its compact JSON text.
enum ExtraValue {
    enum Kind { case string, number, other }

    /// Runs `body` on the value's text and kind; unescapes (and so allocates) only strings with escapes.
    static func withText<R>(_ json: String, _ body: (UnsafeBufferPointer<UInt8>, Kind) -> R) -> R {
        json.utf8.withContiguousBytes { withText(json: $0, body) }
    }

    /// ``withText(_:_:)`` for compact JSON given as bytes.
    static func withText<R>(json raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Kind) -> R) -> R {
        guard let first = raw.first else { return body(raw, .other) }
        if first == UInt8(ascii: "\""), raw.count >= 2, raw[raw.count - 1] == UInt8(ascii: "\"") {
            let inner = UnsafeBufferPointer(rebasing: raw[1..<(raw.count - 1)])
            guard inner.contains(UInt8(ascii: "\\")) else { return body(inner, .string) }
            return unescape(inner).withUnsafeBufferPointer { body($0, .string) }
        }
        let isNumber = first == UInt8(ascii: "-") || (first &- 48) < 10
        return body(raw, isNumber ? .number : .other)
    }

    /// The bytes of a JSON string body with its escapes (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`,
    /// `\uXXXX` including surrogate pairs) resolved; malformed escapes are kept as written.
    static func unescape(_ s: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= s.count else { return nil }
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = s[k]
                let d: UInt8
                switch c {
                case 48...57: d = c - 48
                case 65...70: d = c - 55
                case 97...102: d = c - 87
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < s.count {
            let b = s[i]
            guard b == UInt8(ascii: "\\"), i + 1 < s.count else { out.append(b); i += 1; continue }
            let next = s[i + 1]
            i += 2
            switch next {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var code = hex4(i) else { out += [UInt8(ascii: "\\"), next]; continue }
                i += 4
                if (0xD800..<0xDC00).contains(code), i + 6 <= s.count, s[i] == UInt8(ascii: "\\"),
                   s[i + 1] == UInt8(ascii: "u"), let low = hex4(i + 2), (0xDC00..<0xE000).contains(low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out += Array(String(scalar).utf8)
            default: out.append(next)
            }
        }
        return out
    }
}
