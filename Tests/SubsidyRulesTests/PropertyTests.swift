import Foundation
import PropertyBased
import SubsidyRules
import Testing

/// SplitMix64: a small deterministic generator, so that each property case is reproducible from
/// the seed that PropertyBased draws (and shrinks).
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: Int) { state = UInt64(bitPattern: Int64(seed)) &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random but valid requests: a handful of firms, each with loans, records, investments and
/// guarantees spread over 2024–2026, with caps small enough to bind often.
struct RandomRequest {
    var rng: SeededRNG
    let firms: [String]

    init(seed: Int) {
        rng = SeededRNG(seed: seed)
        var local = SeededRNG(seed: seed ^ 0x5A5A)
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        firms = (0..<Int.random(in: 1...5, using: &local)).map { _ in
            let body = "9151" + String((0..<13).map { _ in alphabet.randomElement(using: &local)! })
            return body + String(USCC.expectedCheckCharacter(body)!)
        }
    }

    mutating func amount(_ range: ClosedRange<Int64>) -> String { Money(fen: Int64.random(in: range, using: &rng)).plain }

    mutating func date(_ from: Int, _ to: Int) -> CivilDate {
        // Day numbers of 2024-01-01 … 2026-03-10 (inside LPR coverage).
        CivilDate(dayNumber: Int.random(in: from...to, using: &rng))
    }

    mutating func json(program: String) -> String {
        let lo = CivilDate(year: 2024, month: 1, day: 1)!.dayNumber
        let hi = CivilDate(year: 2026, month: 3, day: 10)!.dayNumber
        // Caps scaled to each program's award sizes, so that they bind in a good share of cases.
        let capTop: Int64 = ["zhuangda": 30_000_00, "xinyidai": 300_000_00, "equity": 800_000_00, "fund": 150_000_00][program] ?? 30_000_00
        let capFen = Int64.random(in: 100_00...capTop, using: &rng)
        let cap = Money(fen: capFen).plain
        var firmsJSON: [String] = []
        var loans: [String] = []
        var investments: [String] = []
        var guarantees: [String] = []
        var id = 0
        for firm in firms {
            let qFrom = date(lo - 400, hi)
            let qTo = qFrom + Int.random(in: 30...1200, using: &rng)
            firmsJSON.append("""
                { "uscc": "\(firm)", "qualifications": [ { "level": "\(["innovative", "specialized", "little_giant"].randomElement(using: &rng)!)", "from": "\(qFrom)", "to": "\(qTo)" } ],
                  "awarded": { "\(program)": "\(amount(0...capFen / 2))" } }
                """)
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                id += 1
                let start = date(lo, hi - 40)
                let principal = Int64.random(in: 100_000_00...60_000_000_00, using: &rng)
                let product = Bool.random(using: &rng) ? "zhuangda" : "xinyidai:\(["xinedai", "huiye", "peiyou", "touliandai"].randomElement(using: &rng)!)"
                var records: [String] = []
                var cursor = start
                for _ in 0..<Int.random(in: 0...6, using: &rng) {
                    id += 1
                    let to = cursor + Int.random(in: 1...95, using: &rng)
                    guard to.dayNumber <= hi else { break }
                    let balance = Int64.random(in: 0...(principal + principal / 50), using: &rng)
                    records.append("""
                        { "id": "R\(id)", "from": "\(cursor)", "to": "\(to)", "balance": "\(Money(fen: balance).plain)",
                          "paid": "\(Money(fen: Int64.random(in: -1000...balance / 40, using: &rng)).plain)", "paidOn": "\(to)" }
                        """)
                    cursor = to
                }
                let others = Bool.random(using: &rng)
                    ? #"{ "level": "\#(["city", "provincial", "national"].randomElement(using: &rng)!)", "amount": "\#(amount(0...50_000_00))" }"#
                    : ""
                loans.append("""
                    { "id": "L\(id)", "firm": "\(firm)", "product": "\(product)", "principal": "\(Money(fen: principal).plain)",
                      "start": "\(start)", "maturity": "\(start + Int.random(in: 180...3000, using: &rng))",
                      "awardedBefore": "\(amount(0...300_000_00))", "otherSubsidies": [\(others)], "interest": [\(records.joined(separator: ","))] }
                    """)
            }
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                id += 1
                let day = date(lo, hi)
                investments.append(investmentJSON(
                    "I\(id)", investor: firms.randomElement(using: &rng)!, investee: firm,
                    kind: program == "fund" ? "fund" : "equity", amount: amount(0...20_000_000_00), date: "\(day)",
                    stage: ["seed", "early", "growth", "late"].randomElement(using: &rng)!,
                    level: ["innovative", "specialized", "little_giant"].randomElement(using: &rng)!,
                    qualifiedFrom: "\(day + Int.random(in: -400...30, using: &rng))", registered: Bool.random(using: &rng),
                    recognition: #"{ "level": "specialized", "date": "\#(day + Int.random(in: -30...800, using: &rng))" }"#,
                    awardedBefore: Int.random(in: 0...3, using: &rng) == 0 ? amount(0...300_000_00) : "0.00"))
            }
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                id += 1
                let from = date(lo, hi - 10)
                guarantees.append("""
                    { "id": "G\(id)", "firm": "\(firm)", "guarantor": "\(firms[0])", "principal": "\(amount(100_000_00...50_000_000_00))",
                      "from": "\(from)", "to": "\(from + Int.random(in: 0...400, using: &rng))", "fee": "\(amount(0...1_500_000_00))",
                      "paidOn": "\(date(lo, hi))" }
                    """)
            }
        }
        let capName = program == "equity" ? "investorCap" : program == "fund" ? "pairCap" : "firmCap"
        let reference = Bool.random(using: &rng) ? "daily" : "loanStart"
        let policy = program == "zhuangda" ? #""\#(capName)": "\#(cap)", "lprReference": "\#(reference)""# : #""\#(capName)": "\#(cap)""#
        return """
            { "program": "\(program)", "year": \(Int.random(in: 2024...2026, using: &rng)), "policy": { \(policy) },
              "firms": [\(firmsJSON.joined(separator: ","))], "loans": [\(loans.joined(separator: ","))],
              "investments": [\(investments.joined(separator: ","))], "guarantees": [\(guarantees.joined(separator: ","))] }
            """
    }
}

