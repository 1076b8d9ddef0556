// libFuzzer target: any bytes given to the KubeArmor JSON importer are read or rejected, never crash
// it; and whatever it accepts writes back out as KubeArmor JSON that reads back to the same event.
import FuzzSupport
import EventModel

FuzzDriver.run(fuzzOne)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let outcomes = try? KubeArmorJSONReader.readAll(bytes: bytes, origin: "fuzz", threads: 1) else { return 0 }
    var writer = KubeArmorJSONWriter()
    for case .success(let event) in outcomes {
        var line: [UInt8] = []
        writer.append(event, to: &line)
        let again = try? KubeArmorJSONReader.readAll(bytes: line, origin: "fuzz-rewritten", threads: 1)
        guard let again, again.count == 1, case .success(let reread) = again[0] else {
            preconditionFailure("the writer's output of an accepted record does not read back: \(String(decoding: line, as: UTF8.self))")
        }
        precondition(reread == event, "read → write → read changed the event: \(String(decoding: line, as: UTF8.self))")
    }
    return 0
}
