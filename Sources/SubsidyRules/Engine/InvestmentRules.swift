extension [Investment] {
    /// RULES.md §9: investments by date, then id (as text).
    var inServingOrder: [Investment] {
        sorted { $0.date == $1.date ? textOrder($0.id, $1.id) : $0.date < $1.date }
    }
}

/// The equity-investment reward (RULES.md §5): 5 % of a 中早期 investment in a 专精特新 firm,
/// at most 300,000.00 per (investor, investee) over all years, 800,000.00 per investor a year.
enum EquityRule {
    static let stages: Set<InvestmentStage> = [.seed, .early, .growth]

    static func run(_ context: inout EngineContext) {
        let policy = context.policy
        let year = context.request.year
        // The pair cap is consumed in the §9 order: by date, then id.
        let ordered = context.request.investments.inServingOrder
        var pairUsed: [String: Money] = [:]
        for investment in ordered {
            let recipient = investment.investor
            guard investment.kind == .equity else {
                context.exclude(investment.id, .investment, recipient: recipient, [ExclusionReason(
                    code: "other_program", english: "a \(investment.kind.rawValue) investment is not under program equity",
                    chinese: "该投资不属于股权投资奖励")])
                continue
            }
            guard investment.date.year == year else {
                context.exclude(investment.id, .investment, recipient: recipient, [ExclusionReason(
                    code: "other_year", english: "invested on \(investment.date), not in subsidy year \(year)",
                    chinese: "投资日期 \(investment.date) 不属于补贴年度 \(year)")])
                continue
            }
            var reasons: [ExclusionReason] = []
            if let reason = context.windowReason(investment.date, what: "invested on") { reasons.append(reason) }
            if let stage = investment.stage {
                if !stages.contains(stage) {
                    reasons.append(ExclusionReason(
                        code: "stage_not_eligible", english: "stage \(stage.rawValue) is not seed, early or growth (中早期)",
                        chinese: "投资阶段 \(stage.rawValue) 不属于中早期"))
                }
            } else {
                reasons.append(ExclusionReason(
                    code: "stage_missing", english: "no investment stage given (seed, early or growth needed)",
                    chinese: "未注明投资阶段"))
            }
            if !investment.investeeQualifications.holds([.specialized, .littleGiant], on: investment.date) {
                reasons.append(ExclusionReason(
                    code: "investee_not_qualified",
                    english: "investee not specialized or little_giant on \(investment.date)",
                    chinese: "被投企业在 \(investment.date) 不是省级及以上专精特新企业"))
            }
            guard reasons.isEmpty else {
                context.exclude(investment.id, .investment, recipient: recipient, reasons)
                continue
            }
            var steps: [ExplanationStep] = []
            let reward = Exact.apply(policy.equityRate, to: investment.amount)
            steps.append(ExplanationStep(
                rule: "equity.rate", clause: Clause.item8,
                text: "\(investment.amount.grouped) × \(policy.equityRate) = \(reward.grouped)",
                amount: reward, item: investment.id,
                inputs: [KeyValue("amount", investment.amount.plain), KeyValue("rate", policy.equityRate.text)]))
            let pair = investment.investor + "→" + investment.investee
            let before = max(investment.awardedBefore, pairUsed[pair] ?? .zero)
            let room = (policy.equityPairCap - before).clampedAtZero
            var amount = min(reward, room)
            if reward > room || before > .zero {
                steps.append(ExplanationStep(
                    rule: "equity.pairCap", clause: policy.clause("equity.pairCap"),
                    text: "min(\(reward.grouped), cap \(policy.equityPairCap.grouped) per investee − already received \(before.grouped)) = \(amount.grouped)",
                    amount: amount, item: investment.id,
                    inputs: [KeyValue("reward", reward.plain), KeyValue("pairCap", policy.equityPairCap.plain), KeyValue("pairReceived", before.plain)]))
            }
            pairUsed[pair] = before + amount
            amount = ClosingClause.reduce(amount, others: investment.otherSubsidies, interestPaid: nil, item: investment.id, steps: &steps)
            context.add(Candidate(
                recipient: recipient, id: investment.id, kind: .investment, orderDate: investment.date, amount: amount, steps: steps))
        }
    }
}

