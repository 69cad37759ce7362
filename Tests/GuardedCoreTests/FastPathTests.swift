@testable import GuardedCore
@testable import GuardedLaunch
import GuardedSystem
import TestSupport
import XCTest

/// The byte-level fast path must compute exactly what the String-based code computes, or a healthy
/// venv would never hit its cache (or, worse, hit another venv's).
final class FastPathTests: XCTestCase {
    func withBytes<R>(_ s: String, _ body: (Bytes) -> R) -> R {
        let a = Array(s.utf8)
        return a.withUnsafeBufferPointer { body(Bytes($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count)) }
    }

    func string(_ b: ByteBuffer) -> String { String(decoding: UnsafeBufferPointer(start: b.storage, count: b.count), as: UTF8.self) }

    let venvs = ["/home/me/agents/mail/.venv", "/srv/venvs/calendar-sync", "/a", "/x/y z/é/venv",
                 "/very/long/path/" + String(repeating: "segment/", count: 12) + "venv", "/-/./venv", "/v.venv/.x"]

    /// The venv key names directories in every existing state directory: it must never change.
    /// The expected keys were computed by an independent Python reimplementation of the rule.
    func testVenvKeysStayWhatTheyWere() {
        let expected = ["home-me-agents-mail-.venv-52c668858caabfb3", "srv-venvs-calendar-sync-46a16a4241005fdf",
                        "a-07d66707b49cd92d", "x-y-z-venv-ee808b9603f755d7",
                        "ent-segment-segment-segment-segment-segment-venv-e2523f72deade0e3", "venv-f375fb782efae584",
                        "v.venv-.x-c06373f8a1dac98a"]
        for (v, key) in zip(venvs, expected) {
            var out = ByteBuffer(capacity: 4096)
            defer { out.free() }
            withBytes(v) { FastPath.appendVenvKey($0, into: &out) }
            XCTAssertEqual(string(out), key, v)
            XCTAssertEqual(StateDirectory.key(for: v), key, v)
        }
    }

    func testImportsKeyMatchesFingerprintImportsKey() {
        for imports in [[], ["a"], ["b", "a"], ["pkg.mod", "pkg", "pkg.mod", "zz_top", "A"], ["x1", "x10", "x2"]] {
            let owned = imports.map { Array($0.utf8) }
            var list = BytesList(capacity: 32)
            defer { list.free() }
            owned.forEach { a in _ = a.withUnsafeBufferPointer { list.append(Bytes($0.baseAddress!, $0.count)) } }
            var out = ByteBuffer(capacity: 64)
            defer { out.free() }
            FastPath.appendImportsKey(list, into: &out)
            XCTAssertEqual(string(out), Fingerprint.importsKey(imports), "\(imports)")
            // And the cached imports line is recognised.
            let line = Array(Set(imports)).sorted().joined(separator: ",")
            XCTAssertTrue(withBytes(line) { FastPath.importsLineMatches($0, list) }, "\(imports)")
            XCTAssertFalse(withBytes(line + ",extra") { FastPath.importsLineMatches($0, list) })
        }
    }

    func testImportsKeyWithContextMatchesFingerprintImportsKey() {
        let contexts = [AgentContext(workingDirectory: "/srv/mail", pythonPath: nil, command: ["/v/bin/python", "-m", "mail_agent"]),
                        AgentContext(workingDirectory: "/srv/mail", pythonPath: "", command: ["/v/bin/python", "-m", "mail_agent"]),
                        AgentContext(workingDirectory: "/srv/mail", pythonPath: "/x:/y", command: ["/v/bin/agent"]),
                        AgentContext(workingDirectory: "/", pythonPath: "-", command: ["/v/bin/python", "", "é"])]
        var keys = Set<String>()
        for imports in [["a"], ["pkg.mod", "attrs", "pkg.mod"]] {
            let owned = imports.map { Array($0.utf8) }
            var list = BytesList(capacity: 32)
            defer { list.free() }
            owned.forEach { a in _ = a.withUnsafeBufferPointer { list.append(Bytes($0.baseAddress!, $0.count)) } }
            for context in contexts {
                var argv: [UnsafeMutablePointer<CChar>?] = context.command.map { strdup($0) } + [nil]
                defer { argv.forEach { free($0) } }
                var out = ByteBuffer(capacity: 64)
                defer { out.free() }
                argv.withUnsafeMutableBufferPointer { a in
                    context.workingDirectory.withCString { cwd in
                        if let pp = context.pythonPath {
                            pp.withCString { FastPath.appendImportsKey(list, cwd: cwd, pythonPath: $0, command: a.baseAddress!, into: &out) }
                        } else {
                            FastPath.appendImportsKey(list, cwd: cwd, pythonPath: nil, command: a.baseAddress!, into: &out)
                        }
                    }
                }
                XCTAssertEqual(string(out), Fingerprint.importsKey(imports, context: context), "\(imports) \(context)")
                keys.insert(string(out))
            }
            XCTAssertFalse(keys.contains(Fingerprint.importsKey(imports)), "the context changes the key")
        }
        XCTAssertEqual(keys.count, 2 * contexts.count, "every context gives its own key")
        XCTAssertEqual(Fingerprint.importsKey([], context: contexts[0]), "none")
    }

