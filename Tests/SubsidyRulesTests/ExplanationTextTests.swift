import Foundation
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

    /// Every program's random request (`RandomRequest`) for seeds 0 to 39, as JSON.
    static func eachRequest(_ body: (_ program: String, _ seed: Int, _ json: String) throws -> Void) rethrows {
        for program in PropertyTests.programs {
            for seed in 0..<40 {
                var generator = RandomRequest(seed: seed)
                try body(program, seed, generator.json(program: program))
            }
        }
    }

    @Test("written straight into a buffer, byte for byte the JSONValue tree's text, for every program's awards over 40 seeds")
    func sameAsTree() throws {
        var steps = 0
        try Self.eachRequest { program, seed, json in
            for award in try compute(json).awards {
                #expect(ExplanationStep.arrayJSON(award.explanation) == Self.tree(award.explanation), "\(program) seed \(seed)")
                steps += award.explanation.count
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
        #expect(ExplanationStep.arrayJSON(steps) == expected)
        #expect(ExplanationStep.arrayJSON(steps) == Self.tree(steps))
        #expect(ExplanationStep.arrayJSON([]) == "[]")
    }

    /// The steps as the stored form keeps them: `record` and `inputs` are the calculator's only.
    static func kept(_ steps: [ExplanationStep]) -> [ExplanationStep] {
        steps.map { ExplanationStep(rule: $0.rule, clause: $0.clause, text: $0.text, amount: $0.amount, item: $0.item) }
    }

    @Test("the stored form reads back as the same steps, and as the same array, for every program's awards over 40 seeds")
    func storedRoundTrip() throws {
        var steps = 0, storedBytes = 0, arrayBytes = 0
        try Self.eachRequest { program, seed, json in
            for award in try compute(json).awards {
                let stored = ExplanationStep.storedJSON(award.explanation)
                let array = ExplanationStep.arrayJSON(award.explanation)
                #expect(try ExplanationStep.steps(stored: stored) == Self.kept(award.explanation), "\(program) seed \(seed)")
                #expect(try ExplanationStep.steps(stored: array) == Self.kept(award.explanation), "\(program) seed \(seed)")
                #expect(try ExplanationStep.readableJSON(stored: stored) == array, "\(program) seed \(seed)")
                #expect(try ExplanationStep.readableJSON(stored: array) == array)
                steps += award.explanation.count
                storedBytes += stored.utf8.count
                arrayBytes += array.utf8.count
            }
        }
        #expect(steps > 1_000)
        // Each rule, clause and item written once. These random awards have few steps each (a
        // province line has 35, and stores a third of the array's bytes: docs/SCALE.md).
        #expect(storedBytes < arrayBytes, "\(storedBytes) stored against \(arrayBytes) as an array")
    }

    @Test("the stored form written out: lists in order of first use, null for a missing item or amount")
    func storedForm() throws {
        let steps = [
            ExplanationStep(rule: "zhuangda.lprInterest", clause: "第6条", text: "1,000.00 × 3.45% × 31 / 360 = 2.97", amount: Money(fen: 297), item: "ICBC/L-1"),
            ExplanationStep(rule: "zhuangda.base", clause: "第6条", text: "min(2.97, paid 3.00) = 2.97", amount: Money(fen: 297), item: "ICBC/L-1"),
            ExplanationStep(rule: "zhuangda.lprInterest", clause: "第6条", text: "t\"q", amount: Money(fen: -5), item: "BOC/L-2"),
            ExplanationStep(rule: "firm.cap", clause: "第9条", text: "cap", amount: nil),
        ]
        let expected = #"{"v":2,"steps":[[0,0,0,"1,000.00 × 3.45% × 31 / 360 = 2.97","2.97"],[1,0,0,"min(2.97, paid 3.00) = 2.97","2.97"],"#
            + #"[0,0,1,"t\"q","-0.05"],[2,1,null,"cap",null]],"rules":["zhuangda.lprInterest","zhuangda.base","firm.cap"],"clauses":["第6条","第9条"],"#
            + #""items":["ICBC/L-1","BOC/L-2"]}"#
        #expect(ExplanationStep.storedJSON(steps) == expected)
        #expect(try ExplanationStep.steps(stored: expected) == steps)
        #expect(ExplanationStep.storedJSON([]) == "[]")
        #expect(try ExplanationStep.steps(stored: "[]") == [])
    }

    @Test("a batch's record-level steps, stored as figures, read back in the calculator's words, for every program over 40 seeds")
    func figuresReadAsWords() throws {
        var figured = 0, storedBytes = 0, wordedBytes = 0, combined = 0
        try Self.eachRequest { program, seed, json in
            let calculator = try CalculationRequest.decode(Data(json.utf8))
            var batch = calculator
            batch.recordStepInputs = false
            batch.recordStepTexts = false
            let worded = try SubsidyEngine.compute(calculator)
            let numbered = try SubsidyEngine.compute(batch)
            #expect(worded.total == numbered.total && worded.awards.count == numbered.awards.count, "\(program) seed \(seed)")
            for (a, b) in zip(worded.awards, numbered.awards) {
                let stored = ExplanationStep.storedJSON(b.explanation)
                let withFigures = b.explanation.filter { $0.figures != nil }
                figured += withFigures.count
                // Only record-level steps carry figures, and only they lose their words.
                #expect(withFigures.allSatisfy { $0.record != nil && $0.text.isEmpty }, "\(program) seed \(seed)")
                #expect(stored.hasPrefix(withFigures.isEmpty ? #"{"v":2,"# : #"{"v":4,"#) || stored == "[]")
                #expect(try ExplanationStep.steps(stored: stored) == Self.kept(a.explanation), "\(program) seed \(seed)")
                #expect(try ExplanationStep.readableJSON(stored: stored) == ExplanationStep.arrayJSON(a.explanation), "\(program) seed \(seed)")
                // A 壮大贷 record is one step in a batch (its interest and base) under the LPR of
                // the loan's start, two in the calculator's words (and under daily fixings, whose
                // interest is worded); both read as the same array.
                let pairs = b.explanation.filter { if case .lprInterestAndBase? = $0.figures { true } else { false } }.count
                let bases = b.explanation.filter { $0.rule == "zhuangda.base" }.count
                #expect(pairs + bases == a.explanation.filter { $0.rule == "zhuangda.base" }.count, "\(program) seed \(seed)")
                #expect(b.explanation.count == a.explanation.count - pairs, "\(program) seed \(seed)")
                #expect(ExplanationStep.arrayJSON(b.explanation) == ExplanationStep.arrayJSON(a.explanation), "\(program) seed \(seed)")
                combined += pairs
                storedBytes += stored.utf8.count
                wordedBytes += ExplanationStep.storedJSON(a.explanation).utf8.count
            }
        }
        // The seeds reach 壮大贷 records, and their numbers are shorter than their words.
        #expect(figured > 50)
        #expect(combined > 10)
        #expect(storedBytes < wordedBytes, "\(storedBytes) with figures against \(wordedBytes) in words")
    }

    /// A batch's two figured steps of one record of ICBC/L-1: 1,000.00 × 3.45% × 31 / 360 = 2.97,
    /// and its base against `paid`, min(2.97, paid).
    static func figuredPair(paid: Int64) throws -> [ExplanationStep] {
        let rate = try Rate.parse("3.45", field: "test")
        let base = Money(fen: min(297, paid))
        return [
            ExplanationStep(rule: "zhuangda.lprInterest", clause: "第6条", text: "", amount: Money(fen: 297), item: "ICBC/L-1",
                            figures: .lprInterest(balance: Money(fen: 100_000), rate: rate, days: 31, basis: 360, interest: Money(fen: 297))),
            ExplanationStep(rule: "zhuangda.base", clause: "第6条", text: "", amount: base, item: "ICBC/L-1",
                            figures: .base(lprInterest: Money(fen: 297), paid: Money(fen: paid), base: base)),
        ]
    }

    @Test("version 4 written out: figures in place of text and amount, an interest and its base one member, the rates listed once; other steps as in version 2")
    func figuresForm() throws {
        // 1,000.00 × 3.45% × 31 / 360 = 2.97; min(2.97, paid 3.00) = 2.97
        let steps = try Self.figuredPair(paid: 300) + [
            ExplanationStep(rule: "zhuangda.ratio", clause: "第6条", text: "2.97 × 50% = 1.49", amount: Money(fen: 149), item: "ICBC/L-1"),
            // Figures that disagree with the step's amount are not trusted: the step keeps its words.
            ExplanationStep(rule: "zhuangda.base", clause: "第6条", text: "", amount: Money(fen: 1), item: "ICBC/L-1",
                            figures: .base(lprInterest: Money(fen: 297), paid: Money(fen: 300), base: Money(fen: 297))),
        ]
        // The interest and its base: one member of kind 3, [.., balance, rate, days, basis,
        // interest, paid, the base's rule]; the base is min(2.97, 3.00) = 2.97 when read.
        let expected = #"{"v":4,"steps":[[0,0,0,3,100000,0,31,360,297,300,1],[2,0,0,"2.97 × 50% = 1.49","1.49"],"#
            + #"[1,0,0,"min(2.97, paid 3.00) = 2.97","0.01"]],"rules":["zhuangda.lprInterest","zhuangda.base","zhuangda.ratio"],"#
            + #""clauses":["第6条"],"items":["ICBC/L-1"],"rates":["3.45"]}"#
        #expect(ExplanationStep.storedJSON(steps) == expected)
        let worded = [
            ExplanationStep(rule: "zhuangda.lprInterest", clause: "第6条", text: "1,000.00 × 3.45% × 31 / 360 = 2.97", amount: Money(fen: 297), item: "ICBC/L-1"),
            ExplanationStep(rule: "zhuangda.base", clause: "第6条", text: "min(2.97, paid 3.00) = 2.97", amount: Money(fen: 297), item: "ICBC/L-1"),
            ExplanationStep(rule: "zhuangda.ratio", clause: "第6条", text: "2.97 × 50% = 1.49", amount: Money(fen: 149), item: "ICBC/L-1"),
            ExplanationStep(rule: "zhuangda.base", clause: "第6条", text: "min(2.97, paid 3.00) = 2.97", amount: Money(fen: 1), item: "ICBC/L-1"),
        ]
        #expect(try ExplanationStep.steps(stored: expected) == worded)
        // Version 3 (lines stored before sql/036): the same steps as two members.
        let version3 = #"{"v":3,"steps":[[0,0,0,1,100000,0,31,360,297],[1,0,0,2,297,300,297],[2,0,0,"2.97 × 50% = 1.49","1.49"],"#
            + #"[1,0,0,"min(2.97, paid 3.00) = 2.97","0.01"]],"rules":["zhuangda.lprInterest","zhuangda.base","zhuangda.ratio"],"#
            + #""clauses":["第6条"],"items":["ICBC/L-1"],"rates":["3.45"]}"#
        #expect(try ExplanationStep.steps(stored: version3) == worded)
        // A base whose interest is not the step before's, or of another loan, is not paired.
        var apart = Array(steps[0...1])
        apart[1].item = "ICBC/L-2"
        #expect(ExplanationStep.storedJSON(apart).contains(#""steps":[[0,0,0,1,100000,0,31,360,297],[1,0,1,2,297,300,297]]"#))
        apart = Array(steps[0...1])
        apart[1].figures = .base(lprInterest: Money(fen: 296), paid: Money(fen: 300), base: Money(fen: 297))
        #expect(ExplanationStep.storedJSON(apart).contains(#""steps":[[0,0,0,1,100000,0,31,360,297],[1,0,0,2,296,300,297]]"#))
    }

    @Test("an interest and its base in one step: the same member as the two steps, read back as the two, worded")
    func combinedStep() throws {
        let rate = try Rate.parse("3.45", field: "test")
        // 1,000.00 × 3.45% × 31 / 360 = 2.97; min(2.97, paid 2.50) = 2.50: the base is the paid.
        let two = try Self.figuredPair(paid: 250)
        let one = [
            ExplanationStep(rule: "zhuangda.lprInterest", clause: "第6条", text: "", amount: Money(fen: 297), item: "ICBC/L-1",
                            figures: .lprInterestAndBase(balance: Money(fen: 100_000), rate: rate, days: 31, basis: 360, interest: Money(fen: 297),
                                                         paid: Money(fen: 250), baseRule: "zhuangda.base")),
        ]
        let expected = #"{"v":4,"steps":[[0,0,0,3,100000,0,31,360,297,250,1]],"rules":["zhuangda.lprInterest","zhuangda.base"],"#
            + #""clauses":["第6条"],"items":["ICBC/L-1"],"rates":["3.45"]}"#
        #expect(ExplanationStep.storedJSON(two) == expected)
        #expect(ExplanationStep.storedJSON(one) == expected)
        let worded = [
            ExplanationStep(rule: "zhuangda.lprInterest", clause: "第6条", text: "1,000.00 × 3.45% × 31 / 360 = 2.97", amount: Money(fen: 297), item: "ICBC/L-1"),
            ExplanationStep(rule: "zhuangda.base", clause: "第6条", text: "min(2.97, paid 2.50) = 2.50", amount: Money(fen: 250), item: "ICBC/L-1"),
        ]
        #expect(try ExplanationStep.steps(stored: expected) == worded)
        #expect(ExplanationStep.arrayJSON(one) == ExplanationStep.arrayJSON(worded))
        #expect(one[0].readableText == "1,000.00 × 3.45% × 31 / 360 = 2.97; min(2.97, paid 2.50) = 2.50")
    }

    @Test("a line with more than 16 loans: their numbers past the first 16 are found again")
    func manyItems() throws {
        // Loans L0…L29, each twice, in turn: 60 steps, 30 items, numbered in order of first use.
        let steps = (0..<60).map { n in
            ExplanationStep(rule: "r\(n % 2)", clause: "c", text: "\(n)", amount: Money(fen: Int64(n)), item: "L\(n % 30)")
        }
        let stored = ExplanationStep.storedJSON(steps)
        #expect(try ExplanationStep.steps(stored: stored) == steps)
        // Step 47 is L17's second: item index 17.
        #expect(stored.contains(#"[1,0,17,"47","0.47"]"#))
        #expect(stored.contains(#""items":["L0","L1","#))
    }

    @Test("a damaged stored explanation is refused, naming what is wrong")
    func damaged() {
        let cases: [(String, String)] = [
            (#"{"v":2,"rules":["r"],"clauses":["c"],"items":[],"steps":[[0,0,0,"t",null]]}"#, "explanation.steps[0]: item index 0 is not in the list of 0"),
            (#"{"v":2,"rules":["r"],"clauses":["c"],"items":[],"steps":[[0,0,null,"t",null],[1,0,null,"t",null]]}"#, "explanation.steps[1]: rule index 1 is not in the list of 1"),
            (#"{"v":2,"rules":["r"],"clauses":["c"],"items":[],"steps":[[0,0,null,"t","1.2.3"]]}"#, "explanation.steps[0].amount"),
            (#"{"v":5,"rules":[],"clauses":[],"items":[],"steps":[]}"#, "explanation: not a stored explanation (version 2, 3 or 4)"),
            (#"{"v":2,"rules":["r"],"clauses":["c"],"items":[],"steps":[[0,0,null,"t"]]}"#, "explanation: not a stored explanation (version 2, 3 or 4)"),
            (#"[{"rule":"r"}]"#, "explanation: not an array of explanation steps"),
            ("", "explanation: not a stored explanation (version 2, 3 or 4)"),
            // Version 3's figures: a kind it does not know, numbers that do not fit the kind, a
            // rate that is not in the list, a period of negative days.
            (#"{"v":3,"rules":["r"],"clauses":["c"],"items":[],"rates":["3.45"],"steps":[[0,0,null,3,1,2,3]]}"#,
             "explanation.steps[0]: figures of kind 3 with 3 numbers are not a step"),
            (#"{"v":4,"rules":["r"],"clauses":["c"],"items":[],"rates":["3.45"],"steps":[[0,0,null,3,100,0,31,360,9,10,1]]}"#,
             "explanation.steps[0]: base rule index 1 is not in the list of 1"),
            (#"{"v":3,"rules":["r"],"clauses":["c"],"items":[],"rates":["3.45"],"steps":[[0,0,null,2,1,2]]}"#,
             "explanation.steps[0]: figures of kind 2 with 2 numbers are not a step"),
            (#"{"v":3,"rules":["r"],"clauses":["c"],"items":[],"rates":["3.45"],"steps":[[0,0,null,1,100,1,31,360,9]]}"#,
             "explanation.steps[0]: rate index 1 is not in the list of 1"),
            (#"{"v":3,"rules":["r"],"clauses":["c"],"items":[],"steps":[[0,0,null,1,100,0,31,360,9]]}"#,
             "explanation.steps[0]: rate index 0 is not in the list of 0"),
            (#"{"v":3,"rules":["r"],"clauses":["c"],"items":[],"rates":["3.45"],"steps":[[0,0,null,1,100,0,-1,360,9]]}"#,
             "explanation.steps[0]: days -1 over a basis of 360 is not a period"),
            (#"{"v":3,"rules":["r"],"clauses":["c"],"items":[],"rates":["3.4.5"],"steps":[[0,0,null,1,100,0,31,360,9]]}"#,
             "explanation.steps[0].rate"),
        ]
        for (text, message) in cases {
            #expect {
                _ = try ExplanationStep.steps(stored: text)
            } throws: { error in
                "\(error)".hasPrefix(message)
            }
        }
    }
}
