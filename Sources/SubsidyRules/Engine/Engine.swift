public import Foundation

/// The subsidy rules engine: a pure function from a validated request to a result. The
/// calculator, the HTTP endpoint and the database batches all call `compute`.
public enum SubsidyEngine {
    public static func compute(_ request: CalculationRequest) throws(InputError) -> CalculationResult {
        var context = EngineContext(request: request)
        switch request.program {
        case .zhuangda: try ZhuangdaRule.run(&context)
        case .xinyidai: XinyidaiRule.run(&context)
        case .equity: EquityRule.run(&context)
        case .fund: FundRule.run(&context)
        case .guarantee: GuaranteeRule.run(&context)
        }
        return context.finish()
    }

    /// Decodes, validates and computes in one step, as `subsidy calc` and `POST /v1/calculate` do.
    public static func calculate(json: Data, usccAllowList: Set<String> = []) throws(InputError) -> CalculationResult {
        let request = try CalculationRequest.decode(json, usccAllowList: usccAllowList)
        return try compute(request)
    }
}

/// An item after its own program's rules and the §8 reductions, before the per-recipient cap.
struct Candidate {
    var recipient: String
    var id: String
    var kind: ItemKind
    /// The §9 serving order: loans by start, investments by date, guarantees by paidOn, then id.
    var orderDate: CivilDate
    var amount: Money
    var steps: [ExplanationStep]
    var records: [String] = []
    /// Whose per-firm cap the item counts against when that is not the recipient: a guarantee
    /// paid to the guarantor stays under the guaranteed firm's cap (RULES §10).
    var capFirm: String? = nil
}

/// Clauses cited in explanations.
enum Clause {
    static let item6 = "成都专精特新政策 第6条"
    static let item8 = "成都专精特新政策 第8条"
    static let item9 = "成都专精特新政策 第9条"
    static let closing = "成都专精特新政策 附则（就高不就低、不重复享受）"
    static let qualification = "成都专精特新政策 附则（优质中小企业）"
    static let window = "成都专精特新政策 附则（施行日期与有效期）"
    static let guarantee = "四川纾困帮扶措施 第3条（融资担保降费奖补）"
}

struct EngineContext {
    let request: CalculationRequest
    var policy: ResolvedPolicy { request.policy }
    var candidates: [Candidate] = []
    var exclusions: [Exclusion] = []
    /// Recipients that had at least one item of the program, even if all were left out.
    var recipients: Set<String> = []

    init(request: CalculationRequest) { self.request = request }

    mutating func exclude(_ id: String, _ kind: ExclusionKind, recipient: String, _ reasons: [ExclusionReason]) {
        recipients.insert(recipient)
        exclusions.append(Exclusion(id: id, kind: kind, reasons: reasons, recipient: recipient))
    }

    mutating func add(_ candidate: Candidate) {
        recipients.insert(candidate.recipient)
        candidates.append(candidate)
    }

    /// Whether `day` lies in the policy window; the reason when it does not.
    func windowReason(_ day: CivilDate, what: String) -> ExclusionReason? {
        guard day < policy.effectiveFrom || day > policy.effectiveTo else { return nil }
        return ExclusionReason(
            code: "outside_policy_window",
            english: "\(what) \(day) is outside the policy window \(policy.effectiveFrom)…\(policy.effectiveTo)",
            chinese: "\(what == "paid on" ? "支付日期" : "日期") \(day) 不在政策有效期 \(policy.effectiveFrom) 至 \(policy.effectiveTo) 内")
    }

    /// The per-recipient cap and the award assembly (RULES.md §9), then the response order.
    mutating func finish() -> CalculationResult {
        let program = request.program
        let cap: Money?
        let capClause: String
        switch program {
        case .zhuangda: (cap, capClause) = (policy.zhuangdaFirmCap, policy.clause("zhuangda.firmCap"))
        case .xinyidai: (cap, capClause) = (policy.xinyidaiFirmCap, policy.clause("xinyidai.firmCap"))
        case .equity: (cap, capClause) = (policy.equityInvestorCap, policy.clause("equity.investorCap"))
        case .fund: (cap, capClause) = (nil, "")
        case .guarantee: (cap, capClause) = (policy.guaranteeFirmCap, policy.clause("guarantee.firmCap"))
        }
        var byRecipient: [String: [Candidate]] = [:]
        for candidate in candidates { byRecipient[candidate.recipient, default: []].append(candidate) }
        var excludedByRecipient: [String: [Exclusion]] = [:]
        for exclusion in exclusions { excludedByRecipient[exclusion.recipient, default: []].append(exclusion) }

        var awards: [Award] = []
        for recipient in recipients.sorted(by: textOrder) {
            let items = (byRecipient[recipient] ?? []).sorted { servesBefore($0, $1) }
            var award: Award
            if items.contains(where: { $0.capFirm != nil }) {
                award = CapAllocator.allocateByFirm(items, recipient: recipient, cap: cap, request: request, program: program, clause: capClause)
            } else {
                let earlier = request.firms[recipient]?.awarded[program] ?? .zero
                award = CapAllocator.allocate(items, recipient: recipient, cap: cap, awardedEarlier: earlier, program: program, clause: capClause)
            }
            award.recipientName = request.firms[recipient]?.name ?? ""
            if award.items.isEmpty {
                let left = (excludedByRecipient[recipient] ?? []).sorted { textOrder($0.id, $1.id) }
                let list = left.prefix(20).map { "\($0.id) (\($0.reason))" }.joined(separator: ", ")
                let more = left.count > 20 ? ", and \(left.count - 20) more" : ""
                award.explanation.append(ExplanationStep(
                    rule: "\(program.rawValue).noEligibleItems", clause: "", text: "no eligible items: \(list)\(more)", amount: .zero))
            }
            awards.append(award)
        }
        let total = awards.map(\.amount).sum()
        let excluded = exclusions.sorted { $0.id == $1.id ? $0.kind.rawValue < $1.kind.rawValue : textOrder($0.id, $1.id) }
        return CalculationResult(
            program: program, year: request.year, policyVersion: policy.versionID, total: total, awards: awards, excluded: excluded)
    }
}

