/// Text for HTML and XML: the report's printable HTML and the `.xlsx` sheets.
public enum Markup {
    /// `&`, `<`, `>` and `"` as entities. For an XML part (`forXML`), also without the
    /// characters XML 1.0 forbids (controls other than tab and line ends, U+FFFE and U+FFFF),
    /// which Excel refuses to open. A text with none of these (most cells) is returned as it
    /// is: Foundation's `replacingOccurrences`, four per cell (each a copy through UTF-16 on
    /// Linux), were most of a nation report's 16 s of HTML.
    public static func escape(_ text: String, forXML: Bool = false) -> String {
        // 0xEF leads the UTF-8 of U+F000–U+FFFF, where U+FFFE and U+FFFF are: checked below.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || (forXML && ($0 < 0x20 || $0 == 0xEF)) }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if !forXML || (scalar.value >= 0x20 && !(0xFFFE...0xFFFF).contains(scalar.value)) { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
