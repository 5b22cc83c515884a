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

    /// Output formats: `html` prints on A4, `csv` is UTF-8 with a BOM (Excel and WPS read it).
    public enum Format: String, Sendable, CaseIterable {
        case html, csv
    }

    /// The report of `scope`: with `rowsPerCategory`, each category's first rows only (a page a
    /// clerk reads: a nation batch's outstanding lines are hundreds of thousands), its totals
    /// still of every row. The whole report, of any size, is `write`'s.
    public static func load(
        _ scope: Scope, client: PostgresClient, logger: Logger, today: CivilDate, rowsPerCategory: Int? = nil
    ) async throws -> ReconciliationReport {
        var report = ReconciliationReport(title: "", scopeLines: [], checks: [], rows: [])
        var rows: [Row] = []
        try await read(scope, client: client, logger: logger, today: today, rowsPerCategory: rowsPerCategory) { report = $0 } row: { rows.append($0) }
        report.rows = rows
        return report
    }

    /// Writes the whole report of `scope` into `file` as it is read: the heading with every
    /// category's count and sum, then each category's rows, each written as it comes from the
    /// database. A nation batch's report (hundreds of thousands of rows, all held before: about
    /// 1 kB a row with its text) takes the memory of one row and the file's buffer.
    public static func write(
        _ scope: Scope, format: Format, client: PostgresClient, logger: Logger, today: CivilDate, to file: BufferedFile
    ) async throws {
        let text = Renderer(format: format)
        var sections = text.sections([:])
        try await read(scope, client: client, logger: logger, today: today, rowsPerCategory: nil) { report in
            sections = text.sections(report.totals)
            try file.write(text.opening(report).utf8)
        } row: { try file.write(sections.add($0).utf8) }
        try file.write(sections.end.utf8)
        try file.close()
    }

    /// Reads the report of `scope` in one snapshot (`REPEATABLE READ`, so that the counts and
    /// sums given to `heading` are those of the rows that follow): the heading, checks and every
    /// category's count and sum first, then the rows category by category in report order
    /// (each category's first `rowsPerCategory` when given), each given to `row` as it is read.
    public static func read(
        _ scope: Scope, client: PostgresClient, logger: Logger, today: CivilDate, rowsPerCategory: Int?,
        heading: (ReconciliationReport) throws -> Void, row: (Row) throws -> Void
    ) async throws {
        let calendar = try await BatchInputLoader(client: client, logger: logger).calendar()
        // Lines of one batch share their export date: each age is counted once.
        var ages: [String: String] = [:]
        func age(_ exported: String) -> String {
            if let known = ages[exported] { return known }
            var text = ""
            if let day = try? CivilDate.parse(exported, field: "") {
                var count = 0
                var cursor = day
                while cursor < today {
                    cursor = cursor + 1
                    if calendar.isWorkingDay(cursor) { count += 1 }
                }
                text = "\(count) 个工作日 working days since export \(exported)"
            }
            ages[exported] = text
            return text
        }
        let (statementID, batchID): (Int64?, Int64?) = switch scope {
        case .statement(let id): (id, nil)
        case .batch(let id): (nil, id)
        }
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: logger)
            var report = try await Self.heading(scope, on: connection, logger: logger)
            // The scope's entries and outstanding lines (the batch's open lines, or those exported
            // before the statement closed), found once into tables of this transaction's own:
            // the counts, sums and rows below read those. Found in each of them instead, a nation
            // batch's page took 4.6 s against 2.9 s before the counts came first (finding a
            // batch's entries walks its 537,241 lines: about a second each time).
            try await connection.query(
                """
                CREATE TEMP TABLE report_entries (id bigint, category text, statement_id bigint, entry_no int, amount_fen bigint) ON COMMIT DROP
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO report_entries
                SELECT e.id, e.category, e.statement_id, e.entry_no, e.amount_fen
                FROM statement_entries e
                WHERE (\(statementID)::bigint IS NOT NULL AND e.statement_id = \(statementID))
                   OR (\(batchID)::bigint IS NOT NULL
                       AND e.id IN (SELECT el.entry_id FROM entry_lines el JOIN batch_lines x ON x.id = el.batch_line_id WHERE x.batch_id = \(batchID)))
                """, logger: logger)
            try await connection.query(
                """
                CREATE TEMP TABLE report_outstanding (id bigint, exported text, amount_fen bigint, payment_ref text, party text, status text) ON COMMIT DROP
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO report_outstanding
                SELECT p.id, to_char(p.exported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), p.amount_fen, p.payment_ref,
                       concat_ws(' ', p.recipient_name, p.payee_account), p.status
                FROM payable_lines p
                WHERE p.open AND p.exported_at IS NOT NULL
                  AND ((\(batchID)::bigint IS NOT NULL AND p.batch_id = \(batchID))
                       OR (\(statementID)::bigint IS NOT NULL AND p.exported_at <= coalesce(
                           (SELECT (closing_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' FROM statements WHERE id = \(statementID)), now())))
                """, logger: logger)
            try await connection.query("ANALYZE report_entries, report_outstanding", logger: logger)
            // Each category's count and sum over all its rows.
            for try await (category, count, sum) in try await connection.query(
                """
                SELECT category, count(*)::int, sum(amount_fen)::bigint FROM report_entries GROUP BY category
                UNION ALL
                SELECT 'outstanding', count(*)::int, coalesce(sum(amount_fen), 0)::bigint FROM report_outstanding
                """, logger: logger
            ).decode((String, Int, Int64).self) where count > 0 {
                report.totals[category] = (count, Money(fen: sum))
            }
            try heading(report)
            // The rows: the entries' categories before the outstanding lines, those lines, then
            // the entries' other categories — a query each, in the categories' order. Each
            // entry's references are gathered for the rows kept only.
            let keys = categories.map(\.0)
            let split = keys.firstIndex(of: "outstanding")!
            for group in [Array(keys[..<split]), Array(keys[(split + 1)...])] {
                for try await (category, date, amount, references, party, explanation) in try await connection.query(
                    """
                    SELECT e.category, coalesce(e.booking_date, e.value_date)::text, e.amount_fen,
                           -- Each line once: a confirmed suggestion links its line twice (suggestion, payment).
                           coalesce((SELECT string_agg(DISTINCT bl.payment_ref, ' ' ORDER BY bl.payment_ref) FROM entry_lines el
                                     JOIN batch_lines bl ON bl.id = el.batch_line_id WHERE el.entry_id = e.id), ''),
                           concat_ws(' ', e.counterparty_name, e.counterparty_account), e.explanation || ' — ' || e.description
                    FROM (SELECT r.id, r.category, r.statement_id, r.entry_no,
                                 row_number() OVER (PARTITION BY r.category ORDER BY r.statement_id, r.entry_no) AS rn
                          FROM report_entries r WHERE r.category = ANY(\(group)::text[])) t
                    JOIN statement_entries e ON e.id = t.id
                    WHERE \(rowsPerCategory)::int IS NULL OR t.rn <= \(rowsPerCategory)
                    ORDER BY array_position(\(group)::text[], t.category), t.statement_id, t.entry_no
                    """, logger: logger
                ).decode((String, String?, Int64, String, String, String).self) {
                    try row(Row(category: category, date: date ?? "", amount: Money(fen: amount), reference: references, party: party, detail: explanation))
                }
                guard group.first == keys.first, report.totals["outstanding"] != nil else { continue }
                for try await (exported, amount, reference, party, status) in try await connection.query(
                    "SELECT exported, amount_fen, payment_ref, party, status FROM report_outstanding ORDER BY id LIMIT \(rowsPerCategory)", logger: logger
                ).decode((String, Int64, String, String, String).self) {
                    try row(Row(
                        category: "outstanding", date: exported, amount: Money(fen: amount), reference: reference, party: party,
                        detail: (status == "returned" ? "退汇后待重付 returned, to re-issue · " : "") + age(exported)))
                }
            }
        }
    }

    /// The report's title, scope and checks (the statement's balances, or what the batch paid),
    /// with the ledger's head as the report was made.
    static func heading(_ scope: Scope, on connection: PostgresConnection, logger: Logger) async throws -> ReconciliationReport {
        var report = ReconciliationReport(title: "", scopeLines: [], checks: [], rows: [])
        switch scope {
        case .statement(let id):
            var found = false
            for try await (account, number, currency, opening, openingDate, closing, closingDate, difference, continuity, note, source) in try await connection.query(
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
        case .batch(let id):
            var found = false
            for try await (program, year, state, total, paidCount, paidSum) in try await connection.query(
                """
                SELECT b.program, b.year, b.state, b.total_fen,
                       (SELECT count(*) FROM batch_lines WHERE batch_id = b.id AND status = 'paid')::int,
                       (SELECT coalesce(sum(amount_fen), 0) FROM batch_lines WHERE batch_id = b.id AND status = 'paid')::bigint
                FROM batches b WHERE b.id = \(id)
                """, logger: logger
            ).decode((String, Int, String, Int64, Int, Int64).self) {
                guard let program = Program(rawValue: program), let state = BatchState(rawValue: state) else { continue }
                found = true
                report.title = "对账报告 Reconciliation report — 批次 Batch \(id)"
                report.scopeLines = [
                    "\(program.chineseName) \(program.rawValue) \(year) · 状态 State \(state.chineseName) \(state.rawValue) · 合计 Total \(Money(fen: total).grouped)"
                ]
                report.checks = [("已支付明细 Lines paid", "\(paidCount) · \(Money(fen: paidSum).grouped)")]
            }
            guard found else { throw BatchError.notFound(id) }
        }
        // The ledger's head as the report was made: `subsidy ledger verify --expect` checks later
        // that nothing up to it was removed or rewritten.
        let head = try await Ledger(logger: logger).head(on: connection)
        report.checks.append(("账簿校验点 Ledger head", head?.description ?? "—"))
        return report
    }

    /// Count and sum per category, of every row.
    public var summary: [(key: String, heading: String, count: Int, sum: Money)] {
        Self.categories.map { key, heading in
            let total = totals[key] ?? (0, .zero)
            return (key, heading, total.count, total.sum)
        }
    }

    /// The table's rows before the report's rows, as cells (the CSV's and the web's `.xlsx`):
    /// the columns' headings, the title, each category's count and sum, the checks.
    public static func openingCells(_ report: ReconciliationReport) -> [[BatchExport.Cell]] {
        var rows: [[BatchExport.Cell]] = [
            ["类别 Category", "日期 Date", "金额 Amount", "附言/参考 Reference", "对方 Counterparty", "说明 Detail"].map(BatchExport.Cell.text),
            [.text(report.title), .text(""), .text(""), .text(""), .text(""), .text("")],
        ]
        for (key, heading, count, sum) in report.summary {
            rows.append([.text("汇总 Summary: \(heading)"), .text(""), .amount(sum), .text("\(count) 笔 items"), .text(""), .text(key)])
        }
        for (label, value) in report.checks {
            rows.append([.text("核对 Check: \(label)"), .text(""), .text(""), .text(""), .text(""), .text(value)])
        }
        return rows
    }

    /// A report row as cells: its amount a number, the rest text (an account number stays text).
    public static func cells(_ row: Row) -> [BatchExport.Cell] {
        [.text(row.category), .text(row.date), .amount(row.amount), .text(row.reference), .text(row.party), .text(row.detail)]
    }

    /// The report as CSV: what `write` writes in that format.
    public var csv: String { rendered(.csv) }

    /// The report as HTML: what `write` writes in that format.
    public var html: String { rendered(.html) }

    /// The rows are in report order, as `read` gives them.
    func rendered(_ format: Format) -> String {
        let text = Renderer(format: format)
        var sections = text.sections(totals)
        return text.opening(self) + rows.map { sections.add($0) }.joined() + sections.end
    }

    /// The report's text in one format, a part at a time: its opening (title, summary, checks),
    /// each category's section and rows, its closing.
    struct Renderer {
        let format: Format

        static func escape(_ text: String) -> String { Markup.escape(text) }

        func opening(_ report: ReconciliationReport) -> String {
            switch format {
            case .csv:
                return "\u{FEFF}" + ReconciliationReport.openingCells(report).map(BatchExport.csvRow).joined()
            case .html:
                var out = """
                    <!DOCTYPE html>
                    <html lang="zh-CN"><head><meta charset="utf-8"><title>\(Self.escape(report.title))</title>
                    <style>
                    @page { size: A4; margin: 15mm 12mm; }
                    body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 10pt; color: #111; }
                    h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 12pt; margin: 14pt 0 4pt; border-bottom: 1px solid #999; }
                    table { border-collapse: collapse; width: 100%; page-break-inside: auto; } tr { page-break-inside: avoid; }
                    th, td { border: 1px solid #bbb; padding: 2pt 4pt; vertical-align: top; text-align: left; }
                    th { background: #eee; } td.amount { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
                    .muted { color: #555; } thead { display: table-header-group; }
                    </style></head><body>
                    <h1>\(Self.escape(report.title))</h1>

                    """
                for line in report.scopeLines { out += "<p class=\"muted\">\(Self.escape(line))</p>\n" }
                out += "<h2>汇总 Summary</h2>\n<table><thead><tr><th>类别 Category</th><th>笔数 Count</th><th>金额 Amount (CNY)</th></tr></thead><tbody>\n"
                for (_, heading, count, sum) in report.summary {
                    out += "<tr><td>\(Self.escape(heading))</td><td class=\"amount\">\(count)</td><td class=\"amount\">\(sum.grouped)</td></tr>\n"
                }
                out += "</tbody></table>\n"
                if !report.checks.isEmpty {
                    out += "<h2>余额核对 Balance checks</h2>\n<table><tbody>\n"
                    for (label, value) in report.checks { out += "<tr><th>\(Self.escape(label))</th><td>\(Self.escape(value))</td></tr>\n" }
                    out += "</tbody></table>\n"
                }
                return out
            }
        }

        /// A category's heading (HTML: with its count of rows) and its table's head.
        func sectionOpening(_ key: String, count: Int) -> String {
            guard format == .html else { return "" }
            let heading = ReconciliationReport.categories.first { $0.0 == key }?.1 ?? key
            return "<h2>\(Self.escape(heading)) · \(count)</h2>\n<table><thead><tr><th>日期 Date</th><th>金额 Amount</th><th>附言/参考 Reference</th>"
                + "<th>对方 Counterparty</th><th>说明 Detail</th></tr></thead><tbody>\n"
        }

        func row(_ row: Row) -> String {
            switch format {
            case .csv: BatchExport.csvRow(ReconciliationReport.cells(row))
            case .html:
                "<tr><td>\(Self.escape(row.date))</td><td class=\"amount\">\(row.amount.grouped)</td><td>\(Self.escape(row.reference))</td>"
                    + "<td>\(Self.escape(row.party))</td><td>\(Self.escape(row.detail))</td></tr>\n"
            }
        }

        var sectionClosing: String { format == .html ? "</tbody></table>\n" : "" }

        var closing: String { format == .html ? "</body></html>\n" : "" }

        func sections(_ totals: [String: (count: Int, sum: Money)]) -> Sections { Sections(text: self, totals: totals) }

        /// The rows, in report order, with their sections: each category's opened at its first
        /// row (with its count of all rows), the one before closed.
        struct Sections {
            let text: Renderer
            let totals: [String: (count: Int, sum: Money)]
            var current: String?

            mutating func add(_ row: Row) -> String {
                var out = ""
                if row.category != current {
                    if current != nil { out += text.sectionClosing }
                    current = row.category
                    out += text.sectionOpening(row.category, count: totals[row.category]?.count ?? 0)
                }
                return out + text.row(row)
            }

            /// The last section's closing and the report's.
            var end: String { (current == nil ? "" : text.sectionClosing) + text.closing }
        }
    }
}
