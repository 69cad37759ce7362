extension Repairer {
    /// What `prune(venv:keep:waitSeconds:)` would delete now (its dry run), newest first.
    public func pruneSelection(venv: String, keep: Int) -> [Int] {
        GenerationLayout(venv: venv).pruneSelection(keep: keep)
    }

    /// Deletes generations beyond the newest `keep` besides the current one (under the lock).
    public func prune(venv: String, keep: Int, waitSeconds: Double) -> Result<[Int], RepairError> {
        underLock(venv: venv, waitSeconds: waitSeconds) { layout, _ in
            let removed = layout.prune(keep: keep)
            for n in removed { GenerationRecord.remove(state: state, venv: venv, generation: n) }
            return .success(removed)
        }
    }
}
