import PropertyBased
import SubsidyReconciliation
import SubsidyRules
import Testing

/// `Matcher.matchNamed` decides from only the payments the entries name by full reference, and
/// says when that is not enough (nil); the import then matches against every payment. Whatever
/// the entries, what it decides must be what `match` decides against every payment.
@Suite("Matching from the named payments only")
struct NamedMatchingTests {
    let matcher = Matcher(calendar: WorkingCalendar(holidays: [], workingWeekends: []), windowWorkingDays: 10)

    /// Payments of two batches (six to eight lines each) to payees drawn from a small pool, so
    /// that accounts, names and amounts collide; some lines already paid. Entries of every kind
    /// the matcher reads: full, truncated, unknown and several references, wrong amounts, payee
    /// accounts and names only, returns by reference and flagged by account, other credits.
    /// With `onlyReferences`, every entry is a debit or return naming one known full reference.
    static func scenario(seed: UInt64, onlyReferences: Bool) -> (payments: [ExpectedPayment], entries: [StatementEntry], recoveries: [ExpectedRecovery]) {
        var rng = SplitMix(seed: seed)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let accounts = ["6222020000000001", "6226090000000002", "6217000000000003"]
        let names = ["成都甲科技有限公司", "成都乙制造有限公司", "成都丙材料有限公司"]
        let amounts = ["5000.00", "7663.89", "15069.45", "300.01"]
        var payments: [ExpectedPayment] = []
        for (batch, program) in [(Int64(1), Program.zhuangda), (Int64(2), Program.xinyidai)] {
            for line in 1...(6 + pick(3)) {
                let payee = pick(3)
                payments.append(ExpectedPayment(
                    lineID: batch * 100 + Int64(line), reference: PaymentReference.make(program: program, year: 2025, batch: batch, line: line),
                    payeeName: names[payee], payeeAccount: accounts[payee], amount: money(amounts[pick(amounts.count)]),
                    exportedOn: day("2025-10-10"), paid: pick(5) == 0))
            }
        }
        let recoveries = [ExpectedRecovery(lineID: 999, reference: PaymentReference.make(program: .zhuangda, year: 2025, batch: 1, line: 99),
                                           payerAccount: accounts[0], amount: money("120.00"))]
        var entries: [StatementEntry] = []
        for _ in 0..<(1 + pick(12)) {
            let payment = payments[pick(payments.count)]
            let amount = pick(6) == 0 ? "1.23" : payment.amount.plain
            switch onlyReferences ? pick(2) : pick(12) {
            case 0: entries.append(debit(amount, text: "贴息 " + payment.reference))
            case 1: entries.append(credit(payment.amount.plain, text: "退汇 " + payment.reference))
            case 2: entries.append(debit(amount, text: String(payment.reference.prefix(10 + pick(5)))))
            case 3: entries.append(debit(amount, text: payment.reference + " " + payments[pick(payments.count)].reference))
            case 4: entries.append(debit(amount, account: payment.payeeAccount))
            case 5: entries.append(debit(amount, name: payment.payeeName))
            case 6: entries.append(debit(amount, text: "SLZ2509999999990"))  // a reference of no payable line
            case 7:
                var flagged = credit(payment.amount.plain, account: payment.payeeAccount)
                flagged.flaggedReturn = true
                entries.append(flagged)
            case 8: entries.append(credit("120.00", text: recoveries[0].reference))
            case 9: entries.append(credit("12.00", text: "利息"))
            case 10: entries.append(debit(amount, text: payment.reference, name: payment.payeeName, account: payment.payeeAccount))
            default: entries.append(debit("0.50", text: "手续费"))
            }
        }
        return (payments, entries, recoveries)
    }

    /// The named payments' outcomes, or nil: checked against `match` over every payment.
    func check(seed: UInt64, onlyReferences: Bool) -> Bool {
        let (payments, entries, recoveries) = Self.scenario(seed: seed, onlyReferences: onlyReferences)
        let expected = matcher.match(entries, against: payments, recoveries: recoveries)
        let tokens = Matcher.referenceTokens(entries)
        let named = payments.filter { tokens.contains($0.reference) }
        guard let outcomes = matcher.matchNamed(entries, against: named, recoveries: recoveries) else { return false }
        #expect(outcomes == expected, "seed \(seed): \(entries.map { "\($0.amount.plain) \($0.description)" })")
        return true
    }

