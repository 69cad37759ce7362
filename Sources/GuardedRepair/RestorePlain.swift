extension Repairer {
    /// Undoes adoption: the current generation's directory goes back to the venv path.
    public func restorePlain(venv: String, waitSeconds: Double) -> Result<Int, RepairStepFailure> {
        underLock(venv: venv, waitSeconds: waitSeconds) { layout in
            guard let n = layout.currentGeneration else {
                return .failure(RepairStepFailure(message: "\(venv) is not in the generations layout", transient: false))
            }
            do { try layout.restorePlain() } catch {
                return .failure(RepairStepFailure(message: "\(error)", transient: false))
            }
            GenerationRecord.remove(state: state, venv: venv, generation: n)
            return .success(n)
        }
    }
}
