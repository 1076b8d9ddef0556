import EventModel
import Foundation
import Testing

/// Import then write gives back the input: the same JSON objects, and byte-identical lines for
/// records in karmor's shape.
@Suite struct KubeArmorRoundTripTests {
    @Test(.enabled(if: SharedMaterial.corpusAvailable, "needs ../shared/corpus"))
    func kubeArmorDocSamplesAreByteIdentical() throws {
        let path = SharedMaterial.corpusFile("KubeArmor/samples.ndjson")
        let input = try InputBytes.load(path: path)
        let all = events(try KubeArmorJSONReader.readAll(bytes: input, origin: path))
        #expect(all.count == 52)
        #expect(written(all) == input)
    }

    @Test(.enabled(if: SharedMaterial.corpusAvailable, "needs ../shared/corpus"))
    func accuKnoxAlertsAreByteIdenticalAndThePastedFormGivesTheSameObjects() throws {
        let jsonPath = SharedMaterial.corpusFile("accuknox-docs/alerts.ndjson")
        let json = try InputBytes.load(path: jsonPath)
        let fromJSON = events(try KubeArmorJSONReader.readAll(bytes: json, origin: jsonPath))
        #expect(fromJSON.count == 3)
        #expect(written(fromJSON) == json)

        let pastedPath = SharedMaterial.corpusFile("accuknox-docs/alerts-as-shown.txt")
        let fromPasted = events(try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: pastedPath), origin: pastedPath))
        for (line, original) in zip(lines(written(fromPasted)), lines(json)) {
            #expect(try canonicalJSON(line) == canonicalJSON(original))
        }
    }

    @Test(.enabled(if: SharedMaterial.corpusAvailable, "needs ../shared/corpus"))
    func docSamplesAsShownGiveTheSameObjects() throws {
        let directory = SharedMaterial.corpus.appendingPathComponent("KubeArmor/as-shown")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        var checked = 0
        for file in files {
            let path = directory.appendingPathComponent(file).path
            let input = try InputBytes.load(path: path)
            guard isStrictJSON(path) else { continue }  // invalid as shown (a trailing comma)
            let all = events(try KubeArmorJSONReader.readAll(bytes: input, origin: path))
            #expect(all.count == 1, "\(file)")
            let back = written(all).dropLast()
            #expect(try canonicalJSON(back) == canonicalJSON(input), "\(file)")
            checked += 1
        }
        #expect(checked >= 60)
    }

    @Test(.enabled(if: SharedMaterial.generatorAvailable, "needs ../shared/tools and python3"),
          arguments: ["classic", "current"])
    func generatedRecordsAreByteIdentical(schema: String) throws {
        let dir = try TemporaryDirectory()
        let path = try SharedMaterial.generate(["--events", "100000", "--seed", "7", "--hosts", "3", "--attack", "2", "--schema", schema],
                                               into: dir, name: "\(schema).ndjson")
        let input = try InputBytes.load(path: path)
        let all = events(try KubeArmorJSONReader.readAll(bytes: input, origin: path, threads: 2))
        #expect(all.count == 100_000)
        #expect(written(all) == input)
        // Without their layouts (as if rearview had recorded them), they come out in KubeArmor's own
        // key order, which is the generator's, so again byte-identical.
        #expect(written(all.map { event in
            var recorded = event
            recorded.layout = nil
            return recorded
        }) == input)
    }

    @Test(.enabled(if: SharedMaterial.generatorAvailable, "needs ../shared/tools and python3"))
    func generatedFormsReadAsTheSameEvents() throws {
        let dir = try TemporaryDirectory()
        let common = ["--events", "3000", "--seed", "5", "--hosts", "2", "--schema", "current"]
        let ndjson = try SharedMaterial.generate(common, into: dir, name: "a.ndjson")
        let array = try SharedMaterial.generate(common + ["--format", "json-array"], into: dir, name: "b.json")
        let pretty = try SharedMaterial.generate(common + ["--format", "pretty"], into: dir, name: "c.json")
        let sorted = try SharedMaterial.generate(common + ["--sort-keys"], into: dir, name: "d.ndjson")
        let reference = events(try KubeArmorJSONReader.readAll(bytes: InputBytes.load(path: ndjson), origin: ndjson))
        #expect(reference.count == 3000)
        for (path, form) in [(array, KubeArmorJSONReader.Form.array), (pretty, .objects)] {
            let reader = KubeArmorJSONReader(bytes: try InputBytes.load(path: path), origin: path)
            #expect(reader.form == form)
            #expect(events(try reader.readAll()) == reference, "\(path)")
        }
        // Sorted keys (nested ones too): another layout, the same objects; written back as sorted.
        let sortedInput = try InputBytes.load(path: sorted)
        let sortedEvents = events(try KubeArmorJSONReader.readAll(bytes: sortedInput, origin: sorted))
        #expect(written(sortedEvents) == sortedInput)
        for (a, b) in zip(lines(written(sortedEvents)), lines(written(reference))) {
            #expect(try canonicalJSON(a) == canonicalJSON(b))
        }
    }
}
