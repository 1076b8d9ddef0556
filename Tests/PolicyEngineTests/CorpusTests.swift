import Foundation
import Testing
@testable import PolicyEngine

/// Every policy file of the shared corpus (policy-templates, KubeArmor's own, karmor's recommendations)
/// loads, or is rejected for the reason the Kubernetes API server would give.
@Suite struct CorpusTests {
    /// Relative path → the start of the reason it is rejected with.
    static let expectedRejections: [String: String] = [
        // KubeArmorNetworkPolicy filters packets: not evaluated
        "KubeArmor/examples/network-security-policies/nsp-egress-block-dns.yaml": "KubeArmorNetworkPolicy is not evaluated",
        "KubeArmor/tests/k8s_env/nsp/res/nsp-egress-block-dns.yaml": "KubeArmorNetworkPolicy is not evaluated",
        // `Version:` instead of `apiVersion:`
        "KubeArmor/getting-started/use-cases/res/disc-tools.yaml": "apiVersion: no kind \"KubeArmorPolicy\" is registered",
        // host policies without the required nodeSelector
        "KubeArmor/pkg/KubeArmorController/config/samples/security_v1_kubearmorhostpolicy.yaml": "spec.nodeSelector: Required",
        // host network rules must name their sources; a directory must end with /
        "KubeArmor/tests/nonk8s_env/host_policy/res/hsp-audit-network-protocol.yaml":
            "spec.network.matchProtocols[0].fromSource: Required",
        "KubeArmor/tests/nonk8s_env/host_policy/res/hsp-block-process-dir-bin.yaml":
            "spec.process.matchDirectories[0].dir: \"/usr/bin\" does not match",
        // misspelt or misplaced fields
        "policy-templates/cis/system/ksp-audit-cis-apache-tomcat-4.6.yaml":
            "unknown field \"spec.file.matchDirectories[0].recurive\"",
        "policy-templates/cve/system/hsp-cve-2024-3094-xz-v5-6-backdoor.yaml":
            "spec.file.matchPatterns[0].pattern: Required value (fields given: path)",
        "policy-templates/java/system/ksp-block-virus-eduapps-sexo.yaml": "unknown field \"spec.selector.process\"",
        "policy-templates/malware/system/ksp-block-linux-xorddos-trojan-process.yaml": "unknown field \"spec.process.process\"",
        // a lower-case action (the CRD's enum is Allow, Audit, Block)
        "policy-templates/elastic/system/ksp-audit-elasticsearch-log-file-access.yaml": "spec.action: Unsupported value \"audit\"",
        // a space in metadata.name
        "policy-templates/stigs/system/hsp-audit-stig ubuntu-20-010137-chfn.yaml": "metadata.name: \"hsp-audit-stig ubuntu",
        // duplicate keys, which kubectl's YAML parser refuses
        "policy-templates/cve/system/ksp-cve-2021-24867-block-wordpress-supply-chain-attack.yaml": "invalid YAML: duplicate key",
        "policy-templates/cve/system/ksp-cve-2021-41277-metabase-file-inclusion.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/hsp-nist-ac-6-10-prohibit-non-privileged-users-from-executing-privileged-functions.yaml":
            "invalid YAML: duplicate key",
        "policy-templates/nist/system/hsp-nist-ac-6-9-auditing-use-of-privileged-functions.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/hsp-nist-ca-9-audit-untrusted-read-on-sensitive-files.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-ac-3-11-access-enforcement-restrict-access-to-specific-information-types.yaml":
            "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-cm-7-4-least-functionality-nist.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-nist-ac-6-1-authorize-access-to-security-functions.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-nist-ac-6-10-prohibit-non-privileged-users-from-executing-privileged-functions.yaml":
            "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-nist-ac-6-9-auditing-use-of-privileged-functions.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-nist-ca-9-audit-untrusted-read-on-sensitive-files.yaml": "invalid YAML: duplicate key",
        "policy-templates/nist/system/ksp-nist-ps-5-personnel-transfer.yaml": "invalid YAML: duplicate key",
    ]
        .merging(mariadbSelectors.map { ($0, "unknown field \"spec.selector.app\"") }, uniquingKeysWith: { a, _ in a })
        .merging(stigsWithoutNodeSelector.map { ($0, "spec.nodeSelector: Required value") }, uniquingKeysWith: { a, _ in a })

    /// `selector: {app: …}` instead of `selector: {matchLabels: {app: …}}`.
    static let mariadbSelectors = [
        "10-4-10-7-cve-2022-32081", "10-6-3-cve-2022-27455", "10-6-3-cve-2022-27456", "10-6-3-cve-2022-27457",
        "10-7-cve-2022-27386", "10-7-cve-2022-32091", "10-9-cve-2022-27444", "10-9-cve-2022-27447", "10-9-cve-2022-27448",
        "10-9-cve-2022-27451", "10-9-cve-2022-27452",
    ].map { "policy-templates/cve/system/ksp-block-mariadb-v-\($0).yaml" }