    func testDefaultAgentMatchesOrDefers() {
        for v in venvs + ["/srv/My Agent/venv", "/.venv"] {
            var out = ByteBuffer(capacity: 256)
            defer { out.free() }
            if withBytes(v, { FastPath.defaultAgent(venv: $0, into: &out) }) {
                XCTAssertEqual(string(out), defaultAgentName(venv: v), v)
            } else {
                // Deferred to the general code, which cleans the name.
                XCTAssertNotEqual(defaultAgentName(venv: v), baseName(of: v))
            }
        }
    }

    func testNormalizedAbsoluteMatchesNormalizedPath() {
        for p in ["/", "/a", "/a/b", "/a/", "a/b", "/a//b", "/a/./b", "/a/../b", "/a/.b", "/a/..b", "/.", "//"] {
            let fast = withBytes(p) { FastPath.isNormalizedAbsolute($0) }
            XCTAssertEqual(fast, p.hasPrefix("/") && normalizedPath(p) == p, p)
        }
    }

    func testValidityChecksMatch() {
        for name in ["mail", "a.b-c_d@e", ".x", "", "a b", "é", String(repeating: "a", count: 129)] {
            XCTAssertEqual(withBytes(name) { FastPath.isValidAgent($0) }, isValidAgentName(name), name)
        }
        for m in ["a", "a.b", "a1.b_2", "1a", "a..b", ".a", "a.", "a-b", "é"] {
            let fast = withBytes(m) { FastPath.isPlainModule($0) }
            XCTAssertEqual(fast, isValidModuleName(m) && m.utf8.allSatisfy { $0 < 0x80 }, m)
        }
    }

    /// GUARDED_RUN_OBSERVE: where the fast path decides, it decides as the general code reads it;
    /// anything it does not know (other spellings, garbage) it leaves to the general code.
    func testObserveSwitchMatchesTheGeneralReading() {
        defer { unsetenv("GUARDED_RUN_OBSERVE") }
        for value in [nil, "", "0", "1", "true", "false", "yes", "no", "TRUE", "No", "on", "2", " 1", "1 ", "\u{e9}"] as [String?] {
            if let value { setenv("GUARDED_RUN_OBSERVE", value, 1) } else { unsetenv("GUARDED_RUN_OBSERVE") }
            let fast = FastPath.observeSwitch(getenv("GUARDED_RUN_OBSERVE"))
            let general = observeFromEnvironment()
            if let fast { XCTAssertEqual(fast, general.enabled, "\(value ?? "unset")") }
            if value == nil || ["", "0", "1", "true", "false", "yes", "no"].contains(value!) {
                XCTAssertNotNil(fast, "plain spellings are decided on the fast path: \(value ?? "unset")")
                XCTAssertNil(general.note)
            } else {
                XCTAssertNil(fast, "\(value!) goes the general way")
            }
        }
    }

    func testHeaderLiteralMatchesFormatVersion() {
        XCTAssertEqual(Fingerprint.header, "guarded-run fingerprint \(Fingerprint.formatVersion)")
    }

