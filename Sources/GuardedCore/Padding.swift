extension String {
    /// Left-aligned in a column `width` characters wide, with at least one space after it (a cell
    /// as wide as the column still stays apart from the next).
    public func padded(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
