@testable import SubsidyReconciliation
import PropertyBased
import SubsidyRules
@testable import SubsidyStore
import Testing

/// The batch lifecycle and the compute and approval planners, decided without a database.
@Suite("Batch lifecycle and planners (pure)")
struct BatchPlanningTests {
    @Test("every state × action: the next state, or a refusal naming both")
    func transitionTable() {
        let expected: [BatchAction: [BatchState: BatchState]] = [
            .compute: [.draft: .computed, .computed: .computed, .publicity: .computed],
            .exclude: [.computed: .computed, .publicity: .publicity],
            .submit: [.computed: .publicity],
            .approve: [.publicity: .approved],
            .sendBack: [.publicity: .computed],
            .export: [.approved: .exported, .exported: .exported],
            .settle: [.exported: .paid],
            .reopen: [.paid: .exported],
            .close: [.paid: .closed],
            .cancel: [.draft: .cancelled, .computed: .cancelled, .publicity: .cancelled],
        ]
        for action in BatchAction.allCases {
            for state in BatchState.allCases {
                do {
                    let next = try BatchLifecycle.next(from: state, action, batch: 7)
                    #expect(expected[action]?[state] == next, "\(state) × \(action)")
                } catch {
                    #expect(expected[action]?[state] == nil, "\(state) × \(action) refused")
                    #expect(error == .wrongState(batch: 7, state: state, action: action.phrase))
                    #expect(error.description.contains(state.rawValue) && error.description.contains(action.phrase))
                }
            }
        }
        // Nothing leaves approval backwards, and nothing cancels money already accrued.
        for state in [BatchState.approved, .exported, .paid, .closed] {
            #expect(throws: BatchError.self) { try BatchLifecycle.next(from: state, .compute, batch: 1) }
            #expect(throws: BatchError.self) { try BatchLifecycle.next(from: state, .cancel, batch: 1) }
            #expect(throws: BatchError.self) { try BatchLifecycle.next(from: state, .approve, batch: 1) }
        }
    }

    static let a = "91350200776049653A"
    static let b = "913502000728319549"

    @Test("approval: stale lines, the per-recipient cap, cross-year cap keys and the budget are refused; entries balance")
    func approvalPlanner() throws {
        let lines = [
            // A: computed 15,069.45 with nothing granted before → pays 15,069.45.
            ApprovalLine(recipient: Self.a, previously: .zero, amount: Money(fen: 1_506_945), grantedNow: .zero),
            // B: computed 5,000.00 with 7,663.89 granted → recovery of 2,663.89.
            ApprovalLine(recipient: Self.b, previously: Money(fen: 766_389), amount: Money(fen: -266_389), grantedNow: Money(fen: 766_389)),
        ]
        let entries = try ApprovalPlanner.plan(
            batch: 3, program: .zhuangda, year: 2025, approver: 9, lines: lines, firmCap: Money(fen: 80_000_000), capItems: [],
            budget: Money(fen: 2_006_945), budgetUsed: Money(fen: 766_389))  // 7,663.89 + 12,405.56 = 20,069.45: exactly the budget
        #expect(entries.map(\.kind) == [.accrual, .recovery])
        // The same lines checked one at a time, as the store reads them: 15,069.45 − 2,663.89 = 12,405.56, two entries.
        var check = ApprovalCheck(program: .zhuangda, year: 2025, firmCap: Money(fen: 80_000_000))
        for line in lines { try check.add(line) }
        #expect(check.total == Money(fen: 1_240_556) && check.postings == 2)
        try check.finish(budget: Money(fen: 2_006_945), budgetUsed: Money(fen: 766_389))
        #expect(throws: BatchError.budgetExceeded(approved: Money(fen: 766_390), batch: Money(fen: 1_240_556), budget: Money(fen: 2_006_945))) {
            try check.finish(budget: Money(fen: 2_006_945), budgetUsed: Money(fen: 766_390))
        }
        #expect(entries.allSatisfy { $0.lines.map(\.amount).sum() == .zero })
        #expect(entries[0].lines.map(\.amount) == [Money(fen: 1_506_945), Money(fen: -1_506_945)])
        #expect(entries[1].lines.map(\.account.code) == ["receivable:\(Self.b)", "expense:zhuangda:2025"])

