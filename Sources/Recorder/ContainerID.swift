/// Finds the container a process runs in from its cgroup path, for the runtimes that name cgroups
/// after the container: Docker, containerd (Kubernetes and plain), CRI-O and Podman.
///
/// Recognised leaf forms (cgroupfs and systemd drivers, v1 and v2), where ID is 64 hex digits:
/// `/docker/ID`, `docker-ID.scope`, `/kubepods/…/pod…/ID`, `cri-containerd-ID.scope`,
/// `crio-ID.scope`, `libpod-ID.scope` (also with a `/container` child), and `…:cri-containerd:ID`.
/// The runtimes' own monitor cgroups (`crio-conmon-ID.scope`, `libpod-conmon-ID.scope`) are not
/// containers.
enum ContainerID {
    /// The container ID in a cgroup path, or "" for a host process.
    static func fromCgroupPath(_ path: some StringProtocol) -> String {
        for component in String(path).split(separator: "/").reversed() {
            if let id = fromComponent(component) {
                return id
            }
        }
        return ""
    }

    /// The container ID in /proc/<pid>/cgroup text: the first hierarchy whose path names one.
    static func fromProcCgroupFile(_ text: some StringProtocol) -> String {
        for line in text.split(separator: "\n") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            let id = fromCgroupPath(line[line.index(after: colon)...])
            if !id.isEmpty {
                return id
            }
        }
        return ""
    }

    private static func fromComponent(_ component: Substring) -> String? {
        var name = component
        if name.hasSuffix(".scope") {
            name = name.dropLast(".scope".count)
        }
        if name.contains("conmon") {
            return nil
        }
        if let colon = name.lastIndex(of: ":") {
            name = name[name.index(after: colon)...]
        } else if let dash = name.lastIndex(of: "-") {
            name = name[name.index(after: dash)...]
        }
        return isContainerID(name) ? String(name) : nil
    }

    private static func isContainerID(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
