import GuardedSystem
import TestSupport
import XCTest

/// `makeVenv` copies one template venv instead of running `python -m venv` each time: the copy must
/// be what `python -m venv --without-pip` writes at that path, or every test on it tests another venv.
final class TemplateVenvTests: XCTestCase {
    func testCopyIsWhatPythonWritesThere() throws {
        let tmp = try TemporaryDirectory("template")
        defer { tmp.remove() }
        let template = try XCTUnwrap(templateVenv)
        let copied = tmp.file("copied/.venv"), made = tmp.file("made/.venv")
        makeVenv(copied)
        let r = TestSupport.run(testPython, ["-m", "venv", "--without-pip", made])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)

        let copiedTree = tree(copied), madeTree = tree(made)
        XCTAssertEqual(copiedTree.keys.sorted(), madeTree.keys.sorted())
        for (name, entry) in madeTree {
            XCTAssertEqual(copiedTree[name]?.kind, entry.kind, name)
            XCTAssertEqual(copiedTree[name]?.permissions, entry.permissions, name)
            // The venv's own path, wherever python wrote it (activate, pyvenv.cfg's command line).
            XCTAssertEqual(copiedTree[name]?.content, entry.content.replacing(made, with: copied), name)
            XCTAssertFalse(copiedTree[name]?.content.contains(template) ?? true, "\(name) still names the template")
        }
        let prefix = TestSupport.run(copied + "/bin/python", ["-c", "import sys; print(sys.prefix)"])
        XCTAssertEqual(prefix.outputText, copied + "\n", prefix.errorText)
    }

    /// A path python would write quoted into the activate scripts is made by python.
    func testAPathPythonQuotesIsNotCopied() throws {
        let tmp = try TemporaryDirectory("template")
        defer { tmp.remove() }
        let venv = tmp.file("with space/.venv")
        makeVenv(venv)
        let activate = try readTextFile(venv + "/bin/activate")
        XCTAssertTrue(activate.contains("'\(venv)'") || activate.contains("\"\(venv)\""), activate)
        XCTAssertFalse(activate.contains(try XCTUnwrap(templateVenv)), activate)
    }

    struct Entry { var kind: String; var permissions: UInt32; var content: String }

    /// Every path below `root` by its relative name: a directory, a link (its text) or a file (its bytes).
    func tree(_ root: String) -> [String: Entry] {
        var result: [String: Entry] = [:]
        func walk(_ relative: String) {
            let path = root + relative
            guard let st = fileStatusIfPresent(path) else { return }
            if st.isSymbolicLink {
                result[relative] = Entry(kind: "link", permissions: 0, content: (try? readSymbolicLink(path)) ?? "?")
            } else if st.isDirectory {
                result[relative] = Entry(kind: "dir", permissions: UInt32(st.permissions), content: "")
                for name in (try? directoryEntries(path)) ?? [] { walk(relative + "/" + name) }
            } else {
                let bytes = (try? readFile(path)) ?? []
                result[relative] = Entry(kind: "file", permissions: UInt32(st.permissions), content: String(decoding: bytes, as: UTF8.self))
            }
        }
        walk("")
        return result
    }
}