/// Reverses every array in a request, so that the same data arrives in another order.
func reversingArrays(_ json: String) throws -> String {
    func reverse(_ value: Any) -> Any {
        if let array = value as? [Any] { return array.reversed().map(reverse) }
        if let object = value as? [String: Any] { return object.mapValues(reverse) }
        return value
    }
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
    return String(decoding: try JSONSerialization.data(withJSONObject: reverse(object)), as: UTF8.self)
}

@Suite("Properties over random requests")
struct PropertyTests {
    static let programs = ["zhuangda", "xinyidai", "equity", "fund", "guarantee"]

    /// What the random cases exercised, so that the properties are known not to hold vacuously.
    final class Coverage: @unchecked Sendable {
        let lock = NSLock()
        var paying = 0
        var capBinding = 0
        var excluding = 0
        func add(paying: Bool, capBinding: Bool, excluding: Bool) {
            lock.lock()
            defer { lock.unlock() }
            if paying { self.paying += 1 }
            if capBinding { self.capBinding += 1 }
            if excluding { self.excluding += 1 }
        }
    }

    func check(program: String, seed: Int, coverage: Coverage) throws {
        var generator = RandomRequest(seed: seed)
        let json = generator.json(program: program)
        let result = try compute(json)
        let request = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let policy = request["policy"] as! [String: String]
        let cap = policy["firmCap"] ?? policy["investorCap"]
        let firms = request["firms"] as! [[String: Any]]
        var earlier: [String: Money] = [:]
        for firm in firms {
            earlier[firm["uscc"] as! String] = money((firm["awarded"] as! [String: String])[program]!)
        }

        #expect(result.total == result.awards.map(\.amount).sum(), "total is the sum of awards")
        for award in result.awards {
            #expect(award.amount == award.items.map(\.amount).sum(), "items add up to the award of \(award.recipient)")
            #expect(award.amount >= .zero)
            #expect(award.items.allSatisfy { $0.amount >= .zero }, "no negative item")
            if let cap {
                let room = (money(cap) - (earlier[award.recipient] ?? .zero)).clampedAtZero
                #expect(award.amount <= room, "cap never exceeded for \(award.recipient)")
            }
            if program == "fund" {
                #expect(award.items.allSatisfy { $0.amount <= money(cap ?? "500000.00") }, "fund reward at most the pair cap")
            }
        }
        coverage.add(
            paying: result.total > .zero,
            capBinding: result.awards.contains { $0.explanation.contains { $0.rule.hasSuffix("Cap") && $0.item != nil } },
            excluding: !result.excluded.isEmpty)
        #expect(Set(result.awards.map(\.recipient)).count == result.awards.count, "one award per recipient")

        // Every input item is either counted or excluded, never both.
        let counted = Set(result.awards.flatMap { $0.items.flatMap { [$0.id] + $0.records } })
        let excluded = Set(result.excluded.map(\.id))
        #expect(counted.isDisjoint(with: excluded))
        let collection = program == "equity" || program == "fund" ? "investments" : program == "guarantee" ? "guarantees" : "loans"
        for item in request[collection] as! [[String: Any]] {
            let id = item["id"] as! String
            let records = (item["interest"] as? [[String: Any]] ?? []).map { $0["id"] as! String }
            let accounted = counted.contains(id) || excluded.contains(id) || (!records.isEmpty && records.allSatisfy(excluded.contains))
            let emptyLoan = collection == "loans" && records.isEmpty && !excluded.contains(id)
            #expect(accounted || emptyLoan, "item \(id) neither counted nor excluded")
        }

        // The same data in another order gives the same document.
        let reordered = try compute(try reversingArrays(json))
        #expect(reordered.json.serialized() == result.json.serialized(), "result independent of input order")
    }

