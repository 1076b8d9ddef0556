import Testing
@testable import PolicyEngine

@Test func scratchCorpus() {
    let result = PolicyLoader.load(paths: ["/work/shared/corpus/kubearmor-policies"])
    print("files", result.files.count, "policies", result.policies.count, "rejections", result.rejections.count)
    for r in result.rejections { print("REJ", r.category, r) }
}
