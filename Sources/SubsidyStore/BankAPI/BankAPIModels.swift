import Crypto
import Foundation
public import Logging
import NIOCore
public import PostgresNIO
public import SubsidyRules

/// Where a problem is: the item's index in a JSON upload or its line in a CSV upload.
public enum UploadPosition: Sendable, Hashable {
    case index(Int)
    case line(Int)

    var sortKey: Int {
        switch self {
        case .index(let value), .line(let value): value
        }
    }
}

/// One problem with an upload: where, which field, what is wrong.
public struct FieldProblem: Sendable, Hashable {
    public var position: UploadPosition?
    public var field: String
    public var message: String

    public init(position: UploadPosition?, field: String, message: String) {
        self.position = position
        self.field = field
        self.message = message
    }
}

/// A loan as a bank sends it: text fields, checked here.
public struct LoanSubmission: Sendable {
    public var loanNo: String
    public var firm: String
    public var program: String
    public var tier: String?
    public var principal: String
    public var start: String
    public var maturity: String
    public var contractRate: String

    public init(loanNo: String, firm: String, program: String, tier: String?, principal: String, start: String, maturity: String, contractRate: String) {
        self.loanNo = loanNo
        self.firm = firm
        self.program = program
        self.tier = tier
        self.principal = principal
        self.start = start
        self.maturity = maturity
        self.contractRate = contractRate
    }
}

/// An interest record as a bank sends it (a JSON item or a CSV line), before checking.
public struct RecordSubmission: Sendable {
    public var position: UploadPosition
    public var loanNo: String?
    public var periodFrom: String?
    public var periodTo: String?
    public var balance: String?
    public var paid: String?
    public var paidOn: String?
    public var firm: String?
    public var firmName: String?
    public var bankReference: String?

    public init(
        position: UploadPosition, loanNo: String?, periodFrom: String?, periodTo: String?, balance: String?, paid: String?,
        paidOn: String?, firm: String? = nil, firmName: String? = nil, bankReference: String? = nil
    ) {
        self.position = position
        self.loanNo = loanNo
        self.periodFrom = periodFrom
        self.periodTo = periodTo
        self.balance = balance
        self.paid = paid
        self.paidOn = paidOn
        self.firm = firm
        self.firmName = firmName
        self.bankReference = bankReference
    }
}

public enum LoanRegistration: Sendable {
    case stored(created: Int, updated: Int)
    case rejected([FieldProblem])
}

public struct UploadResult: Sendable, Hashable, Codable {
    public var uploadId: Int64
    public var accepted: Int
    public var replaced: Int
    public var corrections: Int
}

public enum UploadOutcome: Sendable {
    case stored(UploadResult)
    /// The same Idempotency-Key and body as an earlier upload: its result, nothing stored again.
    case replayed(UploadResult)
    /// Every problem found (up to `BankData.maxProblemsListed`), and how many there were; nothing stored.
    case rejected([FieldProblem], total: Int)
    /// The Idempotency-Key was used before with another body.
    case keyReused
}

public struct LoanView: Sendable {
    public var id: Int64
    public var loanNo: String
    public var firm: String
    public var firmName: String
    public var program: String
    public var tier: String?
    public var principal: Money
    public var start: String
    public var maturity: String
    public var contractRate: String
    public var createdAt: String
}

public struct RecordView: Sendable {
    public var id: Int64
    public var loanNo: String
    public var periodFrom: String
    public var periodTo: String
    public var balance: Money
    public var paid: Money
    public var paidOn: String
    public var firmName: String?
    public var bankReference: String?
    public var version: Int
    public var status: String
    public var usedInBatch: Int64?
    public var correction: Bool
}
