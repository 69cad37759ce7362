import GuardedCore
import XCTest

/// The second layer of "no secret in any reason": which environment values are replaced, and the
/// false positives it must not make.
final class RedactionTests: XCTestCase {
    let env = ["API_TOKEN=tok-8f3a91c2", "DB_PASSWORD=hunter22", "DATABASE_URL=postgres://u:pw@db/x",
               "SHLVL=1", "DEBUG=true", "LANG=C.UTF-8", "USER=agentsvc", "LOGNAME=agentsvc", "HOME=/home/agentsvc",
               "PATH=/usr/local/bin:/usr/bin:/bin", "SESSION_KEY=abc", "AUTH_MODE=none", "PORT=8080",
               "MAIL_HOST=imap.example.org", "SECRET_PIN=1234", "EMPTY=", "NOEQUALS"]

    func redact(_ text: String) -> String { Redaction.apply(text, environment: env) }

    func testSecretNamedValuesAreRedactedEverywhere() {
        XCTAssertEqual(redact("invalid literal for int(): 'tok-8f3a91c2'"), "invalid literal for int(): '[redacted]'")
        XCTAssertEqual(redact("login hunter22 failed; again hunter22"), "login [redacted] failed; again [redacted]")
        XCTAssertEqual(redact("/srv/tok-8f3a91c2/x"), "/srv/[redacted]/x", "a secret-looking name's value even inside a path")
        XCTAssertEqual(redact("pin 1234"), "pin [redacted]")
    }

    func testOtherLongValuesAreRedactedOutsidePaths() {
        XCTAssertEqual(redact("cannot connect to postgres://u:pw@db/x"), "cannot connect to [redacted]")
        XCTAssertEqual(redact("no route to imap.example.org"), "no route to [redacted]")
        // A user name as a path component stays: reasons are about files.
        XCTAssertEqual(redact("/home/agentsvc/.venv/bin/python -> /usr/bin/python3: missing"),
                       "/home/agentsvc/.venv/bin/python -> /usr/bin/python3: missing")
        XCTAssertEqual(redact("owned by agentsvc"), "owned by [redacted]")
    }

    func testNoFalsePositives() {
        let text = "import-failed: agentmod: ValueError at /home/agentsvc/.venv/lib/python3.11/site-packages/agentmod.py:1 (true, C.UTF-8, 8080, abc, none)"
        XCTAssertEqual(redact(text), text, "short values, booleans, numbers, paths and path lists are left")
        XCTAssertEqual(redact("/usr/local/bin:/usr/bin:/bin"), "/usr/local/bin:/usr/bin:/bin")
        XCTAssertEqual(redact(""), "")
        XCTAssertEqual(Redaction.apply("nothing here", environment: []), "nothing here")
    }

    func testLongestValueFirstAndNonASCII() {
        let env = ["A_TOKEN=abcd", "B_TOKEN=abcdefgh", "C_SECRET=pässwört"]
        XCTAssertEqual(Redaction.apply("xabcdefghx abcd pässwört", environment: env), "x[redacted]x [redacted] [redacted]")
    }
}
