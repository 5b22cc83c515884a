/// The checks of RULES.md §3.1 that both loan programs apply to each interest record.
enum RecordEligibility {
    /// The loan's records that count for the subsidy year, with their index in the request;
    /// every other record is excluded with its reasons.
    static func eligibleRecords(of loan: Loan, _ context: inout EngineContext) -> [(index: Int, record: InterestRecord)] {
        let year = context.request.year
        let qualifications = context.request.firms[loan.firm]?.qualifications ?? []
        var eligible: [(index: Int, record: InterestRecord)] = []
        eligible.reserveCapacity(loan.interest.count)
        let anyLevel = Set(QualificationLevel.allCases)
        for (index, record) in loan.interest.enumerated() {
            guard record.paidOn.year == year else {
                context.exclude(record.id, .interestRecord, recipient: loan.firm, [ExclusionReason(
                    code: "other_year",
                    english: "paid on \(record.paidOn), not in subsidy year \(year)",
                    chinese: "支付日期 \(record.paidOn) 不属于补贴年度 \(year)")])
                continue
            }
            var reasons: [ExclusionReason] = []  // empty: no allocation until a reason comes
            if let reason = context.windowReason(record.paidOn, what: "paid on") { reasons.append(reason) }
            if record.from >= record.to {
                reasons.append(ExclusionReason(
                    code: "empty_period",
                    english: "period from \(record.from) is not before to \(record.to)",
                    chinese: "计息起日 \(record.from) 不早于止日 \(record.to)"))
            }
            if record.paid < .zero {
                reasons.append(ExclusionReason(
                    code: "negative_paid", english: "interest paid \(record.paid.grouped) is negative",
                    chinese: "实付利息 \(record.paid.grouped) 为负数"))
            }
            if record.balance > loan.principal {
                reasons.append(ExclusionReason(
                    code: "balance_above_principal",
                    english: "balance \(record.balance.grouped) exceeds principal \(loan.principal.grouped)",
                    chinese: "贷款余额 \(record.balance.grouped) 超过本金 \(loan.principal.grouped)"))
            }
            if !qualifications.holds(anyLevel, on: record.paidOn) {
                reasons.append(ExclusionReason.firmNotQualified(on: record.paidOn))
            }
            if reasons.isEmpty {
                eligible.append((index, record))
            } else {
                context.exclude(record.id, .interestRecord, recipient: loan.firm, reasons)
            }
        }
        // Records are explained in the order of their periods, then ids, whatever the input order.
        return eligible.sorted { $0.record.from == $1.record.from ? textOrder($0.record.id, $1.record.id) : $0.record.from < $1.record.from }
    }

    static func wrongProgram(_ loan: Loan, _ context: inout EngineContext) {
        let program = context.request.program
        context.exclude(loan.id, .loan, recipient: loan.firm, [ExclusionReason(
            code: "other_program",
            english: "product \(loan.product.text) is not under program \(program.rawValue)",
            chinese: "贷款产品 \(loan.product.text) 不属于 \(program.chineseName)")])
    }

    /// `a + b + c = s`, or `Σ of n records = s` when there are many terms.
    static func sumText(_ amounts: [Money], total: Money) -> String {
        if amounts.count > 8 { return "Σ of \(amounts.count) records = \(total.grouped)" }
        return amounts.map(\.grouped).joined(separator: " + ") + " = \(total.grouped)"
    }
}

