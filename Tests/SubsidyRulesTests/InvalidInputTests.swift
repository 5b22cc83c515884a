import Foundation
import SubsidyRules
import Testing

/// Invalid input yields no result: an error naming the field and saying what is wrong.
@Suite("Invalid input is refused, naming the field")
struct InvalidInputTests {
    let base = try! String(contentsOfFile: CalculatorExample.path, encoding: .utf8)

    func refused(_ replace: String, with: String) throws -> InputError {
        #expect(base.contains(replace), "fixture lacks \(replace)")
        return try #require(refusal(base.replacingOccurrences(of: replace, with: with)))
    }

    @Test("each field kind", arguments: [
        (#""paid": "36944.44""#, #""paid": "36,944.44""#, "loans[0].interest[0].paid"),
        (#""paid": "36944.44""#, #""paid": "1e3""#, "loans[0].interest[0].paid"),
        (#""paid": "36944.44""#, #""paid": "36944.444""#, "loans[0].interest[0].paid"),
        (#""paid": "36944.44""#, #""paid": 36944.44"#, "loans[0].interest[0].paid"),
        (#""balance": "5000000.00""#, #""balance": "-1.00""#, "loans[0].interest[0].balance"),
        (#""principal": "5000000.00", "start""#, #""principal": "0.00", "start""#, "loans[0].principal"),
        (#""paidOn": "2025-03-21""#, #""paidOn": "2025-02-29""#, "loans[0].interest[0].paidOn"),
        (#""from": "2025-01-10", "to""#, #""from": "2025/01/10", "to""#, "loans[0].interest[0].from"),
        (#""maturity": "2026-01-09""#, #""maturity": "2025-01-01""#, "loans[0].maturity"),
        (#""rate": "3.80""#, #""rate": "3.80%""#, "loans[0].rate"),
        (#""uscc": "91350200776049653A""#, #""uscc": "91350200776049653B""#, "firms[0].uscc"),
        (#""firm": "91350200776049653A", "product""#, #""firm": "913502007760496", "product""#, "loans[0].firm"),
        (#""firm": "91350200776049653A", "product""#, #""firm": "913502000728319549", "product""#, "loans[0].firm"),
        (#""investor": "91440101MA5CJQ4N59""#, #""investor": "91440101ma5cjq4n59""#, "investments[0].investor"),
        (#""program": "zhuangda""#, #""program": "zhuangdai""#, "program"),
        (#""year": 2025"#, #""year": "2025""#, "year"),
        (#""product": "zhuangda""#, #""product": "xinyidai:gold""#, "loans[0].product"),
        (#""level": "specialized", "from": "2024-03-01", "to": "2027-02-28" } ],"#, #""level": "expert", "from": "2024-03-01", "to": "2027-02-28" } ],"#, "firms[0].qualifications[0].level"),
        // 科技和创新型中小企业 is recorded as `innovative`; any other spelling is refused (RULES §10).
        (#""level": "specialized", "from": "2024-03-01", "to": "2027-02-28" } ],"#, #""level": "tech_innovative", "from": "2024-03-01", "to": "2027-02-28" } ],"#, "firms[0].qualifications[0].level"),
        (#""level": "specialized", "from": "2024-03-01", "to": "2027-02-28" } ],"#, #""level": "Innovative", "from": "2024-03-01", "to": "2027-02-28" } ],"#, "firms[0].qualifications[0].level"),
        (#""firmCap": "800000.00""#, #""firmCap": "900000.00""#, "policy.firmCap"),
        (#""level": "city""#, #""level": "county""#, "loans[0].otherSubsidies[0].level"),
        (#""stage": "early""#, #""stage": "angel""#, "investments[0].stage"),
        (#""kind": "equity""#, #""kind": "loan""#, "investments[0].kind"),
        (#""fee": "75000.00""#, #""fee": "abc""#, "guarantees[0].fee"),
        (#""ratio": "50""#, #""ratio": "60""#, "policy.ratio"),
        (#""firmCap": "800000.00""#, #""firmCap": "-1""#, "policy.firmCap"),
        (#""lprReference": "loanStart""#, #""lprReference": "monthly""#, "policy.lprReference"),
        (#""lprReference": "loanStart""#, #""lprReferenc": "loanStart""#, "policy.lprReferenc"),
        (#""id": "R-1""#, #""idx": "R-1""#, "loans[0].interest[0].id"),
        (#""awarded": { "zhuangda": "0.00" }"#, #""awarded": { "zhuangda": "0.001" }"#, "firms[0].awarded.zhuangda"),
    ])
    func fieldKinds(replace: String, with: String, field: String) throws {
        let error = try refused(replace, with: with)
        #expect(error.field == field, "\(error.message)")
        #expect(!error.message.isEmpty)
    }

    @Test("messages say what was expected")
    func messages() throws {
        #expect(try refused(#""paid": "36944.44""#, with: #""paid": "12abc""#).message.contains("\"12abc\" is not an amount"))
        #expect(try refused(#""paid": "36944.44""#, with: #""paid": 36944.44"#).message.contains("expected a string"))
        #expect(try refused(#""uscc": "91350200776049653A""#, with: #""uscc": "91350200776049653B""#).message.contains("should be \"A\""))
        #expect(try refused(#""id": "R-1""#, with: #""idx": "R-1""#).message == "is required")
    }

    @Test("duplicate ids and malformed JSON")
    func structure() throws {
        let twice = base.replacingOccurrences(
            of: #""interest": ["#,
            with: #""interest": [ { "id": "R-1", "from": "2025-01-01", "to": "2025-01-10", "balance": "1.00", "paid": "1.00", "paidOn": "2025-01-10" },"#)
        #expect(refusal(twice)?.field == "loans[0].interest[1].id")
        #expect(refusal("{ not json")?.message == "the request is not valid JSON")
        #expect(refusal("")?.field == "")
    }

    @Test("every USCC passes when an administrator allow-lists it")
    func allowList() throws {
        let legacy = base.replacingOccurrences(of: "91350200776049653A", with: "91350200776049653B")
        #expect(refusal(legacy)?.message.contains("GB 32100-2015") == true)
        let allowed = legacy.replacingOccurrences(of: #""program": "zhuangda","#, with: #""program": "zhuangda", "usccAllowList": ["91350200776049653B"],"#)
        #expect(try compute(allowed).total == money("15069.45"))
    }
}
