import EventModel
import EventStore

/// The dictionary ids of a batch row that the evaluator's caches key on (``PolicyEventFields/batchIDs``).
/// As a key of whole decisions, `context` is the context's class (``BlockVerdictMemo``).
struct BatchRowIDs: Hashable {
    var context: Int32
    var verdict: Int32
    var resource: Int32
    var data: Int32
    var extras: Int32
    /// `ProcessName` of the context.
    var processName: Int32

    // The context determines `processName`: it need not be hashed.
    func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(UInt32(bitPattern: context)) << 32 | UInt64(UInt32(bitPattern: verdict)))
        hasher.combine(UInt64(UInt32(bitPattern: resource)) << 32 | UInt64(UInt32(bitPattern: data)))
        hasher.combine(extras)
    }
}

/// What ``PolicyEvaluator`` has worked out for one column batch, by dictionary ids, so that each part of
/// a decision is made once per distinct value in the block rather than once per row:
///
/// - per verdict id, whether its `Operation` and `Result` can make an operation a rule concerns;
/// - per process context, its class: the contexts that agree on every context field evaluation reads
///   (``contextFields`` and `UID`; they differ in PIDs, `Cwd`, the pod's name, …) decide alike;
/// - per class, its rule table and the executables rules' `fromSource` is compared with;
/// - per rule table, operation kind and target (the executable and command line of an execution, the
///   path of a file access, `Resource` and `Data` of a socket or a capability), the rules whose target
///   names it: the matching proper;
/// - per tuple of context class, verdict, `Resource`, `Data` and extras ids (everything a verdict
///   depends on), the whole decision.
///
/// Ids mean something only within their batch: ``start(_:isOperation:)`` forgets the previous block.
struct BlockVerdictMemo {
    /// What the memo knows about a row before it is decided.
    enum Lookup {
        /// Its verdict strings name no operation a rule can concern, or a result that never reached
        /// the enforcer.
        case notAnOperation
        /// Decided before in this block: the table it was an operation for (-1: none) and the index
        /// of its verdict in ``verdicts`` (-1: none).
        case known(table: Int32, verdict: Int32)
        /// Not decided yet in this block; ``remember(table:verdict:for:)`` the decision under these ids.
        case unknown(BatchRowIDs)
    }

    /// The executables a rule's `fromSource` is compared with (it concerns the operation when it
    /// names either), and their ``SourceHash``es; the second may be missing (empty, hash 0).
    struct Sources {
        let first: String
        let second: String
        private let firstHash: UInt64
        private let secondHash: UInt64

        init(_ first: String, _ second: String) {
            self.first = first
            self.second = second
            firstHash = SourceHash.of(first)
            secondHash = second.isEmpty ? 0 : SourceHash.of(second)
        }

        /// Whether a rule whose source has hash `hash` (not 0) may name one of them.
        @inline(__always)
        func mayInclude(hash: UInt64) -> Bool { hash == firstHash || hash == secondHash }

        func include(_ path: String) -> Bool { path == first || (!second.isEmpty && path == second) }
    }

    /// The context strings ``PolicyEventFields`` reads (with `UID`): contexts equal in these are one
    /// class. A context field the evaluator comes to read must be added here.
    static let contextFields: [EventField] = [
        .hostName, .namespaceName, .labels, .containerName, .containerID, .processName, .parentProcessName, .source, .tty,
    ]
    private static let contextColumns = contextFields.map(contextColumn)
    private static let uidColumn: Int = {
        guard case .contextNumber(let column) = ColumnBatch.place(of: .uid) else { preconditionFailure("UID is not a context number") }
        return column
    }()

    /// A context class: the ids of ``contextFields`` and the UID (ten 32-bit slots).
    private struct ContextClassKey: Hashable {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)

        init(_ batch: ColumnBatch, context: Int) {
            withUnsafeMutableBytes(of: &words) { raw in
                let slots = raw.bindMemory(to: Int32.self)
                for (i, column) in BlockVerdictMemo.contextColumns.enumerated() {
                    slots[i] = batch.stringID(column, context: context)
                }
                slots[BlockVerdictMemo.contextColumns.count] = batch.number(BlockVerdictMemo.uidColumn, context: context)
            }
        }