/// Ids and codes are compared as text, byte by byte (RULES.md §9), never by locale. Both
/// texts' UTF-8 is compared with `memcmp` where it is contiguous (a native or small string,
/// which is every id the engine reads), the shorter first when one is the other's prefix:
/// `lexicographicallyPrecedes` over the two `UTF8View`s, its meaning and its fallback, walked
/// byte by byte through the generic iterator, was 1.5 % of a province batch's samples (`perf`),
/// sorting 216,052 exclusions and 1.6 million records.
func textOrder(_ lhs: String, _ rhs: String) -> Bool {
    let contiguous = lhs.utf8.withContiguousStorageIfAvailable { left in
        rhs.utf8.withContiguousStorageIfAvailable { right -> Bool in
            let common = min(left.count, right.count)
            if common > 0, let a = left.baseAddress, let b = right.baseAddress {
                let order = memcmp(a, b, common)
                if order != 0 { return order < 0 }
            }
            return left.count < right.count
        }
    }
    if case let precedes?? = contiguous { return precedes }
    return lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
}

func servesBefore(_ lhs: Candidate, _ rhs: Candidate) -> Bool {
    lhs.orderDate == rhs.orderDate ? textOrder(lhs.id, rhs.id) : lhs.orderDate < rhs.orderDate
}

/// Why an item is left out: a code and its words in both languages. "Firm not qualified on
/// <day>", nearly every exclusion of a province batch (216,052 interest records of 15,403 firms),
/// keeps its day and is worded when read: a batch stores the day, not 250 bytes of sentences
/// per record (sql/037).
struct ExclusionReason: Hashable, Sendable {
    enum Wording: Hashable, Sendable {
        case text(english: String, chinese: String)
        case firmNotQualified(on: CivilDate)
    }

    var code: String
    var wording: Wording

    init(code: String, english: String, chinese: String) {
        (self.code, wording) = (code, .text(english: english, chinese: chinese))
    }

    private init(code: String, wording: Wording) { (self.code, self.wording) = (code, wording) }

    /// RULES.md §3.1 / §7: the firm holds no qualification level on the day. The words are
    /// also sql/037's `exclusion_reason`'s, which BatchTests reads back.
    static func firmNotQualified(on day: CivilDate) -> ExclusionReason {
        ExclusionReason(code: "firm_not_qualified", wording: .firmNotQualified(on: day))
    }

    var english: String {
        switch wording {
        case .text(let english, _): english
        case .firmNotQualified(let day): "firm not qualified on \(day)"
        }
    }

    var chinese: String {
        switch wording {
        case .text(_, let chinese): chinese
        case .firmNotQualified(let day):
            "企业在 \(day) 不具备优质中小企业资格（创新型或科技和创新型中小企业、专精特新中小企业、专精特新“小巨人”均无有效认定）"
        }
    }
}

