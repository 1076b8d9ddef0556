/// The process trees around a selection of instances: their ancestors and descendants, arranged by
/// the parent that started each process.
///
/// A process reparented when its parent exited stays under the parent that started it (that is
/// where it came from); its ``ProcessInstance/reaperID`` says who adopted it. Built without
/// recursion and visiting each instance once, so a damaged table whose parent links form a cycle
/// cannot make it loop: an instance on a cycle becomes a root.
public struct ProcessTree: Sendable {
    /// The roots: instances whose parent is not in the tree, ordered by host, start and id.
    public let roots: [ProcessTreeNode]
    /// The instances the selector chose.
    public let selectedIDs: Set<Int64>
    /// Every instance in the tree, by id (for resolving reapers and parents in renderings).
    public let instancesByID: [Int64: ProcessInstance]
    /// The reapers of the tree's instances that are not in the tree themselves, by id, so that
    /// renderings can name every reaper.
    public let outsideReapers: [Int64: ProcessInstance]

    /// The trees around what `selector` chooses in `table`: the selected instances, with their
    /// ancestors and/or descendants up to `depth` levels away (nil: all). ``ProcessSelector/all``
    /// gives the whole forest.
    public init(table: ProcessInstanceTable, selecting selector: ProcessSelector, ancestors: Bool = true,
                descendants: Bool = true, depth: Int? = nil) {
        let selected = selector.select(in: table)
        selectedIDs = selected
        var included = selected
        let limit = depth ?? Int.max
        if ancestors {
            for id in selected {
                var next = table[id].flatMap { table.parent(of: $0) }
                var level = 1
                while let parent = next, level <= limit, included.insert(parent.id).inserted {
                    next = table.parent(of: parent)
                    level += 1
                }
            }
        }
        if descendants {
            var frontier = Array(selected)
            var level = 1
            while !frontier.isEmpty && level <= limit {
                var nextFrontier: [Int64] = []
                for id in frontier {
                    for child in table.childIDs(of: id) where included.insert(child).inserted {
                        nextFrontier.append(child)
                    }
                }
                frontier = nextFrontier
                level += 1
            }
        }
        var byID: [Int64: ProcessInstance] = [:]
        for id in included {
            if let instance = table[id] { byID[id] = instance }
        }
        instancesByID = byID
        var reapers: [Int64: ProcessInstance] = [:]
        for instance in byID.values {
            if let id = instance.reaperID, byID[id] == nil, let reaper = table[id] { reapers[id] = reaper }
        }
        outsideReapers = reapers
        roots = Self.arrange(byID, table: table)
    }

    /// The reaper of `instance`, in the tree or not (nil when it has none, or the table lacks it).
    public func reaper(of instance: ProcessInstance) -> ProcessInstance? {
        instance.reaperID.flatMap { instancesByID[$0] ?? outsideReapers[$0] }
    }

    /// The selected instances and every instance below them in the tree: whose events tell what the
    /// selected processes did.
    public var selectedAndDescendants: Set<Int64> {
        var out = Set<Int64>()
        var stack = roots.map { ($0, false) }
        while let (node, below) = stack.popLast() {
            let inside = below || selectedIDs.contains(node.instance.id)
            if inside { out.insert(node.instance.id) }
            stack += node.children.map { ($0, inside) }
        }
        return out
    }

    /// Every node, parents before children, depth-first in order.
    public var nodesInOrder: [(node: ProcessTreeNode, depth: Int)] {
        var out: [(node: ProcessTreeNode, depth: Int)] = []
        var stack = roots.reversed().map { ($0, 0) }
        while let (node, depth) = stack.popLast() {
            out.append((node, depth))
            stack += node.children.reversed().map { ($0, depth + 1) }
        }
        return out
    }

    /// Nodes for `instances` linked by parent, children ordered by start. Builds bottom-up from a
    /// pre-order walk, so no recursion and no instance twice.
    private static func arrange(_ instances: [Int64: ProcessInstance], table: ProcessInstanceTable) -> [ProcessTreeNode] {
        let order: (ProcessInstance, ProcessInstance) -> Bool = {
            ($0.hostName, $0.startNs, $0.id) < ($1.hostName, $1.startNs, $1.id)
        }
        var childIDs: [Int64: [Int64]] = [:]
        for instance in instances.values {
            childIDs[instance.id] = table.childIDs(of: instance.id).filter { instances[$0] != nil }
        }
        var rootIDs = instances.values.filter { $0.parentID.map { instances[$0] == nil } ?? true }.sorted(by: order).map(\.id)
        var placed = Set<Int64>()
        var preorder: [Int64] = []
        func walk(from root: Int64) {
            var stack = [root]
            while let id = stack.popLast() {
                guard placed.insert(id).inserted else { continue }
                preorder.append(id)
                stack += (childIDs[id] ?? []).reversed()
            }
        }
        rootIDs.forEach(walk)
        // Instances on a parent cycle have no root above them: each unplaced one starts a tree.
        for instance in instances.values.sorted(by: order) where !placed.contains(instance.id) {
            rootIDs.append(instance.id)
            walk(from: instance.id)
        }
        var built: [Int64: ProcessTreeNode] = [:]
        var isChild = Set<Int64>()
        for id in preorder.reversed() {
            let children = (childIDs[id] ?? []).compactMap { child -> ProcessTreeNode? in
                guard !isChild.contains(child), let node = built[child] else { return nil }
                isChild.insert(child)
                return node
            }
            built[id] = ProcessTreeNode(instance: instances[id]!, children: children)
        }
        return rootIDs.compactMap { isChild.contains($0) ? nil : built[$0] }
    }
}

/// One instance in a ``ProcessTree`` with the instances it started.
public struct ProcessTreeNode: Sendable {
    public let instance: ProcessInstance
    public let children: [ProcessTreeNode]
}