    func testRawDecisionAcceptsWhatTheEncoderWrites() throws {
        let tmp = try TemporaryDirectory("fastpath")
        defer { tmp.remove() }
        let dir = tmp.path
        try writeFileAtomically(dir + "/f", "x")
        let fp = Fingerprint(venv: "/v", imports: ["b", "a"], status: "degraded", checkedAt: "t",
                             reasons: ["r one", "r two"], entries: [WatchEntry(path: dir + "/f", status: try fileStatus(dir + "/f"))])
        var bytes = Array(fp.encoded().utf8)
        let owned = [Array("a".utf8), Array("b".utf8)]
        var list = BytesList(capacity: 4)
        defer { list.free() }
        owned.forEach { a in _ = a.withUnsafeBufferPointer { list.append(Bytes($0.baseAddress!, $0.count)) } }
        var parsed = FastPath.Parsed()
        defer { parsed.reasons.free() }
        let ok = bytes.withUnsafeMutableBufferPointer { b in
            withBytes("/v") { FastPath.parseAndVerify(b.baseAddress!, b.count, venv: $0, imports: list, into: &parsed) }
        }
        XCTAssertTrue(ok)
        XCTAssertTrue(parsed.degraded)
        XCTAssertEqual(parsed.reasons.count, 2)
        // Another venv's cache is not ours.
        bytes = Array(fp.encoded().utf8)
        var other = FastPath.Parsed()
        defer { other.reasons.free() }
        XCTAssertFalse(bytes.withUnsafeMutableBufferPointer { b in
            withBytes("/w") { FastPath.parseAndVerify(b.baseAddress!, b.count, venv: $0, imports: list, into: &other) }
        })
    }

    /// The fast path writes its health-log line byte by byte; the general code writes the same
    /// record with `HealthRecord.jsonLine`. Status and tools read both kinds of line, so they must
    /// be the same bytes (the time aside, which each reads from the clock).
    func testHealthLineIsWhatHealthRecordWrites() throws {
        let cases: [(agent: String, venv: String, reasons: [String], degraded: Bool, us: Int64, observe: Bool)] = [
            ("mail", "/home/me/agents/mail/.venv", [], false, 0, false),
            ("cal@1", "/srv/x y/é/venv", ["import-failed: yaml", "stale \"quoted\" \\ back\\slash"], true, 1_234_567, false),
            ("ctl", "/v/\u{7f}/\t\r\n/\u{1}", ["tab\there", "ünïcode ✓"], true, 999_999_999_999, true),
            ("a.b-c_d", "/a", ["x"], false, 7, true),
        ]
        for c in cases {
            for r in c.reasons { XCTAssertEqual(Redaction.apply(r), r, "a reason the cache holds is already redacted") }
            var line = ByteBuffer(capacity: 4096)
            defer { line.free() }
            var record: HealthRecord?
            withFastPathInput(venv: c.venv, agent: c.agent, state: "/s", imports: [], giveUpAfter: false, observe: c.observe) { input in
                withByteViews(c.reasons) { views in
                    var reasons = BytesList(capacity: max(views.count, 1))
                    defer { reasons.free() }
                    for v in views { _ = reasons.append(v) }
                    var argv: [UnsafeMutablePointer<CChar>?] = [nil]
                    argv.withUnsafeMutableBufferPointer { command in
                        let hit = FastHit(input: input, command: command.baseAddress!, degraded: c.degraded,
                                          reasons: reasons, checkMicroseconds: c.us)
                        FastPath.formatHealthLine(hit, into: &line)
                        record = HealthRecord(hit)
                    }
                }
            }
            let fast = string(line)
            XCTAssertTrue(fast.hasPrefix("\n{\"time\":\""), fast)
            let time = String(fast.dropFirst(10).prefix(while: { $0 != "\"" }))
            XCTAssertNotNil(Clock.parseRFC3339(time), time)
            let expected = HealthRecord(agent: c.agent, venv: c.venv, status: c.degraded ? "degraded" : "healthy", decision: .fastOK,
                                        reasons: c.reasons, checkMicroseconds: c.us,
                                        extra: c.observe ? [("observe", .bool(true))] : [], time: time)
            XCTAssertEqual(fast, "\n" + expected.jsonLine(), "\(c)")
            // The launcher's own record of a hit, when it logs the line itself, says the same.
            record?.time = time
            XCTAssertEqual(record?.jsonLine(), expected.jsonLine(), "\(c)")
        }
    }

    func testDecimalsOverTheWholeRange() {
        for v: Int64 in [0, 7, -7, 1_000_000, Int64.max, Int64.min, Int64.min + 1] {
            var out = ByteBuffer(capacity: 32)
            defer { out.free() }
            out.appendDecimal(v)
            XCTAssertEqual(string(out), String(v))
        }
    }
}
