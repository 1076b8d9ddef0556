// libFuzzer target: any YAML given to the policy loader loads or is rejected with a reason.
import FuzzSupport
import PolicyEngine

FuzzDriver.run(fuzzOne)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let loaded = PolicyLoader.load(yaml: text, file: "fuzz.yaml")
    _ = PolicySet(loaded.policies)
    return 0
}
