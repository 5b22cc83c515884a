import Foundation
import SubsidyRules
import Testing

/// Valid USCCs made for tests: 17 characters and the GB 32100-2015 check character.
func makeUSCC(_ body: String) -> String {
    precondition(body.count == 17)
    return body + String(USCC.expectedCheckCharacter(body)!)
}

func investmentJSON(
    _ id: String, investor: String = firmC, investee: String = firmA, kind: String = "equity", amount: String,
    date: String, stage: String = "early", level: String = "specialized", qualifiedFrom: String = "2024-03-01",
    registered: Bool = true, recognition: String = "", awardedBefore: String = "0.00", others: String = ""
) -> String {
    """
    { "id": "\(id)", "investor": "\(investor)", "investee": "\(investee)", "kind": "\(kind)", "amount": "\(amount)",
      "date": "\(date)", "stage": "\(stage)",
      "investeeQualifications": [ { "level": "\(level)", "from": "\(qualifiedFrom)", "to": "2027-02-28" } ],
      "registeredInCity": \(registered)\(recognition.isEmpty ? "" : ", \"recognition\": \(recognition)"),
      "awardedBefore": "\(awardedBefore)", "otherSubsidies": [\(others)] }
    """
}

@Suite("Equity-investment reward (RULES.md §5)")
struct EquityTests {
    func request(_ investments: [String], firms: String = "", year: Int = 2025) -> String {
        """
        { "program": "equity", "year": \(year), "firms": [\(firms)], "investments": [ \(investments.joined(separator: ",")) ] }
        """
    }

    @Test("5 % of the investment, at most 300,000.00 per investee")
    func rateAndPairCap() throws {
        // 4,000,000.00 × 5 % = 200,000.00
        #expect(try compute(request([investmentJSON("I-1", amount: "4000000.00", date: "2025-04-02")])).total == money("200000.00"))
        // 10,000,000.00 × 5 % = 500,000.00 → at most 300,000.00
        let capped = try compute(request([investmentJSON("I-1", amount: "10000000.00", date: "2025-04-02")]))
        #expect(capped.total == money("300000.00"))
        #expect(capped.awards[0].recipient == firmC)  // the investing institution is paid
        // 1,234.57 × 5 % = 61.7285 → 61.73
        #expect(try compute(request([investmentJSON("I-1", amount: "1234.57", date: "2025-04-02")])).total == money("61.73"))
    }

    @Test("the pair cap spans years and investments: earlier receipts and earlier investments count")
    func pairCapAcrossInvestments() throws {
        // Pair received 50,000.00 before: room 250,000.00.
        // I-1 (2025-02-01): 2,000,000.00 × 5 % = 100,000.00 → 100,000.00, pair total 150,000.00
        // I-2 (2025-06-01): 5,000,000.00 × 5 % = 250,000.00 → min(250,000.00, 300,000.00 − 150,000.00) = 150,000.00
        let result = try compute(request([
            investmentJSON("I-2", amount: "5000000.00", date: "2025-06-01", awardedBefore: "50000.00"),
            investmentJSON("I-1", amount: "2000000.00", date: "2025-02-01", awardedBefore: "50000.00"),
        ]))
        #expect(result.award(firmC)?.items.map(\.id) == ["I-1", "I-2"])
        #expect(result.award(firmC)?.items.map(\.amount) == [money("100000.00"), money("150000.00")])
        #expect(result.total == money("250000.00"))
    }