/// 壮大贷 (RULES.md §3): LPR-based interest, at most what was paid, times the ratio.
enum ZhuangdaRule {
    static func run(_ context: inout EngineContext) throws(InputError) {
        let policy = context.policy
        let clause = Clause.item6
        for loan in context.request.loans {
            guard loan.product == .zhuangda else {
                RecordEligibility.wrongProgram(loan, &context)
                continue
            }
            let records = RecordEligibility.eligibleRecords(of: loan, &context)
            guard !records.isEmpty else {
                context.recipients.insert(loan.firm)
                continue
            }
            let tenor = LPRTenor.forLoan(start: loan.start, maturity: loan.maturity)
            var steps: [ExplanationStep] = []
            var bases: [Money] = []
            var paidTotal = Money.zero
            for (index, record) in records {
                let (lprInterest, baseStepped) = try lprInterest(
                    loan: loan, record: record, recordIndex: index, tenor: tenor, request: context.request, steps: &steps)
                let base = min(lprInterest, record.paid)
                if !baseStepped {
                    steps.append(ExplanationStep(
                        rule: baseRule, clause: clause, figures: .base(lprInterest: lprInterest, paid: record.paid, base: base),
                        worded: context.request.recordStepTexts, item: loan.id, record: record.id,
                        inputs: context.request.recordStepInputs
                            ? [KeyValue("lprInterest", lprInterest.plain), KeyValue("paid", record.paid.plain)] : []))
                }
                bases.append(base)
                paidTotal += record.paid
            }
            let baseTotal = bases.sum()
            if bases.count > 1 {
                steps.append(ExplanationStep(
                    rule: "zhuangda.sum", clause: clause, text: RecordEligibility.sumText(bases, total: baseTotal),
                    amount: baseTotal, item: loan.id))
            }
            var subsidy = Exact.apply(policy.zhuangdaRatio, to: baseTotal)
            steps.append(ExplanationStep(
                rule: "zhuangda.ratio", clause: clause,
                text: "\(baseTotal.grouped) × \(policy.zhuangdaRatio) = \(subsidy.grouped)",
                amount: subsidy, item: loan.id,
                inputs: [KeyValue("base", baseTotal.plain), KeyValue("ratio", policy.zhuangdaRatio.text)]))
            subsidy = ClosingClause.reduce(subsidy, others: loan.otherSubsidies, interestPaid: paidTotal, item: loan.id, steps: &steps)
            context.add(Candidate(
                recipient: loan.firm, id: loan.id, kind: .loan, orderDate: loan.start, amount: subsidy,
                steps: steps, records: records.map(\.record.id)))
        }
    }

    static let baseRule = "zhuangda.base"

    /// `round(balance × LPR × days / basis)`, with the LPR in force on the loan's start date, or,
    /// in `daily` mode, each day's fixing (one rounding over the whole period). Also whether the
    /// step appended holds the record's base too: a batch's (neither words nor inputs per record)
    /// with the LPR of the loan's start is one step a record, `StepFigures.lprInterestAndBase`,
    /// stored as the same member as the two steps.
    static func lprInterest(
        loan: Loan, record: InterestRecord, recordIndex: Int, tenor: LPRTenor, request: CalculationRequest,
        steps: inout [ExplanationStep]
    ) throws(InputError) -> (interest: Money, withBase: Bool) {
        let policy = request.policy
        let basis = policy.dayBasis
        let days = record.to - record.from
        switch policy.lprReference {
        case .loanStart:
            let fixing: LPRFixing
            do {
                fixing = try request.lpr.fixing(on: loan.start)
            } catch {
                throw InputError(field: loan.field + ".start", message: error.message)
            }
            let rate = fixing.rate(for: tenor)
            let interest = Exact.interest(on: record.balance, rate: rate, days: days, basis: basis)
            let withBase = !request.recordStepTexts && !request.recordStepInputs
            steps.append(ExplanationStep(
                rule: "zhuangda.lprInterest", clause: Clause.item6,
                figures: withBase
                    ? .lprInterestAndBase(balance: record.balance, rate: rate, days: days, basis: basis, interest: interest, paid: record.paid, baseRule: baseRule)
                    : .lprInterest(balance: record.balance, rate: rate, days: days, basis: basis, interest: interest),
                worded: request.recordStepTexts, item: loan.id, record: record.id,
                inputs: request.recordStepInputs ? [
                    KeyValue("balance", record.balance.plain), KeyValue("lpr", rate.text),
                    KeyValue("lprTenor", tenor.rawValue), KeyValue("lprPublished", fixing.published.description),
                    KeyValue("days", String(days)), KeyValue("basis", String(basis)),
                ] : []))
            return (interest, withBase)
        case .daily:
            let segments: [(fixing: LPRFixing, from: CivilDate, days: Int)]
            do {
                segments = try request.lpr.segments(from: record.from, to: record.to)
            } catch {
                // The field is named only when it is wrong: built for every record, it was an
                // allocation per record of a province batch.
                let recordField = "\(loan.field).interest[\(recordIndex)]"
                throw InputError(field: error.day < request.lpr.fixings[0].published ? recordField + ".from" : recordField + ".to", message: error.message)
            }
            var numerator: Int128 = 0
            for segment in segments {
                numerator += Exact.interestNumerator(on: record.balance, rate: segment.fixing.rate(for: tenor), days: segment.days)
            }
            let interest = Exact.roundInterest(numerator, basis: basis)
            let terms = segments.map { "\($0.fixing.rate(for: tenor)) × \($0.days)" }.joined(separator: " + ")
            let text = segments.count == 1
                ? "\(record.balance.grouped) × \(terms) / \(basis) = \(interest.grouped)"
                : "\(record.balance.grouped) × (\(terms)) / \(basis) = \(interest.grouped)"
            steps.append(ExplanationStep(
                rule: "zhuangda.lprInterest", clause: Clause.item6, text: text,
                amount: interest, item: loan.id, record: record.id,
                inputs: request.recordStepInputs ? [
                    KeyValue("balance", record.balance.plain), KeyValue("lprTenor", tenor.rawValue),
                    KeyValue("lprDaily", segments.map { "\($0.from):\($0.fixing.rate(for: tenor).text)×\($0.days)" }.joined(separator: ",")),
                    KeyValue("days", String(days)), KeyValue("basis", String(basis)),
                ] : []))
            return (interest, false)
        }
    }
}

