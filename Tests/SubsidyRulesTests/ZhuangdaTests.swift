import Foundation
import SubsidyRules
import Testing

@Suite("壮大贷 zhuangda (RULES.md §3)")
struct ZhuangdaTests {
    /// One loan with one record; `extra` adds fields to the loan.
    func request(
        start: String = "2025-01-10", maturity: String = "2026-01-09", principal: String = "5000000.00",
        from: String = "2025-01-10", to: String = "2025-03-21", balance: String = "5000000.00",
        paid: String = "36944.44", paidOn: String = "2025-03-21", others: String = "", policy: String = "",
        firm: String = firmJSON(firmA), year: Int = 2025
    ) -> String {
        """
        { "program": "zhuangda", "year": \(year), "policy": {\(policy)},
          "firms": [ \(firm) ],
          "loans": [ { "id": "L-1", "firm": "\(firmA)", "product": "zhuangda", "principal": "\(principal)",
            "start": "\(start)", "maturity": "\(maturity)", "rate": "3.80", "awardedBefore": "0.00",
            "otherSubsidies": [\(others)],
            "interest": [ { "id": "R-1", "from": "\(from)", "to": "\(to)", "balance": "\(balance)",
                            "paid": "\(paid)", "paidOn": "\(paidOn)" } ] } ] }
        """
    }

