import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore

extension WebApp {
    var reconciliation: ReconciliationStore { ReconciliationStore(client: client, logger: logger) }

    func addReconciliationRoutes(to router: Router<WebRequestContext>) {
        router.get("reconciliation") { request, _ -> Response in
            let session = try await require(request)
            return try await reconciliationPage(request, session: session, error: nil, notice: nil)
        }

        router.post("reconciliation/upload") { request, _ -> Response in
            // The file (up to 64 MiB) is read holding one of the statement read slots the bank
            // API's uploads take, so that the files of clerks and banks held at once stay two;
            // then it is parsed and imported in the server's turn, held once (the form's copy
            // is dropped as the parser's is made). A clerk not signed in is told so before that.
            _ = try await require(request, [.clerk])
            return try await statementReads.run { () async throws -> Response in
                var (session, form) = try await change(request, [.clerk], maxBytes: StatementLimits.maxFileBytes + 64 * 1024)
                let name = form.files["file"]?.name ?? ""
                guard let file = form.files.removeValue(forKey: "file").map({ Data($0.bytes) }), !file.isEmpty else {
                    return try await reconciliationPage(request, session: session, error: Page.text("statement.fileRequired", session.language), notice: nil)
                }
                let format = StatementFormat(rawValue: form["format"])
                let profile = form["profile"].isEmpty ? nil : form["profile"]
                do {
                    let (store, user, source) = (reconciliation, session.user, "web:\(session.user.login):\(name)")
                    let summary = try await heavyWork.run { () async throws -> ImportSummary in
                        try await store.importStatements(try StatementParser.parse(file, format: format, profile: profile), source: source, by: user)
                    }
                    let notice = Page.text("statement.imported", session.language)
                        + " \(summary.statementIDs.count) · \(summary.entries) " + Page.text("statement.entries", session.language)
                        + (summary.alreadyImported > 0 ? " · \(summary.alreadyImported) " + Page.text("statement.already", session.language) : "")
                    if summary.statementIDs.count == 1, let id = summary.statementIDs.first {
                        return Self.redirect("/reconciliation/statements/\(id)")
                    }
                    return try await reconciliationPage(request, session: session, error: nil, notice: notice)
                } catch {
                    return try await reconciliationPage(request, session: session, error: name + ": " + message(error, session.language), notice: nil)
                }
            }
        }

        router.get("reconciliation/statements/:id") { request, context -> Response in
            let session = try await require(request)
            return try await reportPage(session, scope: .statement(pathID(context)), back: "/reconciliation")
        }
        router.get("reconciliation/batches/:id") { request, context -> Response in
            let session = try await require(request)
            let id = try pathID(context)
            return try await reportPage(session, scope: .batch(id), back: "/batches/\(id)")
        }
        router.get("reconciliation/statements/:id/download") { request, context -> Response in
            let session = try await require(request)
            return try await reportDownload(request, session: session, scope: .statement(pathID(context)))
        }
        router.get("reconciliation/batches/:id/download") { request, context -> Response in
            let session = try await require(request)
            return try await reportDownload(request, session: session, scope: .batch(pathID(context)))
        }

        router.post("reconciliation/suggestions") { request, _ -> Response in
            let (session, form) = try await change(request, [.clerk])
            guard let entry = Int64(form["entry"]), let line = Int64(form["line"]) else {
                return try await reconciliationPage(request, session: session, error: "entry, line", notice: nil)
            }
            do {
                if form["decision"] == "confirm" {
                    try await reconciliation.confirmSuggestion(entryID: entry, lineID: line, by: session.user)
                } else {
                    try await reconciliation.rejectSuggestion(entryID: entry, lineID: line, reason: form["reason"], by: session.user)
                }
                return Self.redirect("/reconciliation")
            } catch {
                return try await reconciliationPage(request, session: session, error: message(error, session.language), notice: nil)
            }
        }
    }

    /// A report page shows each category's first rows, with every row's count and sum: a nation
    /// batch's report was hundreds of thousands of rows, rendered whole in the server's memory.
    static let reportRowsPerCategory = 200

