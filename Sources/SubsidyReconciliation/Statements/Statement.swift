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
    /// For a statement only checked (`StatementParser.parse(…, keepingEntries: false)`): its
    /// entries' count and sum, read as they went by; `entries` is then empty.
    public var tally: EntryTally?

    public init(account: String, currency: String, statementNumber: String, openingBalance: StatementBalance?, closingBalance: StatementBalance?,
                balances: [StatementBalance] = [], entries: [StatementEntry], origin: String, tally: EntryTally? = nil) {
        self.account = account
        self.currency = currency
        self.statementNumber = statementNumber
        self.openingBalance = openingBalance
        self.closingBalance = closingBalance
        self.balances = balances
        self.entries = entries
        self.origin = origin
        self.tally = tally
    }
}

/// A count and a checked sum of entries: `total` is nil once the sum no longer fits in 64 bits.
public struct EntryTally: Sendable, Hashable {
    public private(set) var count = 0
    public private(set) var total: Money? = .zero

    public init() {}

    mutating func add(_ amount: Money) {
        count += 1
        guard let sum = total else { return }
        let (next, overflow) = sum.fen.addingReportingOverflow(amount.fen)
        total = overflow ? nil : Money(fen: next)
    }
}

/// A statement's entries as a parser reads them: kept, to be imported, or only counted and
/// summed, to check a file without holding its entries (a bank's upload is checked when it
/// arrives and parsed again when the daemon imports it).
struct EntryList {
    let keeping: Bool
    private(set) var kept: [StatementEntry] = []
    private(set) var tally = EntryTally()

    init(keeping: Bool) { self.keeping = keeping }

    var count: Int { tally.count }

    mutating func append(_ entry: StatementEntry) {
        tally.add(entry.amount)
        if keeping { kept.append(entry) }
    }

    /// Changes the last entry kept (MT940's `:86:` completes its `:61:`); nothing when only counting.
    mutating func updateLast(_ change: (inout StatementEntry) -> Void) {
        guard !kept.isEmpty else { return }
        change(&kept[kept.count - 1])
    }

    /// What a statement built from the list carries: its entries, or only their tally.
    var checkedOnly: EntryTally? { keeping ? nil : tally }
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
    /// The bank marks the entry as a return or reversal (MT940 `RD` or type `RTI`, camt
    /// `RvslInd` or `RtrInf`, 退汇 in a CSV's text).
    public var flaggedReturn: Bool = false
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

/// Bounds on what one statement file may hold (TIGER_STYLE: a limit on everything). A file past
/// any of them is refused with a message; nothing is held or computed beyond them.
public enum StatementLimits {
    public static let maxFileBytes = 64 << 20
    public static let maxStatements = 10_000
    /// What one import holds grows with its entries (the parsed entries, the lines they name, the
    /// matcher's outcomes): 183 MB for a 79,135-entry statement at province and 311 MB for a
    /// 162,000-entry one at nation, measured for `subsidy statement import` (about 1.5 kB an entry
    /// over 61 MB). 200,000 entries keep the server, where the daemon imports, under its 500 MB;
    /// a bank splits a longer statement by day or by statement number. (A million before.)
    public static let maxEntries = 200_000

    /// The refusal of a file with more than `limit` entries, the same in every format.
    public static func tooManyEntries(_ limit: Int, location: String) -> StatementError {
        StatementError(location: location, message: "more than \(limit) entries in one file: split the statement (by day or by statement number) and import the parts")
    }
    /// 9,999,999,999,999.99: more than any payment, and a sum of a million such stays far from Int64's end.
    public static let maxWholeDigits = 13
    public static let maxXMLDepth = 32
    public static let maxXMLTextBytes = 64 * 1024
}

extension BankStatement {
    /// opening + Σ entries − closing, when both balances are stated; nil also when the sum does
    /// not fit (the parsers refuse such files, so that only a hand-built statement reaches it).
    public var balanceDifference: Money? {
        guard let opening = openingBalance, let closing = closingBalance, let total = entriesTotal else { return nil }
        let (withOpening, overflow1) = opening.amount.fen.addingReportingOverflow(total.fen)
        let (difference, overflow2) = withOpening.subtractingReportingOverflow(closing.amount.fen)
        return overflow1 || overflow2 ? nil : Money(fen: difference)
    }

    /// Σ entries, checked: nil when it does not fit in 64 bits.
    public var entriesTotal: Money? {
        if let tally { return tally.total }
        var sum = EntryTally()
        for entry in entries { sum.add(entry.amount) }
        return sum.total
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
        guard digits.count <= StatementLimits.maxWholeDigits else {
            throw StatementError(location: location, message: "\"\(raw)\" is too large (at most \(StatementLimits.maxWholeDigits) digits before the decimal mark)")
        }
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
        // A search of the few characters given, not a Set built at every call (which was most
        // of a statement's trimming).
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
