// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (see docs/architecture.md):
//   GuardedSystem  - every raw syscall, typed errors, atomic writes, spawning. No Foundation.
//   GuardedCore    - the launcher's fast path: options, state paths, fingerprint cache, health log, exec.
//   GuardedCheck   - the full health check (one Python probe) that writes the fingerprint.
//   GuardedRepair, GuardedSnapshot, GuardedFleet, GuardedSupervisor - the slower admin features.
//   GuardedCommands - one thin file per admin subcommand; guarded-run - the static executable.
// Nothing in the product imports Foundation or FoundationEssentials: measured here, linking
// FoundationEssentials alone adds a libdispatch start-up cost to every agent start.
let keepSymbols = Context.environment["GUARDED_RUN_KEEP_SYMBOLS"] == "1"

let package = Package(
    name: "guarded-run",
    products: [
        .executable(name: "guarded-run", targets: ["guarded-run"]),
        // Only for the fuzz package (Fuzz/Package.swift, docs/fuzzing.md), which depends on this one by path.
        .library(name: "GuardedRunModules", targets: ["GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedRepair",
                                                       "GuardedSnapshot", "GuardedFleet", "GuardedSupervisor", "GuardedCommands"]),
    ],
    targets: [
        .target(name: "CSystemShims"),
        .target(name: "GuardedSystem", dependencies: ["CSystemShims"]),
        .target(name: "GuardedCore", dependencies: ["GuardedSystem"]),
        .target(name: "GuardedCheck", dependencies: ["GuardedSystem", "GuardedCore"]),
        .target(name: "GuardedRepair", dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedSnapshot"]),
        .target(name: "GuardedSnapshot", dependencies: ["GuardedSystem", "GuardedCore"]),
        .target(name: "GuardedFleet", dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedRepair"]),
        .target(name: "GuardedSupervisor", dependencies: ["GuardedSystem", "GuardedCore", "GuardedSnapshot"]),
        .target(
            name: "GuardedCommands",
            dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedRepair",
                           "GuardedSnapshot", "GuardedFleet", "GuardedSupervisor"]),
        .executableTarget(
            name: "guarded-run",
            dependencies: ["GuardedCore", "GuardedCommands"],
            linkerSettings: [
                // Static on Linux: no dynamic loader work on every agent start. macOS has no
                // static executables; there the binary links the system's Swift runtime.
                .unsafeFlags(["-static-executable", "-Xlinker", "--gc-sections"], .when(platforms: [.linux])),
                // Stripped in release: measured ~0.1 ms less per agent start than with the symbol tables
                // (GUARDED_RUN_KEEP_SYMBOLS=1 keeps them, for profiling: scripts/gen-fastpath-order).
                .unsafeFlags(keepSymbols ? [] : ["-Xlinker", "--strip-all"], .when(platforms: [.linux], configuration: .release)),
            ]),
        .target(name: "TestSupport", dependencies: ["GuardedSystem"], path: "Tests/TestSupport"),
        .testTarget(name: "GuardedCoreTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "TestSupport"]),
        .testTarget(name: "GuardedSnapshotTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedSnapshot", "TestSupport"]),
        .testTarget(name: "GuardedSupervisorTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedSupervisor", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "GuardedFleetTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedFleet", "TestSupport"]),
        .testTarget(name: "GuardedRepairTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedRepair", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["GuardedSystem", "GuardedCore", "TestSupport"]),
    ]
)