    @Test("the CALCULATOR.md example comes out at 15,069.45")
    func calculatorExample() throws {
        let example = try String(contentsOfFile: CalculatorExample.path, encoding: .utf8)
        let result = try compute(example)
        // LPR in force on the start date 2025-01-10: the 2024-12-20 fixing, 1-year 3.10 % (term ≤ 5 years).
        // days = 2025-03-21 − 2025-01-10 = 21 + 28 + 20 = 70
        // lprInterest = 5,000,000.00 × 3.10 % × 70 / 360 = 30,138.888… → 30,138.89
        // base = min(30,138.89, 36,944.44) = 30,138.89;  × 50 % = 15,069.445 → 15,069.45
        #expect(result.total == money("15069.45"))
        let award = try #require(result.award(firmA))
        #expect(award.amount == money("15069.45"))
        #expect(award.items == [AwardItem(id: "L-1", kind: .loan, amount: money("15069.45"), records: ["R-1"])])
        #expect(award.explanation.map(\.rule) == ["zhuangda.lprInterest", "zhuangda.base", "zhuangda.ratio"])
        #expect(award.explanation.map(\.text) == [
            "5,000,000.00 × 3.10% × 70 / 360 = 30,138.89",
            "min(30,138.89, paid 36,944.44) = 30,138.89",
            "30,138.89 × 50% = 15,069.45",
        ])
        #expect(award.explanation.allSatisfy { $0.clause == "成都专精特新政策 第6条" })
        #expect(result.excluded.isEmpty)
        // The JSON keeps the contract's field names and amount strings.
        let json = result.json.serialized()
        #expect(json.hasPrefix(#"{"program":"zhuangda","year":2025,"total":"15069.45","awards":[{"recipient":"91350200776049653A""#))
    }

    @Test("paid below the LPR interest is the base")
    func paidBelowLPRInterest() throws {
        // lprInterest 30,138.89 as above; paid 20,000.01 → base 20,000.01; × 50 % = 10,000.005 → 10,000.01
        let result = try compute(request(paid: "20000.01"))
        #expect(result.total == money("10000.01"))
    }

    @Test("a ratio set lower applies; above 50 % is refused")
    func ratioParameter() throws {
        // 30,138.89 × 30 % = 9,041.667 → 9,041.67
        #expect(try compute(request(policy: #""ratio": "30""#)).total == money("9041.67"))
        let refused = try #require(refusal(request(policy: #""ratio": "50.01""#)))
        #expect(refused.field == "policy.ratio")
        #expect(refused.message.contains("ceiling"))
    }

    @Test("a loan longer than 5 years reads the 5-year-plus LPR; exactly 5 years the 1-year")
    func tenor() throws {
        // maturity 2030-01-11 is 5 years and a day after 2025-01-10: 5Y+ LPR of 2024-12-20 = 3.60 %.
        // 5,000,000.00 × 3.60 % × 70 / 360 = 35,000.00; min(35,000.00, 36,944.44) × 50 % = 17,500.00
        #expect(try compute(request(maturity: "2030-01-11")).total == money("17500.00"))
        // maturity 2030-01-10 is exactly 5 years: 1-year LPR, as in the example: 15,069.45
        #expect(try compute(request(maturity: "2030-01-10")).total == money("15069.45"))
    }

    @Test("29 February counts as a day, and is a valid payment date")
    func leapDay() throws {
        // Start 2024-01-15: the 2023-12-20 fixing, 1-year 3.45 %. Period [2024-02-01, 2024-03-01) = 29 days.
        // 3,600,000.00 × 3.45 % × 29 / 360 = 124,200 × 29 / 360 = 10,005.00 exactly
        // base = min(10,005.00, 12,000.00) = 10,005.00; × 50 % = 5,002.50
        let result = try compute(request(
            start: "2024-01-15", maturity: "2025-01-14", principal: "3600000.00", from: "2024-02-01", to: "2024-03-01",
            balance: "3600000.00", paid: "12000.00", paidOn: "2024-02-29", firm: firmJSON(firmA, from: "2024-01-01"), year: 2024))
        #expect(result.total == money("5002.50"))
        #expect(result.awards[0].explanation[0].text == "3,600,000.00 × 3.45% × 29 / 360 = 10,005.00")
    }

    @Test("daily mode prices each day at the fixing in force; loanStart keeps the start's fixing")
    func dailyStraddlesFixingChange() throws {
        // The 2025-05-20 fixing lowered the 1-year LPR from 3.10 % to 3.00 %.
        // Period [2025-05-01, 2025-06-01): 19 days at 3.10 % (05-01…05-19) and 12 days at 3.00 % (05-20…05-31).
        // daily: 1,000,000.00 × (3.10 % × 19 + 3.00 % × 12) / 360 = (589,000 + 360,000) / 360 / 100… = 2,636.111 → 2,636.11
        //        base = min(2,636.11, 3,000.00) = 2,636.11; × 50 % = 1,318.055 → 1,318.06 (half away from zero)
        let daily = try compute(request(
            principal: "1000000.00", from: "2025-05-01", to: "2025-06-01", balance: "1000000.00", paid: "3000.00",
            paidOn: "2025-06-01", policy: #""lprReference": "daily""#))
        #expect(daily.total == money("1318.06"))
        #expect(daily.awards[0].explanation[0].text == "1,000,000.00 × (3.10% × 19 + 3.00% × 12) / 360 = 2,636.11")
        // loanStart: the 2024-12-20 fixing (3.10 %) for all 31 days: 1,000,000.00 × 3.10 % × 31 / 360 = 2,669.444 → 2,669.44
        //        × 50 % = 1,334.72
        let atStart = try compute(request(
            principal: "1000000.00", from: "2025-05-01", to: "2025-06-01", balance: "1000000.00", paid: "3000.00", paidOn: "2025-06-01"))
        #expect(atStart.total == money("1334.72"))
    }

    @Test("a qualification that ends the day before payment excludes the record")
    func qualificationEndsDayBefore() throws {
        let result = try compute(request(firm: firmJSON(firmA, from: "2022-03-21", to: "2025-03-20")))
        #expect(result.total == .zero)
        let exclusion = try #require(result.exclusion("R-1"))
        #expect(exclusion.reason == "firm not qualified on 2025-03-21")
        #expect(exclusion.code == "firm_not_qualified")
        // The firm still appears, owed 0.00, with the reason in its explanation.
        let award = try #require(result.award(firmA))
        #expect(award.amount == .zero)
        #expect(award.items.isEmpty)
        #expect(award.explanation.last?.text.contains("firm not qualified on 2025-03-21") == true)
        // Valid through the payment day itself: included.
        #expect(try compute(request(firm: firmJSON(firmA, from: "2022-03-21", to: "2025-03-21"))).total == money("15069.45"))
    }

    @Test("an uncovered LPR month fails the computation, naming the month")
    func uncoveredMonth() throws {
        // The newest built-in fixing is 2026-02 (published 2026-02-24): coverage ends 2026-03-19.
        let late = try #require(refusal(request(
            start: "2026-03-20", maturity: "2027-03-19", from: "2026-03-20", to: "2026-04-20", paidOn: "2026-04-20", year: 2026)))
        #expect(late.field == "loans[0].start")
        #expect(late.message.contains("2026-03"))
        // daily: the record's last day 2026-04-04 needs the 2026-03 fixing.
        let daily = try #require(refusal(request(
            from: "2026-03-05", to: "2026-04-05", paidOn: "2026-04-05", policy: #""lprReference": "daily""#, year: 2026)))
        #expect(daily.field == "loans[0].interest[0].to")
        #expect(daily.message.contains("2026-03"))
        // Before the first fixing (2019-08-20) there is no LPR at all.
        let early = try #require(refusal(request(start: "2019-08-19", maturity: "2029-08-18")))
        #expect(early.field == "loans[0].start")
        #expect(early.message.contains("2019-08-20"))
        // A request's own fixings replace the table; coverage then ends at the 20th of the next month.
        let own = #""lpr": [ { "published": "2026-03-20", "oneYear": "2.90", "fiveYear": "3.40" } ], "#
        let withOwn = request(start: "2026-03-20", maturity: "2027-03-19", from: "2026-03-20", to: "2026-04-20", paidOn: "2026-04-20", year: 2026)
            .replacingOccurrences(of: #""program": "zhuangda","#, with: #""program": "zhuangda", "# + own)
        // 5,000,000.00 × 2.90 % × 31 / 360 = 12,486.111 → 12,486.11; min with 36,944.44; × 50 % = 6,243.055 → 6,243.06
        #expect(try compute(withOwn).total == money("6243.06"))
        // A supplied table ending with the 2026-02 fixing, and a loan starting in June: the error
        // names 2026-03, the first month not covered, not June (RULES §10).
        let table = #""lpr": [ { "published": "2026-01-20", "oneYear": "3.00", "fiveYear": "3.50" }, { "published": "2026-02-24", "oneYear": "3.00", "fiveYear": "3.50" } ], "#
        let june = request(start: "2026-06-22", maturity: "2027-06-21", from: "2026-06-22", to: "2026-07-22", paidOn: "2026-07-22", year: 2026)
            .replacingOccurrences(of: #""program": "zhuangda","#, with: #""program": "zhuangda", "# + table)
        let refusedJune = try #require(refusal(june))
        #expect(refusedJune.message.contains("2026-03"), "\(refusedJune.message)")
        #expect(!refusedJune.message.contains("2026-06 fixing"), "\(refusedJune.message)")
    }

    @Test("other-level subsidies on the loan reduce it (就高不就低), never below zero")
    func otherSubsidies() throws {
        // x = 15,069.45; P = 36,944.44.
        // city 10,000.00, national 30,000.00: x = max(0, 15,069.45 − 10,000.00) = 5,069.45;
        //   then min(5,069.45, max(0, 36,944.44 − 10,000.00 − 30,000.00 = −3,055.56)) = 0.00
        let both = try compute(request(others: #"{ "level": "city", "amount": "10000.00" }, { "level": "national", "amount": "30000.00" }"#))
        #expect(both.total == .zero)
        #expect(both.item("L-1")?.amount == .zero)
        #expect(both.awards[0].explanation.map(\.rule).suffix(2) == ["closing.sameItemCity", "closing.notAboveInterest"])
        // national 25,000.00 only: min(15,069.45, 36,944.44 − 25,000.00 = 11,944.44) = 11,944.44
        let national = try compute(request(others: #"{ "level": "national", "amount": "25000.00" }"#))
        #expect(national.total == money("11944.44"))
        // city 20,000.00 exceeds the award: max(0, 15,069.45 − 20,000.00) = 0.00
        #expect(try compute(request(others: #"{ "level": "city", "amount": "20000.00" }"#)).total == .zero)
    }

    @Test("records are excluded for each §3.1 ground, with every reason")
    func recordExclusions() throws {
        let json = """
            { "program": "zhuangda", "year": 2025, "firms": [ \(firmJSON(firmA)) ],
              "loans": [ { "id": "L-1", "firm": "\(firmA)", "product": "zhuangda", "principal": "1000000.00",
                "start": "2025-01-10", "maturity": "2026-01-09",
                "interest": [
                  { "id": "R-ok", "from": "2025-01-10", "to": "2025-02-10", "balance": "1000000.00", "paid": "3000.00", "paidOn": "2025-02-10" },
                  { "id": "R-balance", "from": "2025-02-10", "to": "2025-03-10", "balance": "1000000.01", "paid": "3000.00", "paidOn": "2025-03-10" },
                  { "id": "R-empty", "from": "2025-03-10", "to": "2025-03-10", "balance": "1000000.00", "paid": "0.00", "paidOn": "2025-03-10" },
                  { "id": "R-negative", "from": "2025-03-10", "to": "2025-04-10", "balance": "1000000.00", "paid": "-5.00", "paidOn": "2025-04-10" },
                  { "id": "R-2024", "from": "2024-12-10", "to": "2025-01-10", "balance": "1000000.00", "paid": "3000.00", "paidOn": "2024-12-31" },
                  { "id": "R-two", "from": "2025-05-10", "to": "2025-04-10", "balance": "2000000.00", "paid": "3000.00", "paidOn": "2025-05-10" }
                ] },
                { "id": "L-xin", "firm": "\(firmA)", "product": "xinyidai:huiye", "principal": "1000000.00",
                  "start": "2025-01-10", "maturity": "2026-01-09", "interest": [] } ] }
            """
        let result = try compute(json)
        #expect(result.exclusion("R-balance")?.reason == "balance 1,000,000.01 exceeds principal 1,000,000.00")
        #expect(result.exclusion("R-empty")?.code == "empty_period")
        #expect(result.exclusion("R-negative")?.code == "negative_paid")
        #expect(result.exclusion("R-2024")?.reason == "paid on 2024-12-31, not in subsidy year 2025")
        #expect(result.exclusion("R-two")?.code == "empty_period,balance_above_principal")
        #expect(result.exclusion("L-xin")?.code == "other_program")
        #expect(result.exclusion("R-ok") == nil)
        // R-ok: 1,000,000.00 × 3.10 % × 31 / 360 = 2,669.444 → 2,669.44; min(2,669.44, 3,000.00) × 50 % = 1,334.72
        #expect(result.total == money("1334.72"))
        #expect(result.excluded.map(\.id) == ["L-xin", "R-2024", "R-balance", "R-empty", "R-negative", "R-two"])
    }

    @Test("a record outside the policy window is excluded")
    func policyWindow() throws {
        let result = try compute(request(policy: #""effectiveFrom": "2025-04-01""#))
        #expect(result.exclusion("R-1")?.code == "outside_policy_window")
        #expect(result.total == .zero)
    }

    @Test("the firm cap binds mid-list: items served by start date, boundary item partial, later ones 0.00")
    func firmCapMidList() throws {
        // Cap 25,000.00, nothing awarded earlier. In order of start:
        //   L-A (2025-01-10): 15,069.45 (the example)                         → 15,069.45, left 9,930.55
        //   L-B (2025-02-01): 2,000,000.00 × 3.10 % × 89 / 360 = 15,327.777… → 15,327.78; min(·, 20,000.00) × 50 % = 7,663.89
        //                                                                      → 7,663.89, left 2,266.66
        //   L-C (2025-03-01): 1,000,000.00 × 3.10 % × 92 / 360 = 7,922.22; min(·, 5,000.00) × 50 % = 2,500.00 → 2,266.66, left 0
        //   L-D (2025-04-01): 500,000.00 × 3.10 % × 91 / 360 = 3,918.06; × 50 % = 1,959.03 → 0.00
        //   total 15,069.45 + 7,663.89 + 2,266.66 + 0.00 = 25,000.00
        func loan(_ id: String, _ start: String, _ principal: String, _ to: String, _ paid: String) -> String {
            """
            { "id": "\(id)", "firm": "\(firmA)", "product": "zhuangda", "principal": "\(principal)", "start": "\(start)",
              "maturity": "2026-12-31", "interest": [ { "id": "\(id)-R", "from": "\(start)", "to": "\(to)",
              "balance": "\(principal)", "paid": "\(paid)", "paidOn": "\(to)" } ] }
            """
        }
        let loans = [
            loan("L-D", "2025-04-01", "500000.00", "2025-07-01", "4000.00"),
            loan("L-B", "2025-02-01", "2000000.00", "2025-05-01", "20000.00"),
            loan("L-C", "2025-03-01", "1000000.00", "2025-06-01", "5000.00"),
            loan("L-A", "2025-01-10", "5000000.00", "2025-03-21", "36944.44"),
        ]
        let json = """
            { "program": "zhuangda", "year": 2025, "policy": { "firmCap": "25000.00" },
              "firms": [ \(firmJSON(firmA)) ], "loans": [ \(loans.joined(separator: ",")) ] }
            """
        let result = try compute(json)
        let award = try #require(result.award(firmA))
        #expect(award.items.map(\.id) == ["L-A", "L-B", "L-C", "L-D"])
        #expect(award.items.map(\.amount) == [money("15069.45"), money("7663.89"), money("2266.66"), .zero])
        #expect(award.amount == money("25000.00"))
        #expect(award.explanation.contains { $0.rule == "zhuangda.firmCap" && $0.item == "L-D" && $0.text.contains("cap reached") })

        // Awarded earlier this year counts against the cap: 25,000.00 − 20,000.00 = 5,000.00 left.
        let earlier = json.replacingOccurrences(
            of: firmJSON(firmA), with: firmJSON(firmA, awarded: #""zhuangda": "20000.00""#))
        let capped = try compute(earlier)
        #expect(capped.award(firmA)?.items.map(\.amount) == [money("5000.00"), .zero, .zero, .zero])
        #expect(capped.total == money("5000.00"))
    }
}

/// The CALCULATOR.md request, kept verbatim in scripts/demo.
enum CalculatorExample {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/demo/calc-zhuangda.json").path
}
