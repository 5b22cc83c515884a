import Foundation
public import SubsidyRules

public enum BatchState: String, Sendable, CaseIterable {
    case draft, computed, publicity, approved, exported, paid, closed, cancelled

    public var chineseName: String {
        switch self {
        case .draft: "草稿"
        case .computed: "已测算"
        case .publicity: "公示中"
        case .approved: "已审批"
        case .exported: "已导出"
        case .paid: "已支付"
        case .closed: "已关闭"
        case .cancelled: "已撤销"
        }
    }
}

public enum Role: String, Sendable, CaseIterable {
    case clerk, approver, auditor, admin
}

public struct User: Sendable, Hashable {
    public var id: Int64
    public var login: String
    public var displayName: String
    public var roles: Set<Role>

    public init(id: Int64, login: String, displayName: String, roles: Set<Role>) {
        self.id = id
        self.login = login
        self.displayName = displayName
        self.roles = roles
    }

    /// Whether the user may act in `role`: an administrator acts in every role.
    public func acts(as role: Role) -> Bool { roles.contains(role) || roles.contains(.admin) }
}

public struct BatchSummary: Sendable {
    public var id: Int64
    public var program: Program
    public var year: Int
    public var district: String?
    public var state: BatchState
    public var totalFen: Int64
    public var lines: Int
    public var excludedItems: Int
    public var publicityFrom: CivilDate?
    public var publicityUntil: CivilDate?
    public var computedBy: Int64?
    public var approvedBy: Int64?
}

/// What computing a batch now would give, with nothing stored (`BatchStore.trial`, 试算), beside
/// the batch as it is.
public struct BatchTrial: Sendable {
    /// The batch as stored: its state, and its total and lines from its last computation.
    public var batch: BatchSummary
    public var lines: Int
    public var total: Money
    public var excludedItems: Int
    public var interestRecords: Int
    public var recipients: Int
}

public struct BatchLine: Sendable {
    public var lineNo: Int
    public var recipient: String
    public var recipientName: String
    public var computed: Money
    public var previously: Money
    public var amount: Money
    public var status: String
    public var excludedReason: String?
    public var paymentRef: String
    public var accountName: String?
    public var accountNo: String?
    public var accountBank: String?
    /// Whether the payee above was frozen on the line at approval (else it is the firm's current account).
    public var payeeFrozen: Bool
    /// The explanation's steps as a JSON array of objects (`ExplanationStep.arrayJSON`), whatever
    /// form the line stores them in; `[]` when read without explanations.
    public var explanation: String
}

/// A written reason (excluding a line, sending back, cancelling, rejecting a match): trimmed,
/// and refused when empty.
public func writtenReason(_ text: String) throws(BatchError) -> String {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { throw .invalidInput(InputError(field: "reason", message: "a written reason is required")) }
    return trimmed
}

/// Errors a clerk or approver can act on; each says what is wrong and what to do.
public enum BatchError: Error, CustomStringConvertible, Sendable, Equatable {
    case notFound(Int64)
    case wrongState(batch: Int64, state: BatchState, action: String)
    case missingRole(login: String, role: Role)
    case sameUser(login: String)
    case publicityNotOver(until: CivilDate)
    case capExceeded(recipient: String, approved: Money, line: Money, cap: Money)
    case stale(recipient: String, computedWith: Money, nowApproved: Money)
    case noBudget(program: Program, year: Int)
    case budgetExceeded(approved: Money, batch: Money, budget: Money)
    case unknownRecipient(String)
    case unknownUser(String)
    case badPassword(String)
    case invalidInput(InputError)
    case missingAccount([String])
    case alreadyExcluded(String)
    case staleCap(key: String, computedWith: Money, nowApproved: Money)
    case transitionLost(batch: Int64, action: String)
    case alreadyInitialised
    case notRehearsal
    case noSuchCorrection(Int64)
    case linePaid(String)

    public var description: String {
        switch self {
        case .notFound(let id): "batch \(id) does not exist"
        case .wrongState(let id, let state, let action): "batch \(id) is \(state.rawValue) (\(state.chineseName)): cannot \(action)"
        case .missingRole(let login, let role): "user \(login) lacks the \(role.rawValue) role"
        case .sameUser(let login): "four eyes: \(login) computed this batch and cannot also approve it (审批人不能与测算人相同)"
        case .publicityNotOver(let until): "公示 runs until \(until); approval is possible from the next day"
        case .capExceeded(let recipient, let approved, let line, let cap):
            "cap exceeded for \(recipient): \(approved.grouped) already approved + \(line.grouped) in this batch > cap \(cap.grouped)"
        case .stale(let recipient, let computedWith, let now):
            "batch is stale: \(recipient) had \(computedWith.grouped) approved when this batch was computed and has \(now.grouped) now; recompute the batch"
        case .noBudget(let program, let year): "no budget (专项资金) is set for \(program.rawValue) \(year); set one with `subsidy budget set`"
        case .budgetExceeded(let approved, let batch, let budget):
            "budget exceeded: \(approved.grouped) already approved + \(batch.grouped) in this batch > budget \(budget.grouped)"
        case .unknownRecipient(let uscc): "no line for recipient \(uscc) in this batch"
        case .unknownUser(let login): "no active user \(login)"
        case .badPassword(let login): "wrong password for \(login)"
        case .invalidInput(let error): error.description
        case .alreadyExcluded(let uscc): "the line of \(uscc) is already excluded from this batch"
        case .staleCap(let key, let computedWith, let now):
            "batch is stale: \(key) had \(computedWith.grouped) granted in other years when this batch was computed and has \(now.grouped) now; recompute the batch"
        case .transitionLost(let batch, let action): "batch \(batch) changed while \(action) was being applied; nothing was changed, try again"
        case .alreadyInitialised: "this database is already initialised (an administrator exists): add users with `subsidy user add`"
        case .notRehearsal:
            "--today is accepted only on a rehearsal database (`subsidy init --rehearsal`); this one is real and dates every action by the server's clock"
        case .noSuchCorrection(let id): "payee correction \(id) does not exist or was already decided"
        case .linePaid(let reference): "line \(reference) is already paid: its payee can no longer change (a return reopens it)"
        case .missingAccount(let firms):
            "no bank account on file for \(firms.joined(separator: ", ")): record the payee account (收款账户) before exporting the payment file"
        }
    }
}

