public import Foundation
public import SubsidyRules

/// How one bank lays out its CSV statement export: which header names hold which value. Kept as
/// data (`builtInBankCSVProfiles`); a column is found by the first of its names present.
public struct BankCSVProfile: Codable, Sendable {
    public var name: String
    public var description: String
    public var bookingDate: [String]
    public var valueDate: [String]?
    /// Separate debit and credit columns (借方发生额 / 贷方发生额), both positive numbers.
    public var debit: [String]?
    public var credit: [String]?
    /// Or one signed amount column.
    public var signedAmount: [String]?
    /// Or an amount column with a direction column (借/贷).
    public var amount: [String]?
    public var direction: [String]?
    public var debitMarks: [String]?
    public var balance: [String]?
    public var counterpartyName: [String]?
    public var counterpartyAccount: [String]?
    /// Texts a payment reference may hide in, in order: 摘要, 用途, 附言.
    public var texts: [String]
    public var reference: [String]?
    public var currency: [String]?
    /// Preamble labels before the header row that carry the account number.
    public var accountLabels: [String]
}

public enum BankCSVProfiles {
    public static let all: [BankCSVProfile] = {
        do {
            return try JSONDecoder().decode([BankCSVProfile].self, from: Data(builtInBankCSVProfiles.utf8))
        } catch {
            preconditionFailure("the built-in CSV profiles do not parse: \(error)")
        }
    }()

    public static func named(_ name: String) -> BankCSVProfile? { all.first { $0.name == name } }
}

