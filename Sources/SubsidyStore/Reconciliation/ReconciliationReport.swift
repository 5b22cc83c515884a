import Foundation
public import Logging
public import PostgresNIO
import SubsidyReconciliation
public import SubsidyRules

/// A reconciliation report for one statement or one batch: a summary of counts and sums per
/// category with the balance checks, then every line of each category.
public struct ReconciliationReport: Sendable {
    public enum Scope: Sendable {
        case statement(Int64)
        case batch(Int64)
    }

    public struct Row: Sendable {
        public var category: String
        public var date: String
        public var amount: Money
        public var reference: String
        public var party: String
        public var detail: String
    }

    public var title: String
    public var scopeLines: [String]
    public var checks: [(String, String)]
    /// The rows of each category in report order: all of them, or the first `rowsPerCategory`.
    public var rows: [Row]
    /// Every row's count and sum per category, however many `rows` holds.
    public var totals: [String: (count: Int, sum: Money)] = [:]

    /// Categories in report order, with their headings.
    public static let categories: [(String, String)] = [
        ("matched", "已匹配 Matched"), ("suggested", "待确认 Suggested"), ("outstanding", "未支付 Outstanding"),
        ("unexpected", "未预期 Unexpected"), ("mismatch", "金额不符 Amount mismatch"), ("returned", "退汇 Returned"),
        ("duplicate", "重复支付 Duplicate"), ("other", "其他入账 Other credits"),
    ]

