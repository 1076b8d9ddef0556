// libFuzzer target: any text given to the filter language parses or fails with a syntax error.
import FuzzSupport
import Investigation

FuzzDriver.run(fuzzOne)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let expression = try? FilterExpression(parsing: text) {
        _ = EventFilter(expression).termConstraint.description
    }
    return 0
}
