/// Why a stored process table cannot be used: it names instances it does not hold, or a stored
/// field cannot be read.
public struct ProcessTableError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the table.
    public enum Reason: Sendable, Equatable {
        /// Resuming needs ids `0..<n` in order (as the builder numbers them).
        case idsNotDense(expected: Int64, found: Int64)
        /// An instance's parent or reaper is not in the table.
        case missingInstance(id: Int64, field: String, target: Int64)
        /// A stored field holds something else than its form (`images` is a JSON array of strings,
        /// `origin` one of ``ProcessInstance/Origin``, PIDs and UIDs fit 32 bits).
        case malformedField(id: Int64, field: String, value: String)
    }

    public let reason: Reason

    public init(reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .idsNotDense(let expected, let found):
            return "process table: expected instance \(expected), found \(found) (ids must be 0..<n)"
        case .missingInstance(let id, let field, let target):
            return "process table: instance \(id) has \(field) \(target), which the table does not hold"
        case .malformedField(let id, let field, let value):
            return "process table: instance \(id) has a malformed \(field): \(value.prefix(80))"
        }
    }
}
