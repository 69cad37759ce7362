@testable import GuardedCore
import XCTest

/// "Did you mean": edit distance with swaps, bounded, and a threshold that keeps short or far
/// words from suggesting anything.
final class SuggestionTests: XCTestCase {
    func testEditDistance() {
        XCTAssertEqual(editDistance("status", "status", limit: 3), 0)
        XCTAssertEqual(editDistance("stauts", "status", limit: 3), 1, "a swap of neighbours is one edit")
        XCTAssertEqual(editDistance("metrcs", "metrics", limit: 3), 1)
        XCTAssertEqual(editDistance("--jsno", "--json", limit: 3), 1)
        XCTAssertEqual(editDistance("kitten", "sitting", limit: 5), 3)
        XCTAssertEqual(editDistance("", "abc", limit: 5), 3)
        XCTAssertEqual(editDistance("abc", "", limit: 2), 2, "capped at the limit")
        XCTAssertEqual(editDistance(String(repeating: "a", count: 100_000), "a", limit: 3), 3, "bounded on outside input")
    }

    func testClosestMatch() {
        let commands = ["check", "repair", "rollback", "status", "log", "metrics", "snapshot"]
        XCTAssertEqual(closestMatch(to: "stauts", among: commands), "status")
        XCTAssertEqual(closestMatch(to: "chek", among: commands), "check")
        XCTAssertEqual(closestMatch(to: "lgo", among: commands), "log")
        XCTAssertNil(closestMatch(to: "xyz", among: commands))
        XCTAssertNil(closestMatch(to: "lo", among: commands), "one letter of two is not a typo")
        XCTAssertNil(closestMatch(to: "status", among: ["status"]), "the word itself is not a suggestion")
        XCTAssertEqual(closestMatch(to: "--agnet", among: LaunchRequest.optionNames), "--agent")
        XCTAssertEqual(closestMatch(to: "--no-autorepair", among: LaunchRequest.optionNames), "--no-auto-repair")
        XCTAssertNil(closestMatch(to: "--x", among: LaunchRequest.optionNames))
        XCTAssertEqual(didYouMean("--obsrve", among: LaunchRequest.optionNames), "; did you mean '--observe'?")
        XCTAssertEqual(didYouMean("--zzzzzz", among: LaunchRequest.optionNames), "")
    }

    /// The suggestion table and the parser agree: every listed option is one the launcher takes.
    func testEveryListedLauncherOptionParses() {
        let values = ["--agent": "a", "--venv": "/v", "--import": "m", "--requirements": "r", "--python": "p",
                      "--find-links": "d", "--give-up-after": "2", "--state-dir": "/s"]
        for name in LaunchRequest.optionNames {
            var words = ["guarded-run", name]
            if let v = values[name] { words.append(v) }
            words += ["--", "/bin/true"]
            var cStrings = words.map { strdup($0) }
            cStrings.append(nil)
            defer { cStrings.forEach { free($0) } }
            let result = cStrings.withUnsafeMutableBufferPointer { LaunchRequest.parse(argc: words.count, argv: $0.baseAddress!) }
            if case .failure(let e) = result { XCTFail("\(name): \(e.message)") }
        }
    }
}