    /// The report of `scope`: with `rowsPerCategory`, each category's first rows only (a page a
    /// clerk reads: a nation batch's outstanding lines are hundreds of thousands), its totals
    /// still of every row.
    public static func load(
        _ scope: Scope, client: PostgresClient, logger: Logger, today: CivilDate, rowsPerCategory: Int? = nil
    ) async throws -> ReconciliationReport {
        let calendar = try await BatchInputLoader(client: client, logger: logger).calendar()
        // Lines of one batch share their export date: each age is counted once.
        var ages: [String: String] = [:]
        func age(_ exported: String) -> String {
            if let known = ages[exported] { return known }
            let text = countAge(exported)
            ages[exported] = text
            return text
        }
        func countAge(_ exported: String) -> String {
            guard let day = try? CivilDate.parse(exported, field: "") else { return "" }
            var count = 0
            var cursor = day
            while cursor < today {
                cursor = cursor + 1
                if calendar.isWorkingDay(cursor) { count += 1 }
            }
            return "\(count) 个工作日 working days since export \(exported)"
        }
        var report = ReconciliationReport(title: "", scopeLines: [], checks: [], rows: [])
        var statementID: Int64?
        var batchID: Int64?
        switch scope {
        case .statement(let id):
            var found = false
            for try await (account, number, currency, opening, openingDate, closing, closingDate, difference, continuity, note, source) in try await client.query(
                """
                SELECT account, statement_number, currency, opening_fen, opening_date::text, closing_fen, closing_date::text,
                       balance_difference_fen, continuity, continuity_note, source FROM statements WHERE id = \(id)
                """, logger: logger
            ).decode((String, String, String, Int64?, String?, Int64?, String?, Int64?, String, String, String).self) {
                found = true
                report.title = "对账报告 Reconciliation report — 对账单 Statement \(id)"
                report.scopeLines = ["账号 Account \(account) · 对账单号 Statement no. \(number) · \(currency) · 来源 Source \(source)"]
                report.checks = [
                    ("期初余额 Opening", opening.map { Money(fen: $0).grouped + " (\(openingDate ?? ""))" } ?? "—"),
                    ("期末余额 Closing", closing.map { Money(fen: $0).grouped + " (\(closingDate ?? ""))" } ?? "—"),
                    ("余额勾稽 Opening + entries = closing", difference.map { $0 == 0 ? "平衡 balanced" : "不平 off by \(Money(fen: $0).grouped)" } ?? "—"),
                    ("连续性 Continuity with the previous statement", continuity + (note.isEmpty ? "" : ": \(note)")),
                ]
            }
            guard found else { throw BatchError.notFound(id) }
            statementID = id
        case .batch(let id):
            let batch = try await BatchStore(client: client, logger: logger).summary(id)
            report.title = "对账报告 Reconciliation report — 批次 Batch \(id)"
            report.scopeLines = ["\(batch.program.chineseName) \(batch.program.rawValue) \(batch.year) · 状态 State \(batch.state.chineseName) \(batch.state.rawValue) · 合计 Total \(Money(fen: batch.totalFen).grouped)"]
            batchID = id
            var paidCount = 0
            var paidSum: Int64 = 0
            for try await (count, sum) in try await client.query(
                "SELECT count(*)::int, coalesce(sum(amount_fen), 0)::bigint FROM batch_lines WHERE batch_id = \(id) AND status = 'paid'", logger: logger
            ).decode((Int, Int64).self) {
                (paidCount, paidSum) = (count, sum)
            }
            report.checks = [("已支付明细 Lines paid", "\(paidCount) · \(Money(fen: paidSum).grouped)")]
        }
        // The ledger's head as the report was made: `subsidy ledger verify --expect` checks later
        // that nothing up to it was removed or rewritten.
        let head = try await Ledger(logger: logger).head(client)
        report.checks.append(("账簿校验点 Ledger head", head?.description ?? "—"))
        // Each category's count and sum over all its rows, and its first rows (row_number over
        // the category); the references are gathered for the rows kept only.
        for try await (category, date, amount, references, party, explanation, count, sum) in try await client.query(
            """
            SELECT t.category, coalesce(e.booking_date, e.value_date)::text, e.amount_fen,
                   coalesce((SELECT string_agg(bl.payment_ref, ' ' ORDER BY bl.id) FROM entry_lines el JOIN batch_lines bl ON bl.id = el.batch_line_id
                             WHERE el.entry_id = e.id), ''),
                   concat_ws(' ', e.counterparty_name, e.counterparty_account), e.explanation || ' — ' || e.description, t.n, t.total
            FROM (SELECT e.id, e.category, row_number() OVER (PARTITION BY e.category ORDER BY e.statement_id, e.entry_no) AS rn,
                         count(*) OVER (PARTITION BY e.category)::int AS n, sum(e.amount_fen) OVER (PARTITION BY e.category)::bigint AS total
                  FROM statement_entries e
                  WHERE (\(statementID)::bigint IS NOT NULL AND e.statement_id = \(statementID))
                     OR (\(batchID)::bigint IS NOT NULL
                         AND e.id IN (SELECT el.entry_id FROM entry_lines el JOIN batch_lines x ON x.id = el.batch_line_id WHERE x.batch_id = \(batchID)))) t
            JOIN statement_entries e ON e.id = t.id
            WHERE \(rowsPerCategory)::int IS NULL OR t.rn <= \(rowsPerCategory)
            ORDER BY e.statement_id, e.entry_no
            """, logger: logger
        ).decode((String, String?, Int64, String, String, String, Int, Int64).self) {
            report.rows.append(Row(category: category, date: date ?? "", amount: Money(fen: amount), reference: references, party: party, detail: explanation))
            report.totals[category] = (count, Money(fen: sum))
        }
        for try await (exported, amount, reference, party, status, count, sum) in try await client.query(
            """
            SELECT to_char(p.exported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), p.amount_fen, p.payment_ref,
                   concat_ws(' ', p.recipient_name, p.payee_account), p.status, count(*) OVER ()::int, sum(p.amount_fen) OVER ()::bigint
            FROM payable_lines p
            -- Outstanding: the batch's open lines, or those exported before the statement closed.
            WHERE p.open AND p.exported_at IS NOT NULL
              AND ((\(batchID)::bigint IS NOT NULL AND p.batch_id = \(batchID))
                   OR (\(statementID)::bigint IS NOT NULL AND p.exported_at <= coalesce(
                       (SELECT (closing_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' FROM statements WHERE id = \(statementID)), now())))
            ORDER BY p.id LIMIT \(rowsPerCategory)
            """, logger: logger
        ).decode((String, Int64, String, String, String, Int, Int64).self) {
            report.rows.append(Row(
                category: "outstanding", date: exported, amount: Money(fen: amount), reference: reference, party: party,
                detail: (status == "returned" ? "退汇后待重付 returned, to re-issue · " : "") + age(exported)))
            report.totals["outstanding"] = (count, Money(fen: sum))
        }
        return report
    }