/// Serves a recipient's items against its cap in the §9 order: the item at the boundary gets
/// what is left and later ones get 0.00, each with the reason.
enum CapAllocator {
    /// A recipient paid for several firms' items (the guarantor): each firm's items are capped by
    /// that firm's cap less what that firm received earlier this year, and the recipient gets
    /// the sum; the explanation names the firm each part belongs to.
    static func allocateByFirm(
        _ items: [Candidate], recipient: String, cap: Money?, request: CalculationRequest, program: Program, clause: String
    ) -> Award {
        var byFirm: [String: [Candidate]] = [:]
        for item in items { byFirm[item.capFirm ?? recipient, default: []].append(item) }
        var explanation: [ExplanationStep] = []
        var parts: [String: AwardItem] = [:]
        for firm in byFirm.keys.sorted(by: textOrder) {
            let part = allocate(
                byFirm[firm]!, recipient: firm, cap: cap, awardedEarlier: request.firms[firm]?.awarded[program] ?? .zero,
                program: program, clause: clause)
            let name = request.firms[firm]?.name ?? ""
            explanation.append(ExplanationStep(
                rule: "\(program.rawValue).perFirm", clause: clause,
                text: "for firm \(firm)\(name.isEmpty ? "" : " \(name)"): \(part.items.count) item(s), \(part.amount.grouped) within its own cap",
                amount: part.amount, inputs: [KeyValue("firm", firm)]))
            explanation.append(contentsOf: part.explanation)
            for item in part.items { parts[item.id] = item }
        }
        // Items keep the §9 order across firms.
        let awardItems = items.compactMap { parts[$0.id] }
        return Award(recipient: recipient, recipientName: "", amount: awardItems.map(\.amount).sum(), items: awardItems, explanation: explanation)
    }

    static func allocate(
        _ items: [Candidate], recipient: String, cap: Money?, awardedEarlier: Money, program: Program, clause: String
    ) -> Award {
        var explanation: [ExplanationStep] = []
        var awardItems: [AwardItem] = []
        let requested = items.map(\.amount).sum()
        var remaining = cap.map { ($0 - awardedEarlier).clampedAtZero }
        let rule = "\(program.rawValue).\(program == .equity ? "investorCap" : "firmCap")"
        if let cap, let available = remaining, awardedEarlier > .zero || requested > available {
            explanation.append(ExplanationStep(
                rule: rule, clause: clause,
                text: "cap \(cap.grouped) − awarded earlier this year \(awardedEarlier.grouped) = \(available.grouped) available; items ask \(requested.grouped)",
                amount: available,
                inputs: [KeyValue("cap", cap.plain), KeyValue("awardedEarlier", awardedEarlier.plain), KeyValue("requested", requested.plain)]))
        }
        for item in items {
            // The first item's steps are shared, not copied step by step (most recipients have
            // one item and no cap step: 1.6 million record steps a province 壮大贷 batch).
            if explanation.isEmpty { explanation = item.steps } else { explanation.append(contentsOf: item.steps) }
            var amount = item.amount
            if let available = remaining {
                if amount > available {
                    explanation.append(ExplanationStep(
                        rule: rule, clause: clause,
                        text: available == .zero
                            ? "\(item.id): cap reached, 0.00 of \(amount.grouped) (served in order of date, then id)"
                            : "\(item.id): min(\(amount.grouped), \(available.grouped) left under the cap) = \(available.grouped)",
                        amount: available, item: item.id))
                    amount = available
                }
                remaining = available - amount
            }
            awardItems.append(AwardItem(id: item.id, kind: item.kind, amount: amount, records: item.records))
        }
        let total = awardItems.map(\.amount).sum()
        return Award(recipient: recipient, recipientName: "", amount: total, items: awardItems, explanation: explanation)
    }
}

/// RULES.md §8, 就高不就低、不重复享受: per item, before any per-recipient cap.
enum ClosingClause {
    /// `x = max(0, x − C)`; for loans also `x = min(x, max(0, P − C − N))` with `P` the interest
    /// paid in the year on the item's eligible records. Appends a step for each reduction.
    static func reduce(
        _ amount: Money, others: [OtherSubsidy], interestPaid: Money?, item: String, steps: inout [ExplanationStep]
    ) -> Money {
        let city = others.filter { $0.level == .city }.map(\.amount).sum()
        let higher = others.filter { $0.level != .city }.map(\.amount).sum()
        guard city > .zero || higher > .zero else { return amount }
        var x = amount
        if city > .zero {
            let reduced = (x - city).clampedAtZero
            steps.append(ExplanationStep(
                rule: "closing.sameItemCity", clause: Clause.closing,
                text: "max(0, \(x.grouped) − city-level award on the same item \(city.grouped)) = \(reduced.grouped)",
                amount: reduced, item: item,
                inputs: [KeyValue("amount", x.plain), KeyValue("city", city.plain)]))
            x = reduced
        }
        if let paid = interestPaid {
            let room = (paid - city - higher).clampedAtZero
            let reduced = min(x, room)
            steps.append(ExplanationStep(
                rule: "closing.notAboveInterest", clause: Clause.closing,
                text: "min(\(x.grouped), max(0, paid \(paid.grouped) − city \(city.grouped) − provincial/national \(higher.grouped))) = \(reduced.grouped)",
                amount: reduced, item: item,
                inputs: [KeyValue("amount", x.plain), KeyValue("paid", paid.plain), KeyValue("city", city.plain), KeyValue("provincialNational", higher.plain)]))
            x = reduced
        }
        return x
    }
}
