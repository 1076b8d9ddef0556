import EventModel
import EventStore

extension DamagedBlocks {
    /// After a command's output: one `DAMAGED` line on stderr per block the scan left out (as `verify`
    /// prints it, with the events it held), then a failure with exit 3 that says what the output lacks.
    func failIfAnyWasLeftOut() throws {
        let skipped = all
        guard !skipped.isEmpty else { return }
        for block in skipped {
            let location = block.source.block.location
            let seqs = location.eventCount == 1 ? "Seq \(location.firstSeq)"
                : "Seq \(location.firstSeq)–\(location.firstSeq + UInt64(location.eventCount) - 1)"
            Terminal.error("rearview: DAMAGED \(block): left out its \(location.eventCount) event(s), \(seqs), "
                           + "\(UnixTime.shown(location.minTimeNs)) to \(UnixTime.shown(location.maxTimeNs))")
        }
        let events = skipped.reduce(0) { $0 + $1.source.block.location.eventCount }
        let stores = Set(skipped.map { $0.source.store.path }).sorted().map { "rearview verify --store \($0)" }
        throw CommandFailure("the output leaves out \(skipped.count) damaged block(s) holding \(events) event(s); "
                             + "every intact block was read (see \(stores.joined(separator: ", ")))", exitCode: 3)
    }
}
