/// `text` as it may go into one of guarded-run's own lines: every control character (a newline
/// or carriage return that would split or hide the line, an escape sequence that would repaint
/// the operator's terminal; C1 controls included) becomes `\u00XX`. For words that come from
/// outside (a plist's Label, a hook's stderr) inside a message.
public func oneLine(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    var out = ""
    for c in text.unicodeScalars {
        if isControl(c) {
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
            out.unicodeScalars.append(c)
        }
    }
    return out
}

private func isControl(_ c: Unicode.Scalar) -> Bool { c.value < 0x20 || (c.value >= 0x7f && c.value < 0xa0) }
