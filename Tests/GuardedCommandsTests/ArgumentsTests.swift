@testable import GuardedCommands
import XCTest

/// The admin subcommands' one option parser (`CommandSpec.parse`), on a table with every kind.
final class ArgumentsTests: XCTestCase {
    let spec = CommandSpec(usage: "demo [options] NAME [NAME]", options: [
        .flag("--json", help: "JSON"),
        .flag("--force", "-f", help: "do it"),
        .value("--venv", help: "a venv"),
        .repeated("--import", help: "a module"),
    ], positionals: 1...2)

    func parse(_ words: [String]) -> Result<ParsedArguments, UsageError> {
        Result { () throws(UsageError) in try spec.parse(words) }
    }

    func failure(_ words: [String]) -> String? {
        if case .failure(let e) = parse(words) { return e.message }
        return nil
    }

    func testEverySpellingOfEveryKind() throws {
        let a = try spec.parse(["--json", "-f", "--venv", "/v", "--import=a.b", "--import", "c", "x"])
        XCTAssertTrue(a.has("--json"))
        XCTAssertTrue(a.has("--force"), "an alias is stored under the first name")
        XCTAssertEqual(a.value("--venv"), "/v")
        XCTAssertEqual(a.all("--import"), ["a.b", "c"])
        XCTAssertEqual(a.positionals, ["x"])
        XCTAssertTrue(a.given("--venv"))
        XCTAssertFalse(a.given("--nothing"))
        // `--name=value` keeps everything after the first '=', including more '=' and an empty value.
        XCTAssertEqual(try spec.parse(["--venv=/a=b", "x"]).value("--venv"), "/a=b")
        XCTAssertEqual(try spec.parse(["--venv=", "x"]).value("--venv"), "")
    }

    func testPositionalsAfterDoubleDashAndTheLoneDash() throws {
        XCTAssertEqual(try spec.parse(["--", "--json", "-"]).positionals, ["--json", "-"])
        XCTAssertFalse(try spec.parse(["--", "--json"]).has("--json"))
        XCTAssertEqual(try spec.parse(["-"]).positionals, ["-"])
    }

    func testUsageErrors() {
        XCTAssertEqual(failure(["--jsn", "x"]), "unknown option '--jsn'; did you mean '--json'?")
        XCTAssertEqual(failure(["--json=yes", "x"]), "--json takes no value")
        XCTAssertEqual(failure(["x", "--venv"]), "--venv needs a value")
        XCTAssertEqual(failure(["--venv", "/a", "--venv", "/b", "x"]), "--venv given more than once")
        XCTAssertEqual(failure([]), "missing argument")
        XCTAssertEqual(failure(["a", "b", "c"]), "unexpected argument 'c'")
        // --help wins over a missing positional.
        XCTAssertEqual(try? spec.parse(["--help"]).helpRequested, true)
        XCTAssertEqual(try? spec.parse(["-h"]).helpRequested, true)
    }

    func testIntegerOptionsAreRangeChecked() throws {
        let s = CommandSpec(usage: "n", options: [.value("--keep", help: "how many")], positionals: 0...0)
        XCTAssertEqual(try s.parse(["--keep", "3"]).integer("--keep", default: 2, range: 0...10), 3)
        XCTAssertEqual(try s.parse([]).integer("--keep", default: 2, range: 0...10), 2)
        for bad in ["11", "-1", "banana", "", "99999999999999999999", "1e3"] {
            XCTAssertThrowsError(try s.parse(["--keep", bad]).integer("--keep", default: 2, range: 0...10), bad) { error in
                XCTAssertEqual((error as? UsageError)?.message, "--keep takes a whole number from 0 to 10, not '\(bad)'")
            }
        }
    }

    func testHelpTextListsEveryOption() {
        let help = spec.helpText
        XCTAssertTrue(help.hasPrefix("usage: guarded-run demo [options] NAME [NAME]\noptions:\n"), help)
        for name in ["--json", "--force, -f", "--venv VALUE", "--import VALUE"] {
            XCTAssertTrue(help.contains("  " + name), name)
        }
    }

    /// Every admin command's table parses its own `--help` and refuses an unknown option.
    func testEveryAdminCommandsTable() {
        XCTAssertFalse(adminCommands.isEmpty)
        for command in adminCommands {
            XCTAssertEqual(try? command.spec.parse(["--help"]).helpRequested, true, command.name)
            XCTAssertThrowsError(try command.spec.parse(["--no-such-option"]), command.name)
        }
    }
}
