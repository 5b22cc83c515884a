import Foundation
public import SubsidyRules

/// A bank statement in the one shape every format is read into. Amounts are exact: credits
/// positive, debits negative.
public struct BankStatement: Sendable, Hashable {
    public var account: String
    public var currency: String
    public var statementNumber: String
    public var openingBalance: StatementBalance?
    public var closingBalance: StatementBalance?
    /// Every balance the file states, by type (camt.053's OPBD, CLBD, OPAV, …; MT940's 60F, 62F, 64, …).
    public var balances: [StatementBalance]
    public var entries: [StatementEntry]
    /// Where the statement starts in the file (line or XML path), for messages.
    public var origin: String

    public init(account: String, currency: String, statementNumber: String, openingBalance: StatementBalance?, closingBalance: StatementBalance?,
                balances: [StatementBalance] = [], entries: [StatementEntry], origin: String) {
        self.account = account
        self.currency = currency
        self.statementNumber = statementNumber
        self.openingBalance = openingBalance
        self.closingBalance = closingBalance
        self.balances = balances
        self.entries = entries
        self.origin = origin
    }
}

public struct StatementBalance: Sendable, Hashable {
    public var type: String
    public var amount: Money
    public var currency: String
    public var date: CivilDate?

    public init(type: String, amount: Money, currency: String, date: CivilDate?) {
        self.type = type
        self.amount = amount
        self.currency = currency
        self.date = date
    }
}

public struct Counterparty: Sendable, Hashable {
    public var name: String?
    public var account: String?

    public init(name: String? = nil, account: String? = nil) {
        self.name = name
        self.account = account
    }
}

public struct StatementEntry: Sendable, Hashable {
    public var amount: Money
    public var currency: String
    public var valueDate: CivilDate?
    public var bookingDate: CivilDate?
    /// The customer's reference (MT940 :61: reference, camt EndToEndId/NtryRef).
    public var reference: String?
    /// The bank's own reference (after // in :61:, camt AcctSvcrRef).
    public var bankReference: String?
    /// All the text a payment reference may hide in: :86:, 摘要/用途/附言, remittance information.
    public var description: String
    public var counterparty: Counterparty
    /// For a batch booking (camt NtryDtls/Btch), how many transactions it sums.
    public var batchCount: Int?
    /// Where the entry is in the file: `line 12` or an XML path.
    public var origin: String

    public init(amount: Money, currency: String, valueDate: CivilDate?, bookingDate: CivilDate?, reference: String?, bankReference: String?,
                description: String, counterparty: Counterparty, batchCount: Int? = nil, origin: String) {
        self.amount = amount
        self.currency = currency
        self.valueDate = valueDate
        self.bookingDate = bookingDate
        self.reference = reference
        self.bankReference = bankReference
        self.description = description
        self.counterparty = counterparty
        self.batchCount = batchCount
        self.origin = origin
    }
}

public enum StatementFormat: String, Sendable, CaseIterable {
    case mt940, camt053, csv
}

public struct ParsedStatements: Sendable {
    public var format: StatementFormat
    public var statements: [BankStatement]
}

/// A file that cannot be read, with where (line or XML path) and what was expected.
public struct StatementError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: String
    public var message: String

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

extension BankStatement {
    /// opening + Σ entries = closing, when both balances are stated.
    public var balanceDifference: Money? {
        guard let opening = openingBalance, let closing = closingBalance else { return nil }
        return opening.amount + entries.map(\.amount).sum() - closing.amount
    }
}

/// Reads statement amounts: digits with `.` or `,` as the decimal mark (MT940 uses `,`), at most
/// two decimals; `grouping` also allows thousands separators (Chinese bank CSV exports).
enum StatementAmount {
    static func parse(_ raw: String, decimalMark: Character, grouping: Bool = false, location: String) throws(StatementError) -> Money {
        var text = raw.trimmed(" \t\u{3000}")
        var negative = false
        if text.hasPrefix("-") {
            negative = true
            text.removeFirst()
        } else if text.hasPrefix("+") {
            text.removeFirst()
        }
        if grouping { text = text.replacingOccurrences(of: decimalMark == "." ? "," : ".", with: "") }
        var parts = text.split(separator: decimalMark, maxSplits: 1, omittingEmptySubsequences: false)
        // `8.850` is 8.85: digits past the 分 are accepted when they are zeros, never rounded.
        if parts.count == 2, parts[1].count > 2, parts[1].dropFirst(2).allSatisfy({ $0 == "0" }) {
            parts[1] = parts[1].prefix(2)
        }
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit),
            parts.count == 1 || (parts[1].count <= 2 && parts[1].allSatisfy(\.isASCIIDigit))
        else {
            throw StatementError(location: location, message: "\"\(raw)\" is not an amount (expected digits with \(decimalMark) and at most two decimals)")
        }
        let digits = whole.drop { $0 == "0" }
        guard digits.count <= 15 else { throw StatementError(location: location, message: "\"\(raw)\" is too large") }
        var fen = Int64(digits.isEmpty ? "0" : String(digits))! * 100
        if parts.count == 2 {
            let fraction = String(parts[1]) + String(repeating: "0", count: 2 - parts[1].count)
            fen += Int64(fraction)!
        }
        return Money(fen: negative ? -fen : fen)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    /// Drops the given characters from both ends.
    func trimmed(_ characters: String) -> String {
        let set = Set(characters)
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
