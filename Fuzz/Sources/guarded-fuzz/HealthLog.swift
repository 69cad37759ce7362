import GuardedCore
import GuardedFleet

/// Health-log lines as `status`, `log` and `metrics` read them (JSON per line, any fields).
@_cdecl("fuzz_health_log") public func fuzzHealthLog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    Scratch.write("agents/fuzz/health.jsonl", bytes(data, size))
    let now = 1_800_000_000.0
    let status = AgentStatus.load(state: Scratch.state, agent: "fuzz", now: now)
    _ = status.json().serialized()
    _ = FleetStatus(agents: [status]).table()
    _ = HealthLogView(state: Scratch.state, agent: "fuzz", limit: 20).text()
    _ = MetricsExposition(agents: [status], lastCheck: []).text()
    return 0
}
