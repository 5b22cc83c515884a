import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore

extension WebApp {
    func addHomeRoutes(to router: Router<WebRequestContext>) {
        router.get("/") { request, _ -> Response in
            let session = try await require(request)
            var page = Page("home", session: session)
            page["title"] = page.t("home")
            var byState: [String: (count: Int, total: Int64)] = [:]
            for try await (state, count, total) in try await client.query(
                "SELECT state, count(*)::int, coalesce(sum(total_fen), 0)::bigint FROM batches GROUP BY state", logger: logger
            ).decode((String, Int, Int64).self) {
                byState[state] = (count, total)
            }
            // In the lifecycle's order.
            page["states"] = BatchState.allCases.compactMap { state -> [String: Any]? in
                guard let row = byState[state.rawValue] else { return nil }
                return ["state": Show.state(state, page.language), "key": state.rawValue, "count": row.count, "total": Show.fen(row.total)]
            }
            var budgets: [[String: Any]] = []
            for try await (program, year, budget, used) in try await client.query(
                """
                SELECT b.program, b.year, b.amount_fen,
                       coalesce((SELECT sum(x.total_fen) FROM batches x
                                 WHERE x.program = b.program AND x.year = b.year AND x.state IN ('approved', 'exported', 'paid', 'closed')), 0)::bigint
                FROM budgets b ORDER BY b.year DESC, b.program
                """, logger: logger
            ).decode((String, Int, Int64, Int64).self) {
                guard let program = Program(rawValue: program) else { continue }
                let percent = budget > 0 ? min(100, Int(used * 100 / budget)) : 0
                budgets.append([
                    "program": Show.program(program, page.language), "year": year, "budget": Show.fen(budget), "used": Show.fen(used),
                    "percent": percent, "over": used > budget,
                ])
            }
            page["budgets"] = budgets
            for try await (waiting, suggested, rejected) in try await client.query(
                """
                SELECT (SELECT count(*) FROM statement_uploads WHERE status = 'pending')::int,
                       (SELECT count(*) FROM statement_entries WHERE category = 'suggested')::int,
                       (SELECT count(*) FROM statement_uploads WHERE status = 'rejected')::int
                """, logger: logger
            ).decode((Int, Int, Int).self) {
                page["statementsWaiting"] = waiting
                page["suggestionsWaiting"] = suggested
                page["uploadsRejected"] = rejected
            }
            let head = try await Ledger(logger: logger).head(client)
            page["ledgerHead"] = head?.description ?? "—"
            if let day = try await businessDay() { page["rehearsalDay"] = day.description }
            return render(page)
        }
    }

    // MARK: Audit

    func addAuditRoutes(to router: Router<WebRequestContext>) {
        router.get("audit") { request, _ -> Response in
            let session = try await require(request, [.auditor])
            return try await auditPage(request, session: session, verification: nil)
        }
        router.post("audit/verify") { request, _ -> Response in
            let (session, form) = try await change(request, [.auditor])
            let expect = form.trimmed("expect")
            var expected: LedgerHead?
            if !expect.isEmpty {
                guard let head = LedgerHead.parse(expect) else {
                    return try await auditPage(request, session: session, verification: ["ok": false, "text": Page.text("headFormat", session.language)])
                }
                expected = head
            }
            let report = try await Ledger(logger: logger).verify(client, expect: expected)
            try await users.audit(session.user, action: "ledger.verify", subject: "ledger", detail: [
                "entries": String(report.entriesChecked), "intact": String(report.isIntact), "head": report.head?.description ?? "",
            ])
            let text: String
            if let broken = report.firstBroken {
                text = Page.text("ledgerBroken", session.language) + " #\(broken.seq): \(broken.reason)"
            } else {
                text = Page.text("ledgerIntact", session.language) + " — \(report.entriesChecked) · \(report.head?.description ?? "—")"
            }
            return try await auditPage(request, session: session, verification: ["ok": report.isIntact, "text": text])
        }
    }

    func auditPage(_ request: Request, session: WebSession, verification: [String: Any]?) async throws -> Response {
        let query = request.uri.queryParameters
        let user = query.get("user") ?? "", action = query.get("action") ?? "", subject = query.get("subject") ?? ""
        let from = query.get("from") ?? "", to = query.get("to") ?? ""
        var page = Page("audit", session: session)
        page["title"] = page.t("audit")
        page["filter"] = ["user": user, "action": action, "subject": subject, "from": from, "to": to]
        page["verification"] = verification
        var dates: (String?, String?) = (nil, nil)
        do {
            if !from.isEmpty { dates.0 = try CivilDate.parse(from, field: "from").description }
            if !to.isEmpty { dates.1 = try CivilDate.parse(to, field: "to").description }
        } catch {
            page["error"] = message(error, session.language)
        }
        // Newest first unless asked otherwise.
        let paging = Paging(request, sorts: ["at"], defaultSort: "at", descendingByDefault: true, size: 100)
        var rows: [[String: Any]] = []
        var total = 0
        for try await (at, login, act, subj, detail, count) in try await client.query(
            """
            SELECT to_char(a.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'), coalesce(u.login, '—'), a.action, a.subject, a.detail::text,
                   count(*) OVER ()::int
            FROM audit_log a LEFT JOIN users u ON u.id = a.actor
            WHERE (\(user) = '' OR u.login = \(user)) AND (\(action) = '' OR a.action LIKE \(action) || '%')
              AND (\(subject) = '' OR a.subject LIKE '%' || \(subject) || '%')
              AND (\(dates.0)::date IS NULL OR a.at >= (\(dates.0)::date)::timestamp AT TIME ZONE 'Asia/Shanghai')
              AND (\(dates.1)::date IS NULL OR a.at < (\(dates.1)::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
            ORDER BY CASE WHEN NOT \(paging.descending) THEN a.id END ASC, a.id DESC
            LIMIT \(paging.size) OFFSET \(paging.offset)
            """, logger: logger
        ).decode((String, String, String, String, String, Int).self) {
            total = count
            rows.append(["at": at, "user": login, "action": act, "subject": subj, "detail": String(detail.prefix(400))])
        }
        page["rows"] = rows
        page["paging"] = paging.context(total: total, base: "/audit", keep: ["user": user, "action": action, "subject": subject, "from": from, "to": to], sorts: ["at"])
        page["ledgerHead"] = try await Ledger(logger: logger).head(client)?.description ?? "—"
        return render(page)
    }
}