/// The profiles, as data. `generic` knows the usual header names of Chinese bank exports and is
/// used when no profile is named; the named ones follow those banks' documented layouts.
let builtInBankCSVProfiles = #"""
[
  { "name": "generic", "description": "Any export whose header uses the usual names: 交易日期, 借方发生额/贷方发生额 or 交易金额, 余额, 对方户名, 对方账号, 摘要, 用途, 附言",
    "bookingDate": ["交易日期", "记账日期", "入账日期", "交易时间", "日期", "Date", "Booking date"],
    "valueDate": ["起息日", "Value date"],
    "debit": ["借方发生额", "借方金额", "支出金额", "支出", "Debit"],
    "credit": ["贷方发生额", "贷方金额", "收入金额", "收入", "Credit"],
    "signedAmount": ["交易金额", "发生额", "Amount"],
    "amount": ["金额"], "direction": ["借贷标志", "收支方向", "借贷方向"], "debitMarks": ["借", "D", "支出", "出", "付"],
    "balance": ["余额", "账户余额", "Balance"],
    "counterpartyName": ["对方户名", "对方账户名称", "对方单位名称", "对方名称", "收款人名称", "Counterparty"],
    "counterpartyAccount": ["对方账号", "对方账户", "收款人账号", "Counterparty account"],
    "texts": ["摘要", "用途", "附言", "交易附言", "备注", "个性化信息", "Description"],
    "reference": ["交易流水号", "流水号", "凭证号", "Reference"],
    "currency": ["币种", "Currency"],
    "accountLabels": ["账号", "账户", "本方账号", "Account"] },
  { "name": "icbc", "description": "中国工商银行 企业网银 账户明细 (历史明细) export",
    "bookingDate": ["交易时间"], "debit": ["借方发生额"], "credit": ["贷方发生额"], "balance": ["余额"],
    "counterpartyName": ["对方单位名称"], "counterpartyAccount": ["对方账号"], "texts": ["摘要", "用途", "个性化信息"],
    "reference": ["凭证号"], "currency": ["币种"], "accountLabels": ["账号"] },
  { "name": "cmbc", "description": "中国民生银行 企业网银 交易明细 export",
    "bookingDate": ["交易日期"], "debit": ["借方金额"], "credit": ["贷方金额"], "balance": ["余额"],
    "counterpartyName": ["对方户名"], "counterpartyAccount": ["对方账号"], "texts": ["摘要", "用途", "附言"],
    "reference": ["交易流水号"], "currency": ["币种"], "accountLabels": ["账号"] },
  { "name": "bocd", "description": "成都银行 企业网银 账户交易明细 export",
    "bookingDate": ["交易日期"], "valueDate": ["起息日"], "debit": ["支出金额"], "credit": ["收入金额"], "balance": ["账户余额"],
    "counterpartyName": ["对方户名"], "counterpartyAccount": ["对方账号"], "texts": ["摘要", "附言"],
    "reference": ["流水号"], "accountLabels": ["账号"] }
]
"""#

public enum BankCSVParser {
    public static func parse(
        _ data: Data, profile: BankCSVProfile, maxEntries: Int = StatementLimits.maxEntries, keepingEntries: Bool = true
    ) throws(StatementError) -> [BankStatement] {
        var reader = CSVStreamReader(encoding: nil)
        var records: [CSVRecord] = []
        do {
            records = try reader.feed(data)
            records += try reader.finish()
        } catch {
            throw StatementError(location: "line \(error.line)", message: error.message)
        }
        // The header row is the first one naming a booking date column; rows before it are the
        // export's preamble (账号, 户名, 起止日期 …).
        func find(_ names: [String]?, in header: [String]) -> Int? {
            guard let names else { return nil }
            for name in names {
                if let index = header.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == name }) { return index }
            }
            return nil
        }
        guard let headerIndex = records.firstIndex(where: { find(profile.bookingDate, in: $0.fields) != nil }) else {
            throw StatementError(location: "line 1", message: "no header row with a date column (\(profile.bookingDate.joined(separator: "/"))) for profile \(profile.name)")
        }
        let header = records[headerIndex].fields
        let headerLine = records[headerIndex].line
        var account = ""
        for row in records[..<headerIndex] {
            for (index, cell) in row.fields.enumerated() {
                for label in profile.accountLabels where cell.hasPrefix(label) {
                    let rest = cell.dropFirst(label.count).trimmingCharacters(in: CharacterSet(charactersIn: ":： "))
                    if !rest.isEmpty { account = rest } else if index + 1 < row.fields.count { account = row.fields[index + 1].trimmingCharacters(in: .whitespaces) }
                }
            }
        }
        let dateColumn = find(profile.bookingDate, in: header)!
        let valueColumn = find(profile.valueDate, in: header)
        let debitColumn = find(profile.debit, in: header)
        let creditColumn = find(profile.credit, in: header)
        let signedColumn = find(profile.signedAmount, in: header)
        let amountColumn = find(profile.amount, in: header)
        let directionColumn = find(profile.direction, in: header)
        guard (debitColumn != nil && creditColumn != nil) || signedColumn != nil || (amountColumn != nil && directionColumn != nil) else {
            throw StatementError(
                location: "line \(headerLine)",
                message: "no amount columns: expected 借方/贷方 columns, a signed amount, or an amount with a direction (profile \(profile.name))")
        }
        let balanceColumn = find(profile.balance, in: header)
        let nameColumn = find(profile.counterpartyName, in: header)
        let accountColumn = find(profile.counterpartyAccount, in: header)
        let textColumns = profile.texts.compactMap { find([$0], in: header) }
        let referenceColumn = find(profile.reference, in: header)
        let currencyColumn = find(profile.currency, in: header)

        var entries = EntryList(keeping: keepingEntries)
        // The running balance's first and last rows (amount, balance after, date), and how many
        // rows state one; the first and last booking dates.
        var balances: (first: (Money, Money, CivilDate)?, last: (Money, Money, CivilDate)?, count: Int) = (nil, nil, 0)
        var dates: (first: CivilDate, last: CivilDate)?
        var currency = "CNY"
        for record in records[(headerIndex + 1)...] {
            let location = "line \(record.line)"
            func cell(_ index: Int?) -> String {
                guard let index, index < record.fields.count else { return "" }
                return record.fields[index].trimmingSpaces()
            }
            let first = cell(0)
            if record.fields.allSatisfy({ $0.trimmingSpaces().isEmpty }) || first.hasPrefix("合计") || first.hasPrefix("总计") {
                continue
            }
            let date = try parseDate(cell(dateColumn), location: "\(location), column \(header[dateColumn])")
            func money(_ index: Int) throws(StatementError) -> Money {
                let text = cell(index)
                if text.isEmpty || text == "-" { return .zero }
                return try StatementAmount.parse(text, decimalMark: ".", grouping: true, location: "\(location), column \(header[index])")
            }
            var amount: Money
            if let debitColumn, let creditColumn {
                amount = try money(creditColumn) - money(debitColumn).magnitudeMoney
                if cell(creditColumn).isEmpty && cell(debitColumn).isEmpty, let signedColumn { amount = try money(signedColumn) }
            } else if let signedColumn {
                amount = try money(signedColumn)
            } else {
                let value = try money(amountColumn!).magnitudeMoney
                let mark = cell(directionColumn)
                amount = (profile.debitMarks ?? []).contains(where: { mark.hasPrefix($0) }) ? Money(fen: -value.fen) : value
            }
            if let currencyColumn, !cell(currencyColumn).isEmpty {
                currency = cell(currencyColumn) == "人民币" ? "CNY" : cell(currencyColumn)
            }
            guard entries.count < maxEntries else { throw StatementLimits.tooManyEntries(maxEntries, location: location) }
            let texts = textColumns.map(cell).filter { !$0.isEmpty }
            entries.append(StatementEntry(
                amount: amount, currency: currency,
                valueDate: try valueColumn.flatMap { column throws(StatementError) in
                    cell(column).isEmpty ? nil : try parseDate(cell(column), location: "\(location), column \(header[column])")
                } ?? date,
                bookingDate: date, reference: referenceColumn.map(cell).flatMap { $0.isEmpty ? nil : $0 }, bankReference: nil,
                description: texts.joined(separator: " "),
                counterparty: Counterparty(
                    name: nameColumn.map(cell).flatMap { $0.isEmpty ? nil : $0 }, account: accountColumn.map(cell).flatMap { $0.isEmpty ? nil : $0 }),
                origin: location))
            if let balanceColumn, !cell(balanceColumn).isEmpty {
                let row = (amount, try money(balanceColumn), date)
                balances = (balances.first ?? row, row, balances.count + 1)
            }
            dates = (min(dates?.first ?? date, date), max(dates?.last ?? date, date))
        }
        guard entries.count > 0 else { throw StatementError(location: "line \(headerLine)", message: "no transactions after the header row") }
        // With a running balance: opening = first balance − first amount, closing = last balance.
        var opening: StatementBalance?
        var closing: StatementBalance?
        if balances.count == entries.count, let first = balances.first, let last = balances.last {
            opening = StatementBalance(type: "opening", amount: first.1 - first.0, currency: currency, date: first.2)
            closing = StatementBalance(type: "closing", amount: last.1, currency: currency, date: last.2)
        }
        let number = dates.map { "\($0.first)…\($0.last)" } ?? ""
        return [BankStatement(
            account: account, currency: currency, statementNumber: number, openingBalance: opening, closingBalance: closing,
            balances: [opening, closing].compactMap { $0 }, entries: entries.kept, origin: "line \(headerLine)", tally: entries.checkedOnly)]
    }

    /// `20250321`, `2025-03-21`, `2025/03/21`, `2025.03.21`, optionally followed by a time.
    static func parseDate(_ text: String, location: String) throws(StatementError) -> CivilDate {
        let datePart = text.split(separator: " ").first.map(String.init) ?? text
        let digits = datePart.filter(\.isASCIIDigit)
        let separated = datePart.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." })
        var parts: (Int, Int, Int)?
        if separated.count == 3, let y = Int(separated[0]), let m = Int(separated[1]), let d = Int(separated[2]) {
            parts = (y, m, d)
        } else if digits.count == 8, digits == datePart, let value = Int(digits) {
            parts = (value / 10_000, value / 100 % 100, value % 100)
        }
        guard let (year, month, day) = parts, (1990...2199).contains(year), let date = CivilDate(year: year, month: month, day: day) else {
            throw StatementError(location: location, message: "\"\(text)\" is not a date (expected 20250321, 2025-03-21 or 2025/03/21)")
        }
        return date
    }
}

extension Money {
    var magnitudeMoney: Money { Money(fen: fen < 0 ? -fen : fen) }
}
