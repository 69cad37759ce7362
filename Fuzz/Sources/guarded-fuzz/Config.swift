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

/// METADATA's `Requires-Dist` lines (PEP 508), as the full check reads them: each line a requirement,
/// its specifiers against a version read from the same input, its marker evaluated.
@_cdecl("fuzz_requirement") public func fuzzRequirement(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let lines = text(data, size).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let environment = ["python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
                       "implementation_name": "cpython", "os_name": "posix", "python_full_version": "3.11.2"]
    for line in lines.prefix(64) {
        _ = PackageVersion(line)
        _ = normalizedName(line)
        guard let requirement = Requirement(line) else { continue }
        _ = requirement.shown
        for specifier in requirement.specifiers {
            _ = VersionSpecifier.contains(specifier.op, specifier.version, installed: lines.last ?? "1.0")
        }
        if let marker = requirement.marker { _ = Marker.evaluate(marker, extra: "", environment: environment) }
    }
    return 0
}