        static func == (a: Self, b: Self) -> Bool { a.words == b.words }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
            hasher.combine(words.4)
        }
    }

    /// A rule table, an operation kind and the ids of what that kind's rules match on.
    private struct TargetKey: Hashable {
        var table: Int32
        var kind: Int32
        var first: Int32
        var second: Int32

        func hash(into hasher: inout Hasher) {
            hasher.combine(UInt64(UInt32(bitPattern: table)) << 32 | UInt64(UInt32(bitPattern: kind)))
            hasher.combine(UInt64(UInt32(bitPattern: first)) << 32 | UInt64(UInt32(bitPattern: second)))
        }
    }

    // The batch's id columns, held here so that reading a row does not go through the batch.
    private var contextIDs: [Int32] = []
    private var verdictIDs: [Int32] = []
    private var resourceIDs: [Int32] = []
    private var dataIDs: [Int32] = []
    private var extrasIDs: [Int32] = []
    /// `ProcessName` per context id.
    private var processNames: [Int32] = []
    /// Per verdict id: 0 not asked yet, 1 an operation, 2 not one.
    private var verdictKinds: [UInt8] = []
    private var isOperation: (Int) -> Bool = { _ in true }
    private var batch: ColumnBatch?
    /// Per context id: its class + 1 (0: not known yet).
    private var contextClasses: [Int32] = []
    private var classes: [ContextClassKey: Int32] = [:]
    /// Per class: its rule table + 1 (0: not known yet).
    private var classTables: [Int32] = []
    /// Per class: the `fromSource` candidates of executions and file accesses, and of sockets and
    /// capabilities (see ``PolicyEvaluator``).
    private var lineageSources: [Sources?] = []
    private var commandSources: [Sources?] = []
    /// Matched rules, as ranges of ``targetRules``; a nil range: no rule of the kind can concern it.
    private var targets: [TargetKey: Range<Int32>?] = [:]
    private var targetRules: [Int32] = []
    private var decisions: [BatchRowIDs: (table: Int32, verdict: Int32)] = [:]
    /// The verdicts of ``decisions``.
    private(set) var verdicts: [PolicyVerdict] = []

    /// Starts on `batch`; `isOperation` says whether a verdict id's strings may name an operation
    /// rules concern (asked once per verdict id).
    mutating func start(_ batch: ColumnBatch, isOperation: @escaping (Int) -> Bool) {
        contextIDs = batch.contextIDs
        verdictIDs = batch.verdictIDs
        resourceIDs = batch.resourceIDs
        dataIDs = batch.dataIDs
        extrasIDs = batch.extrasIDs
        processNames = (0..<batch.contextCount).map { batch.stringID(Self.processNameColumn, context: $0) }
        self.batch = batch
        self.isOperation = isOperation
        Self.reset(&verdictKinds, to: 0, count: batch.verdictCount)
        Self.reset(&contextClasses, to: 0, count: batch.contextCount)
        classes.removeAll(keepingCapacity: true)
        classTables.removeAll(keepingCapacity: true)
        lineageSources.removeAll(keepingCapacity: true)
        commandSources.removeAll(keepingCapacity: true)
        targets.removeAll(keepingCapacity: true)
        targetRules.removeAll(keepingCapacity: true)
        decisions.removeAll(keepingCapacity: true)
        verdicts.removeAll(keepingCapacity: true)
    }

    private static func reset<T>(_ array: inout [T], to value: T, count: Int) {
        array.removeAll(keepingCapacity: true)
        array.append(contentsOf: repeatElement(value, count: count))
    }

    // MARK: whole decisions

    /// What is known about `row` of the batch.
    @inline(__always)
    mutating func lookup(row: Int) -> Lookup {
        let verdict = verdictIDs[row]
        var kind = verdictKinds[Int(verdict)]
        if kind == 0 {
            kind = isOperation(Int(verdict)) ? 1 : 2
            verdictKinds[Int(verdict)] = kind
        }
        if kind == 2 { return .notAnOperation }
        let context = contextIDs[row]
        let ids = BatchRowIDs(context: contextClass(context), verdict: verdict, resource: resourceIDs[row], data: dataIDs[row],
                              extras: extrasIDs[row], processName: processNames[Int(context)])
        if let known = decisions[ids] { return .known(table: known.table, verdict: known.verdict) }
        return .unknown(ids)
    }

    /// Keeps the decision for the rows with `ids`; returns the index of its verdict (-1: none).
    mutating func remember(table: Int32, verdict: PolicyVerdict?, for ids: BatchRowIDs) -> Int32 {
        var index: Int32 = -1
        if let verdict {
            index = Int32(verdicts.count)
            verdicts.append(verdict)
        }
        decisions[ids] = (table, index)
        return index
    }

    // MARK: parts of decisions

    /// The class of context `context`.
    @inline(__always)
    private mutating func contextClass(_ context: Int32) -> Int32 {
        let known = contextClasses[Int(context)]
        if known > 0 { return known - 1 }
        let batch = batch.unsafelyUnwrapped
        let key = ContextClassKey(batch, context: Int(context))
        let found: Int32
        if let existing = classes[key] {
            found = existing
        } else {
            found = Int32(classes.count)
            classes[key] = found
            classTables.append(0)
            lineageSources.append(nil)
            commandSources.append(nil)
        }
        contextClasses[Int(context)] = found + 1
        return found
    }

    /// The rule table of context `context`'s class, when known.
    @inline(__always)
    mutating func table(ofContext context: Int32) -> Int? {
        let known = classTables[Int(contextClass(context))]
        return known > 0 ? Int(known - 1) : nil
    }

    mutating func keep(table: Int, ofContext context: Int32) { classTables[Int(contextClass(context))] = Int32(table + 1) }

    /// The executables of context `context` that `fromSource` is compared with, for executions and file
    /// accesses (`lineage`) or for sockets and capabilities; `make` works them out the first time.
    @inline(__always)
    mutating func sources(ofContext context: Int32, lineage: Bool, _ make: () -> Sources) -> Sources {
        let index = Int(contextClass(context))
        if let known = lineage ? lineageSources[index] : commandSources[index] { return known }
        let sources = make()
        if lineage { lineageSources[index] = sources } else { commandSources[index] = sources }
        return sources
    }

    /// The rules of `table` whose target names what `first` and `second` stand for in an operation of
    /// `kind`, appended to `rules`; `match` appends them the first time and returns false when no rule
    /// of the kind can concern the operation. Returns what `match` returned.
    @inline(__always)
    mutating func matchedRules(table: Int, kind: OperationKind, first: Int32, second: Int32, into rules: inout [Int32],
                               _ match: (inout [Int32]) -> Bool) -> Bool {
        let key = TargetKey(table: Int32(table), kind: kind.rawValue, first: first, second: second)
        if let known = targets[key] {
            guard let range = known else { return false }
            rules += targetRules[Int(range.lowerBound)..<Int(range.upperBound)]
            return true
        }
        let start = rules.count
        let matched = match(&rules)
        if matched {
            let first = Int32(targetRules.count)
            targetRules += rules[start...]
            targets[key] = first..<Int32(targetRules.count)
        } else {
            targets[key] = .some(nil)
        }
        return matched
    }

    // MARK: columns

    private static let processNameColumn = contextColumn(.processName)

    /// The column of context string `field` (``ColumnBatch/Place/contextString(_:)``).
    static func contextColumn(_ field: EventField) -> Int {
        guard case .contextString(let column) = ColumnBatch.place(of: field) else {
            preconditionFailure("\(field.rawValue) is not a context string")
        }
        return column
    }

    /// The column of verdict string `field` (``ColumnBatch/Place/verdictString(_:)``).
    static func verdictColumn(_ field: EventField) -> Int {
        guard case .verdictString(let column) = ColumnBatch.place(of: field) else {
            preconditionFailure("\(field.rawValue) is not a verdict string")
        }
        return column
    }
}
