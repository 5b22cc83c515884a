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

    public static func files(batch: BatchSummary, lines: [BatchLine], ledgerHead: LedgerHead?) -> (payment: String, publicity: String) {
        let payable = lines.filter(isPayable)
        var payment: [[String]] = [[
            "序号 No.", "收款人名称 Payee", "收款账号 Account", "开户行 Bank", "金额 Amount (CNY)", "用途/附言 Reference", "统一社会信用代码 USCC",
        ]]
        for (index, line) in payable.enumerated() {
            payment.append([
                String(index + 1), line.accountName ?? line.recipientName, line.accountNo ?? "", line.accountBank ?? "",
                line.amount.plain, line.paymentRef, line.recipient,
            ])
        }
        payment.append(["合计 Total", "", "", "", payable.map(\.amount).sum().plain, "\(payable.count) 笔 payments", ""])
        var publicity: [[String]] = [["序号 No.", "企业名称 Firm", "统一社会信用代码 USCC", "项目 Program", "年度 Year", "金额 Amount (CNY)"]]
        for (index, line) in lines.filter({ $0.status != "excluded" && $0.computed > .zero }).enumerated() {
            publicity.append([
                String(index + 1), line.recipientName, line.recipient, "\(batch.program.chineseName) \(batch.program.rawValue)",
                String(batch.year), line.computed.plain,
            ])
        }
        // The ledger's head when the list was made: `subsidy ledger verify --expect` checks
        // later that no entry up to it was removed or rewritten.
        publicity.append(["账簿校验点 Ledger head", ledgerHead?.description ?? "", "", "", "", ""])
        return (csv(payment), csv(publicity))
    }
}
