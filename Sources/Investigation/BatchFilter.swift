import EventModel
import EventStore

extension EventFilter {
    /// The rows of `batch` that satisfy the filter, ascending.
    ///
    /// A test of a process-context field runs once per context of the block, of a verdict field once
    /// per verdict, of `Resource`, `Data` or an extra once per distinct value; only rows still in
    /// question are looked at, so a cheap condition first spares the expensive ones.
    public func select(in batch: ColumnBatch) -> [Int32] {
        if case .everything = compiled { return Array(0..<Int32(batch.count)) }
        let mask = BatchEvaluation(batch).evaluate(compiled, active: [Bool](repeating: true, count: batch.count))
        var rows = [Int32]()
        rows.reserveCapacity(batch.count)
        for i in mask.indices where mask[i] { rows.append(Int32(i)) }
        return rows
    }

    /// The optional batch columns the filter reads.
    public var columns: BatchColumns { compiled.columns }
}

extension CompiledFilter {
    var columns: BatchColumns {
        switch self {
        case .everything: return []
        case .and(let parts), .or(let parts): return parts.reduce(into: []) { $0.formUnion($1.columns) }
        case .not(let inner): return inner.columns
        case .test(let test):
            switch test.field {
            case .typed(let field): return BatchColumns.reading([field])
            case .extra: return .extras
            case .timeNs, .seq: return []
            }
        }
    }
}

/// Evaluates a compiled filter over one batch, as a mask over its rows.
private struct BatchEvaluation {
    let batch: ColumnBatch

    init(_ batch: ColumnBatch) { self.batch = batch }

    /// The rows among `active` that satisfy `node` (false for every row not active).
    func evaluate(_ node: CompiledFilter, active: [Bool]) -> [Bool] {
        switch node {
        case .everything:
            return active
        case .and(let parts):
            // Tests of process-context and verdict fields are decided once per context and per
            // verdict, and the rows looked at once for all of them; the other parts then narrow those.
            var keyTests: [KeyTest] = [], others: [CompiledFilter] = []
            for part in parts {
                if case .test(let t) = part, let keyTest = keyTest(t) { keyTests.append(keyTest) } else { others.append(part) }
            }
            var current = active
            if keyTests.count > 1 {
                current = keyed(keyTests, active: current)
            } else {
                others = parts
            }
            for part in others { current = evaluate(part, active: current) }
            return current
        case .or(let parts):
            var result = [Bool](repeating: false, count: batch.count)
            var remaining = active
            for part in parts {
                let matched = evaluate(part, active: remaining)
                for i in matched.indices where matched[i] {
                    result[i] = true
                    remaining[i] = false
                }
            }
            return result
        case .not(let inner):
            let matched = evaluate(inner, active: active)
            return zip(active, matched).map { $0 && !$1 }
        case .test(let test):
            return evaluate(test, active: active)
        }
    }

    /// A test decided per process context (`onVerdict` false) or per verdict, given its index.
    private struct KeyTest {
        var onVerdict: Bool
        var holds: (Int) -> Bool
    }

    /// The test of a context or verdict field as a ``KeyTest``; nil for other fields.
    private func keyTest(_ t: FieldTest) -> KeyTest? {
        let batch = batch
        guard case .typed(let field) = t.field else { return nil }
        switch ColumnBatch.place(of: field) {
        case .contextString(let column):
            // Contexts are many (one per process of the block), their values of one field few:
            // each distinct value is tested once.
            var known = [UInt8](repeating: 0, count: batch.stringCount)  // 0: not yet tested, 1: passes, 2: fails
            return KeyTest(onVerdict: false) { c in
                let id = batch.stringID(column, context: c)
                if known[Int(id)] == 0 { known[Int(id)] = batch.withBytes(ofString: id) { t.holds(text: $0) } ? 1 : 2 }
                return known[Int(id)] == 1
            }
        case .contextNumber(let column):
            return KeyTest(onVerdict: false) { c in t.holds(integer: Int64(batch.number(column, context: c))) }
        case .verdictString(let column):
            return KeyTest(onVerdict: true) { v in batch.withBytes(ofString: batch.stringID(column, verdict: v)) { t.holds(text: $0) } }
        case .rowString, .timestamp, .updatedTime:
            return nil
        }
    }

