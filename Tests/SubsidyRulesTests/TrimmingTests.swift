import Foundation
import PropertyBased
import SubsidyRules
import Testing

/// `trimmingSpaces()` and `trimmingSpacesAndNewlines()` replace Foundation's
/// `trimmingCharacters(in:)` in the upload and statement parsers: they must give exactly its
/// results.
@Suite("Trimming")
struct TrimmingTests {
    /// Characters at the edges that matter: ASCII and Unicode spaces, newlines, a zero-width
    /// space and a byte order mark, CJK text and full-width digits.
    static let alphabet: [Character] = [
        " ", "\t", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{3000}", "\u{2028}", "\u{2029}", "\u{200B}", "\u{1680}", "\u{FEFF}", "\u{180E}", "\u{301}",
        "a", "1", ".", "-", "成", "都", "１", "é", "\u{1F600}",
    ]

    @Test("the same as Foundation on random strings over spaces, newlines and text")
    func sameAsFoundation() async {
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            var rng = SeededRNG(seed: seed)
            let text = String((0..<Int.random(in: 0...8, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! })
            #expect(text.trimmingSpaces() == text.trimmingCharacters(in: .whitespaces), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
            #expect(text.trimmingSpacesAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines),
                    "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("every Unicode scalar is trimmed exactly when Foundation's sets hold it")
    func everyScalar() {
        var mismatches: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(Character(scalar))
            if text.trimmingSpaces().isEmpty != CharacterSet.whitespaces.contains(scalar)
                || text.trimmingSpacesAndNewlines().isEmpty != CharacterSet.whitespacesAndNewlines.contains(scalar) {
                mismatches.append(String(value, radix: 16))
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    @Test("worked examples")
    func examples() {
        #expect("  1234.56\t".trimmingSpaces() == "1234.56")
        #expect("\u{3000}成都\u{3000}".trimmingSpaces() == "成都")     // ideographic spaces (Zs) go
        #expect("\n2025-01-10\n".trimmingSpaces() == "\n2025-01-10\n")  // newlines stay without "AndNewlines"
        #expect("\r\n 2025-01-10 \r\n".trimmingSpacesAndNewlines() == "2025-01-10")
        #expect(" \t ".trimmingSpaces() == "")
        #expect("".trimmingSpacesAndNewlines() == "")
        #expect("\u{200B}x\u{200B}".trimmingSpaces() == "x")  // Foundation counts the zero-width space as a space
        #expect("\u{FEFF}x".trimmingSpaces() == "\u{FEFF}x")  // a byte order mark is not one
    }
}
