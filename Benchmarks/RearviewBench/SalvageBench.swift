// Benchmarks of reading damaged input and damaged stores (issue 16): salvage must cost no more than
// the intact path it stands in for.
import Foundation

func salvageBenchmarks(_ bench: Bench, ndjson: String, store: String) {
    let work = bench.work, rearview = bench.rearview
    // A gzip input cut in the middle: import reads every complete record before the cut, as
    // decompressing it first and importing standard input does.
    let cut = "\(work)/cut.ndjson.gz"
    bench.time("gzip -1 -c \(ndjson) > \(work)/whole.ndjson.gz && head -c $(( $(stat -c %s \(work)/whole.ndjson.gz) / 2 )) "
               + "\(work)/whole.ndjson.gz > \(cut) && rm \(work)/whole.ndjson.gz")
    // Both exit 2 (a rejected record, a damaged file): `|| true`, with the kept count checked after.
    let direct = bench.time("rm -rf \(work)/store-cut && \(rearview) import --store \(work)/store-cut \(cut) 2>/dev/null || true")
    let piped = bench.time("rm -rf \(work)/store-piped && (zcat \(cut) 2>/dev/null | \(rearview) import --store \(work)/store-piped - 2>/dev/null) || true")
    let kept = shellOutput("\(rearview) query --store \(work)/store-cut --count")
    let keptPiped = shellOutput("\(rearview) query --store \(work)/store-piped --count")
    report("import of a cut .gz (\(kept) kept)", String(format: "%.2f s", direct), String(format: "zcat | import - %.2f s (\(keptPiped))", piped),
           String(format: "%.2fx", direct / piped), "≤ 1x, same count")

    // One flipped byte in a block of the first segment: query reads every other block.
    let damaged = "\(work)/store-damaged"
    bench.time("rm -rf \(damaged) && cp -r \(store) \(damaged)")
    let block = shellOutput("sqlite3 \(damaged)/index.sqlite 'select offset + length / 2 from blocks where segment = 1 order by offset limit 1 offset 3'")
    bench.time("printf '\\xff' | dd of=\(damaged)/segments/000001.rvseg bs=1 seek=\(block) conv=notrunc status=none")
    let intactRead = bench.best(3, "\(rearview) query --store \(store) --format ndjson > /dev/null")
    let damagedRead = bench.best(3, "\(rearview) query --store \(damaged) --format ndjson > /dev/null 2>&1 || true")
    report("query ndjson, 1 damaged block", String(format: "%.2f s", damagedRead), String(format: "intact store %.2f s", intactRead),
           String(format: "%.2fx", damagedRead / intactRead), "≤ 1x")
    bench.time("rm -rf \(damaged) \(work)/store-cut \(work)/store-piped \(cut)")
}