    /// Rows among `active` whose context and verdict pass every test, each context and verdict
    /// decided at most once (by all its tests, in order).
    private func keyed(_ tests: [KeyTest], active: [Bool]) -> [Bool] {
        let contextTests = tests.filter { !$0.onVerdict }, verdictTests = tests.filter(\.onVerdict)
        var contexts = [UInt8](repeating: 0, count: batch.contextCount)  // 0: not yet decided, 1: passes, 2: fails
        var verdicts = [UInt8](repeating: 0, count: batch.verdictCount)
        var out = [Bool](repeating: false, count: active.count)
        // A plain loop: state a closure captured would be boxed and its every access checked.
        let contextIDs = batch.contextIDs, verdictIDs = batch.verdictIDs
        for row in 0..<active.count where active[row] {
            let c = Int(contextIDs[row])
            if contexts[c] == 0 { contexts[c] = contextTests.allSatisfy { $0.holds(c) } ? 1 : 2 }
            guard contexts[c] == 1 else { continue }
            let v = Int(verdictIDs[row])
            if verdicts[v] == 0 { verdicts[v] = verdictTests.allSatisfy { $0.holds(v) } ? 1 : 2 }
            out[row] = verdicts[v] == 1
        }
        return out
    }

    private func evaluate(_ t: FieldTest, active: [Bool]) -> [Bool] {
        let batch = batch
        switch t.field {
        case .typed(let field):
            switch ColumnBatch.place(of: field) {
            case .contextString, .contextNumber, .verdictString:
                let keyTest = keyTest(t)!  // a field of the context or the verdict
                return keyTest.onVerdict ? keyed(batch.verdictIDs, keys: batch.verdictCount, active, keyTest.holds)
                    : keyed(batch.contextIDs, keys: batch.contextCount, active, keyTest.holds)
            case .rowString:
                return keyed(batch.rowStringIDs(field), keys: batch.stringCount, active) { id in
                    batch.withBytes(ofString: Int32(id)) { t.holds(text: $0) }
                }
            case .timestamp:
                return perRow(active) { t.holds(integer: batch.timestamps[$0]) }
            case .updatedTime:
                return perRow(active) { row in
                    var text = batch.updatedTime(row: row)
                    return text.withUTF8 { t.holds(text: $0) }
                }
            }
        case .timeNs:
            return perRow(active) { t.holds(integer: batch.timeNs[$0], kind: .number) }
        case .seq:
            return perRow(active) { t.holds(integer: Int64(truncatingIfNeeded: batch.firstSeq &+ UInt64($0)), kind: .number) }
        case .extra(let key):
            let isExistence = if case .exists = t.test { true } else { false }
            return keyed(batch.extrasIDs, keys: batch.extrasSetCount, active) { set in
                guard let id = batch.extraValueID(key, set: Int32(set)) else { return t.whenAbsent }
                if isExistence { return true }
                return batch.withBytes(ofString: id) { json in ExtraValue.withText(json: json) { t.holds(text: $0, kind: $1) } }
            }
        }
    }

    /// Rows whose key (`keyOfRow`) passes `test`, each key tested at most once.
    private func keyed(_ keyOfRow: [Int32], keys: Int, _ active: [Bool], _ test: (Int) -> Bool) -> [Bool] {
        var known = [UInt8](repeating: 0, count: keys)  // 0: not yet tested, 1: passes, 2: fails
        var out = [Bool](repeating: false, count: active.count)
        keyOfRow.withUnsafeBufferPointer { keyOfRow in
            for row in 0..<active.count where active[row] {
                let k = Int(keyOfRow[row])
                if known[k] == 0 { known[k] = test(k) ? 1 : 2 }
                out[row] = known[k] == 1
            }
        }
        return out
    }

    private func perRow(_ active: [Bool], _ test: (Int) -> Bool) -> [Bool] {
        var out = [Bool](repeating: false, count: active.count)
        for row in 0..<active.count where active[row] { out[row] = test(row) }
        return out
    }
}
