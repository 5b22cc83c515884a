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
    /// upload can never run as a formula; quoting follows RFC 4180.
    public static func csvField(_ text: String) -> String {
        var cell = text
        if let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { cell = "'" + cell }
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// An amount cell: a number, never neutralised (a recovery's minus sign is its value).
    static let amountMarker = "\u{0}amount:"

    public static func csv(_ rows: [[String]]) -> String {
        "\u{FEFF}" + rows.map { row in
            row.map { $0.hasPrefix(amountMarker) ? String($0.dropFirst(amountMarker.count)) : csvField($0) }.joined(separator: ",")
        }.joined(separator: "\r\n") + "\r\n"
    }

    static func amount(_ money: Money) -> String { amountMarker + money.plain }

    public static func files(batch: BatchSummary, lines: [BatchLine], ledgerHead: LedgerHead?) -> (payment: String, publicity: String) {
        let payable = lines.filter(isPayable)
        var payment: [[String]] = [[
            "序号 No.", "收款人名称 Payee", "收款账号 Account", "开户行 Bank", "金额 Amount (CNY)", "用途/附言 Reference", "统一社会信用代码 USCC",
        ]]
        for (index, line) in payable.enumerated() {
            payment.append([
                String(index + 1), line.accountName ?? line.recipientName, line.accountNo ?? "", line.accountBank ?? "",
                amount(line.amount), line.paymentRef, line.recipient,
            ])
        }
        payment.append(["合计 Total", "", "", "", amount(payable.map(\.amount).sum()), "\(payable.count) 笔 payments", ""])
        var publicity: [[String]] = [["序号 No.", "企业名称 Firm", "统一社会信用代码 USCC", "项目 Program", "年度 Year", "金额 Amount (CNY)"]]
        for (index, line) in lines.filter({ $0.status != "excluded" && $0.computed > .zero }).enumerated() {
            publicity.append([
                String(index + 1), line.recipientName, line.recipient, "\(batch.program.chineseName) \(batch.program.rawValue)",
                String(batch.year), amount(line.computed),
            ])
        }
        // The ledger's head when the list was made: `subsidy ledger verify --expect` checks
        // later that no entry up to it was removed or rewritten.
        publicity.append(["账簿校验点 Ledger head", ledgerHead?.description ?? "", "", "", "", ""])
        return (csv(payment), csv(publicity))
    }
}
