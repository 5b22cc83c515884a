import SubsidyRules
import SubsidyStore
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
}
