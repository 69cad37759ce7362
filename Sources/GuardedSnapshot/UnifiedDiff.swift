/// Unified diffs of text, in the format of GNU `diff -u` (what `patch` and `git apply` read):
/// `@@ -l,n +l,n @@` hunks with three lines of context, `\ No newline at end of file` after a
/// last line without one. Lines are compared with their newline, so "x" and "x\n" differ, as
/// they do for diff.
///
/// The cost is bounded: each side at most `maxBytes` and `maxLines` (else the caller says
/// "binary or too large"), and Myers' greedy algorithm (O((N+M)·D) time, O(D²) memory for the
/// path back) stops at `maxEditCost` differing lines; past that the differing middle is shown as
/// removed and added whole: a larger patch that still applies, never minutes of work.
public enum UnifiedDiff {
    public static let maxBytes = 1 << 20
    public static let maxLines = 20_000
    public static let maxEditCost = 1_000

    /// Text is what has no NUL byte (as diff and git decide) and fits the limits.
    public static func isDiffable(_ bytes: [UInt8]) -> Bool {
        guard bytes.count <= maxBytes else { return false }
        return bytes.withUnsafeBufferPointer { p in
            var lines = 0
            for i in 0..<p.count {
                if p[i] == 0 { return false }
                if p[i] == UInt8(ascii: "\n") { lines += 1 }
            }
            return lines <= maxLines
        }
    }

    /// The hunks turning `old` into `new` (empty when they are equal). Both must be `isDiffable`.
    public static func hunks(old: [UInt8], new: [UInt8], context: Int = 3) -> [UInt8] {
        let a = lines(old), b = lines(new)
        // Lines as small integers: equal lines get the same number, so the search compares Ints.
        var numbers: [ArraySlice<UInt8>: Int] = [:]
        func number(_ bytes: [UInt8], _ r: Range<Int>) -> Int {
            let key = bytes[r]
            if let n = numbers[key] { return n }
            numbers[key] = numbers.count
            return numbers.count - 1
        }
        let x = a.map { number(old, $0) }, y = b.map { number(new, $0) }
        let script = editScript(x, y)
        return format(script, old: old, a, new: new, b, context: context)
    }

    /// Line ranges, each with its newline when it has one.
    static func lines(_ bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        bytes.withUnsafeBufferPointer { p in
            for i in 0..<p.count where p[i] == UInt8(ascii: "\n") {
                out.append(start..<(i + 1))
                start = i + 1
            }
        }
        if start < bytes.count { out.append(start..<bytes.count) }
        return out
    }

    enum Op: Equatable { case equal, delete, insert }

