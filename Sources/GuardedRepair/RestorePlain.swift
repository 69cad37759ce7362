import GuardedSystem

extension Repairer {
    /// Undoes adoption: the current generation's directory goes back to the venv path.
    public func restorePlain(venv: String, waitSeconds: Double) -> Result<Int, RepairError> {
        underLock(venv: venv, waitSeconds: waitSeconds) { layout, _ in
            guard let n = layout.currentGeneration else {
                return .failure(.step("\(venv) is not in the generations layout"))
            }
            do throws(SystemError) { try layout.restorePlain() } catch {
                return .failure(.system(step: nil, error))
            }
            GenerationRecord.remove(state: state, venv: venv, generation: n)
            return .success(n)
        }
    }
}