    @Test("at most 800,000.00 per investor a year, served by date then id")
    func investorCap() throws {
        // Four investees, 6,000,000.00 each → 300,000.00 each; cap 800,000.00: 300,000 + 300,000 + 200,000 + 0.
        let investees = [firmA, firmB, makeUSCC("91510100MA6C12345"), makeUSCC("91510100MA6C54321")]
        let investments = investees.enumerated().map { index, investee in
            investmentJSON("I-\(index)", investee: investee, amount: "6000000.00", date: "2025-0\(index + 3)-01")
        }
        let result = try compute(request(investments.reversed()))
        #expect(result.award(firmC)?.items.map(\.amount) == [money("300000.00"), money("300000.00"), money("200000.00"), .zero])
        #expect(result.total == money("800000.00"))
        // The cap is a parameter, also under the plain name firmCap: 350,000.00 → 300,000.00, 50,000.00, 0, 0.
        let lower = request(investments).replacingOccurrences(of: #""firms": []"#, with: #""policy": { "firmCap": "350000.00" }, "firms": []"#)
        #expect(try compute(lower).award(firmC)?.items.map(\.amount) == [money("300000.00"), money("50000.00"), .zero, .zero])
        // 500,000.00 awarded earlier this year: 300,000.00 left → 300,000.00, 0, 0, 0.
        let earlier = try compute(request(investments, firms: firmJSON(firmC, awarded: #""equity": "500000.00""#)))
        #expect(earlier.award(firmC)?.items.map(\.amount) == [money("300000.00"), .zero, .zero, .zero])
    }

    @Test("late stage, an investee that is only innovative or not yet recognised, other years and kinds are excluded")
    func exclusions() throws {
        let result = try compute(request([
            investmentJSON("I-late", amount: "1000000.00", date: "2025-04-02", stage: "late"),
            investmentJSON("I-innovative", amount: "1000000.00", date: "2025-04-02", level: "innovative"),
            investmentJSON("I-before", amount: "1000000.00", date: "2025-04-02", qualifiedFrom: "2025-04-03"),
            investmentJSON("I-2024", amount: "1000000.00", date: "2024-12-31"),
            investmentJSON("I-fund", kind: "fund", amount: "1000000.00", date: "2025-04-02"),
            investmentJSON("I-ok", amount: "1000000.00", date: "2025-04-02", level: "little_giant"),
        ]))
        #expect(result.exclusion("I-late")?.code == "stage_not_eligible")
        #expect(result.exclusion("I-innovative")?.code == "investee_not_qualified")
        #expect(result.exclusion("I-before")?.reason == "investee not specialized or little_giant on 2025-04-02")
        #expect(result.exclusion("I-2024")?.code == "other_year")
        #expect(result.exclusion("I-fund")?.code == "other_program")
        // I-ok: 1,000,000.00 × 5 % = 50,000.00
        #expect(result.total == money("50000.00"))
        #expect(result.excluded.count == 5)
    }

    @Test("a city-level award on the same investment is deducted (就高不就低)")
    func closingClause() throws {
        // 300,000.00 (capped) − city 100,000.00 = 200,000.00
        let others = #"{ "level": "city", "amount": "100000.00" }"#
        #expect(try compute(request([investmentJSON("I-1", amount: "10000000.00", date: "2025-04-02", others: others)])).total == money("200000.00"))
    }
}

@Suite("Guidance-fund reward (RULES.md §6)")
struct FundTests {
    func request(_ investments: [String], year: Int = 2025) -> String {
        """
        { "program": "fund", "year": \(year), "investments": [ \(investments.joined(separator: ",")) ] }
        """
    }

    func fund(_ id: String, amount: String = "30000000.00", date: String = "2024-05-10", recognised: String = "2025-09-01",
              level: String = "specialized", registered: Bool = true, awardedBefore: String = "0.00") -> String {
        investmentJSON(
            id, kind: "fund", amount: amount, date: date, registered: registered,
            recognition: #"{ "level": "\#(level)", "date": "\#(recognised)" }"#, awardedBefore: awardedBefore)
    }

    @Test("1 % of the fund's investment, at most 500,000.00, to the fund's manager")
    func reward() throws {
        // 30,000,000.00 × 1 % = 300,000.00
        let result = try compute(request([fund("F-1")]))
        #expect(result.total == money("300000.00"))
        #expect(result.awards[0].recipient == firmC)
        // 60,000,000.00 × 1 % = 600,000.00 → 500,000.00
        #expect(try compute(request([fund("F-1", amount: "60000000.00")])).total == money("500000.00"))
    }

    @Test("recognition within 2 years after the investment, inclusive; the reward belongs to the recognition's year")
    func recognitionWindow() throws {
        // Invested 2024-05-10: recognised 2026-05-10 is the last day in; 2026-05-11 is out.
        #expect(try compute(request([fund("F-1", recognised: "2026-05-10")], year: 2026)).total == money("300000.00"))
        let late = try compute(request([fund("F-1", recognised: "2026-05-11")], year: 2026))
        #expect(late.exclusion("F-1")?.code == "recognition_outside_window")
        // A recognition before the investment is not "within 2 years after" it.
        let before = try compute(request([fund("F-1", recognised: "2024-05-09")], year: 2024))
        #expect(before.exclusion("F-1")?.code == "recognition_outside_window")
        // Recognised in 2025: not part of the 2026 batch.
        #expect(try compute(request([fund("F-1")], year: 2026)).exclusion("F-1")?.code == "other_year")
    }

    @Test("once per fund and investee; registered in the city; specialized or little giant only")
    func exclusions() throws {
        let result = try compute(request([
            fund("F-a"), fund("F-b", date: "2024-06-10"),
            fund("F-paid", awardedBefore: "1.00").replacingOccurrences(of: firmA, with: firmB),
            fund("F-away", registered: false).replacingOccurrences(of: firmA, with: makeUSCC("91510100MA6C12345")),
            fund("F-innov", level: "innovative").replacingOccurrences(of: firmA, with: makeUSCC("91510100MA6C54321")),
        ]))
        // F-a (2024-05-10) is rewarded; F-b, same fund and investee, is not.
        #expect(result.item("F-a")?.amount == money("300000.00"))
        #expect(result.exclusion("F-b")?.code == "already_rewarded")
        #expect(result.exclusion("F-paid")?.code == "already_rewarded")
        #expect(result.exclusion("F-away")?.code == "not_registered_in_city")
        #expect(result.exclusion("F-innov")?.code == "not_recognised")
        #expect(result.total == money("300000.00"))
    }
}

@Suite("Guarantee-fee offset (RULES.md §7)")
struct GuaranteeTests {
    func guarantee(_ id: String = "G-1", principal: String = "5000000.00", from: String = "2025-01-10", to: String = "2026-01-09",
                   fee: String = "75000.00", paidOn: String = "2025-01-10") -> String {
        """
        { "id": "\(id)", "firm": "\(firmA)", "loan": "L-1", "guarantor": "\(firmB)", "principal": "\(principal)",
          "from": "\(from)", "to": "\(to)", "fee": "\(fee)", "paidOn": "\(paidOn)" }
        """
    }

    func request(_ guarantees: [String], policy: String = "", firm: String = firmJSON(firmA)) -> String {
        """
        { "program": "guarantee", "year": 2025, "policy": {\(policy)}, "firms": [ \(firm) ], "guarantees": [ \(guarantees.joined(separator: ",")) ] }
        """
    }

    @Test("the CALCULATOR.md guarantee: half the fee, the fee counted up to 1 % a year")
    func example() throws {
        // days = 2026-01-09 − 2025-01-10 = 364; fee rate 75,000.00 / (5,000,000.00 × 364 / 360) = 1.48 % ≤ 3 %
        // ceiling = 5,000,000.00 × 1 % × 364 / 360 = 50,555.555… → 50,555.56; eligibleFee = min(75,000.00, 50,555.56) = 50,555.56
        // offset = 50,555.56 × 50 % = 25,277.78
        let result = try compute(request([guarantee()]))
        #expect(result.total == money("25277.78"))
        #expect(result.awards[0].recipient == firmA)
        #expect(result.awards[0].explanation.map(\.rule) == ["guarantee.eligibleFee", "guarantee.offset"])
        // A fee below the ceiling counts whole: 30,000.00 × 50 % = 15,000.00
        #expect(try compute(request([guarantee(fee: "30000.00")])).total == money("15000.00"))
    }

    @Test("an annualised fee rate above 3 % excludes the guarantee; exactly 3 % does not")
    func feeRateLimit() throws {
        // 360 days on 1,000,000.00: a fee of 30,000.00 is exactly 3 % → eligible;
        // ceiling 1,000,000.00 × 1 % × 360 / 360 = 10,000.00 → offset 5,000.00
        let atLimit = try compute(request([guarantee(principal: "1000000.00", from: "2025-01-01", to: "2025-12-27", fee: "30000.00")]))
        #expect(atLimit.total == money("5000.00"))
        let above = try compute(request([guarantee(principal: "1000000.00", from: "2025-01-01", to: "2025-12-27", fee: "30000.01")]))
        #expect(above.exclusion("G-1")?.code == "fee_rate_too_high")
        #expect(above.exclusion("G-1")?.reason == "annualised fee rate 3.00% is above 3%")
    }

    @Test("at most 200,000.00 per firm and year; the guarantor can be the payee")
    func capAndPayee() throws {
        // 50,000,000.00 for 360 days, fee 1,000,000.00 (2 %): ceiling 500,000.00 → offset 250,000.00 → 200,000.00
        let big = guarantee(principal: "50000000.00", from: "2025-01-01", to: "2025-12-27", fee: "1000000.00")
        #expect(try compute(request([big])).total == money("200000.00"))
        // 150,000.00 received earlier this year → 50,000.00
        #expect(try compute(request([big], firm: firmJSON(firmA, awarded: #""guarantee": "150000.00""#))).total == money("50000.00"))
        let toGuarantor = try compute(request([guarantee()], policy: #""payee": "guarantor""#))
        #expect(toGuarantor.awards.map(\.recipient) == [firmB])
        #expect(toGuarantor.total == money("25277.78"))
    }

    @Test("paid to the guarantor, the cap stays per guaranteed firm and year; the guarantor gets the sum, firm by firm")
    func guarantorCapPerFirm() throws {
        let guarantor = "91440101MA5CJQ4N59"
        // Each: 50,000,000.00 for 360 days, fee 1,000,000.00 → ceiling 500,000.00 → offset 250,000.00 → 200,000.00 under its firm's cap.
        func big(_ id: String, _ firm: String) -> String {
            """
            { "id": "\(id)", "firm": "\(firm)", "guarantor": "\(guarantor)", "principal": "50000000.00",
              "from": "2025-01-01", "to": "2025-12-27", "fee": "1000000.00", "paidOn": "2025-01-02" }
            """
        }
        let both = """
            { "program": "guarantee", "year": 2025, "policy": { "payee": "guarantor" },
              "firms": [ \(firmJSON(firmA)), \(firmJSON(firmB, awarded: #""guarantee": "150000.00""#)) ],
              "guarantees": [ \(big("G-A", firmA)), \(big("G-B", firmB)), \(big("G-A2", firmA)) ] }
            """
        let result = try compute(both)
        // A: 250,000.00 + 250,000.00 asked, 200,000.00 cap → G-A 200,000.00, G-A2 0.00.
        // B: 150,000.00 received earlier this year → 50,000.00 left → G-B 50,000.00.
        // The guarantor: 200,000.00 + 50,000.00 = 250,000.00 (not one 200,000.00 cap for all of it).
        #expect(result.awards.map(\.recipient) == [guarantor])
        #expect(result.total == money("250000.00"))
        #expect(result.item("G-A")?.amount == money("200000.00"))
        #expect(result.item("G-A2")?.amount == money("0.00"))
        #expect(result.item("G-B")?.amount == money("50000.00"))
        let perFirm = result.awards[0].explanation.filter { $0.rule == "guarantee.perFirm" }
        #expect(perFirm.map(\.amount) == [money("50000.00"), money("200000.00")])  // firms in text order: B (…0728319549) before A
        #expect(perFirm[0].text.contains(firmB) && perFirm[1].text.contains(firmA))
    }

    @Test("a firm not qualified on the payment day, another year or an empty period is excluded")
    func exclusions() throws {
        let result = try compute(request([
            guarantee("G-early", paidOn: "2024-02-01"),
            guarantee("G-2024", paidOn: "2024-12-31"),
            guarantee("G-empty", from: "2025-05-01", to: "2025-05-01", paidOn: "2025-05-01"),
        ], firm: firmJSON(firmA, from: "2025-01-01")))
        #expect(result.exclusion("G-2024")?.code == "other_year")
        #expect(result.exclusion("G-early")?.code == "other_year")
        #expect(result.exclusion("G-empty")?.code == "empty_period")
        let unqualified = try compute(request([guarantee(paidOn: "2025-01-10")], firm: firmJSON(firmA, from: "2025-02-01")))
        #expect(unqualified.exclusion("G-1")?.reason == "firm not qualified on 2025-01-10")
    }
}
