// Benchmarks of the commands built on the store (issues 5 and 6): the process table, `tree --pid`, and
// `evaluate` with one policy and with a hundred.
import EventStore
import Foundation
import Investigation
import PolicyEngine

func processTableBenchmarks(_ bench: Bench, store: String) {
    // A full rebuild as `reindex` does it: decode every block, build the instances, write the rows.
    let copy = "\(bench.work)/store-process-table"
    bench.time("rm -rf \(copy) && cp -r \(store) \(copy)")
    _ = try! Store.reindex(copy)
    let started = Date()
    let outcome = try! StoredProcessTable.update(storePath: copy)
    let rebuild = Date().timeIntervalSince(started)
    report("process table, full rebuild", String(format: "%.2f s", rebuild), "", "", "≤ 1 s")
    print("  (\(outcome))")

    let pid = sampleProcessPID(store: copy)
    let tree = bench.best(5, "\(bench.rearview) tree --store \(copy) --pid \(pid) > /dev/null")
    let version = bench.best(5, "\(bench.rearview) --version > /dev/null")
    let query = bench.best(5, "\(bench.rearview) query --store \(copy) --pid \(pid) --count > /dev/null")
    report("tree --pid N (whole process)", String(format: "%.3f s", tree), String(format: "rearview --version %.3f s", version),
           String(format: "+%.0f ms over start-up", (tree - version) * 1000), "≤ 50 ms")
    report("", "", String(format: "query --pid N --count %.3f s", query), "", "")
    bench.time("rm -rf \(copy)")
}

/// The HostPID `tree --pid` benchmarks ask for: the 80,001st process of the store's table, or its last in a smaller store.
func sampleProcessPID(store: String) -> String {
    let rows = try! Store.open(store).processRows(.all)
    return String(rows[min(80_000, rows.count - 1)].hostPID)
}

func evaluateBenchmarks(_ bench: Bench, store: String, events: Int) {
    // The first 100 policies of the corpus's policy-templates that load, one file per policy.
    let corpus = ["../shared/corpus/kubearmor-policies/policy-templates", "/work/shared/corpus/kubearmor-policies/policy-templates"]
        .first { FileManager.default.fileExists(atPath: $0) }
    guard let corpus else { return print("  SKIPPED: evaluate benchmark: the policy corpus is not here") }
    let files = shellOutput("find \(corpus) -name '*.yaml' | LC_ALL=C sort").split(separator: "\n").map(String.init)
    let hundred = "\(bench.work)/policies100"
    bench.time("rm -rf \(hundred) && mkdir -p \(hundred)")
    var chosen = 0
    for file in files where chosen < 100 {
        let loaded = PolicyLoader.load(paths: [file])
        guard loaded.rejections.isEmpty, loaded.policies.count == 1 else { continue }
        chosen += 1
        bench.time("cp \(file) \(hundred)/\(String(format: "%03d", chosen)).yaml")
    }
    let one = "samples/policies/ksp-discovery-process-discovery.yaml"
    let scan = bench.best(2, "\(bench.rearview) query --store \(store) --count > /dev/null")
    let single = bench.best(2, "\(bench.rearview) evaluate --store \(store) --policy \(one) --scope everywhere --count > /dev/null")
    let many = bench.best(2, "\(bench.rearview) evaluate --store \(store) --policy \(hundred) --scope everywhere --count > /dev/null")
    report("evaluate, 1 policy", String(format: "%.2f s (%.2f M ev/s)", single, Double(events) / single / 1e6),
           String(format: "query --count %.2f s", scan), "", "≥ 1 M events/s")
    report("evaluate, \(chosen) policies", String(format: "%.2f s (%.2f M ev/s)", many, Double(events) / many / 1e6),
           "", String(format: "%.2fx the cost of 1", many / single), "≤ 3x")
}
