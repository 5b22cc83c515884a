/// One line of an award's explanation: which rule, from which clause, on what inputs, with what
/// result, in words a clerk can check with a calculator.
public struct ExplanationStep: Sendable, Hashable {
    public var rule: String
    public var clause: String
    public var text: String
    public var amount: Money?
    /// The item (loan, investment or guarantee) the step belongs to; `nil` for a recipient-level step.
    public var item: String?
    /// The interest record the step belongs to, for record-level steps.
    public var record: String?
    /// The step's inputs by name, in order.
    public var inputs: [KeyValue]
    /// A record-level step of a batch (`CalculationRequest.recordStepTexts` false): its figures,
    /// with `text` left empty. The stored form keeps the numbers, and the text is written from
    /// them when the line is read (`StepFigures.text`, the calculator's own wording).
    public var figures: StepFigures?

    public init(
        rule: String, clause: String, text: String, amount: Money?, item: String? = nil, record: String? = nil, figures: StepFigures? = nil,
        inputs: [KeyValue] = []
    ) {
        self.rule = rule
        self.clause = clause
        self.text = text
        self.amount = amount
        self.item = item
        self.record = record
        self.inputs = inputs
        self.figures = figures
    }

    /// A record-level step from its figures: worded here (the calculator's request), or kept as
    /// figures with no text (a batch's, `CalculationRequest.recordStepTexts` false). The amount is
    /// the figures' own.
    init(rule: String, clause: String, figures: StepFigures, worded: Bool, item: String, record: String, inputs: [KeyValue]) {
        self.init(
            rule: rule, clause: clause, text: worded ? figures.text : "", amount: figures.amount, item: item, record: record,
            figures: worded ? nil : figures, inputs: inputs)
    }

    /// The step's text: its own, or the one its figures read as.
    public var readableText: String { figures?.text ?? text }
}

/// The numbers of a record-level step, from which its text is written. A province 壮大贷 batch
/// has two such steps per interest record (3.2 million): stored as numbers and worded when a
/// line is read, the batch neither formats nor stores 80 bytes of text for each (issue 12).
public enum StepFigures: Sendable, Hashable {
    /// `balance × rate × days / basis = interest`: the LPR in force on the loan's start (RULES §3).
    case lprInterest(balance: Money, rate: Rate, days: Int, basis: Int, interest: Money)
    /// `min(lprInterest, paid <paid>) = base`: at most what was paid.
    case base(lprInterest: Money, paid: Money, base: Money)
    /// An LPR interest and its base as one step, for a batch (`CalculationRequest.recordStepTexts`
    /// and `recordStepInputs` false): a province 壮大贷 batch made, copied and released 1.6
    /// million base steps that only ever became the second half of a stored member of kind 3.
    /// The step is the interest's (its rule, clause, item, record and amount); the base is
    /// `min(interest, paid)` under `baseRule`. `storedJSON` writes it as the same member as the
    /// two steps, and a stored line reads back as the two steps, worded.
    case lprInterestAndBase(balance: Money, rate: Rate, days: Int, basis: Int, interest: Money, paid: Money, baseRule: String)

    /// The base of an interest and its base: `min(interest, paid)`.
    static func baseOf(interest: Money, paid: Money) -> StepFigures {
        .base(lprInterest: interest, paid: paid, base: min(interest, paid))
    }

    /// The figures of the steps these stand for: an interest and its base (`lprInterestAndBase`)
    /// are the interest's and the base's, any other figures themselves.
    var parts: [StepFigures] {
        guard case let .lprInterestAndBase(balance, rate, days, basis, interest, paid, _) = self else { return [self] }
        return [.lprInterest(balance: balance, rate: rate, days: days, basis: basis, interest: interest), .baseOf(interest: interest, paid: paid)]
    }

    public var text: String {
        switch self {
        case let .lprInterest(balance, rate, days, basis, interest):
            "\(balance.grouped) × \(rate) × \(days) / \(basis) = \(interest.grouped)"
        case let .base(lprInterest, paid, base):
            "min(\(lprInterest.grouped), paid \(paid.grouped)) = \(base.grouped)"
        case .lprInterestAndBase:
            parts.map(\.text).joined(separator: "; ")
        }
    }

    /// The step's amount: the interest (also of an interest and its base), or the base.
    public var amount: Money {
        switch self {
        case .lprInterest(_, _, _, _, let interest): interest
        case .base(_, _, let base): base
        case .lprInterestAndBase(_, _, _, _, let interest, _, _): interest
        }
    }
}

public struct KeyValue: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// One part of an award (RULES.md §9): a loan, an investment or a guarantee.
public struct AwardItem: Sendable, Hashable {
    public var id: String
    public var kind: ItemKind
    public var amount: Money
    /// For loans, the interest records the item is computed from.
    public var records: [String]

    public init(id: String, kind: ItemKind, amount: Money, records: [String] = []) {
        self.id = id
        self.kind = kind
        self.amount = amount
        self.records = records
    }
}

public enum ItemKind: String, Sendable {
    case loan, investment, guarantee
}

public struct Award: Sendable {
    public var recipient: String
    public var recipientName: String
    public var amount: Money
    public var items: [AwardItem]
    public var explanation: [ExplanationStep]
}

/// An input item the rules left out, with a reason a clerk can act on.
public struct Exclusion: Sendable, Hashable {
    public var id: String
    public var kind: ExclusionKind
    /// A stable machine-readable code, e.g. `firm_not_qualified`; several reasons' codes
    /// joined with commas.
    public let code: String
    /// Whose award the item would have counted towards.
    public var recipient: String
    let reasons: [ExclusionReason]

    init(id: String, kind: ExclusionKind, reasons: [ExclusionReason], recipient: String) {
        precondition(!reasons.isEmpty)
        (self.id, self.kind, self.reasons, self.recipient) = (id, kind, reasons, recipient)
        // One reason, nearly always (a province batch's 216,052): its code as it is.
        code = reasons.count == 1 ? reasons[0].code : reasons.map(\.code).joined(separator: ",")
    }

    /// The reasons in English, `; ` between them; worded when asked for.
    public var reason: String { reasons.map(\.english).joined(separator: "; ") }
    /// The reasons in Chinese, `；` between them.
    public var reasonZh: String { reasons.map(\.chinese).joined(separator: "；") }

    /// The day the firm held no qualification, when that is the item's only reason: its words
    /// follow from the code and the day (`ExclusionReason.firmNotQualified`), and a batch stores
    /// the day alone (sql/037).
    public var notQualifiedOn: CivilDate? {
        guard reasons.count == 1, case .firmNotQualified(let day) = reasons[0].wording else { return nil }
        return day
    }
}

public enum ExclusionKind: String, Sendable {
    case interestRecord = "interest_record"
    case loan, investment, guarantee
}

public struct CalculationResult: Sendable {
    public var program: Program
    public var year: Int
    public var policyVersion: String
    public var total: Money
    public var awards: [Award]
    public var excluded: [Exclusion]
}

/// A failure while computing a valid request: the LPR table does not cover a day the rules
/// need. Reported like invalid input, naming the field whose date needs the missing fixing.
public struct ComputationError: Error, Sendable {
    public var field: String
    public var message: String

    public var inputError: InputError { InputError(field: field, message: message) }
}
