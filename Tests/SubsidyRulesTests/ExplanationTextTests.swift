import SubsidyRules
import Testing

@Suite("A batch line's stored explanation")
struct ExplanationTextTests {
    /// The stored form as a `JSONValue` tree, as lines were written before: the members in order
    /// rule, clause, text, then amount and item when present.
    static func tree(_ steps: [ExplanationStep]) -> String {
        JSONValue.array(steps.map { step in
            var members: [(String, JSONValue)] = [("rule", .string(step.rule)), ("clause", .string(step.clause)), ("text", .string(step.text))]
            if let amount = step.amount { members.append(("amount", .string(amount.plain))) }
            if let item = step.item { members.append(("item", .string(item))) }
            return .object(members)
        }).serialized()
    }

    @Test("written straight into a buffer, byte for byte the JSONValue tree's text, for every program's awards over 40 seeds")
    func sameAsTree() throws {
        var steps = 0
        for program in PropertyTests.programs {
            for seed in 0..<40 {
                var generator = RandomRequest(seed: seed)
                for award in try compute(generator.json(program: program)).awards {
                    #expect(ExplanationStep.storedJSON(award.explanation) == Self.tree(award.explanation), "\(program) seed \(seed)")
                    steps += award.explanation.count
                }
            }
        }
        // The seeds reach real explanations, not only empty ones.
        #expect(steps > 1_000)
    }

    @Test("texts that need escaping, steps without amount or item, and no steps at all")
    func escaping() {
        let steps = [
            ExplanationStep(rule: "r\"1", clause: "附件2 第6条\\", text: "line\nbreak\ttab \u{1}\u{1F} 壮大贷 \r", amount: Money(fen: -1_234_567)),
            ExplanationStep(rule: "cap", clause: "", text: "", amount: nil, item: "ICBC/L-1"),
            ExplanationStep(rule: "x", clause: "y", text: "z", amount: Money(fen: 5), item: "\u{7F}/é"),
        ]
        let expected = #"[{"rule":"r\"1","clause":"附件2 第6条\\","text":"line\nbreak\ttab \u0001\u001f 壮大贷 \r","amount":"-12345.67"},"#
            + #"{"rule":"cap","clause":"","text":"","item":"ICBC/L-1"},{"rule":"x","clause":"y","text":"z","amount":"0.05","item":"\#u{7F}/é"}]"#
        #expect(ExplanationStep.storedJSON(steps) == expected)
        #expect(ExplanationStep.storedJSON(steps) == Self.tree(steps))
        #expect(ExplanationStep.storedJSON([]) == "[]")
    }
}
