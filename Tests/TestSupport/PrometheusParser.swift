// An independent parser for `guarded-run metrics`: prometheus_client's text parser, run by a Python
// that has it. .ci/run installs it (pinned) and points GUARDED_RUN_TEST_PROM_PYTHON at that Python.
import Foundation
import GuardedSystem
import XCTest

/// One parsed sample: name, labels, value.
public struct PrometheusSample: Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
}

/// One parsed family: name (without `_total` for counters, as the parser reports it), type, samples.
public struct PrometheusFamily {
    public var name: String
    public var type: String
    public var samples: [PrometheusSample]
}

/// The Python that can import `prometheus_client.parser`: GUARDED_RUN_TEST_PROM_PYTHON, else
/// `python3` on PATH, else /usr/bin/python3. Under CI=true a missing parser fails the test (CI must
/// install it); elsewhere the test is skipped with the reason.
public func prometheusPython(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    var candidates: [String] = []
    if let explicit = Environment.value("GUARDED_RUN_TEST_PROM_PYTHON"), !explicit.isEmpty { candidates.append(explicit) }
    if let onPath = Subprocess.findExecutable("python3") { candidates.append(onPath) }
    candidates.append("/usr/bin/python3")
    for python in candidates where access(python, X_OK) == 0 {
        if let r = try? Subprocess.run(python, ["-c", "import prometheus_client.parser"], timeoutSeconds: 60), r.succeeded {
            return python
        }
    }
    let message = "no Python with prometheus_client (tried \(candidates.joined(separator: ", "))); set GUARDED_RUN_TEST_PROM_PYTHON or pip install prometheus-client"
    if Environment.value("CI") == "true" {
        XCTFail(message, file: file, line: line)
        throw SystemError("prometheus_client", errno: .noSuchFileOrDirectory)
    }
    throw XCTSkip(message)
}

/// Parses exposition text with `prometheus_client.parser.text_string_to_metric_families`; fails
/// the test when the parser rejects it.
public func parsePrometheus(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [PrometheusFamily] {
    let python = try prometheusPython(file: file, line: line)
    let tmp = try TemporaryDirectory("prom")
    defer { tmp.remove() }
    try tmp.write("metrics.prom", text)
    let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
            out.append({"name": f.name, "type": f.type,
                        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
        print(json.dumps(out))
        """
    let r = try Subprocess.run(python, ["-c", script, tmp.file("metrics.prom")], timeoutSeconds: 60)
    guard r.succeeded else {
        XCTFail("prometheus_client rejected the metrics: \(r.errorText)", file: file, line: line)
        return []
    }
    guard let data = r.outputText.data(using: .utf8),
          let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
        XCTFail("unreadable parser output: \(r.outputText)", file: file, line: line)
        return []
    }
    return array.map { f in
        PrometheusFamily(
            name: f["name"] as? String ?? "", type: f["type"] as? String ?? "",
            samples: (f["samples"] as? [[String: Any]] ?? []).map { s in
                PrometheusSample(name: s["name"] as? String ?? "", labels: s["labels"] as? [String: String] ?? [:],
                                 value: (s["value"] as? NSNumber)?.doubleValue ?? .nan)
            })
    }
}

extension Array where Element == PrometheusFamily {
    /// The value of the one sample named `name` whose labels include `labels`; nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        for f in self {
            for s in f.samples where s.name == name && labels.allSatisfy({ s.labels[$0.key] == $0.value }) { return s.value }
        }
        return nil
    }

    public func family(_ name: String) -> PrometheusFamily? { first { $0.name == name } }
}