/// 新易贷 (RULES.md §4): per loan at most its tier rate of the principal over its life, and at
/// most the interest paid in the year.
enum XinyidaiRule {
    static func run(_ context: inout EngineContext) {
        let policy = context.policy
        let clause = Clause.item6
        for loan in context.request.loans {
            guard case .xinyidai(let tier) = loan.product else {
                RecordEligibility.wrongProgram(loan, &context)
                continue
            }
            guard loan.principal <= policy.creditLine else {
                context.exclude(loan.id, .loan, recipient: loan.firm, [ExclusionReason(
                    code: "above_credit_line",
                    english: "principal \(loan.principal.grouped) exceeds the credit line \(policy.creditLine.grouped)",
                    chinese: "贷款本金 \(loan.principal.grouped) 超过授信额度 \(policy.creditLine.grouped)")])
                continue
            }
            let records = RecordEligibility.eligibleRecords(of: loan, &context)
            guard !records.isEmpty else {
                context.recipients.insert(loan.firm)
                continue
            }
            let tierRate = policy.tiers[tier.rawValue]!
            var steps: [ExplanationStep] = []
            let loanCap = Exact.apply(tierRate, to: loan.principal)
            steps.append(ExplanationStep(
                rule: "xinyidai.loanCap", clause: policy.clause("xinyidai.tiers.\(tier.rawValue)"),
                text: "principal \(loan.principal.grouped) × \(tier.rawValue) \(tierRate) = \(loanCap.grouped) over the loan's life",
                amount: loanCap, item: loan.id,
                inputs: [KeyValue("principal", loan.principal.plain), KeyValue("tier", tier.rawValue), KeyValue("tierRate", tierRate.text)]))
            let room = (loanCap - loan.awardedBefore).clampedAtZero
            if loan.awardedBefore > .zero {
                steps.append(ExplanationStep(
                    rule: "xinyidai.awardedBefore", clause: clause,
                    text: "max(0, \(loanCap.grouped) − awarded to this loan in earlier years \(loan.awardedBefore.grouped)) = \(room.grouped)",
                    amount: room, item: loan.id,
                    inputs: [KeyValue("loanCap", loanCap.plain), KeyValue("awardedBefore", loan.awardedBefore.plain)]))
            }
            let paid = records.map(\.record.paid)
            let paidTotal = paid.sum()
            if paid.count > 1 {
                steps.append(ExplanationStep(
                    rule: "xinyidai.paid", clause: clause, text: "paid " + RecordEligibility.sumText(paid, total: paidTotal),
                    amount: paidTotal, item: loan.id))
            }
            var award = min(room, paidTotal)
            steps.append(ExplanationStep(
                rule: "xinyidai.loanAward", clause: clause,
                text: "min(\(room.grouped), paid in \(context.request.year) \(paidTotal.grouped)) = \(award.grouped)",
                amount: award, item: loan.id,
                inputs: [KeyValue("loanCapLeft", room.plain), KeyValue("paid", paidTotal.plain)]))
            award = ClosingClause.reduce(award, others: loan.otherSubsidies, interestPaid: paidTotal, item: loan.id, steps: &steps)
            context.add(Candidate(
                recipient: loan.firm, id: loan.id, kind: .loan, orderDate: loan.start, amount: award,
                steps: steps, records: records.map(\.record.id)))
        }
    }
}
