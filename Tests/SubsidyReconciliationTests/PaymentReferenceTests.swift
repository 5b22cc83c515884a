import SubsidyRules
import SubsidyReconciliation
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
}
