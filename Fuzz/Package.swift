// swift-tools-version:6.0
import PackageDescription

// The fuzz targets (docs/fuzzing.md). A package of its own so that `swift build` of guarded-run never
// builds them: they only link with `--sanitize fuzzer`. Built and run by scripts/fuzz.
let package = Package(
    name: "guarded-run-fuzz",
    dependencies: [.package(name: "guarded-run", path: "..")],
    targets: [
        .executableTarget(
            name: "guarded-fuzz",
            dependencies: [.product(name: "GuardedRunModules", package: "guarded-run")],
            path: "Sources/guarded-fuzz",
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]),
    ]
)
