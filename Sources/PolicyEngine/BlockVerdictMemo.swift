import EventModel
import EventStore

/// The decisions of ``PolicyEvaluator`` for one column batch, by dictionary ids: everything an event's
/// verdict depends on is a field of its process context, of its verdict strings, its `Resource`, its
/// `Data` or its extras, and each of those is one id in the batch, so rows repeating a tuple of ids
/// are decided once per block. Ids mean something only within their batch: ``start(_:isOperation:)``
/// forgets the previous block.
struct BlockVerdictMemo {
    /// The ids a row's decision depends on.
    struct Key: Hashable {
        var context: Int32
        var verdict: Int32
        var resource: Int32
        var data: Int32
        var extras: Int32
    }

    /// What the memo knows about a row.
    enum Lookup {
        /// Its verdict strings name no operation a rule can concern, or a result that never reached
        /// the enforcer.
        case notAnOperation
        case known(PolicyEvaluator.Decision)
        /// Not decided yet in this block; ``remember(_:for:)`` the decision under this key.
        case unknown(Key)
    }

    private var batch: ColumnBatch?
    /// Per verdict id: 0 not asked yet, 1 an operation, 2 not one.
    private var verdictKinds: [UInt8] = []
    private var isOperation: (Int) -> Bool = { _ in true }
    private var decisions: [Key: PolicyEvaluator.Decision] = [:]

    /// Starts on `batch`; `isOperation` says whether a verdict id's strings may name an operation
    /// rules concern (asked once per verdict id).
    mutating func start(_ batch: ColumnBatch, isOperation: @escaping (Int) -> Bool) {
        self.batch = batch
        verdictKinds.removeAll(keepingCapacity: true)
        verdictKinds.append(contentsOf: repeatElement(0, count: batch.verdictCount))
        self.isOperation = isOperation
        decisions.removeAll(keepingCapacity: true)
    }

    /// What is known about `row` of the batch.
    @inline(__always)
    mutating func lookup(row: Int) -> Lookup {
        let batch = batch.unsafelyUnwrapped
        let verdict = batch.verdictIDs[row]
        var kind = verdictKinds[Int(verdict)]
        if kind == 0 {
            kind = isOperation(Int(verdict)) ? 1 : 2
            verdictKinds[Int(verdict)] = kind
        }
        if kind == 2 { return .notAnOperation }
        let key = Key(context: batch.contextIDs[row], verdict: verdict, resource: batch.resourceIDs[row],
                      data: batch.dataIDs[row], extras: batch.extrasIDs[row])
        if let known = decisions[key] { return .known(known) }
        return .unknown(key)
    }

    /// Keeps `decision` for the rows with `key`'s ids.
    mutating func remember(_ decision: PolicyEvaluator.Decision, for key: Key) {
        decisions[key] = decision
    }

    /// The column of verdict string `field` (``ColumnBatch/Place/verdictString(_:)``).
    static func verdictColumn(_ field: EventField) -> Int {
        guard case .verdictString(let column) = ColumnBatch.place(of: field) else {
            preconditionFailure("\(field.rawValue) is not a verdict string")
        }
        return column
    }
}