    @Test("the same outcomes as against every payment, or nil")
    func sameOutcomes() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            _ = check(seed: UInt64(seed), onlyReferences: false)
            _ = check(seed: UInt64(seed), onlyReferences: true)
        }
        // Over fixed seeds, both answers must come: decided from the named payments (every
        // reference-only scenario, and some mixed ones) and handed back (nil) for the rest.
        var decided = 0, handedBack = 0
        for seed in UInt64(0)..<400 {
            #expect(check(seed: seed, onlyReferences: true), "seed \(seed): references alone need only the named payments")
            if check(seed: seed, onlyReferences: false) { decided += 1 } else { handedBack += 1 }
        }
        #expect(decided >= 20, "only \(decided) mixed scenarios decided from the named payments")
        #expect(handedBack >= 200, "only \(handedBack) mixed scenarios needed every payment")
    }

    @Test("handed back, the named payments and those MatchCandidates admits decide as every payment does; a batch no entry can reach is not read")
    func candidatesDecide() async {
        // Batch 3 (equity): another payee, account and amount, which no entry names, shares an
        // account with, or has the amount of (entries carry 1.23, 0.50, 12.00, 120.00 or a batch 1–2 amount).
        let unreached = (1...5).map { line in
            ExpectedPayment(lineID: 300 + Int64(line), reference: PaymentReference.make(program: .equity, year: 2025, batch: 3, line: line),
                            payeeName: "成都丁商贸有限公司", payeeAccount: "6230-0000-0000-0009", amount: money("88.88"), exportedOn: day("2025-10-10"))
        }
        var handedBack = 0
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            let (payments, entries, recoveries) = Self.scenario(seed: UInt64(seed), onlyReferences: false)
            let every = payments + unreached
            let tokens = Matcher.referenceTokens(entries)
            let named = every.filter { tokens.contains($0.reference) }
            guard matcher.matchNamed(entries, against: named, recoveries: recoveries) == nil else { return }
            handedBack += 1
            let candidates = MatchCandidates(entries, named: Set(named.map(\.reference)))
            let read = every.filter { tokens.contains($0.reference) || candidates.admits($0) }
            #expect(matcher.match(entries, against: read, recoveries: recoveries) == matcher.match(entries, against: every, recoveries: recoveries),
                    "seed \(seed): \(entries.map { "\($0.amount.plain) \($0.description)" })")
            #expect(!unreached.contains { candidates.admits($0) }, "seed \(seed)")
        }
        #expect(handedBack >= 100, "only \(handedBack) of 300 scenarios needed more than the named payments")
        // What each rule reaches: a truncated reference its batch's first ten characters, an
        // account its payee's lines however printed, a name its amount.
        let candidates = MatchCandidates([
            debit("1.00", text: "SLZ25000010000"), debit("2.00", account: "6222 0200 0000 0001"), debit("7663.89", name: "成都乙制造有限公司"),
            debit("15069.45", text: "SLZ2500001000022"),
        ], named: ["SLZ2500001000022"])
        #expect(candidates == MatchCandidates(prefixes: ["SLZ2500001"], accounts: ["6222020000000001"], amounts: [766_389]))
    }

    @Test("an entry needing the other rules hands the statement back; the named lines are the references'")
    func handedBack() {
        // Line 2 by its reference, then a debit by payee account only (rule 3 reads every line).
        let entries = [debit("15069.45", text: "SLZ2500001000022"), debit("7663.89", account: "6226090000000002")]
        #expect(Matcher.referenceTokens(entries) == ["SLZ2500001000022"])
        #expect(matcher.matchNamed(entries, against: [payments[1]]) == nil)
        #expect(matcher.matchNamed(Array(entries.prefix(1)), against: [payments[1]]) == matcher.match(Array(entries.prefix(1)), against: payments))
        // A reference of no payable line may still begin another's (a truncated one): handed back.
        #expect(matcher.matchNamed([debit("7663.89", text: "SLZ25000010000")], against: []) == nil)
        // An entry with no reference, account or name is unexpected either way.
        #expect(matcher.matchNamed([debit("0.50", text: "手续费")], against: [])?.map(\.category) == [.unexpected])
    }
}
