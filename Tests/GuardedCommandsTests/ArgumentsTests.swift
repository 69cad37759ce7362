@testable import GuardedCommands
import XCTest

/// The admin subcommands' one option parser (`CommandSpec.parse`), on a table with every kind.
final class ArgumentsTests: XCTestCase {
    let spec = CommandSpec("demo NAME [NAME]", options: [
        .flag("--json", help: "JSON"),
        .flag("--force", "-f", help: "do it"),
        .value("--venv", as: "DIR", help: "a venv"),
        .repeated("--import", as: "MODULE", help: "a module"),
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
        let s = CommandSpec("n", options: [.value("--keep", as: "N", help: "how many")], positionals: 0...0)
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
        XCTAssertTrue(help.hasPrefix("usage: guarded-run demo NAME [NAME] [--json] [--force] [--venv DIR] [--import MODULE]...\noptions:\n"), help)
        for name in ["--json", "--force, -f", "--venv DIR", "--import MODULE"] {
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

    /// The usage line is made from the table: alternatives where their first option stands (nested
    /// options bracketed inside their choice), repeated values with `...`, a plain word as itself.
    func testUsageIsGeneratedFromTheTable() {
        let s = CommandSpec("demo ITEM", options: [
            .value("--venv", as: "DIR", help: ""), .value("--agent", as: "NAME", help: ""),
            .flag("--prune", help: ""), .value("--keep", as: "N", help: ""), .flag("--restore-plain", help: ""),
            .repeated("--import", as: "MODULE", help: ""), .repeated("--from-config", as: "PATH...", help: ""),
            .value("--set", as: "NAME", help: ""), .value("--only", as: "N", help: ""),
        ], alternatives: [.oneOf(["--venv"], ["--agent"]), .atMostOne(["--prune", "--keep"], ["--restore-plain"]),
                          .atMostOne(["--set"], ["PATH..."]), .oneOf(["--only"])])
        XCTAssertEqual(s.usage, "demo ITEM (--venv DIR | --agent NAME) [--prune [--keep N] | --restore-plain] [--import MODULE]... "
                              + "[--from-config PATH...] [--set NAME | PATH...] --only N")
        let forms = CommandSpec(forms: [CommandSpec("x a", options: [.flag("--json", help: "")]),
                                        CommandSpec("x b ID", options: [.flag("--json", help: ""), .flag("--force", help: "")])],
                                positionals: 1...2)
        XCTAssertEqual(forms.usage, "x a [--json]\n       guarded-run x b ID [--json] [--force]")
        XCTAssertEqual(forms.options.map(\.key), ["--json", "--force"], "the union of the forms' tables, each option once")
    }

    /// Every admin command's usage, as `--help` and a usage error print it (docs/*.md quote these).
    func testEveryAdminCommandsUsage() {
        let expected: [String: String] = [
            "check": "check (--venv DIR | --agent NAME) [--import MODULE]... [--deep] [--json] [--state-dir DIR]",
            "repair": "repair (--venv DIR | --agent NAME) [--requirements FILE | --from SOURCE] [--allow-unpinned] [--python PATH] [--find-links DIR]... [--import MODULE]... [--rebuild] [--force] [--json] [--state-dir DIR]",
            "rollback": "rollback (--venv DIR | --agent NAME) [--to GENERATION] [--import MODULE]... [--force] [--json] [--state-dir DIR]",
            "generations": "generations (--venv DIR | --agent NAME) [--json] [--prune [--keep N] | --restore-plain] [--force] [--state-dir DIR]",
            "venvs": """
                venvs check [--root DIR]... [--from-config PATH...] [--deep] [--json] [--jobs N] [--on-problem CMD] [--state-dir DIR]
                       guarded-run venvs report [--root DIR]... [--from-config PATH...] [--deep] [--json] [--jobs N] [--state-dir DIR]
                       guarded-run venvs repair [--root DIR]... [--from-config PATH...] [--json] [--force] [--jobs N] [--python PATH] [--find-links DIR]... [--from SOURCE] [--allow-unpinned] [--state-dir DIR]
                """,
            "status": "status [--json] [--from-config PATH...] [--state-dir DIR]",
            "log": "log AGENT [-n N] [--json] [--state-dir DIR]",
            "metrics": "metrics [--output FILE] [--state-dir DIR]",
            "snapshot": """
                snapshot create [--label TEXT] [--tag TAG] [--set NAME | PATH...] [--wait S] [--json] [--state-dir DIR]
                       guarded-run snapshot list [--json] [--state-dir DIR]
                       guarded-run snapshot show ID [--json] [--state-dir DIR]
                       guarded-run snapshot verify ID [--json] [--state-dir DIR]
                       guarded-run snapshot diff ID [--delete-new] [--patch | --json] [--state-dir DIR]
                       guarded-run snapshot restore ID [--force] [--delete-new] [--reload] [--wait S] [--json] [--state-dir DIR]
                       guarded-run snapshot prune --keep N [--force] [--include-pre-restore] [--include-tagged] [--wait S] [--json] [--state-dir DIR]
                """,
            "wrap": "wrap systemd|launchd|mcp FILE|DIR... [--agent NAME] [--auto-repair] [--force] [--guarded-run PATH] [--json] [--state-dir DIR] [--venv DIR] [--import MODULE]... [--requirements FILE] [--python PATH] [--find-links DIR|URL]... [--observe] [--agent-state-dir DIR] [--give-up-after N] [--keepalive [--throttle-interval S]]",
            "unwrap": "unwrap systemd|launchd|mcp FILE|DIR... [--force] [--json] [--state-dir DIR]",
            "convert": "convert launchd-to-systemd PLIST|DIR... [--output DIR] [--user] [--force] [--guarded-run PATH] [--json] [--state-dir DIR]",
        ]
        XCTAssertEqual(Set(adminCommands.map { $0.name }), Set(expected.keys))
        for command in adminCommands { XCTAssertEqual(command.spec.usage, expected[command.name], command.name) }
        XCTAssertEqual(McpWrapCommand.spec.usage, "wrap mcp CONFIG... [--agent-prefix P] [--import MODULE]... [--auto-repair] [--force] [--guarded-run PATH] [--json] [--state-dir DIR]")
        XCTAssertEqual(McpUnwrapCommand.spec.usage, "unwrap mcp CONFIG... [--force] [--json] [--state-dir DIR]")
    }

    /// No option of any table is left out of its usage line, and every alternative names options of
    /// its own table (a misspelt key would otherwise be printed as a plain word).
    func testUsageShowsEveryOption() {
        let specs = adminCommands.map { $0.spec } + [McpWrapCommand.spec, McpUnwrapCommand.spec]
        for spec in specs.flatMap({ $0.forms.isEmpty ? [$0] : $0.forms }) {
            for option in spec.options {
                XCTAssertTrue(spec.synopsis.contains(option.synopsis), "\(spec.words): \(option.key) missing from its usage")
                XCTAssertFalse(option.kind != .flag && option.valueName.isEmpty, "\(spec.words): \(option.key) has no value name")
            }
            for key in spec.alternatives.flatMap(\.keys) where key.hasPrefix("-") {
                XCTAssertTrue(spec.options.contains { $0.key == key }, "\(spec.words): \(key) is not in its table")
            }
        }
    }

    /// A command of several forms refuses an option its form does not take, naming the forms that do.
    func testAFormRefusesAnotherFormsOption() throws {
        func refusal(_ words: [String]) -> String? {
            do {
                let parsed = try VenvsCommand.spec.parse(words)
                _ = try VenvsCommand.spec.form(words[0], of: "venvs", given: parsed)
                return nil
            } catch { return error.message }
        }
        XCTAssertEqual(refusal(["check", "--force"]), "--force is only for 'venvs repair'")
        XCTAssertEqual(refusal(["repair", "--deep"]), "--deep is for 'venvs check' and 'venvs report'")
        XCTAssertEqual(refusal(["report", "--on-problem", "x"]), "--on-problem is only for 'venvs check'")
        XCTAssertNil(refusal(["repair", "--force", "--jobs", "2", "--root", "/r"]))
        let restore = try SnapshotCommand.spec.parse(["create", "--force"])
        XCTAssertThrowsError(try SnapshotCommand.spec.form("create", of: "snapshot", given: restore)) { error in
            XCTAssertEqual((error as? UsageError)?.message, "--force is for 'snapshot restore' and 'snapshot prune'")
        }
        let parsed = try SnapshotCommand.spec.parse(["show", "ID"])
        XCTAssertEqual(try SnapshotCommand.spec.form("show", of: "snapshot", given: parsed)?.words, "snapshot show ID")
        XCTAssertNil(try SnapshotCommand.spec.form("sho", of: "snapshot", given: parsed))
    }

    /// `--import` is checked by one function, for every command that takes it.
    func testImportedModulesAreChecked() throws {
        let s = CommandSpec("i", options: [importOption("")])
        XCTAssertEqual(try importedModules(s.parse(["--import", "a.b", "--import", "c"])), ["a.b", "c"])
        for bad in ["a..b", "1a", "a-b", "", "a\nb"] {
            XCTAssertThrowsError(try importedModules(s.parse(["--import", "ok", "--import", bad])), bad) { error in
                XCTAssertEqual((error as? UsageError)?.message,
                               "--import takes a dotted module name like 'pkg.mod', not '\(bad.replacingOccurrences(of: "\n", with: "\\u000a"))'")
            }
        }
    }
}
