import PropertyBased
@testable import SubsidyReconciliation
import SubsidyRules
import Testing

/// The MT940 parser reads lines, tags and `:61:` fields from UTF-8 bytes where bytes and
/// characters agree. Over random texts of ASCII, CR, LF, combining marks, joiners and wide
/// characters, each byte path must give what the character-by-character definition gives.
@Suite("MT940 read by bytes, as by characters")
struct MT940BytesTests {
    static let palette: [String] = [
        ":", "1", "2", "6", "A", "c", "F", "x", "/", "?", " ", "\t", "{4:", "-", "\r", "\n", "\r\n", "é", "\u{301}", "\u{200D}",
        "中", "Ａ", "😀", "\u{3000}", ",", "N", "D", "R",
    ]

    static func text(_ seed: Int) -> String {
        var rng = SplitMix(seed: UInt64(seed))
        return (0..<Int(rng.next() % 24)).map { _ in palette[Int(rng.next() % UInt64(palette.count))] }.joined()
    }

    /// The definition the byte path of `lines(of:)` replaces (the parser's code before it); the
    /// tags' is the parser's own `taggedByCharacters`, which lines that are not ASCII still take.
    static func linesByCharacters(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    }

    @Test("lines and tags: the same as by characters")
    func linesAndTags() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            let text = Self.text(seed)
            #expect(MT940Parser.lines(of: text).map(String.init) == Self.linesByCharacters(text).map(String.init), "\(Array(text.unicodeScalars))")
            let line = ":" + text
            let (bytes, characters) = (MT940Parser.tagged(line), MT940Parser.taggedByCharacters(line))
            #expect(bytes?.0 == characters?.0 && bytes?.1 == characters?.1, "\(Array(line.unicodeScalars))")
        }
        // Fixed cases the random ones might miss: a tag whose letter or colon carries a mark.
        for line in [":61:x", ":12A:y", ":12A:\u{301}y", ":12\u{301}:", ":12:\u{301}", ":1", ":12", ":12:", ":123:", ":6中:", ":12Ａ:"] {
            let (bytes, characters) = (MT940Parser.tagged(line), MT940Parser.taggedByCharacters(line))
            #expect(bytes?.0 == characters?.0 && bytes?.1 == characters?.1, "\(Array(line.unicodeScalars))")
        }
        #expect(MT940Parser.lines(of: "a\r\nb\rc\n\nd\r\n") == ["a", "b", "c", "", "d", ""])
    }

    @Test("a :61: field reads the same whether its line is ASCII or carries a wide character")
    func entryFields() throws {
        // 2601220122D470823,17NTRFNONREF: value date 2026-01-22, booked 01-22, a debit of
        // 470,823.17, reference NONREF (none); the same with a bank reference in 全角 after //.
        let ascii = try MT940Parser.entry("2601220122D470823,17NTRFNONREF//B1\nSUPP", currency: "CNY", location: "t")
        #expect(ascii.amount.fen == -47_082_317)
        #expect(ascii.valueDate?.description == "2026-01-22" && ascii.bookingDate?.description == "2026-01-22")
        #expect(ascii.reference == nil && ascii.bankReference == "B1" && ascii.description == "SUPP")
        let wide = try MT940Parser.entry("2601220122D470823,17NTRFNONREF//Ｂ1\nSUPP", currency: "CNY", location: "t")
        #expect(wide.amount == ascii.amount && wide.valueDate == ascii.valueDate && wide.bankReference == "Ｂ1")
    }
}
