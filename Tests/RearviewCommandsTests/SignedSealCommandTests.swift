import Foundation
import Testing

@Suite(.serialized) struct SignedSealCommandTests {
    @Test func keygenImportAndVerifyWithThePublicKey() throws {
        let scratch = Scratch()
        let store = scratch.path + "/store", key = scratch.path + "/seal.key", other = scratch.path + "/other.key"
        let samples = Shared.logs + "/KubeArmor/samples.ndjson"
        let keygen = try CLI.run(["keygen", "--out", key])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        #expect(keygen.stderr.contains("fingerprint SHA256:"))
        #expect(try CLI.run(["keygen", "--out", other]).status == 0)
        let privateKey = try String(contentsOfFile: key, encoding: .utf8)

        let imported = try CLI.run(["import", "--store", store, "--sign-key", key, samples])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(FileManager.default.fileExists(atPath: store + "/segments/000001.rvseg.sig"))
        let verified = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(verified.stdout.contains("all signed by SHA256:"))

        let wrongKey = try CLI.run(["verify", "--store", store, "--pubkey", other + ".pub"])
        #expect(wrongKey.status == 3)
        #expect(wrongKey.stdout.contains("000001.rvseg: signed by another key"), "\(wrongKey.stdout)")

        // A second import without the key seals an unsigned segment: verify names it.
        #expect(try CLI.run(["import", "--store", store, Shared.logs + "/accuknox-docs/alerts.ndjson"]).status == 0)
        let unsigned = try CLI.run(["verify", "--store", store, "--pubkey", key + ".pub"])
        #expect(unsigned.status == 3)
        #expect(lines(unsigned.stdout).filter { $0.hasPrefix("DAMAGED") }.count == 2)
        #expect(unsigned.stdout.contains("000002.rvseg: not signed"), "\(unsigned.stdout)")
        #expect(unsigned.stdout.contains("head.sig: segment 2 sealed after the signed head (segment 1)"), "\(unsigned.stdout)")

        // The key material never reaches the terminal.
        let base64 = lines(privateKey)[1]
        for run in [keygen, imported, verified, wrongKey, unsigned] {
            #expect(!run.stdout.contains(base64) && !run.stderr.contains(base64))
        }
    }

    @Test func keyProblemsAreUsageErrors() throws {
        let scratch = Scratch()
        let key = scratch.path + "/seal.key"
        #expect(try CLI.run(["keygen", "--out", key]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: key))
        let again = try CLI.run(["keygen", "--out", key])
        #expect(again.status == 2)
        #expect(again.stderr.contains("refusing to overwrite"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == before)
        var st = stat()
        #expect(stat(key, &st) == 0 && st.st_mode & 0o777 == 0o600)

        let store = scratch.path + "/store"
        // A public key given as the signing key, and a missing key file: refused before anything is written.
        let wrongFile = try CLI.run(["import", "--store", store, "--sign-key", key + ".pub", Shared.logs + "/KubeArmor/samples.ndjson"])
        #expect(wrongFile.status == 2, "\(wrongFile.stderr)")
        #expect(!FileManager.default.fileExists(atPath: store))
        let missing = try CLI.run(["verify", "--store", store, "--pubkey", scratch.path + "/none.pub"])
        #expect(missing.status == 2)
    }
}
