import Foundation
import SubsidyRules
import Testing

@Suite("新易贷 xinyidai (RULES.md §4)")
struct XinyidaiTests {
    func loan(
        _ id: String = "L-1", tier: String = "huiye", principal: String = "10000000.00", start: String = "2024-06-01",
        awardedBefore: String = "0.00", paid: [String] = ["30000.00", "35000.00"], others: String = ""
    ) -> String {
        let records = paid.enumerated().map { index, amount in
            let month = 3 + index * 3
            let to = "2025-\(month < 10 ? "0" : "")\(month)-21"
            return #"{ "id": "\#(id)-R\#(index + 1)", "from": "2025-01-01", "to": "\#(to)", "balance": "\#(principal)", "paid": "\#(amount)", "paidOn": "\#(to)" }"#
        }
        return """
            { "id": "\(id)", "firm": "\(firmA)", "product": "xinyidai:\(tier)", "principal": "\(principal)",
              "start": "\(start)", "maturity": "2027-05-31", "awardedBefore": "\(awardedBefore)",
              "otherSubsidies": [\(others)], "interest": [ \(records.joined(separator: ",")) ] }
            """
    }

    func request(_ loans: [String], policy: String = "", firm: String = firmJSON(firmA)) -> String {
        """
        { "program": "xinyidai", "year": 2025, "policy": {\(policy)}, "firms": [ \(firm) ], "loans": [ \(loans.joined(separator: ",")) ] }
        """
    }

    @Test("the award is the paid interest, at most the tier rate of the principal over the loan's life")
    func loanCapOverLife() throws {
        // huiye 1.5 %: loanCap = 10,000,000.00 × 1.5 % = 150,000.00; Σ paid = 30,000.00 + 35,000.00 = 65,000.00
        // no earlier award: min(150,000.00, 65,000.00) = 65,000.00
        #expect(try compute(request([loan()])).total == money("65000.00"))
        // 100,000.00 awarded in earlier years: min(150,000.00 − 100,000.00, 65,000.00) = 50,000.00
        let later = try compute(request([loan(awardedBefore: "100000.00")]))
        #expect(later.total == money("50000.00"))
        #expect(later.awards[0].explanation.map(\.rule) == ["xinyidai.loanCap", "xinyidai.awardedBefore", "xinyidai.paid", "xinyidai.loanAward"])
        #expect(later.awards[0].explanation[0].text == "principal 10,000,000.00 × huiye 1.5% = 150,000.00 over the loan's life")
        // Cap used up: 150,000.00 − 160,000.00 < 0 → 0.00
        #expect(try compute(request([loan(awardedBefore: "160000.00")])).total == .zero)
    }

    @Test("the loan cap rounds half away from zero")
    func loanCapRounding() throws {
        // 3,333,333.33 × 1.5 % = 49,999.999995 → 50,000.00; paid 60,000.00 → award 50,000.00
        #expect(try compute(request([loan(principal: "3333333.33", paid: ["60000.00"])])).total == money("50000.00"))
        // xinedai 1.0 %: 1,234,567.85 × 1 % = 12,345.6785 → 12,345.68
        #expect(try compute(request([loan(tier: "xinedai", principal: "1234567.85", paid: ["20000.00"])])).total == money("12345.68"))
    }

    @Test("a loan above the 50,000,000.00 credit line is excluded; at the line it counts")
    func creditLine() throws {
        let above = try compute(request([loan(tier: "touliandai", principal: "50000000.01")]))
        #expect(above.exclusion("L-1")?.code == "above_credit_line")
        #expect(above.exclusion("L-1")?.reason == "principal 50,000,000.01 exceeds the credit line 50,000,000.00")
        #expect(above.excluded.count == 1)  // its records are not listed again
        #expect(above.total == .zero)
        // At the line: touliandai 2 % → loanCap 1,000,000.00; paid 65,000.00 → 65,000.00
        #expect(try compute(request([loan(tier: "touliandai", principal: "50000000.00")])).total == money("65000.00"))
    }

    @Test("the firm cap of 600,000.00 binds in order of start, less what the firm received earlier this year")
    func firmCap() throws {
        // touliandai 2 % of 20,000,000.00 = 400,000.00 per loan; each paid 300,000.00 → 300,000.00 each.
        // Cap 600,000.00 − 100,000.00 earlier = 500,000.00: L-early 300,000.00, L-late 200,000.00.
        let result = try compute(request(
            [
                loan("L-late", tier: "touliandai", principal: "20000000.00", start: "2024-09-01", paid: ["300000.00"]),
                loan("L-early", tier: "touliandai", principal: "20000000.00", start: "2024-06-01", paid: ["300000.00"]),
            ],
            firm: firmJSON(firmA, awarded: #""xinyidai": "100000.00""#)))
        #expect(result.award(firmA)?.items.map(\.id) == ["L-early", "L-late"])
        #expect(result.award(firmA)?.items.map(\.amount) == [money("300000.00"), money("200000.00")])
        #expect(result.total == money("500000.00"))
    }

    @Test("tier rates are parameters: lower is allowed, above 2 % refused")
    func tierParameters() throws {
        // huiye set to 1.0 %: loanCap 100,000.00 − 100,000.00 earlier = 0.00
        #expect(try compute(request([loan(awardedBefore: "100000.00")], policy: #""tiers": { "huiye": "1.0" }"#)).total == .zero)
        let refused = try #require(refusal(request([loan()], policy: #""tiers": { "huiye": "2.5" }"#)))
        #expect(refused.field == "policy.tiers.huiye")
        let unknown = try #require(refusal(request([loan()], policy: #""tiers": { "gold": "1.0" }"#)))
        #expect(unknown.field == "policy.tiers.gold")
        // The CALCULATOR example's 壮大贷 policy block may come along: known elsewhere, so accepted
        // (and still checked: a ratio above 50 is refused even here); an unknown name is not.
        #expect(try compute(request([loan()], policy: #""ratio": "50", "firmCap": "600000.00", "lprReference": "loanStart""#)).total == money("65000.00"))
        #expect(refusal(request([loan()], policy: #""ratio": "55""#))?.field == "policy.ratio")
        #expect(refusal(request([loan()], policy: #""ratioo": "50""#))?.field == "policy.ratioo")
    }

    @Test("就高不就低 on a 新易贷 loan: city award first, then all awards within the interest paid")
    func closingClause() throws {
        // x = 65,000.00, P = 65,000.00; city 10,000.00 → 55,000.00; national 5,000.00 →
        // min(55,000.00, 65,000.00 − 10,000.00 − 5,000.00 = 50,000.00) = 50,000.00
        let others = #"{ "level": "city", "amount": "10000.00" }, { "level": "national", "amount": "5000.00" }"#
        #expect(try compute(request([loan(others: others)])).total == money("50000.00"))
    }
}
