/// Trimming spaces without Foundation's `NSString` bridge. `trimmingCharacters(in: .whitespaces)`
/// copies the string to UTF-16 and back on Linux: in a bank upload it was 60 % of the parse time
/// (`perf`, BENCHMARKS.md). These give the same results — tested against Foundation — and return
/// an ASCII cell with no space at either end after looking at two bytes.
extension String {
    /// `trimmingCharacters(in: .whitespaces)`.
    public func trimmingSpaces() -> String { self[...].trimmingSpaces() }

    /// `trimmingCharacters(in: .whitespacesAndNewlines)`.
    public func trimmingSpacesAndNewlines() -> String { self[...].trimmingSpacesAndNewlines() }
}

extension Substring {
    public func trimmingSpaces() -> String { trimming(Self.isSpace) }

    public func trimmingSpacesAndNewlines() -> String { trimming(Self.isSpaceOrNewline) }

    /// Foundation's `.whitespaces`, listed: U+0009, U+0020, U+00A0, U+1680, U+2000 … U+200B,
    /// U+202F, U+205F, U+3000 (the Zs category plus tab and — as Foundation has it — the
    /// zero-width space).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Foundation's `.whitespacesAndNewlines`: the spaces and U+000A … U+000D, U+0085, U+2028,
    /// U+2029.
    static func isSpaceOrNewline(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return true
        default: return isSpace(scalar)
        }
    }

    private func trimming(_ trimmed: (Unicode.Scalar) -> Bool) -> String {
        let bytes = utf8
        guard let first = bytes.first, let last = bytes.last else { return "" }
        // An ASCII byte that is not a space at each end: nothing to trim (a multi-byte space
        // starts with a byte ≥ 0x80 and ends with one ≥ 0x80).
        if first < 0x80, last < 0x80, !trimmed(Unicode.Scalar(first)), !trimmed(Unicode.Scalar(last)) {
            return String(self)
        }
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !trimmed($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !trimmed($0) })!
        return String(scalars[start...end])
    }
}
