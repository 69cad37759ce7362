import GuardedCheck
import GuardedFleet

/// pyvenv.cfg, as the full check reads it.
@_cdecl("fuzz_pyvenv_cfg") public func fuzzPyvenvConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let config = PyvenvConfig(text: text(data, size))
    _ = config.majorMinor
    _ = config.fullVersion.flatMap(majorMinor(of:))
    return 0
}

/// fleet.conf (`venvs`' roots).
@_cdecl("fuzz_fleet_conf") public func fuzzFleetConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = FleetConfig(text: text(data, size), path: "/fuzz/fleet.conf")
    return 0
}
