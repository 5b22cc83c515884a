/// The five programs of the policy that the calculator computes.
public enum Program: String, CaseIterable, Sendable, Codable {
    /// 壮大贷 interest subsidy (item 6, first sentence).
    case zhuangda
    /// 新易贷 tiered interest subsidy (item 6, second sentence).
    case xinyidai
    /// 股权投资奖励 (item 8).
    case equity
    /// 引导基金奖励 (item 9).
    case fund
    /// 担保费补贴 (guarantee-fee offset).
    case guarantee

    public var chineseName: String {
        switch self {
        case .zhuangda: "壮大贷贴息"
        case .xinyidai: "新易贷贴息"
        case .equity: "股权投资奖励"
        case .fund: "引导基金奖励"
        case .guarantee: "担保费补贴"
        }
    }
}

/// The 新易贷 product tiers (梯度).
public enum XinyidaiTier: String, CaseIterable, Sendable {
    case xinedai, huiye, peiyou, touliandai
}

public enum QualificationLevel: String, CaseIterable, Sendable {
    /// 创新型中小企业 (科技和创新型中小企业 from 2026-04-01).
    case innovative
    /// 省级专精特新中小企业.
    case specialized
    /// 国家专精特新"小巨人".
    case littleGiant = "little_giant"

    /// Reads a level: exactly `innovative`, `specialized` or `little_giant` (RULES §10). 科技和创新型
    /// 中小企业, the 2026 name of 创新型中小企业, is the same level and is recorded as `innovative`.
    public static func parse(_ text: String, field: String) throws(InputError) -> QualificationLevel {
        guard let level = QualificationLevel(rawValue: text) else {
            throw InputError(field: field, message: "unknown qualification level \"\(text)\": expected innovative (创新型中小企业, "
                + "also 科技和创新型中小企业 from 2026-04-01), specialized or little_giant")
        }
        return level
    }
}

/// A recognition valid on day d when `from ≤ d ≤ to`.
public struct Qualification: Hashable, Sendable {
    public var level: QualificationLevel
    public var from: CivilDate
    public var to: CivilDate

    public init(level: QualificationLevel, from: CivilDate, to: CivilDate) {
        self.level = level
        self.from = from
        self.to = to
    }

    public func isValid(on day: CivilDate) -> Bool { from <= day && day <= to }
}

extension [Qualification] {
    /// Whether one of the qualifications, of one of `levels`, is valid on `day`.
    func holds(_ levels: Set<QualificationLevel>, on day: CivilDate) -> Bool {
        contains { levels.contains($0.level) && $0.isValid(on: day) }
    }
}

public struct Firm: Sendable {
    public init(uscc: String, name: String, qualifications: [Qualification], awarded: [Program: Money] = [:]) {
        self.uscc = uscc
        self.name = name
        self.qualifications = qualifications
        self.awarded = awarded
    }

    public var uscc: String
    public var name: String
    public var qualifications: [Qualification]
    /// What the firm (or investor) already received this year, per program (for caps).
    public var awarded: [Program: Money]
}

public enum SubsidyLevel: String, Sendable, CaseIterable {
    case city, provincial, national
}

/// Another award recorded on the same item this year (RULES.md §8).
public struct OtherSubsidy: Sendable {
    public init(level: SubsidyLevel, amount: Money) {
        self.level = level
        self.amount = amount
    }

    public var level: SubsidyLevel
    public var amount: Money
}

public enum LoanProduct: Hashable, Sendable {
    case zhuangda
    case xinyidai(XinyidaiTier)

    public var program: Program {
        switch self {
        case .zhuangda: .zhuangda
        case .xinyidai: .xinyidai
        }
    }

    public var text: String {
        switch self {
        case .zhuangda: "zhuangda"
        case .xinyidai(let tier): "xinyidai:\(tier.rawValue)"
        }
    }
}

public struct InterestRecord: Sendable {
    public init(id: String, from: CivilDate, to: CivilDate, balance: Money, paid: Money, paidOn: CivilDate) {
        self.id = id
        self.from = from
        self.to = to
        self.balance = balance
        self.paid = paid
        self.paidOn = paidOn
    }

    public var id: String
    public var from: CivilDate
    public var to: CivilDate
    public var balance: Money
    /// Interest actually paid; may be negative in input (a reversal), which the rules exclude.
    public var paid: Money
    public var paidOn: CivilDate
}

public struct Loan: Sendable {
    public init(
        id: String, firm: String, product: LoanProduct, principal: Money, start: CivilDate, maturity: CivilDate,
        contractRate: Rate? = nil, awardedBefore: Money = .zero, otherSubsidies: [OtherSubsidy] = [],
        interest: [InterestRecord], field: String
    ) {
        self.id = id
        self.firm = firm
        self.product = product
        self.principal = principal
        self.start = start
        self.maturity = maturity
        self.contractRate = contractRate
        self.awardedBefore = awardedBefore
        self.otherSubsidies = otherSubsidies
        self.interest = interest
        self.field = field
    }