    /// STIG host policies written without a nodeSelector.
    static let stigsWithoutNodeSelector = [
        "audit-stig-ubuntu-20-010136-su", "audit-stig-ubuntu-20-010138-mount", "audit-stig-ubuntu-20-010139-umount",
        "audit-stig-ubuntu-20-010148-chown", "audit-stig-ubuntu-20-010161-sudo", "audit-stig-ubuntu-20-010162-sudoedit",
        "audit-stig-ubuntu-20-010163-chsh", "audit-stig-ubuntu-20-010164-newgrp", "audit-stig-ubuntu-20-010165-chcon",
        "audit-stig-ubuntu-20-010166-apparmor-parser", "audit-stig-ubuntu-20-010168-chacl",
        "audit-stig-ubuntu-20-010172-passwd", "audit-stig-ubuntu-20-010173-unix-update",
        "audit-stig-ubuntu-20-010174-gpasswd", "audit-stig-ubuntu-20-010175-chage", "audit-stig-ubuntu-20-010176-usermod",
        "audit-stig-ubuntu-20-010177-crontab", "audit-stig-ubuntu-20-010178-pam-timestamp",
        "audit-stig-ubuntu-20-010267-sensitive-syscall", "audit-stig-ubuntu-20-010297-kmod",
        "audit-stig-ubuntu-20-010298-fdisk", "audit-stig-ubuntu-20-010451-conf", "block-stig-ubuntu-20-010419-log",
        "block-stig-ubuntu-20-010422-syslog", "block-stig-ubuntu-20-010427-lib",
    ].map { "policy-templates/stigs/system/hsp-\($0).yaml" }

    @Test func theWholeCorpusLoadsOrIsRejectedForTheRightReason() throws {
        let result = PolicyLoader.load(paths: [Fixture.corpus])
        let prefix = Fixture.corpus + "/"
        #expect(result.files.count == 776)
        var rejected: [String: String] = [:]
        for rejection in result.rejections {
            #expect(rejected[String(rejection.file.dropFirst(prefix.count))] == nil, "one rejection per file")
            rejected[String(rejection.file.dropFirst(prefix.count))] = rejection.reason
        }
        #expect(Set(rejected.keys) == Set(Self.expectedRejections.keys))
        for (file, reason) in rejected {
            #expect(reason.hasPrefix(Self.expectedRejections[file] ?? "?"), "\(file): \(reason)")
        }
        #expect(result.rejections.count == 60)
        #expect(result.policies.count == 717)
        #expect(Set(result.policies.map(\.kind)) == Set(PolicyKind.allCases))
    }

    /// Nine templates have TABs before trailing comments: valid YAML (libyaml and Kubernetes' go-yaml
    /// accept it), though PyYAML refuses it.
    @Test func theTemplatesWithTabsLoad() {
        let files = [
            "redis/system/ksp-redis-hardening-rule-audit-xautoclaim-command.yaml",
            "redis/system/ksp-redis-hardening-rule-audit-redis-log-files.yaml",
            "nist/system/ksp-nist-si-7-1-software-firmware-information-integrity-check.yaml",
            "nist/system/ksp-nist-si-3-8-malicious-code-protection-detect-unauthorised-command.yaml",
            "nist/system/ksp-nist-si-7-7-software-firmware-information-integrity-detection-response.yaml",
            "python/system/ksp-python-hardening-rule-audit-ipaddress-package.yaml",
            "python/system/ksp-python-hardening-rule-audit-url-lib.yaml",
            "django/system/ksp-django-hardening-rule-audit-settings-file.yaml",
            "django/system/ksp-django-hardening-rule-audit-urlconf-file.yaml",
        ].map { Fixture.corpus + "/policy-templates/" + $0 }
        let result = PolicyLoader.load(paths: files)
        #expect(result.rejections.isEmpty)
        #expect(result.policies.count == 9)
        let patterns = result.policies.flatMap(\.spec.process.rules).map(\.target)
        #expect(patterns.contains(.pattern("/*/mv * /dev/null")))
    }

    /// Every loaded policy compiles and evaluates the demo incident without trouble, in every scope.
    @Test func theWholeCorpusEvaluates() throws {
        let policies = PolicyLoader.load(paths: [Fixture.corpus]).policies
        let events = try Fixture.demoIncident()
        for scope in EvaluationOptions.Scope.allCases {
            var evaluator = PolicySet(policies, options: Fixture.options(scope: scope)).makeEvaluator()
            let alerts = events.compactMap { evaluator.evaluate($0) }
            #expect(alerts.allSatisfy { $0.extra("Reevaluated") == "true" && $0.isAlert })
            #expect(evaluator.statistics().operations == events.count - 34, "scope \(scope)")
        }
    }
}
