import Foundation
import GuardedSupervisor
import GuardedSystem
import TestSupport
import XCTest

/// The corpus and golden files beside this file, read by path (no SwiftPM resources needed).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static var systemd: String { root + "/systemd" }
    static var launchd: String { root + "/launchd" }
    static var golden: String { root + "/golden" }

    /// The guarded-run path written into goldens.
    static let guardedRun = "/usr/local/bin/guarded-run"

    static func files(_ dir: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// Compares `actual` with the golden file; `UPDATE_GOLDENS=1` rewrites the golden instead.
    static func assertGolden(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = golden + "/" + name
        if ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1" {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            XCTFail("missing golden \(name); run with UPDATE_GOLDENS=1 and review it", file: file, line: line)
            return
        }
        XCTAssertEqual(actual, expected, "golden \(name)", file: file, line: line)
    }
}

/// Python's plistlib (an independent reader) as JSON: every key and value, types kept apart.
func plistlibJSON(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let script = """
    import plistlib, sys, json, base64, datetime
    def enc(v):
        if isinstance(v, bool): return {"bool": v}
        if isinstance(v, int): return {"int": str(v)}
        if isinstance(v, float): return {"real": repr(v)}
        if isinstance(v, bytes): return {"data": base64.b64encode(v).decode()}
        if isinstance(v, datetime.datetime): return {"date": v.isoformat()}
        if isinstance(v, str): return {"string": v}
        if isinstance(v, list): return {"array": [enc(x) for x in v]}
        if isinstance(v, dict): return {"dict": [[k, enc(x)] for k, x in v.items()]}
        raise TypeError(type(v))
    with open(sys.argv[1], "rb") as f:
        print(json.dumps(enc(plistlib.load(f)), ensure_ascii=False))
    """
    let result = run(testPython, ["-c", script, path], timeout: 60, file: file, line: line)
    XCTAssertEqual(result.termination, .exited(0), "plistlib could not read \(path): \(result.errorText)", file: file, line: line)
    return result.outputText
}
