import EventModel

/// A filter compiled to a tree of tests of single fields.
indirect enum CompiledFilter: Sendable {
    case everything
    case and([CompiledFilter])
    case or([CompiledFilter])
    case not(CompiledFilter)
    case test(FieldTest)
}

/// A condition on one field, as a test of the field's value: the leaf both the row predicate and
/// the batch evaluation run, so a record and a batch row get the same answer.
struct FieldTest: Sendable {
    enum Test: Sendable {
        /// Integer-kind fields (the PIDs, UID, `Timestamp` in seconds, `TimeNs`, `Seq`) as numbers.
        case integer(@Sendable (Int64) -> Bool)
        /// The field's text (numbers in decimal; an extra's unescaped string or its JSON, with its
        /// kind); `absent` is the answer when an extra is not there.
        case value(@Sendable (UnsafeBufferPointer<UInt8>, ExtraValue.Kind) -> Bool, absent: Bool)
        /// Typed strings non-empty, numbers non-zero, extras present.
        case exists
    }

    let field: FieldReference
    let test: Test

    init(_ field: FieldReference, _ test: Test) {
        self.field = field
        self.test = test
    }

    /// The test of a number read from the field.
    @inline(__always)
    func holds(integer value: Int64, kind: ExtraValue.Kind = .string) -> Bool {
        switch test {
        case .integer(let t): return t(value)
        case .value(let t, _): return Bytes.withDecimal(value) { t($0, kind) }
        case .exists: return value != 0
        }
    }

    /// The test of the field's text.
    @inline(__always)
    func holds(text: UnsafeBufferPointer<UInt8>, kind: ExtraValue.Kind = .string) -> Bool {
        switch test {
        case .integer(let t): return Bytes.integer(text).map(t) ?? false
        case .value(let t, _): return t(text, kind)
        case .exists: return text.count > 0
        }
    }

    /// The answer for an event that lacks the (extra) field.
    var whenAbsent: Bool {
        if case .value(_, let absent) = test { return absent }
        return false
    }

    /// The test as a predicate over a record.
    func predicate() -> EventFilter.Predicate {
        let field = field
        switch test {
        case .integer(let t):
            if case .typed(.hostPID) = field { return { t(Int64($0.pointee.hostPID)) } }
            if case .timeNs = field { return { t($0.pointee.timeNs) } }
            return { t(FieldAccess.integer(field, of: $0)) }
        case .value(let t, let absent):
            if case .typed(let typed) = field { return { e in FieldAccess.withText(typed, of: e) { t($0, .string) } } }
            return { e in FieldAccess.withValue(field, of: e, t) ?? absent }
        case .exists:
            return { FieldAccess.exists(field, in: $0) }
        }
    }
}