    func reportPage(_ session: WebSession, scope: ReconciliationReport.Scope, back: String) async throws -> Response {
        let report: ReconciliationReport
        do {
            report = try await ReconciliationReport.load(
                scope, client: client, logger: logger, today: try await businessDay() ?? .todayInBeijing(), rowsPerCategory: Self.reportRowsPerCategory)
        } catch {
            return errorPage(session, status: .notFound, message: message(error, session.language))
        }
        var page = Page("report", session: session)
        page["title"] = report.title
        page["back"] = back
        page["download"] = Self.reportPath(scope) + "/download"
        page["scopeLines"] = report.scopeLines
        page["checks"] = report.checks.map { ["name": $0.0, "value": $0.1] }
        var sections: [[String: Any]] = []
        for (category, heading, count, sum) in report.summary where count > 0 {
            let rows = report.rows.filter { $0.category == category }
            sections.append([
                "heading": heading, "count": count, "sum": Show.money(sum), "shown": rows.count, "partial": rows.count < count,
                "rows": rows.map { ["date": $0.date, "amount": Show.money($0.amount), "reference": $0.reference, "party": $0.party, "detail": $0.detail] },
            ])
        }
        page["sections"] = sections
        return render(page)
    }

    static func reportPath(_ scope: ReconciliationReport.Scope) -> String {
        switch scope {
        case .statement(let id): "/reconciliation/statements/\(id)"
        case .batch(let id): "/reconciliation/batches/\(id)"
        }
    }

