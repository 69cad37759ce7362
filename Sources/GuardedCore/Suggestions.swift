/// "Did you mean": the nearest known word to a mistyped subcommand or option, by edit distance
/// (insertions, deletions, substitutions and swaps of two neighbours each cost 1).

/// The closest of `candidates` to `word`, when it is close enough to be a typo: at most 2 edits,
/// and fewer than half the word's letters (leading dashes not counted), so `--x` suggests nothing.
/// Ties go to the earlier candidate (tables list the common names first).
public func closestMatch(to word: String, among candidates: [String]) -> String? {
    let letters = word.utf8.drop(while: { $0 == UInt8(ascii: "-") }).count
    var best: (name: String, distance: Int)? = nil
    for c in candidates where c != word {
        let d = editDistance(word, c, limit: 3)
        if d <= 2, d * 2 < letters, d < (best?.distance ?? Int.max) { best = (c, d) }
    }
    return best?.name
}

/// `; did you mean 'X'?` for an error message, or nothing.
public func didYouMean(_ word: String, among candidates: [String]) -> String {
    closestMatch(to: word, among: candidates).map { "; did you mean '\($0)'?" } ?? ""
}

/// Optimal-string-alignment distance over bytes, giving up (returning `limit`) once every path
/// costs at least `limit`: words are short, but argv is outside input, so the work is bounded.
func editDistance(_ a: String, _ b: String, limit: Int) -> Int {
    let x = Array(a.utf8.prefix(256))
    let y = Array(b.utf8.prefix(256))
    if x.isEmpty || y.isEmpty { return min(max(x.count, y.count), limit) }
    if abs(x.count - y.count) >= limit { return limit }
    let width = y.count + 1
    // Three rows of the table: i-2, i-1, i.
    var rows = [Int](repeating: 0, count: 3 * width)
    for j in 0..<width { rows[width + j] = j }
    for i in 1...x.count {
        let cur = (i % 3) * width, prev = ((i + 2) % 3) * width, prev2 = ((i + 1) % 3) * width
        if i == 1 { for j in 0..<width { rows[prev + j] = j } }
        rows[cur] = i
        var rowMin = i
        for j in 1..<width {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            var d = min(rows[prev + j] + 1, rows[cur + j - 1] + 1, rows[prev + j - 1] + cost)
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] { d = min(d, rows[prev2 + j - 2] + 1) }
            rows[cur + j] = d
            rowMin = min(rowMin, d)
        }
        if rowMin >= limit { return limit }
    }
    return min(rows[(x.count % 3) * width + y.count], limit)
}
