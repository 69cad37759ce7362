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
        .executable(name: "guarded-run-full", targets: ["guarded-run-full"]),
        // Only for the fuzz package (Fuzz/Package.swift, docs/fuzzing.md), which depends on this one by path.
        .library(name: "GuardedRunModules", targets: ["GuardedLaunch", "GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedRepair",
                                                       "GuardedSnapshot", "GuardedFleet", "GuardedSupervisor", "GuardedCommands"]),
    ],
    targets: [
        // One section per function: the launcher links none of the shims it does not call, and so none
        // of the C library functions they would need (it links no C library: CLaunchRuntime).
        .target(name: "CSystemShims", cSettings: [.unsafeFlags(["-ffunction-sections", "-fdata-sections"], .when(platforms: [.linux]))]),
        // The launcher's entry point and the C library functions it calls, as raw system calls (Linux):
        // the launcher then links no C library and skips its start-up (Sources/CLaunchRuntime/runtime.c).
        .target(name: "CLaunchRuntime", cSettings: [.unsafeFlags(["-ffreestanding", "-fno-builtin", "-fno-stack-protector"], .when(platforms: [.linux]))]),
        // The launcher's shared definitions (fast path, option table, state paths, cache reader, health-log
        // line): compiled here for the full binary and its tests, and, through symlinks in
        // Sources/guarded-run, into the Embedded Swift launcher. One source, two readers.
        .target(name: "GuardedLaunch", dependencies: ["CSystemShims"]),
        .target(name: "GuardedSystem", dependencies: ["CSystemShims", "GuardedLaunch"]),
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
        // The launcher units and plists run: Embedded Swift (no runtime start-up before main), static,
        // the fast path only. Anything else (a cache miss, an unusual command line, every admin
        // subcommand) it hands to guarded-run-full beside it with one execve (docs/guarded-run.md).
        .executableTarget(
            name: "guarded-run",
            dependencies: ["CSystemShims", .target(name: "CLaunchRuntime", condition: .when(platforms: [.linux]))],
            swiftSettings: [
                .enableExperimentalFeature("Embedded"),
                .define("GUARDED_EMBEDDED"),
                .unsafeFlags(["-wmo", "-Osize"]),
            ],
            linkerSettings: [
                // No C library and no C start files: CLaunchRuntime is the entry point and the libc.
                .unsafeFlags(["-static-executable", "-Xlinker", "--gc-sections",
                              "-Xclang-linker", "-nostartfiles", "-Xclang-linker", "-nodefaultlibs"], .when(platforms: [.linux])),
                .unsafeFlags(keepSymbols ? [] : ["-Xlinker", "--strip-all"], .when(platforms: [.linux])),
            ]),
        // Everything: the slow path (full check, repair) and every admin subcommand.
        .executableTarget(
            name: "guarded-run-full",
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
        .testTarget(name: "GuardedCoreTests", dependencies: ["GuardedLaunch", "GuardedSystem", "GuardedCore", "GuardedCheck", "TestSupport"]),
        .testTarget(name: "GuardedSnapshotTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedSnapshot", "TestSupport"]),
        .testTarget(name: "GuardedSupervisorTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedSupervisor", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "GuardedFleetTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "GuardedFleet", "TestSupport"]),
        .testTarget(name: "GuardedRepairTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedRepair", "TestSupport"]),
        .testTarget(name: "GuardedCommandsTests", dependencies: ["GuardedCommands"]),
        .testTarget(name: "EndToEndTests", dependencies: ["GuardedSystem", "GuardedCore", "GuardedCheck", "TestSupport"]),
    ]
)