/// The guidance-fund reward (RULES.md §6): 1 % of the fund's investment, at most 500,000.00,
/// once per (fund, investee), when the investee is recognised within two years.
enum FundRule {
    static func run(_ context: inout EngineContext) {
        let policy = context.policy
        let year = context.request.year
        let ordered = context.request.investments.inServingOrder
        var rewardedPairs: Set<String> = []
        for investment in ordered {
            let recipient = investment.investor
            guard investment.kind == .fund else {
                context.exclude(investment.id, .investment, recipient: recipient, [ExclusionReason(
                    code: "other_program", english: "an \(investment.kind.rawValue) investment is not under program fund",
                    chinese: "该投资不属于引导基金奖励")])
                continue
            }
            guard let recognition = investment.recognition, [.specialized, .littleGiant].contains(recognition.level) else {
                context.exclude(investment.id, .investment, recipient: recipient, [ExclusionReason(
                    code: "not_recognised", english: "investee not recognised specialized or little_giant",
                    chinese: "被投企业未被认定为省级专精特新或国家级小巨人")])
                continue
            }
            guard recognition.date.year == year else {
                context.exclude(investment.id, .investment, recipient: recipient, [ExclusionReason(
                    code: "other_year", english: "recognised on \(recognition.date), not in subsidy year \(year)",
                    chinese: "认定日期 \(recognition.date) 不属于补贴年度 \(year)")])
                continue
            }
            var reasons: [ExclusionReason] = []
            if let reason = context.windowReason(recognition.date, what: "recognised on") { reasons.append(reason) }
            if !investment.registeredInCity {
                reasons.append(ExclusionReason(
                    code: "not_registered_in_city", english: "investee not registered in the city",
                    chinese: "被投企业未在本市注册经营"))
            }
            let deadline = investment.date.adding(years: policy.fundRecognitionYears)
            if recognition.date < investment.date || recognition.date > deadline {
                reasons.append(ExclusionReason(
                    code: "recognition_outside_window",
                    english: "recognised on \(recognition.date), not within \(policy.fundRecognitionYears) years after the investment on \(investment.date) (by \(deadline))",
                    chinese: "认定日期 \(recognition.date) 不在投资日 \(investment.date) 后\(policy.fundRecognitionYears)年内"))
            }
            let pair = investment.investor + "→" + investment.investee
            if investment.awardedBefore > .zero || rewardedPairs.contains(pair) {
                reasons.append(ExclusionReason(
                    code: "already_rewarded", english: "this fund was already rewarded once for this investee",
                    chinese: "该基金对该企业已获一次性奖励"))
            }
            guard reasons.isEmpty else {
                context.exclude(investment.id, .investment, recipient: recipient, reasons)
                continue
            }
            rewardedPairs.insert(pair)
            var steps: [ExplanationStep] = []
            let reward = Exact.apply(policy.fundRate, to: investment.amount)
            steps.append(ExplanationStep(
                rule: "fund.rate", clause: Clause.item9,
                text: "\(investment.amount.grouped) × \(policy.fundRate) = \(reward.grouped)",
                amount: reward, item: investment.id,
                inputs: [KeyValue("amount", investment.amount.plain), KeyValue("rate", policy.fundRate.text)]))
            var amount = min(reward, policy.fundPairCap)
            if reward > policy.fundPairCap {
                steps.append(ExplanationStep(
                    rule: "fund.pairCap", clause: policy.clause("fund.pairCap"),
                    text: "min(\(reward.grouped), \(policy.fundPairCap.grouped)) = \(amount.grouped)",
                    amount: amount, item: investment.id))
            }
            amount = ClosingClause.reduce(amount, others: investment.otherSubsidies, interestPaid: nil, item: investment.id, steps: &steps)
            context.add(Candidate(
                recipient: recipient, id: investment.id, kind: .investment, orderDate: investment.date, amount: amount, steps: steps))
        }
    }
}

