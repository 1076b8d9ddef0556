import Foundation

/// What a container runtime knows about one of its containers: the Kubernetes pod and namespace
/// it belongs to (empty outside Kubernetes), its container name and image.
struct ContainerIdentity: Equatable, Sendable {
    var podName = ""
    var namespaceName = ""
    var containerName = ""
    var image = ""
}

/// Names the workload behind a container ID from the state files the runtime keeps on the host, so
/// recorded events carry `PodName`, `NamespaceName`, `ContainerName` and `ContainerImage` as
/// KubeArmor's do. Hosts without a runtime (or containers it does not know) give nothing.
///
/// Read, per runtime (paths under `root`, `/` on a live host):
/// - containerd (CRI): `run/containerd/io.containerd.runtime.v2.task/k8s.io/ID/config.json`, the OCI
///   spec whose annotations `io.kubernetes.cri.sandbox-name`, `…sandbox-namespace`,
///   `…container-name`, `…image-name` name the pod;
/// - CRI-O: `run/containers/storage/overlay-containers/ID/userdata/config.json` (or under
///   `var/lib/containers/storage`), annotations `io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`,
///   `io.kubernetes.container.name`, `io.kubernetes.cri-o.ImageName`;
/// - Docker (also behind cri-dockerd): `var/lib/docker/containers/ID/config.v2.json`, whose
///   `Config.Labels` carry the same `io.kubernetes.*` names, `Name` and `Config.Image`.
///
/// Each container is looked up once; the answer (found or not) is kept for the recording.
final class ContainerRuntimeState {
    private let root: String
    private var known: [String: ContainerIdentity] = [:]
    private var last: (id: String, identity: ContainerIdentity)?

    init(root: String = "/") {
        self.root = root.hasSuffix("/") ? root : root + "/"
    }

    /// The identity of container `id` (an empty one when no runtime on this host describes it).
    func identity(of id: String) -> ContainerIdentity {
        if let last, last.id == id { return last.identity }
        let identity: ContainerIdentity
        if let cached = known[id] {
            identity = cached
        } else {
            identity = Self.isContainerID(id) ? read(id) : ContainerIdentity()
            if known.count >= 65_536 { known.removeAll(keepingCapacity: true) }
            known[id] = identity
        }
        last = (id, identity)
        return identity
    }

    private func read(_ id: String) -> ContainerIdentity {
        if let spec = object(at: "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(id)/config.json"),
           let annotations = spec["annotations"] as? [String: Any] {
            return ContainerIdentity(
                podName: text(annotations["io.kubernetes.cri.sandbox-name"]),
                namespaceName: text(annotations["io.kubernetes.cri.sandbox-namespace"]),
                containerName: text(annotations["io.kubernetes.cri.container-name"]),
                image: text(annotations["io.kubernetes.cri.image-name"]))
        }
        for storage in ["run/containers/storage", "var/lib/containers/storage"] {
            if let spec = object(at: "\(storage)/overlay-containers/\(id)/userdata/config.json"),
               let annotations = spec["annotations"] as? [String: Any] {
                return ContainerIdentity(
                    podName: text(annotations["io.kubernetes.pod.name"]),
                    namespaceName: text(annotations["io.kubernetes.pod.namespace"]),
                    containerName: text(annotations["io.kubernetes.container.name"]),
                    image: text(annotations["io.kubernetes.cri-o.ImageName"]))
            }
        }
        if let state = object(at: "var/lib/docker/containers/\(id)/config.v2.json") {
            let config = state["Config"] as? [String: Any] ?? [:]
            let labels = config["Labels"] as? [String: Any] ?? [:]
            let name = text(state["Name"])
            return ContainerIdentity(
                podName: text(labels["io.kubernetes.pod.name"]),
                namespaceName: text(labels["io.kubernetes.pod.namespace"]),
                containerName: labels["io.kubernetes.container.name"].map(text) ?? String(name.drop { $0 == "/" }),
                image: text(config["Image"]))
        }
        return ContainerIdentity()
    }

    private func object(at relativePath: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: root + relativePath) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    private func text(_ value: Any?) -> String { value as? String ?? "" }

    /// Only IDs that are what ``ContainerID`` extracts (hex) become paths: nothing else is looked up.
    private static func isContainerID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