    /// The edit script from `a` to `b`, in order: common prefix and suffix first taken off, then
    /// Myers on the middle, bounded by `maxEditCost`.
    static func editScript(_ a: [Int], _ b: [Int]) -> [Op] {
        var prefix = 0
        while prefix < a.count && prefix < b.count && a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix && suffix < b.count - prefix && a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])
        let middle = myers(middleA, middleB, maxCost: maxEditCost)
            ?? Array(repeating: Op.delete, count: middleA.count) + Array(repeating: Op.insert, count: middleB.count)
        return Array(repeating: .equal, count: prefix) + middle + Array(repeating: .equal, count: suffix)
    }

    /// Myers' O((N+M)·D) greedy search; nil when more than `maxCost` lines differ.
    static func myers(_ a: [Int], _ b: [Int], maxCost: Int) -> [Op]? {
        let n = a.count, m = b.count
        if n == 0 || m == 0 { return Array(repeating: .delete, count: n) + Array(repeating: .insert, count: m) }
        let limit = min(n + m, maxCost)
        let offset = limit + 1
        var v = [Int](repeating: 0, count: 2 * limit + 3)
        // The furthest x of each diagonal after each step d: (2d+1) values from index d*d.
        var trace: [Int] = []
        var found: Int? = nil
        search: for d in 0...limit {
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) ? v[offset + k + 1] : v[offset + k - 1] + 1
                var y = x - k
                while x < n && y < m && a[x] == b[y] { x += 1; y += 1 }
                v[offset + k] = x
                if x >= n && y >= m {
                    found = d
                    trace.append(contentsOf: v[(offset - d)...(offset + d)])
                    break search
                }
            }
            trace.append(contentsOf: v[(offset - d)...(offset + d)])
        }
        guard let cost = found else { return nil }
        var ops: [Op] = []
        ops.reserveCapacity(n + m)
        var x = n, y = m
        for d in stride(from: cost, to: 0, by: -1) {
            let k = x - y
            // Step d-1's values: k' in -(d-1)...(d-1) at trace[(d-1)² + k' + d - 1].
            func previous(_ k: Int) -> Int { trace[(d - 1) * (d - 1) + k + d - 1] }
            let down = k == -d || (k != d && previous(k - 1) < previous(k + 1))
            let previousK = down ? k + 1 : k - 1
            let previousX = previous(previousK), previousY = previousX - previousK
            while x > previousX && y > previousY { ops.append(.equal); x -= 1; y -= 1 }
            ops.append(down ? .insert : .delete)
            x = previousX; y = previousY
        }
        while x > 0 && y > 0 { ops.append(.equal); x -= 1; y -= 1 }
        return ops.reversed()
    }

    /// The script as hunks. Within each run of changes the removed lines come before the added
    /// ones, as diff prints them.
    static func format(_ script: [Op], old: [UInt8], _ a: [Range<Int>], new: [UInt8], _ b: [Range<Int>], context: Int) -> [UInt8] {
        // Positions in the script where something changes, grouped into hunks whose changes are
        // at most 2·context equal lines apart.
        var changeRuns: [(start: Int, end: Int)] = []
        var i = 0
        while i < script.count {
            if script[i] == .equal { i += 1; continue }
            var j = i
            while j < script.count && script[j] != .equal { j += 1 }
            changeRuns.append((i, j))
            i = j
        }
        guard !changeRuns.isEmpty else { return [] }
        // Old and new line index before each script position.
        var oldBefore = [Int](repeating: 0, count: script.count + 1), newBefore = oldBefore
        for (p, op) in script.enumerated() {
            oldBefore[p + 1] = oldBefore[p] + (op == .insert ? 0 : 1)
            newBefore[p + 1] = newBefore[p] + (op == .delete ? 0 : 1)
        }
        var out: [UInt8] = []
        func line(_ prefix: UInt8, _ bytes: [UInt8], _ r: Range<Int>) {
            out.append(prefix)
            out.append(contentsOf: bytes[r])
            if bytes[r.upperBound - 1] != UInt8(ascii: "\n") { out.append(contentsOf: Array("\n\\ No newline at end of file\n".utf8)) }
        }
        func range(_ start: Int, _ count: Int) -> String {
            // diff's convention: an empty range names the line before it; a single line has no count.
            count == 0 ? "\(start),0" : count == 1 ? "\(start + 1)" : "\(start + 1),\(count)"
        }
        var r = 0
        while r < changeRuns.count {
            var last = r
            while last + 1 < changeRuns.count && changeRuns[last + 1].start - changeRuns[last].end <= 2 * context { last += 1 }
            let from = max(0, changeRuns[r].start - context), to = min(script.count, changeRuns[last].end + context)
            let oldCount = oldBefore[to] - oldBefore[from], newCount = newBefore[to] - newBefore[from]
            out.append(contentsOf: Array("@@ -\(range(oldBefore[from], oldCount)) +\(range(newBefore[from], newCount)) @@\n".utf8))
            var p = from
            while p < to {
                if script[p] == .equal {
                    line(UInt8(ascii: " "), old, a[oldBefore[p]]); p += 1
                    continue
                }
                var q = p
                while q < to && script[q] != .equal { q += 1 }
                for s in p..<q where script[s] == .delete { line(UInt8(ascii: "-"), old, a[oldBefore[s]]) }
                for s in p..<q where script[s] == .insert { line(0x2b, new, b[newBefore[s]]) }
                p = q
            }
            r = last + 1
        }
        return out
    }
}
