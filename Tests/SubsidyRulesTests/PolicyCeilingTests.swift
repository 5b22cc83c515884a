import SubsidyRules
import Testing

/// RULES §10: what items 6, 8 and 9 state as a maximum may be lowered by an override, never raised;
/// the ceilings are data (`…Max` keys, with their clauses) beside the parameters.
@Suite("Policy ceilings")
struct PolicyCeilingTests {
    let version = try! PolicyDocument.builtIn.version(forYear: 2025)

    func resolve(_ program: Program, _ name: String, _ value: String) throws(InputError) -> ResolvedPolicy {
        try ResolvedPolicy(version: version, program: program, overrides: [name: .text(value)])
    }

    @Test("above a ceiling is invalid input naming the field; at it or below it computes", arguments: [
        (Program.zhuangda, "firmCap", "800000.01", "800000.00", "700000.00"),
        (.zhuangda, "ratio", "50.000001", "50", "30"),
        (.xinyidai, "firmCap", "600000.01", "600000.00", "100000.00"),
        (.xinyidai, "creditLine", "50000000.01", "50000000.00", "10000000.00"),
        (.equity, "rate", "5.01", "5", "4"),
        (.equity, "pairCap", "300000.01", "300000.00", "1.00"),
        (.equity, "investorCap", "800000.01", "800000.00", "500000.00"),
        (.fund, "rate", "1.01", "1", "0.5"),
        (.fund, "pairCap", "500000.01", "500000.00", "100000.00"),
        (.fund, "recognitionYears", "3", "2", "1"),
    ])
    func ceilings(program: Program, name: String, above: String, at: String, below: String) throws {
        do {
            _ = try resolve(program, name, above)
            Issue.record("\(program).\(name) = \(above) was accepted")
        } catch {
            #expect(error.field == "policy.\(name)")
            #expect(error.message.contains("ceiling"), "\(error.message)")
        }
        _ = try resolve(program, name, at)
        _ = try resolve(program, name, below)
    }

    @Test("the issue's three: zhuangda.firmCap 900,000.00, equity.pairCap 1,000,000.00, fund.recognitionYears 5")
    func issueExamples() {
        #expect(throws: InputError.self) { try resolve(.zhuangda, "firmCap", "900000.00") }
        #expect(throws: InputError.self) { try resolve(.equity, "pairCap", "1000000.00") }
        #expect(throws: InputError.self) { try resolve(.fund, "recognitionYears", "5") }
        // A ceiling itself cannot be overridden.
        #expect(throws: InputError.self) { try resolve(.zhuangda, "firmCapMax", "900000.00") }
    }

    @Test("the tier rates are capped at 2 %; the guarantee parameters (assumptions) have no ceiling")
    func tiersAndGuarantee() throws {
        #expect(throws: InputError.self) {
            try ResolvedPolicy(version: version, program: .xinyidai, overrides: ["tiers": .table(["touliandai": "2.01"])])
        }
        _ = try resolve(.guarantee, "firmCap", "900000.00")
        _ = try resolve(.guarantee, "offsetRatio", "80")
    }
}
