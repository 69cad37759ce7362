import GuardedSystem

/// Test-only hooks (docs/auto-repair.md, "Testing"): never set them in production.
///
/// - `GUARDED_RUN_TEST_KILL_AT=<step>`: the process SIGKILLs itself when the repair reaches `<step>`
///   (lock, slot, create, install, rewrite, verify, promote, adopt, swap, swapped, prune, rollback), so the
///   tests can prove every instant of a repair leaves a complete old or new venv behind.
/// - `GUARDED_RUN_TEST_PAUSE_AT=<step>:<file>[,<step>:<file>]...`: at `<step>`, creates `<file>` and
///   waits (up to 60 s) for a stop signal or for `<file>` to be removed (then it goes on), so the
///   tests can signal a repair at a known point, or hold it there while another process tries its
///   luck. `lock-wait` is reached once, when a repair first finds the venv's lock held.
enum TestHooks {
    static func reached(_ step: String) {
        if Environment.value("GUARDED_RUN_TEST_KILL_AT") == step {
            CurrentProcess.send(.kill)
        }
        let pauses = Environment.value("GUARDED_RUN_TEST_PAUSE_AT")?.split(separator: ",") ?? []
        if let pause = pauses.first(where: { $0.hasPrefix(step + ":") }) {
            let marker = String(pause.dropFirst(step.count + 1))
            _ = try? writeFileAtomically(marker, "\(CurrentProcess.id)\n")
            let deadline = Clock.monotonicNanoseconds() + 60_000_000_000
            while StopSignals.received == nil && Clock.monotonicNanoseconds() < deadline && fileStatusIfPresent(marker) != nil {
                Clock.sleep(microseconds: 5000)
            }
        }
    }
}

