import GuardedCheck
import GuardedCore
import GuardedRepair

/// The repair state files under `venvs/<key>/`: repair-failure.json (and the backoff decision that
/// reads it), generations/<N>.json and known-good.json. The first input byte picks the file.
@_cdecl("fuzz_repair_state") public func fuzzRepairState(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    guard let selector = input.first else { return 0 }
    let body = Array(input.dropFirst())
    let dir = "venvs/" + StateDirectory.key(for: Scratch.venv)
    switch selector % 3 {
    case 0:
        Scratch.write(dir + "/repair-failure.json", body)
        if let failure = RepairFailure.load(state: Scratch.state, venv: Scratch.venv) {
            _ = failure.retryAfterText
            _ = RepairFailure.inEffect(state: Scratch.state, venv: Scratch.venv, optionsKey: failure.optionsKey)
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