    /// Count and sum per category, of every row.
    public var summary: [(key: String, heading: String, count: Int, sum: Money)] {
        Self.categories.map { key, heading in
            let total = totals[key] ?? (0, .zero)
            return (key, heading, total.count, total.sum)
        }
    }

    public var csv: String {
        var lines = [["类别 Category", "日期 Date", "金额 Amount", "附言/参考 Reference", "对方 Counterparty", "说明 Detail"]]
        lines.append([title, "", "", "", "", ""])
        for (key, heading, count, sum) in summary {
            lines.append(["汇总 Summary: \(heading)", "", sum.plain, "\(count) 笔 items", "", key])
        }
        for (label, value) in checks { lines.append(["核对 Check: \(label)", "", "", "", "", value]) }
        for row in rows {
            lines.append([row.category, row.date, row.amount.plain, row.reference, row.party, row.detail])
        }
        return "\u{FEFF}" + lines.map { $0.map(BatchExport.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    public var html: String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
                .replacingOccurrences(of: "\"", with: "&quot;")
        }
        var out = """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            @page { size: A4; margin: 15mm 12mm; }
            body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 10pt; color: #111; }
            h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 12pt; margin: 14pt 0 4pt; border-bottom: 1px solid #999; }
            table { border-collapse: collapse; width: 100%; page-break-inside: auto; } tr { page-break-inside: avoid; }
            th, td { border: 1px solid #bbb; padding: 2pt 4pt; vertical-align: top; text-align: left; }
            th { background: #eee; } td.amount { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
            .muted { color: #555; } thead { display: table-header-group; }
            </style></head><body>
            <h1>\(escape(title))</h1>

            """
        for line in scopeLines { out += "<p class=\"muted\">\(escape(line))</p>\n" }
        out += "<h2>汇总 Summary</h2>\n<table><thead><tr><th>类别 Category</th><th>笔数 Count</th><th>金额 Amount (CNY)</th></tr></thead><tbody>\n"
        for (_, heading, count, sum) in summary {
            out += "<tr><td>\(escape(heading))</td><td class=\"amount\">\(count)</td><td class=\"amount\">\(sum.grouped)</td></tr>\n"
        }
        out += "</tbody></table>\n"
        if !checks.isEmpty {
            out += "<h2>余额核对 Balance checks</h2>\n<table><tbody>\n"
            for (label, value) in checks { out += "<tr><th>\(escape(label))</th><td>\(escape(value))</td></tr>\n" }
            out += "</tbody></table>\n"
        }
        for (key, heading) in Self.categories {
            let rows = rows.filter { $0.category == key }
            guard !rows.isEmpty else { continue }
            out += "<h2>\(escape(heading)) · \(rows.count)</h2>\n<table><thead><tr><th>日期 Date</th><th>金额 Amount</th><th>附言/参考 Reference</th><th>对方 Counterparty</th><th>说明 Detail</th></tr></thead><tbody>\n"
            for row in rows {
                out += "<tr><td>\(escape(row.date))</td><td class=\"amount\">\(row.amount.grouped)</td><td>\(escape(row.reference))</td><td>\(escape(row.party))</td><td>\(escape(row.detail))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        out += "</body></html>\n"
        return out
    }
}
