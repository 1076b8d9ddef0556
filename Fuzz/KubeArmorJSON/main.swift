// libFuzzer target: any bytes given to the KubeArmor JSON importer are read or rejected, never crash it.
import FuzzSupport
import EventModel

FuzzDriver.run(fuzzOne)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let outcomes = try? KubeArmorJSONReader.readAll(bytes: bytes, origin: "fuzz", threads: 1) {
        // Whatever was accepted must also write back out.
        var writer = KubeArmorJSONWriter()
        var line: [UInt8] = []
        for case .success(let event) in outcomes { writer.append(event, to: &line) }
    }
    return 0
}