        // Another batch granted A 100.00 since this one was computed: stale.
        var stale = lines
        stale[0].grantedNow = Money(fen: 10_000)
        #expect(throws: BatchError.stale(recipient: Self.a, computedWith: .zero, nowApproved: Money(fen: 10_000))) {
            try ApprovalPlanner.plan(batch: 3, program: .zhuangda, year: 2025, approver: 9, lines: stale, firmCap: nil, capItems: [],
                                     budget: Money(fen: 9_000_000), budgetUsed: .zero)
        }
        // 790,000.00 granted + 15,069.45 > 800,000.00.
        var capped = lines
        capped[0].previously = Money(fen: 79_000_000)
        capped[0].grantedNow = Money(fen: 79_000_000)
        #expect(throws: BatchError.capExceeded(recipient: Self.a, approved: Money(fen: 79_000_000), line: Money(fen: 1_506_945), cap: Money(fen: 80_000_000))) {
            try ApprovalPlanner.plan(batch: 3, program: .zhuangda, year: 2025, approver: 9, lines: capped, firmCap: Money(fen: 80_000_000),
                                     capItems: [], budget: Money(fen: 900_000_000), budgetUsed: .zero)
        }
        // A 新易贷 loan's lifetime cap: computed with 0.00 granted in other years, 10,000.00 now.
        #expect(throws: BatchError.staleCap(key: "loan:ICBC/X-1", computedWith: .zero, nowApproved: Money(fen: 1_000_000))) {
            try ApprovalPlanner.plan(batch: 3, program: .xinyidai, year: 2025, approver: 9, lines: lines, firmCap: nil,
                                     capItems: [ApprovalCapItem(capKey: "loan:ICBC/X-1", computedWith: .zero, grantedNow: Money(fen: 1_000_000))],
                                     budget: Money(fen: 9_000_000), budgetUsed: .zero)
        }
        // 7,663.89 used + (15,069.45 − 2,663.89 = 12,405.56) = 20,069.45 > 20,069.44: one 分 short.
        #expect(throws: BatchError.budgetExceeded(approved: Money(fen: 766_389), batch: Money(fen: 1_240_556), budget: Money(fen: 2_006_944))) {
            try ApprovalPlanner.plan(batch: 3, program: .zhuangda, year: 2025, approver: 9, lines: lines, firmCap: nil, capItems: [],
                                     budget: Money(fen: 2_006_944), budgetUsed: Money(fen: 766_389))
        }
        #expect(throws: BatchError.noBudget(program: .zhuangda, year: 2025)) {
            try ApprovalPlanner.plan(batch: 3, program: .zhuangda, year: 2025, approver: 9, lines: lines, firmCap: nil, capItems: [],
                                     budget: nil, budgetUsed: .zero)
        }
    }

    @Test("a district batch gives recovery lines only to its own district's recipients")
    func districtScope() throws {
        // 高新区 (A) was granted 34,875.00 earlier; the 锦江区 batch computes B only.
        let request = CalculationRequest(
            program: .zhuangda, year: 2025, policy: try ResolvedPolicy(version: PolicyDocument.builtIn.version(forYear: 2025), program: .zhuangda, overrides: [:]),
            lpr: .builtIn, firms: [:], loans: [], investments: [], guarantees: [])
        let result = try SubsidyEngine.compute(request)
        let granted = [
            Self.a: GrantedToRecipient(amount: Money(fen: 3_487_500), district: "高新区"),
            Self.b: GrantedToRecipient(amount: Money(fen: 766_389), district: "锦江区"),
        ]
        let jinjiang = ComputationPlanner.plan(batch: 2, district: "锦江区", request: request, result: result, granted: granted)
        // Only B (owed nothing now) gets a line: recovery of 7,663.89. A is not touched.
        #expect(jinjiang.lines.map(\.recipient) == [Self.b])
        #expect(jinjiang.lines.map(\.amount) == [Money(fen: -766_389)])
        // A city-wide batch covers both.
        let city = ComputationPlanner.plan(batch: 2, district: nil, request: request, result: result, granted: granted)
        #expect(city.lines.map(\.recipient) == [Self.b, Self.a])
    }

    @Test("the records a computation used, grouped by loan: only those the awards rest on, ascending; a loan number may hold a slash")
    func usedRecordsByLoan() throws {
        // Firm A, 专精特新 until 2025-06-30: its records paid after that are excluded (RULES §3.1)
        // and not "used"; a loan with no paying record does not appear.
        func date(_ text: String) throws -> CivilDate { try CivilDate.parse(text, field: "t") }
        func record(_ id: Int, _ from: String, _ to: String, paidOn: String) throws -> InterestRecord {
            InterestRecord(id: "R\(id)", from: try date(from), to: try date(to), balance: Money(fen: 100_000_000), paid: Money(fen: 900_000), paidOn: try date(paidOn))
        }
        let firm = Firm(uscc: Self.a, name: "A", qualifications: [Qualification(level: .specialized, from: try date("2024-01-01"), to: try date("2025-06-30"))])
        let loans = [
            Loan(id: "ICBC/LN-1", firm: Self.a, product: .zhuangda, principal: Money(fen: 100_000_000), start: try date("2024-12-21"),
                 maturity: try date("2027-12-21"), interest: [
                    try record(12, "2025-03-21", "2025-06-21", paidOn: "2025-06-21"),
                    try record(11, "2024-12-21", "2025-03-21", paidOn: "2025-03-21"),
                    try record(13, "2025-06-21", "2025-09-21", paidOn: "2025-09-21"),
                 ], field: "loan ICBC/LN-1"),
            Loan(id: "CMB/LN/2", firm: Self.a, product: .zhuangda, principal: Money(fen: 100_000_000), start: try date("2025-01-10"),
                 maturity: try date("2026-01-10"), interest: [try record(21, "2025-01-10", "2025-04-10", paidOn: "2025-04-10")], field: "loan CMB/LN/2"),
            Loan(id: "BOC/LN-3", firm: Self.a, product: .zhuangda, principal: Money(fen: 100_000_000), start: try date("2025-01-10"),
                 maturity: try date("2026-01-10"), interest: [try record(31, "2025-07-10", "2025-10-10", paidOn: "2025-10-10")], field: "loan BOC/LN-3"),
        ]
        let request = CalculationRequest(
            program: .zhuangda, year: 2025, policy: try ResolvedPolicy(version: PolicyDocument.builtIn.version(forYear: 2025), program: .zhuangda, overrides: [:]),
            lpr: .builtIn, firms: [Self.a: firm], loans: loans, investments: [], guarantees: [])
        let result = try SubsidyEngine.compute(request)
        let plan = ComputationPlanner.plan(batch: 1, district: nil, request: request, result: result, granted: [:])
        #expect(plan.usedRecords == [
            UsedRecords(bank: "ICBC", loanNo: "LN-1", records: [11, 12]),
            UsedRecords(bank: "CMB", loanNo: "LN/2", records: [21]),
        ])
        // The records named are exactly those the awards' items name.
        let named = Set(result.awards.flatMap { $0.items.flatMap(\.records) })
        #expect(named == ["R11", "R12", "R21"])
        // A zhuangda item is under no cap that spans years: it is in its line's items, and no
        // item row is planned (sql/042). The same loans under 新易贷 carry each loan's lifetime
        // cap key: a row each, with what other years granted under it (nothing here).
        #expect(plan.items.isEmpty)
        #expect(plan.lines.count == 1 && plan.lines[0].itemsJSON.contains(#""id":"ICBC/LN-1""#) && plan.lines[0].itemsJSON.contains(#""id":"CMB/LN/2""#))
        let xinyidai = CalculationRequest(
            program: .xinyidai, year: 2025, policy: try ResolvedPolicy(version: PolicyDocument.builtIn.version(forYear: 2025), program: .xinyidai, overrides: [:]),
            lpr: .builtIn, firms: [Self.a: firm], loans: loans.map { var loan = $0; loan.product = .xinyidai(.huiye); return loan }, investments: [], guarantees: [])
        let tiered = ComputationPlanner.plan(batch: 1, district: nil, request: xinyidai, result: try SubsidyEngine.compute(xinyidai), granted: [:])
        #expect(tiered.items.map(\.capKey) == ["loan:ICBC/LN-1", "loan:CMB/LN/2"])
        #expect(tiered.items.allSatisfy { $0.lineNo == 1 && $0.kind == .loan && $0.awardedBefore == .zero })
    }

    @Test("exclusions become one set per recipient, kind and code, items in the engine's order; not-qualified sets keep their days")
    func exclusionSetRows() throws {
        func date(_ text: String) throws -> CivilDate { try CivilDate.parse(text, field: "t") }
        func record(_ id: Int, _ from: String, _ to: String, balance: Int64 = 100_000_000) throws -> InterestRecord {
            InterestRecord(id: "R\(id)", from: try date(from), to: try date(to), balance: Money(fen: balance), paid: Money(fen: 900_000), paidOn: try date(to))
        }
        // A: 专精特新 until 2025-06-30, so its records paid after are "not qualified"; B: never
        // qualified, and one record's balance above the principal (two reasons: its own set).
        let a = Firm(uscc: Self.a, name: "A", qualifications: [Qualification(level: .specialized, from: try date("2024-01-01"), to: try date("2025-06-30"))])
        let b = Firm(uscc: Self.b, name: "B", qualifications: [])
        let loans = [
            Loan(id: "ICBC/LN-1", firm: Self.a, product: .zhuangda, principal: Money(fen: 100_000_000), start: try date("2024-12-21"),
                 maturity: try date("2027-12-21"), interest: [
                    try record(13, "2025-09-21", "2025-12-21"), try record(11, "2025-03-21", "2025-06-21"), try record(12, "2025-06-21", "2025-09-21"),
                 ], field: "loan ICBC/LN-1"),
            Loan(id: "CMB/LN-2", firm: Self.b, product: .zhuangda, principal: Money(fen: 100_000_000), start: try date("2025-01-10"),
                 maturity: try date("2026-01-10"), interest: [
                    try record(9, "2025-01-10", "2025-04-10"), try record(21, "2025-04-10", "2025-07-10", balance: 100_000_001),
                    try record(100, "2025-07-10", "2025-10-10"),
                 ], field: "loan CMB/LN-2"),
        ]
        let request = CalculationRequest(
            program: .zhuangda, year: 2025, policy: try ResolvedPolicy(version: PolicyDocument.builtIn.version(forYear: 2025), program: .zhuangda, overrides: [:]),
            lpr: .builtIn, firms: [Self.a: a, Self.b: b], loans: loans, investments: [], guarantees: [])
        let result = try SubsidyEngine.compute(request)
        // The engine's order is the ids' text order (R100 < R12 < R13 < R21 < R9).
        #expect(result.excluded.map(\.id) == ["R100", "R12", "R13", "R21", "R9"])
        let sets = ExclusionSets(result.excluded)
        // Dated: B's first (R100 comes first), then A's; each item with its set's number.
        #expect(sets.dated.recipients == [Self.b, Self.a])
        #expect(sets.dated.kinds == ["interest_record", "interest_record"] && sets.dated.codes == ["firm_not_qualified", "firm_not_qualified"])
        #expect(sets.dated.rowOfItem == [1, 1, 2, 2])
        #expect(sets.dated.items.map(\.id) == ["R100", "R9", "R12", "R13"])
        #expect(try sets.dated.items.map { $0.notQualifiedOn } == [date("2025-10-10"), date("2025-04-10"), date("2025-09-21"), date("2025-12-21")])
        // Worded: R21 alone, with both reasons in both languages.
        #expect(sets.worded.recipients == [Self.b] && sets.worded.codes == ["balance_above_principal,firm_not_qualified"])
        #expect(sets.worded.rowOfItem == [1] && sets.worded.items.map(\.id) == ["R21"])
        #expect(sets.worded.items.first?.reason == "balance 1,000,000.01 exceeds principal 1,000,000.00; firm not qualified on 2025-07-10")
        #expect(sets.worded.items.first?.reasonZh.hasPrefix("贷款余额 1,000,000.01 超过本金 1,000,000.00；企业在 2025-07-10 不具备优质中小企业资格") == true)
        // Every exclusion is in exactly one set.
        #expect(sets.dated.items.count + sets.worded.items.count == result.excluded.count)
        #expect(ExclusionSets([]).dated.recipients.isEmpty && ExclusionSets([]).worded.items.isEmpty)
    }

    @Test("exported CSV cells that a spreadsheet would run as formulas are neutralised; amounts stay numbers")
    func formulaCells() {
        #expect(BatchExport.csvField("=HYPERLINK(\"http://x\",\"点击\")") == "\"'=HYPERLINK(\"\"http://x\"\",\"\"点击\"\")\"")
        #expect(BatchExport.csvField("+86 28") == "'+86 28")
        #expect(BatchExport.csvField("-1+1") == "'-1+1")
        #expect(BatchExport.csvField("@SUM(A1)") == "'@SUM(A1)")
        #expect(BatchExport.csvField("成都甲科技有限公司") == "成都甲科技有限公司")
        let line = BatchLine(
            lineNo: 1, recipient: Self.a, recipientName: "=cmd|' /C calc'!A0", computed: Money(fen: 1_506_945), previously: .zero,
            amount: Money(fen: 1_506_945), status: "active", excludedReason: nil, paymentRef: "SLZ2500001000014", accountName: "@evil",
            accountNo: "6222020000000001", accountBank: "-bank", payeeFrozen: true, explanation: "[]")
        let summary = BatchSummary(id: 1, program: .zhuangda, year: 2025, district: nil, state: .approved, totalFen: 0, lines: 1, excludedItems: 0,
                                   publicityFrom: nil, publicityUntil: nil, computedBy: nil, approvedBy: nil)
        let files = BatchExport.files(batch: summary, lines: [line], ledgerHead: LedgerHead(seq: 2, hashHex: String(repeating: "ab", count: 32)))
        #expect(files.payment.contains("1,'@evil,6222020000000001,'-bank,15069.45,SLZ2500001000014,\(Self.a)\r\n"))
        #expect(files.publicity.contains("1,'=cmd|' /C calc'!A0,"))
        #expect(files.publicity.contains("账簿校验点 Ledger head,2:\(String(repeating: "ab", count: 32))"))

        // A name holding a line end (from a registry file's cell, say) stays in its cell: quoted
        // whatever the line end, the row is one row. "\r\n" is one Character in Swift, equal to
        // neither "\r" nor "\n": looked for among Characters, it was not quoted, and split the
        // payment file's row in two.
        for name in ["乙公司\r\n某人", "乙公司\n某人", "乙公司\r某人", "乙公司\r\n2,913502000728319549,某人,6222029999999999,ICBC,800000.00"] {
            var named = line
            named.accountName = name
            let payment = BatchExport.files(batch: summary, lines: [named], ledgerHead: nil).payment
            #expect(payment.contains("1,\"\(name)\",6222020000000001,"), "\(Array(name.unicodeScalars))")
            // Rows as an RFC 4180 reader counts them: line ends outside quotes.
            var (rows, quoted) = (0, false)
            for byte in payment.utf8 {
                if byte == 0x22 { quoted.toggle() } else if byte == 0x0A && !quoted { rows += 1 }
            }
            #expect(rows == 3)  // the heading, the one payment, the total
        }
        #expect(BatchExport.csvField("a\r\nb") == "\"a\r\nb\"")
    }

    @Test("reconciliation effects: payments, a return, a note and a repayment, in entry order, each entry balanced")
    func reconciliationPlanner() {
        let exported = CivilDate(year: 2025, month: 10, day: 10)!
        let payments = [
            ExpectedPayment(lineID: 11, reference: "SLZ2500001000014", payeeName: "乙", payeeAccount: "6226090000000002", amount: Money(fen: 766_389), exportedOn: exported),
            ExpectedPayment(lineID: 12, reference: "SLZ2500001000022", payeeName: "甲", payeeAccount: "6222020000000001", amount: Money(fen: 1_506_945), exportedOn: exported),
        ]
        let recoveries = [ExpectedRecovery(lineID: 21, reference: "SLZ2500002000020", payerAccount: "6226090000000002", amount: Money(fen: 266_389))]
        let owners: [Int64: ReconciliationPlanner.Owner] = [
            11: .init(recipient: Self.b, batch: 1), 12: .init(recipient: Self.a, batch: 1), 21: .init(recipient: Self.b, batch: 2),
        ]
        let outcomes = [
            EntryOutcome(entryIndex: 0, category: .matched, lineIDs: [11], rule: "reference", explanation: ""),
            EntryOutcome(entryIndex: 1, category: .returned, lineIDs: [11], rule: "return-reference", explanation: ""),
            EntryOutcome(entryIndex: 2, category: .suggested, lineIDs: [12], rule: "name-amount", explanation: ""),
            EntryOutcome(entryIndex: 3, category: .repayment, lineIDs: [21], rule: "repayment-account", explanation: ""),
            EntryOutcome(entryIndex: 4, category: .unexpected, lineIDs: [], rule: "", explanation: ""),
        ]
        let plan = ReconciliationPlanner.effects(outcomes, entryIDs: [101, 102, 103, 104, 105], payments: payments, recoveries: recoveries, owners: owners)
        #expect(plan.batches == [1])
        #expect(plan.effects.count == 4)
        guard case .pay(101, 11, let payment) = plan.effects[0], case .returned(102, 11, _) = plan.effects[1],
            case .note(103, 12, "suggestion") = plan.effects[2], case .repay(104, 21, let repayment) = plan.effects[3]
        else {
            Issue.record("effects out of order: \(plan.effects)")
            return
        }
        // B paid 7,663.89 from batch 1 by entry 101; the bank debited 2,663.89 against receivable:B.
        #expect(payment == Payout(recipient: Self.b, amount: Money(fen: 766_389), batch: 1, reference: "SLZ2500001000014", entry: 101))
        #expect(repayment.lines.map(\.account.code) == ["bank:bureau", "receivable:\(Self.b)"])
        #expect(repayment.lines.map(\.amount).sum() == .zero)
    }

    @Test("a run of payments is one ledger entry per batch: a payable debit per payment, the bank credited the sum, each payment's line named")
    func paymentEntries() throws {
        let payouts = [
            Payout(recipient: Self.a, amount: Money(fen: 1_506_945), batch: 7, reference: "SLZ2500007000010", entry: 201),
            Payout(recipient: Self.b, amount: Money(fen: 766_389), batch: 9, reference: "SLZ2500009000010", entry: 202),
            Payout(recipient: Self.b, amount: Money(fen: 100), batch: 7, reference: "SLZ2500007000028", entry: 203),
        ]
        let (entries, positions) = try ReconciliationPlanner.paymentEntries(payouts)
        // Batch 7 first (its payment comes first): A 15,069.45 and B 1.00, the bank −15,070.45;
        // then batch 9: B 7,663.89 alone, with the memo a single payment had.
        #expect(entries.map(\.batchID) == [7, 9])
        #expect(entries[0].lines.map(\.account.code) == ["payable:\(Self.a)", "payable:\(Self.b)", "bank:bureau"])
        #expect(entries[0].lines.map(\.amount.fen) == [1_506_945, 100, -1_507_045])
        #expect(entries[0].memo == "paid 2 lines of batch 7 (statement entries 201–203)")
        #expect(entries[1].lines.map(\.amount.fen) == [766_389, -766_389])
        #expect(entries[1].memo == "paid SLZ2500009000010 (statement entry 202)")
        #expect(positions.map { [$0.entry, $0.line] } == [[0, 1], [1, 1], [0, 2]])
        #expect(entries.allSatisfy { $0.kind == .payment })

        // Refused, not wrapped or trapped: a sum past Int64, a payment that is not positive.
        let huge = Payout(recipient: Self.a, amount: Money(fen: .max - 10), batch: 1, reference: "R1", entry: 1)
        #expect(throws: LedgerError.self) { try ReconciliationPlanner.paymentEntries([huge, huge]) }
        #expect(throws: LedgerError.self) {
            try ReconciliationPlanner.paymentEntries([Payout(recipient: Self.a, amount: .zero, batch: 1, reference: "R2", entry: 2)])
        }
    }

    @Test("payment entries, any run: each balances, each payment is its own payable line of its amount in its batch's entry, nothing else")
    func paymentEntriesProperties() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            let count = Int(random.next() % 60) + 1
            let payouts = (0..<count).map { index in
                Payout(
                    recipient: [Self.a, Self.b][Int(random.next() % 2)], amount: Money(fen: Int64(random.next() % 80_000_000) + 1),
                    batch: Int64(random.next() % 4) + 1, reference: "R\(index)", entry: Int64(index) + 1)
            }
            do {
                let (entries, positions) = try ReconciliationPlanner.paymentEntries(payouts)
                #expect(entries.count == Set(payouts.map(\.batch)).count, "seed \(seed)")
                #expect(entries.allSatisfy { $0.lines.map(\.amount).sum() == .zero }, "seed \(seed)")
                for (payout, position) in zip(payouts, positions) {
                    let line = entries[position.entry].lines[position.line - 1]
                    #expect(entries[position.entry].batchID == payout.batch && line.account == .payable(payout.recipient) && line.amount == payout.amount,
                            "seed \(seed)")
                }
                // Every payable line is one payment's, no two payments share one, and the bank line is last.
                #expect(Set(positions.map { [$0.entry, $0.line] }).count == payouts.count, "seed \(seed)")
                #expect(entries.map { $0.lines.count - 1 }.reduce(0, +) == payouts.count, "seed \(seed)")
                #expect(entries.allSatisfy { $0.lines.last?.account == .bureauBank }, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }

    static let c = "91510100MA61R8XK1Q"

    @Test("accruals: a chunk's lines are one accrual entry and one recovery entry, a journal line per batch line; an overflow is refused")
    func accrualEntries() throws {
        let lines = [
            ApprovalPlanner.Accrued(lineNo: 4, recipient: Self.a, amount: Money(fen: 1_506_945)),  // pays 15,069.45
            ApprovalPlanner.Accrued(lineNo: 5, recipient: Self.b, amount: Money(fen: -266_389)),   // owes back 2,663.89
            ApprovalPlanner.Accrued(lineNo: 7, recipient: Self.c, amount: Money(fen: 100)),        // pays 1.00
        ]
        let entries = try ApprovalPlanner.accruals(batch: 3, program: .xinyidai, year: 2025, approver: 9, lines: lines)
        #expect(entries.map(\.kind) == [.accrual, .recovery])
        #expect(entries.map(\.memo) == ["batch 3 xinyidai 2025: 2 lines 4–7", "batch 3 recovery xinyidai 2025 \(Self.b)"])
        #expect(entries.allSatisfy { $0.batchID == 3 && $0.createdBy == 9 })
        // The expense is debited 15,069.45 + 1.00 = 15,070.45, each payable credited its own amount.
        #expect(entries[0].lines.map(\.account.code) == ["expense:xinyidai:2025", "payable:\(Self.a)", "payable:\(Self.c)"])
        #expect(entries[0].lines.map(\.amount) == [Money(fen: 1_507_045), Money(fen: -1_506_945), Money(fen: -100)])
        // The recovery: B's receivable debited 2,663.89 against the expense.
        #expect(entries[1].lines.map(\.account.code) == ["receivable:\(Self.b)", "expense:xinyidai:2025"])
        #expect(entries[1].lines.map(\.amount) == [Money(fen: 266_389), Money(fen: -266_389)])
        // Only positive lines: no recovery entry; nothing at all: no entry.
        #expect(try ApprovalPlanner.accruals(batch: 3, program: .xinyidai, year: 2025, approver: 9, lines: [lines[0]]).map(\.kind) == [.accrual])
        #expect(try ApprovalPlanner.accruals(batch: 3, program: .xinyidai, year: 2025, approver: 9, lines: []).isEmpty)
        #expect(throws: LedgerError.self) {
            try ApprovalPlanner.accruals(batch: 3, program: .xinyidai, year: 2025, approver: 9, lines: [
                ApprovalPlanner.Accrued(lineNo: 1, recipient: Self.a, amount: Money(fen: .max)),
                ApprovalPlanner.Accrued(lineNo: 2, recipient: Self.c, amount: Money(fen: 1)),
            ])
        }
    }

    @Test("accruals, any chunk: each entry balances, each line not zero is one journal line of its account and amount, in line order")
    func accrualEntriesProperties() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            let count = Int(random.next() % 60) + 1
            let lines = (0..<count).map { index in
                ApprovalPlanner.Accrued(
                    lineNo: index + 1, recipient: [Self.a, Self.b, Self.c][Int(random.next() % 3)],
                    amount: Money(fen: Int64(random.next() % 160_000_001) - 80_000_000))
            }.filter { $0.amount != .zero }
            do {
                let entries = try ApprovalPlanner.accruals(batch: 5, program: .zhuangda, year: 2024, approver: 2, lines: lines)
                #expect(entries.allSatisfy { $0.lines.map(\.amount).sum() == .zero }, "seed \(seed)")
                // Everything but the expense lines, in order, is the batch lines negated on their own accounts.
                let perLine = entries.flatMap { $0.lines.filter { $0.account.kind != .expense } }
                let expected = lines.filter { $0.amount > .zero }.map { LedgerLine(.payable($0.recipient), Money(fen: -$0.amount.fen)) }
                    + lines.filter { $0.amount < .zero }.map { LedgerLine(.receivable($0.recipient), Money(fen: -$0.amount.fen)) }
                #expect(perLine == expected, "seed \(seed)")
                // One expense line an entry, and the expense moves by the batch's total.
                #expect(entries.allSatisfy { $0.lines.filter { $0.account == .expense(.zhuangda, 2024) }.count == 1 }, "seed \(seed)")
                let expense = entries.flatMap(\.lines).filter { $0.account.kind == .expense }.map(\.amount).sum()
                #expect(expense == lines.map(\.amount).sum(), "seed \(seed)")
                #expect(entries.map(\.kind) == [.accrual, .recovery].filter { kind in
                    lines.contains { kind == .accrual ? $0.amount > .zero : $0.amount < .zero }
                }, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }
}
