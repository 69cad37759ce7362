import Foundation
import XCTest

/// The C library is GuardedSystem's alone (and, below it, GuardedLaunch's and the C targets'): the
/// modules above call its typed API, and nothing re-exports libc to them. Read from the sources, so a
/// new `import Glibc` above the system layer fails here, not in review.
final class LayerSealTests: XCTestCase {
    /// Below or beside the line: they are the system layer.
    static let systemLayer: Set<String> = ["GuardedSystem", "GuardedLaunch", "CSystemShims", "CLaunchRuntime", "guarded-run"]
    static let libcModules = ["Glibc", "Musl", "Darwin", "SwiftGlibc", "CSystemShims"]

    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
    }

    static func modules() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// `(file, line)` for every Swift file of `module` and each of its lines, trimmed.
    static func lines(of module: String) throws -> [(file: String, line: String)] {
        let dir = sources.appendingPathComponent(module)
        var out: [(String, String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".swift") {
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") {
                out.append((module + "/" + name, line.trimmingCharacters(in: .whitespaces)))
            }
        }
        return out
    }

    /// The module an `import` line names, modifiers and attributes (`@_exported`, `public`,
    /// `internal`, `@preconcurrency`) and a `struct`/`func` kind skipped; nil for other lines.
    static func importedModule(_ line: String) -> String? {
        let words = line.split(separator: " ")
        guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
              words[..<i].allSatisfy({ $0.hasPrefix("@") || ["public", "internal", "package", "private", "fileprivate"].contains(String($0)) })
        else { return nil }
        var module = words[i + 1]
        if ["struct", "class", "enum", "func", "var", "let", "protocol", "typealias"].contains(String(module)), i + 2 < words.count {
            module = words[i + 2]
        }
        return String(module.split(separator: ".").first ?? module)
    }

    func testModulesAboveTheSystemLayerDoNotImportTheCLibrary() throws {
        let above = try Self.modules().filter { !Self.systemLayer.contains($0) }
        XCTAssertTrue(above.contains("GuardedCore") && above.contains("GuardedCommands"), "Sources not found at \(Self.sources.path)")
        var found: [String] = []
        for module in above {
            for (file, line) in try Self.lines(of: module) {
                if let imported = Self.importedModule(line), Self.libcModules.contains(imported) { found.append("\(file): \(line)") }
            }
        }
        XCTAssertEqual(found, [], "libc is GuardedSystem's: call its API instead")
    }

    /// Nothing hands libc to the modules above through a re-export (`@_exported import Glibc` in
    /// GuardedSystem once made every module above call it without an import of its own).
    func testNoModuleReExportsTheCLibrary() throws {
        var found: [String] = []
        for module in try Self.modules() {
            for (file, line) in try Self.lines(of: module) where line.hasPrefix("@_exported") {
                if let imported = Self.importedModule(line), Self.libcModules.contains(imported) { found.append("\(file): \(line)") }
            }
        }
        XCTAssertEqual(found, [])
    }

    func testImportedModuleReadsImportLines() {
        XCTAssertEqual(Self.importedModule("import Glibc"), "Glibc")
        XCTAssertEqual(Self.importedModule("@_exported import Glibc"), "Glibc")
        XCTAssertEqual(Self.importedModule("internal import CSystemShims"), "CSystemShims")
        XCTAssertEqual(Self.importedModule("@preconcurrency public import Darwin.C"), "Darwin")
        XCTAssertEqual(Self.importedModule("import func Glibc.getpid"), "Glibc")
        XCTAssertNil(Self.importedModule("/// the C library, import Glibc"))
        XCTAssertNil(Self.importedModule("let important = 1"))
    }
}