    public var id: String
    public var firm: String
    public var product: LoanProduct
    public var principal: Money
    public var start: CivilDate
    public var maturity: CivilDate
    public var contractRate: Rate?
    public var awardedBefore: Money
    public var otherSubsidies: [OtherSubsidy]
    public var interest: [InterestRecord]
    /// Where the loan sits in the request (`loans[3]`), for errors raised while computing.
    public var field: String
}

public enum InvestmentKind: String, Sendable {
    case equity, fund
}

public enum InvestmentStage: String, Sendable, CaseIterable {
    case seed, early, growth, late
}

public struct Recognition: Sendable {
    public init(level: QualificationLevel, date: CivilDate) {
        self.level = level
        self.date = date
    }

    public var level: QualificationLevel
    public var date: CivilDate
}

public struct Investment: Sendable {
    public init(
        id: String, investor: String, investee: String, kind: InvestmentKind, amount: Money, date: CivilDate,
        stage: InvestmentStage?, investeeQualifications: [Qualification], registeredInCity: Bool, recognition: Recognition?,
        awardedBefore: Money = .zero, otherSubsidies: [OtherSubsidy] = []
    ) {
        self.id = id
        self.investor = investor
        self.investee = investee
        self.kind = kind
        self.amount = amount
        self.date = date
        self.stage = stage
        self.investeeQualifications = investeeQualifications
        self.registeredInCity = registeredInCity
        self.recognition = recognition
        self.awardedBefore = awardedBefore
        self.otherSubsidies = otherSubsidies
    }

    public var id: String
    public var investor: String
    public var investee: String
    public var kind: InvestmentKind
    public var amount: Money
    public var date: CivilDate
    public var stage: InvestmentStage?
    public var investeeQualifications: [Qualification]
    public var registeredInCity: Bool
    public var recognition: Recognition?
    public var awardedBefore: Money
    public var otherSubsidies: [OtherSubsidy]
}

public struct Guarantee: Sendable {
    public init(
        id: String, firm: String, loan: String?, guarantor: String, principal: Money, from: CivilDate, to: CivilDate,
        fee: Money, paidOn: CivilDate, otherSubsidies: [OtherSubsidy] = []
    ) {
        self.id = id
        self.firm = firm
        self.loan = loan
        self.guarantor = guarantor
        self.principal = principal
        self.from = from
        self.to = to
        self.fee = fee
        self.paidOn = paidOn
        self.otherSubsidies = otherSubsidies
    }

    public var id: String
    public var firm: String
    public var loan: String?
    public var guarantor: String
    public var principal: Money
    public var from: CivilDate
    public var to: CivilDate
    public var fee: Money
    public var paidOn: CivilDate
    public var otherSubsidies: [OtherSubsidy]
}

/// A validated calculator request: everything the rules need, nothing read from elsewhere.
public struct CalculationRequest: Sendable {
    public init(
        program: Program, year: Int, policy: ResolvedPolicy, lpr: LPRTable, firms: [String: Firm], loans: [Loan] = [],
        investments: [Investment] = [], guarantees: [Guarantee] = []
    ) {
        self.program = program
        self.year = year
        self.policy = policy
        self.lpr = lpr
        self.firms = firms
        self.loans = loans
        self.investments = investments
        self.guarantees = guarantees
    }

    public var program: Program
    public var year: Int
    public var policy: ResolvedPolicy
    public var lpr: LPRTable
    public var firms: [String: Firm]
    public var loans: [Loan]
    public var investments: [Investment]
    public var guarantees: [Guarantee]
    /// Whether the record-level explanation steps name their inputs (`inputs`), which the
    /// calculator's JSON carries and a batch line does not store: a batch sets it to false and
    /// saves eight formatted strings per interest record. Amounts, texts and every other step
    /// are the same either way.
    public var recordStepInputs = true
    /// Whether the record-level steps are worded here. A batch sets it to false: those steps
    /// carry their `figures` and an empty `text`, their stored form keeps the numbers, and the
    /// text is written from them when a line is read — the same words (`StepFigures.text`).
    /// With `recordStepInputs` false too, a 壮大贷 record's LPR interest and base are one step
    /// (`StepFigures.lprInterestAndBase`), stored as the same member as the two.
    public var recordStepTexts = true
}

/// Limits on one request, so that a single call cannot exhaust the service.
public enum RequestLimits {
    public static let maxInterestRecords = 1_000_000
    public static let maxItems = 1_000_000
    public static let maxIDLength = 64
}