    @Test("items add up, caps hold, nothing negative, input order irrelevant", arguments: programs)
    func properties(program: String) async {
        // New random seeds every run, for the invariants.
        await propertyCheck(count: 150, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            do {
                try check(program: program, seed: seed, coverage: Coverage())
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
        // The same invariants over 300 fixed seeds, which must also reach the cases that matter:
        // at least 15 pay something, bind a cap and exclude something. Counted over fixed seeds,
        // not the random ones: the guarantee program pays in about one case in ten, and over 150
        // random seeds it sometimes paid in only 13 (two CI runs failed so, with nothing wrong).
        let coverage = Coverage()
        for seed in 0..<300 {
            do {
                try check(program: program, seed: seed, coverage: coverage)
            } catch {
                Issue.record("fixed seed \(seed): \(error)")
            }
        }
        #expect(coverage.paying >= 15, "only \(coverage.paying) paying cases")
        #expect(coverage.capBinding >= 15, "only \(coverage.capBinding) cases with a binding cap")
        #expect(coverage.excluding >= 15, "only \(coverage.excluding) cases with exclusions")
    }
}

@Suite("A batch's requests leave out the record steps' inputs, nothing else")
struct RecordStepInputsTests {
    /// Over random zhuangda and xinyidai requests (both LPR references), computing without the
    /// record-level steps' inputs gives the same amounts, items, exclusions, step texts and
    /// stored explanation JSON; only `inputs` of steps naming a record differ, and those are
    /// present when asked for (so the comparison is not between two empty lists).
    @Test(arguments: ["zhuangda", "xinyidai"])
    func sameButInputs(program: String) throws {
        var recordSteps = 0
        for seed in 0..<200 {
            var generator = RandomRequest(seed: seed)
            let json = generator.json(program: program)
            let full = try CalculationRequest.decode(Data(json.utf8))
            var lean = full
            lean.recordStepInputs = false
            let a = try SubsidyEngine.compute(full)
            let b = try SubsidyEngine.compute(lean)
            #expect(a.total == b.total, "seed \(seed)")
            #expect(a.excluded.map(\.id) == b.excluded.map(\.id), "seed \(seed)")
            #expect(a.awards.count == b.awards.count, "seed \(seed)")
            for (x, y) in zip(a.awards, b.awards) {
                #expect(x.recipient == y.recipient && x.amount == y.amount && x.items.map(\.amount) == y.items.map(\.amount))
                #expect(ExplanationStep.storedJSON(x.explanation) == ExplanationStep.storedJSON(y.explanation), "seed \(seed)")
                #expect(x.explanation.count == y.explanation.count)
                for (s, t) in zip(x.explanation, y.explanation) {
                    if s.record != nil && program == "zhuangda" {
                        recordSteps += 1
                        #expect(!s.inputs.isEmpty && t.inputs.isEmpty, "seed \(seed): \(s.rule)")
                    } else {
                        #expect(s == t, "seed \(seed): \(s.rule)")
                    }
                }
            }
        }
        if program == "zhuangda" { #expect(recordSteps >= 100, "only \(recordSteps) record steps compared") }
    }
}
