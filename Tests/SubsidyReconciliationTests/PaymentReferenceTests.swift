import SubsidyRules
@testable import SubsidyReconciliation
import Testing

@Suite("Payment references")
struct PaymentReferenceTests {
    @Test("16 characters with a Luhn digit; wider past 99,999, never over 20")
    func format() {
        // "250000100001": Luhn digit 4 (worked in BatchTests' lifecycle test).
        #expect(PaymentReference.make(program: .zhuangda, year: 2025, batch: 1, line: 1) == "SLZ2500001000014")
        let wide = PaymentReference.make(program: .guarantee, year: 2026, batch: 123_456, line: 7)
        #expect(wide.hasPrefix("SLG260123456000007"))
        #expect(wide.count == 19)
        #expect(PaymentReference.luhn(String(wide.dropFirst(3).dropLast())) == Int(String(wide.last!)))
    }

    @Test("what make writes, scan reads back, also wrapped or split by white space")
    func scanReadsWhatMakeWrites() {
        let reference = PaymentReference.make(program: .xinyidai, year: 2025, batch: 12, line: 345)
        #expect(PaymentReference.scan("壮大贷 贴息 \(reference) 成都") == [reference])
        let split = String(reference.prefix(7)) + " \n" + String(reference.dropFirst(7))
        #expect(PaymentReference.scan("附言:" + split.lowercased()) == [reference])
        // SL before a digit is no reference; two run together are two.
        #expect(PaymentReference.scan("x SL9 y") == [])
        #expect(PaymentReference.scan("SLZ25SLX26") == ["SLZ25", "SLX26"])
    }

    @Test("ASCII texts are scanned byte by byte exactly as by scalars; other texts by scalars")
    func asciiScanEqualsScalarScan() {
        // SplitMix64, so that a failing case is reproducible from its seed.
        var state: UInt64 = 2026
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // Pieces that make and break references: S, L, letters of either case, digits, every
        // ASCII white space and the separators that are not (0x1C-0x1F), punctuation.
        let pieces = ["S", "L", "s", "l", "Z", "x", "SL", "sl", "SLX", "slz", "0", "7", "25", "00001",
                      " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1F}", "/", ":", "-", "REMI", "\u{7F}"]
        var asciiCases = 0
        var found = 0
        for _ in 0..<3_000 {
            var text = ""
            for _ in 0..<Int(next() % 24) { text += pieces[Int(next() % UInt64(pieces.count))] }
            let scanned = PaymentReference.scan(text)
            #expect(scanned == PaymentReference.scanScalars(text), "\(text.debugDescription)")
            var copy = text
            if copy.withUTF8({ PaymentReference.scanASCII($0) }) != nil { asciiCases += 1 }
            found += scanned.count
        }
        #expect(asciiCases == 3_000)
        #expect(found > 1_000)
        // Beyond ASCII the scalar path reads: upper-casing can make S and L (ß is SS, ſ is S) and
        // white space includes U+3000.
        var german = "ßLZ25"
        #expect(german.withUTF8({ PaymentReference.scanASCII($0) }) == nil)
        #expect(PaymentReference.scan(german) == ["SLZ25"])
        // "ſlx 2 5␣0" upper-cased is "SLX 2 5␣0" (␣ U+3000); without white space "SLX250".
        #expect(PaymentReference.scan("ſlx 2 5\u{3000}0") == ["SLX250"])
    }
}