/// The guarantee-fee offset (RULES.md §7).
enum GuaranteeRule {
    static func run(_ context: inout EngineContext) {
        let policy = context.policy
        let year = context.request.year
        let basis = policy.dayBasis
        for guarantee in context.request.guarantees {
            let recipient = policy.guaranteePayee == .firm ? guarantee.firm : guarantee.guarantor
            guard guarantee.paidOn.year == year else {
                context.exclude(guarantee.id, .guarantee, recipient: recipient, [ExclusionReason(
                    code: "other_year", english: "fee paid on \(guarantee.paidOn), not in subsidy year \(year)",
                    chinese: "担保费支付日期 \(guarantee.paidOn) 不属于补贴年度 \(year)")])
                continue
            }
            var reasons: [ExclusionReason] = []
            if let reason = context.windowReason(guarantee.paidOn, what: "paid on") { reasons.append(reason) }
            let days = guarantee.to - guarantee.from
            if days <= 0 {
                reasons.append(ExclusionReason(
                    code: "empty_period", english: "guarantee period from \(guarantee.from) is not before to \(guarantee.to)",
                    chinese: "担保期起日 \(guarantee.from) 不早于止日 \(guarantee.to)"))
            }
            let qualifications = context.request.firms[guarantee.firm]?.qualifications ?? []
            if !qualifications.holds(Set(QualificationLevel.allCases), on: guarantee.paidOn) {
                reasons.append(ExclusionReason.firmNotQualified(on: guarantee.paidOn))
            }
            // Annualised fee rate = fee / (principal × days / basis), compared exactly:
            // fee × basis × 100 × 10^6 > maxRate(µ%) × principal × days.
            if days > 0 {
                let lhs = Int128(guarantee.fee.fen) * Int128(basis) * Rate.percentDenominator
                let rhs = Int128(policy.guaranteeMaxFeeRate.microPercent) * Int128(guarantee.principal.fen) * Int128(days)
                if lhs > rhs {
                    reasons.append(ExclusionReason(
                        code: "fee_rate_too_high",
                        english: "annualised fee rate \(annualRateText(guarantee, days: days, basis: basis)) is above \(policy.guaranteeMaxFeeRate)",
                        chinese: "年化担保费率 \(annualRateText(guarantee, days: days, basis: basis)) 高于 \(policy.guaranteeMaxFeeRate)"))
                }
            }
            guard reasons.isEmpty else {
                context.exclude(guarantee.id, .guarantee, recipient: recipient, reasons)
                continue
            }
            var steps: [ExplanationStep] = []
            let ceiling = Exact.interest(on: guarantee.principal, rate: policy.guaranteeFeeCeilingRate, days: days, basis: basis)
            let eligibleFee = min(guarantee.fee, ceiling)
            steps.append(ExplanationStep(
                rule: "guarantee.eligibleFee", clause: policy.clause("guarantee.feeCeilingRate"),
                text: "min(fee \(guarantee.fee.grouped), \(guarantee.principal.grouped) × \(policy.guaranteeFeeCeilingRate) × \(days) / \(basis) = \(ceiling.grouped)) = \(eligibleFee.grouped)",
                amount: eligibleFee, item: guarantee.id,
                inputs: [
                    KeyValue("fee", guarantee.fee.plain), KeyValue("principal", guarantee.principal.plain),
                    KeyValue("ceilingRate", policy.guaranteeFeeCeilingRate.text), KeyValue("days", String(days)), KeyValue("basis", String(basis)),
                ]))
            var offset = Exact.apply(policy.guaranteeOffsetRatio, to: eligibleFee)
            steps.append(ExplanationStep(
                rule: "guarantee.offset", clause: policy.clause("guarantee.offsetRatio"),
                text: "\(eligibleFee.grouped) × \(policy.guaranteeOffsetRatio) = \(offset.grouped)",
                amount: offset, item: guarantee.id,
                inputs: [KeyValue("eligibleFee", eligibleFee.plain), KeyValue("ratio", policy.guaranteeOffsetRatio.text)]))
            offset = ClosingClause.reduce(offset, others: guarantee.otherSubsidies, interestPaid: nil, item: guarantee.id, steps: &steps)
            context.add(Candidate(
                recipient: recipient, id: guarantee.id, kind: .guarantee, orderDate: guarantee.paidOn, amount: offset, steps: steps,
                capFirm: policy.guaranteePayee == .guarantor ? guarantee.firm : nil))
        }
    }

    /// The annualised fee rate to two decimals of a percent, for the exclusion reason only.
    static func annualRateText(_ guarantee: Guarantee, days: Int, basis: Int) -> String {
        let numerator = Int128(guarantee.fee.fen) * Int128(basis) * 10_000
        let hundredths = Exact.roundHalfAwayFromZero(numerator, over: Int128(guarantee.principal.fen) * Int128(days))
        let whole = hundredths / 100
        let fraction = hundredths % 100
        return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
}
