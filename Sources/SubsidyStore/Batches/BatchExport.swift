import Foundation
public import SubsidyRules

/// The payment file and the 公示 list: CSV in UTF-8 with a BOM (Excel and WPS open them as
/// Chinese text).
public enum BatchExport {
    /// A line the payment file carries: money still owed (active, or returned for re-issue).
    public static func isPayable(_ line: BatchLine) -> Bool {
        (line.status == "active" || line.status == "returned") && line.amount > .zero
    }

    /// A cell as text. One that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a
    /// tab or carriage return first) is prefixed with an apostrophe, so that a firm name from an
    /// upload can never run as a formula — unless it is a plain decimal number (a recovery's
    /// `-2663.89`), which no spreadsheet runs. Quoting follows RFC 4180.
    public static func csvField(_ text: String) -> String {
        var cell = text
        if let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isPlainNumber(cell) { cell = "'" + cell }
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `-?digits[.digits]`: what `Money.plain` writes.
    static func isPlainNumber(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    public static func csv(_ rows: [[String]]) -> String {
        "\u{FEFF}" + rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    /// A cell of an exported table: text stays text (19-digit account numbers, USCCs), amounts
    /// are numbers with two decimals, counts are whole numbers.
    public enum Cell: Sendable, Equatable {
        case text(String)
        case amount(Money)
        case count(Int)

        public var csvText: String {
            switch self {
            case .text(let text): text
            case .amount(let money): money.plain
            case .count(let count): String(count)
            }
        }
    }

    public struct Tables: Sendable {
        public var payment: [[Cell]]
        public var publicity: [[Cell]]
    }

    public static func tables(batch: BatchSummary, lines: [BatchLine], ledgerHead: LedgerHead?) -> Tables {
        let payable = lines.filter(isPayable)
        var payment: [[Cell]] = [[
            "序号 No.", "收款人名称 Payee", "收款账号 Account", "开户行 Bank", "金额 Amount (CNY)", "用途/附言 Reference", "统一社会信用代码 USCC",
        ].map(Cell.text)]
        for (index, line) in payable.enumerated() {
            payment.append([
                .count(index + 1), .text(line.accountName ?? line.recipientName), .text(line.accountNo ?? ""), .text(line.accountBank ?? ""),
                .amount(line.amount), .text(line.paymentRef), .text(line.recipient),
            ])
        }
        payment.append([.text("合计 Total"), .text(""), .text(""), .text(""), .amount(payable.map(\.amount).sum()), .text("\(payable.count) 笔 payments"), .text("")])
        var publicity: [[Cell]] = [["序号 No.", "企业名称 Firm", "统一社会信用代码 USCC", "项目 Program", "年度 Year", "金额 Amount (CNY)"].map(Cell.text)]
        for (index, line) in lines.filter({ $0.status != "excluded" && $0.computed > .zero }).enumerated() {
            publicity.append([
                .count(index + 1), .text(line.recipientName), .text(line.recipient), .text("\(batch.program.chineseName) \(batch.program.rawValue)"),
                .count(batch.year), .amount(line.computed),
            ])
        }
        // The ledger's head when the list was made: `subsidy ledger verify --expect` checks
        // later that no entry up to it was removed or rewritten.
        publicity.append([.text("账簿校验点 Ledger head"), .text(ledgerHead?.description ?? ""), .text(""), .text(""), .text(""), .text("")])
        return Tables(payment: payment, publicity: publicity)
    }

    public static func csv(_ table: [[Cell]]) -> String {
        csv(table.map { $0.map(\.csvText) })
    }

    public static func files(batch: BatchSummary, lines: [BatchLine], ledgerHead: LedgerHead?) -> (payment: String, publicity: String) {
        let tables = tables(batch: batch, lines: lines, ledgerHead: ledgerHead)
        return (csv(tables.payment), csv(tables.publicity))
    }
}
