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
    public var explanation: String
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
        case .missingAccount(let firms):
            "no bank account on file for \(firms.joined(separator: ", ")): record the payee account (收款账户) before exporting the payment file"
        }
    }
}

/// A short payment reference for 用途/附言 that survives truncation to 20 characters and
/// punctuation stripping: `SL`, the program's letter, the year's last two digits, the batch
/// (5 digits), the line (5 digits) and a Luhn check digit — 16 letters and digits. Batches or lines
/// past 99,999 take 7 and 6 digits: 19 characters, still within 20.
public enum PaymentReference {
    static let letters: [Program: Character] = [.zhuangda: "Z", .xinyidai: "X", .equity: "E", .fund: "F", .guarantee: "G"]

    public static func make(program: Program, year: Int, batch: Int64, line: Int) -> String {
        func padded(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let wide = batch >= 100_000 || line >= 100_000
        precondition(batch < 10_000_000 && line < 1_000_000, "payment references hold 7 digits of batch and 6 of line")
        let digits = padded(Int64(year % 100), 2) + padded(batch, wide ? 7 : 5) + padded(Int64(line), wide ? 6 : 5)
        return "SL" + String(letters[program]!) + digits + String(luhn(digits))
    }

    /// The Luhn check digit of a digit string.
    public static func luhn(_ digits: String) -> Int {
        var sum = 0
        for (index, character) in digits.reversed().enumerated() {
            var value = Int(String(character))!
            if index % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return (10 - sum % 10) % 10
    }
}
