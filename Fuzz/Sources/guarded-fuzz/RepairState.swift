import GuardedCheck
import GuardedCore
import GuardedRepair

/// The repair state files: the backoff record beside the venv (`<venv>.generations/.repair/failure.json`,
/// and the backoff decision that reads it), and under `venvs/<key>/` generations/<N>.json and
/// known-good.json. The first input byte picks the file.
@_cdecl("fuzz_repair_state") public func fuzzRepairState(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    guard let selector = input.first else { return 0 }
    let body = Array(input.dropFirst())
    let dir = "venvs/" + StateDirectory.key(for: Scratch.venv)
    switch selector % 3 {
    case 0:
        // The record lives beside the venv, not in the state directory: a venv path inside the
        // scratch directory, so the file can be planted where the reader looks.
        let venv = Scratch.root + "/project/.venv"
        Scratch.writeAbsolute(venv + ".generations/.repair/failure.json", body)
        if let failure = RepairFailure.load(venv: venv) {
            _ = failure.retryAfterText
            _ = RepairFailure.inEffect(venv: venv, optionsKey: failure.optionsKey)
        }
    case 1:
        Scratch.write(dir + "/generations/3.json", body)
        _ = GenerationRecord.load(state: Scratch.state, venv: Scratch.venv, generation: 3)?.json().serialized()
    default:
        Scratch.write(dir + "/known-good.json", body)
        _ = KnownGood.load(state: Scratch.state, venv: Scratch.venv)
    }
    return 0
}