    /// The whole report, every row, as an `.xlsx` (amounts as numbers, account numbers as text),
    /// a CSV or a printable HTML file: written into a file as it is read, then sent (`download`),
    /// so that a nation batch's report takes the server no more memory than a small one's, and a
    /// failure midway sends an error, never a report cut short.
    func reportDownload(_ request: Request, session: WebSession, scope: ReconciliationReport.Scope) async throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "xlsx"
        guard let type = ReportFile.types[format] else {
            return errorPage(session, status: .badRequest, message: Page.text("report.format", session.language))
        }
        let directory = try BufferedFile.temporaryDirectory()
        do {
            let today = try await businessDay() ?? .todayInBeijing()
            let written = try await ReportFile.write(scope, format: format, client: client, logger: logger, today: today, in: directory)
            let subject = switch scope {
            case .statement(let id): "statement:\(id)"
            case .batch(let id): "batch:\(id)"
            }
            try await users.audit(session.user, action: "report.download", subject: subject, detail: ["file": format])
            let name = "reconciliation-\(subject.replacingOccurrences(of: ":", with: "-")) 对账报告.\(format)"
            return try download(written, removing: directory, name: name, type: type)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            if case BatchError.notFound = error { return errorPage(session, status: .notFound, message: message(error, session.language)) }
            throw error
        }
    }

    func reconciliationPage(_ request: Request, session: WebSession, error: String?, notice: String?) async throws -> Response {
        var page = Page("reconciliation", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("reconciliation")
        page["error"] = error
        page["notice"] = notice
        page["profiles"] = BankCSVProfiles.all.map { ["name": $0.name, "description": $0.description] }
        var statements: [[String: Any]] = []
        for try await (id, source, format, account, number, closing, continuity, entries, imported, matched, suggested) in try await client.query(
            """
            SELECT s.id, s.source, s.format, s.account, s.statement_number, coalesce(s.closing_date::text, ''), s.continuity, s.entries,
                   to_char(s.imported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),
                   (SELECT count(*) FROM statement_entries e WHERE e.statement_id = s.id AND e.category = 'matched')::int,
                   (SELECT count(*) FROM statement_entries e WHERE e.statement_id = s.id AND e.category = 'suggested')::int
            FROM statements s ORDER BY s.id DESC LIMIT 100
            """, logger: logger
        ).decode((Int64, String, String, String, String, String, String, Int, String, Int, Int).self) {
            statements.append(["id": id, "source": source, "format": format, "account": account, "number": number, "closing": closing,
                               "continuity": continuity, "entries": entries, "imported": imported, "matched": matched, "suggested": suggested,
                               "byDaemon": source.hasPrefix("file:") || source.hasPrefix("upload:")])
        }
        page["statements"] = statements
        var uploads: [[String: Any]] = []
        for try await (id, name, status, error, received) in try await client.query(
            """
            SELECT id, name, status, coalesce(error, ''), to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
            FROM statement_uploads WHERE status <> 'processed' ORDER BY id DESC LIMIT 50
            """, logger: logger
        ).decode((Int64, String, String, String, String).self) {
            uploads.append(["id": id, "name": name, "status": page.t("upload." + status), "error": error, "received": received])
        }
        page["uploads"] = uploads
        var suggestions: [[String: Any]] = []
        for try await (entry, line, date, amount, party, explanation, reference, recipient, lineAmount, batch) in try await client.query(
            """
            SELECT e.id, bl.id, coalesce(e.booking_date, e.value_date)::text, e.amount_fen, concat_ws(' ', e.counterparty_name, e.counterparty_account),
                   e.explanation, bl.payment_ref, bl.recipient_name || ' ' || bl.recipient_uscc, bl.amount_fen, bl.batch_id
            FROM statement_entries e JOIN entry_lines el ON el.entry_id = e.id AND el.kind = 'suggestion' JOIN batch_lines bl ON bl.id = el.batch_line_id
            WHERE e.category = 'suggested' ORDER BY e.id, bl.id LIMIT 200
            """, logger: logger
        ).decode((Int64, Int64, String?, Int64, String, String, String, String, Int64, Int64).self) {
            suggestions.append(["entry": entry, "line": line, "date": date ?? "", "amount": Show.fen(amount), "party": party, "explanation": explanation,
                                "reference": reference, "recipient": recipient, "lineAmount": Show.fen(lineAmount), "batch": batch])
        }
        page["suggestions"] = suggestions
        // Lines still waiting for their money, oldest export first (the first 500), with their
        // age in days; the age buckets count all of them.
        let today = try await businessDay() ?? .todayInBeijing()
        var outstanding: [[String: Any]] = []
        for try await (batch, reference, name, amount, exported, age) in try await client.query(
            """
            SELECT p.batch_id, p.payment_ref, p.recipient_name, p.amount_fen, to_char(p.exported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
                   (\(today)::date - (p.exported_at AT TIME ZONE 'Asia/Shanghai')::date)::int
            FROM payable_lines p WHERE p.open AND p.exported_at IS NOT NULL ORDER BY p.exported_at, p.batch_id, p.line_no LIMIT 500
            """, logger: logger
        ).decode((Int64, String, String, Int64, String, Int).self) {
            outstanding.append(["batch": batch, "reference": reference, "name": name, "amount": Show.fen(amount), "exported": exported, "age": max(0, age),
                                "old": age > 30])
        }
        page["outstanding"] = outstanding
        var buckets = [0, 0, 0, 0]
        var bucketSums: [Int64] = [0, 0, 0, 0]
        for try await (bucket, count, sum) in try await client.query(
            """
            SELECT b, count(*)::int, sum(amount_fen)::bigint FROM (
                SELECT p.amount_fen, CASE WHEN a <= 7 THEN 0 WHEN a <= 30 THEN 1 WHEN a <= 90 THEN 2 ELSE 3 END AS b
                FROM payable_lines p, LATERAL (SELECT \(today)::date - (p.exported_at AT TIME ZONE 'Asia/Shanghai')::date AS a) age
                WHERE p.open AND p.exported_at IS NOT NULL) t
            GROUP BY b
            """, logger: logger
        ).decode((Int, Int, Int64).self) {
            buckets[bucket] = count
            bucketSums[bucket] = sum
        }
        page["buckets"] = ["0–7", "8–30", "31–90", "> 90"].enumerated().map { ["label": $0.element, "count": buckets[$0.offset], "sum": Show.fen(bucketSums[$0.offset])] }
        return render(page)
    }
}
