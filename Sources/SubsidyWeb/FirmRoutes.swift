import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore

extension WebApp {
    var imports: QualificationImports { QualificationImports(client: client, logger: logger) }

    func addFirmRoutes(to router: Router<WebRequestContext>) {
        router.get("firms") { request, _ -> Response in
            let session = try await require(request)
            let q = (request.uri.queryParameters.get("q") ?? "").trimmingCharacters(in: .whitespaces)
            let sorts = ["name", "uscc", "district"]
            let paging = Paging(request, sorts: sorts, defaultSort: "name")
            var page = Page("firms", session: session)
            page["title"] = page.t("firms")
            page["q"] = q
            // The page, then the count. The sort's parameters are planned as constants, so a page
            // is read in the sort's order (the name's index, sql/044, or the code's) and the query
            // stops after it; a search's filter is then checked along that order. Counted in the
            // page's query (`count(*) OVER ()`), every firm was read and sorted for each page.
            var rows: [[String: Any]] = []
            for try await (uscc, name, district, qualified) in try await client.query(
                """
                SELECT f.uscc::text, f.name, coalesce(f.district, ''),
                       EXISTS (SELECT 1 FROM qualifications q WHERE q.firm_uscc = f.uscc AND current_date BETWEEN q.valid_from AND q.valid_to)
                FROM firms f
                WHERE \(q) = '' OR f.uscc = upper(\(q)) OR f.uscc LIKE upper(\(q)) || '%' OR f.name LIKE '%' || \(q) || '%'
                ORDER BY CASE WHEN \(paging.sort) = 'name' AND NOT \(paging.descending) THEN f.name END ASC,
                         CASE WHEN \(paging.sort) = 'name' AND \(paging.descending) THEN f.name END DESC,
                         CASE WHEN \(paging.sort) = 'uscc' AND NOT \(paging.descending) THEN f.uscc END ASC,
                         CASE WHEN \(paging.sort) = 'uscc' AND \(paging.descending) THEN f.uscc END DESC,
                         CASE WHEN \(paging.sort) = 'district' AND NOT \(paging.descending) THEN f.district END ASC,
                         CASE WHEN \(paging.sort) = 'district' AND \(paging.descending) THEN f.district END DESC, f.uscc
                LIMIT \(paging.size) OFFSET \(paging.offset)
                """, logger: logger
            ).decode((String, String, String, Bool).self) {
                rows.append(["uscc": uscc, "name": name, "district": district, "qualified": qualified])
            }
            var total = 0
            for try await count in try await client.query(
                """
                SELECT count(*)::int FROM firms f
                WHERE \(q) = '' OR f.uscc = upper(\(q)) OR f.uscc LIKE upper(\(q)) || '%' OR f.name LIKE '%' || \(q) || '%'
                """, logger: logger
            ).decode(Int.self) {
                total = count
            }
            page["rows"] = rows
            page["paging"] = paging.context(total: total, base: "/firms", keep: ["q": q], sorts: sorts)
            return render(page)
        }

        router.get("firms/import") { request, _ -> Response in
            let session = try await require(request, [.clerk])
            return importForm(session, values: [:], problems: [], error: nil)
        }

        router.post("firms/import") { request, _ -> Response in
            let (session, form) = try await change(request, [.clerk], maxBytes: QualificationList.maxBytes + 64 * 1024)
            var values: [String: String] = ["level": form["level"], "recognised": form.trimmed("recognised"), "source": form.trimmed("source")]
            guard ["innovative", "specialized", "little_giant"].contains(form["level"]) else {
                return importForm(session, values: values, problems: [], error: Page.text("import.levelRequired", session.language))
            }
            let day: CivilDate
            do { day = try CivilDate.parse(form.trimmed("recognised"), field: "recognised") } catch {
                return importForm(session, values: values, problems: [], error: Page.text("import.dateRequired", session.language))
            }
            guard !form.trimmed("source").isEmpty else {
                return importForm(session, values: values, problems: [], error: Page.text("import.sourceRequired", session.language))
            }
            guard let file = form.files["file"], !file.bytes.isEmpty else {
                return importForm(session, values: values, problems: [], error: Page.text("import.fileRequired", session.language))
            }
            values["fileName"] = file.name
            let (rows, problems) = QualificationList.read(file)
            guard problems.isEmpty else {
                return importForm(session, values: values, problems: problems, error: Page.text("import.refused", session.language))
            }
            let id = try await imports.saveDraft(fileName: file.name, level: form["level"], recognisedOn: day, source: form.trimmed("source"), rows: rows, by: session.user)
            return Self.redirect("/firms/import/\(id)")
        }

        router.get("firms/import/:id") { request, context -> Response in
            let session = try await require(request, [.clerk])
            guard let draft = try await imports.draft(Int64(context.parameters.get("id") ?? "") ?? 0), draft.state == "pending" else {
                return errorPage(session, status: .notFound, message: Page.text("import.gone", session.language))
            }
            return importReview(session, draft: draft, matches: try await imports.match(draft.rows), chosen: [:], error: nil)
        }

        router.post("firms/import/:id") { request, context -> Response in
            let (session, form) = try await change(request, [.clerk])
            let id = Int64(context.parameters.get("id") ?? "") ?? 0
            guard let draft = try await imports.draft(id), draft.state == "pending" else {
                return errorPage(session, status: .notFound, message: Page.text("import.gone", session.language))
            }
            if form["action"] == "abandon" {
                try await client.query("UPDATE qualification_imports SET state = 'abandoned' WHERE id = \(id) AND state = 'pending'", logger: logger)
                return Self.redirect("/firms/import")
            }
            let matches = try await imports.match(draft.rows)
            // Each unresolved row needs a choice: a USCC (typed or picked) or "leave out".
            var resolved: [Int: String?] = [:]
            var chosen: [Int: String] = [:]
            var problems: [String] = []
            let needing = matches.filter(\.needsClerk)
            var typed: [Int: String] = [:]
            for match in needing {
                let values = form.lists["row\(match.row.row)", default: []].map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
                let choice = values.contains("SKIP") ? "SKIP" : values.first { !$0.isEmpty } ?? ""
                chosen[match.row.row] = choice
                if choice == "SKIP" {
                    resolved[match.row.row] = .some(nil)
                } else if choice.isEmpty {
                    problems.append(Page.text("import.row", session.language) + " \(match.row.row): " + Page.text("import.chooseOne", session.language))
                } else if !USCC.isValid(choice) {
                    problems.append(Page.text("import.row", session.language) + " \(match.row.row): \(choice) " + Page.text("import.badUSCC", session.language))
                } else {
                    typed[match.row.row] = choice
                }
            }
            if !typed.isEmpty {
                var registered: Set<String> = []
                for try await uscc in try await client.query("SELECT uscc::text FROM firms WHERE uscc = ANY(\(Array(Set(typed.values)))::text[])", logger: logger).decode(String.self) {
                    registered.insert(uscc)
                }
                for (row, uscc) in typed.sorted(by: { $0.key < $1.key }) {
                    if registered.contains(uscc) {
                        resolved[row] = .some(uscc)
                    } else {
                        problems.append(Page.text("import.row", session.language) + " \(row): \(uscc) " + Page.text("import.notRegistered", session.language))
                    }
                }
            }
            guard problems.isEmpty else {
                return importReview(session, draft: draft, matches: matches, chosen: chosen, error: problems.joined(separator: "\n"))
            }
            let outcome = try await imports.commit(draft, matches: matches, resolved: resolved, by: session.user)
            var page = Page("import-done", session: session)
            page["title"] = page.t("import.title")
            page["outcome"] = ["added": outcome.added, "already": outcome.alreadyRecorded, "newFirms": outcome.newFirms, "leftOut": outcome.leftOut]
            page["draft"] = ["file": draft.fileName, "level": Show.level(draft.level, page.language), "recognised": draft.recognisedOn.description, "source": draft.source]
            return render(page)
        }

        router.get("firms/:uscc") { request, context -> Response in
            let session = try await require(request)
            let uscc = (context.parameters.get("uscc") ?? "").uppercased()
            return try await firmPage(session, uscc: uscc)
        }
    }

    func importForm(_ session: WebSession, values: [String: String], problems: [QualificationList.Problem], error: String?) -> Response {
        var page = Page("import", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("import.title")
        page["values"] = values
        page["levels"] = ["innovative", "specialized", "little_giant"].map { ["value": $0, "label": Show.level($0, page.language), "selected": values["level"] == $0] }
        page["error"] = error
        page["problems"] = problems.map { ["row": $0.row == 0 ? "—" : String($0.row), "column": $0.column, "message": $0.message] }
        return render(page)
    }

    func importReview(
        _ session: WebSession, draft: QualificationImports.Draft, matches: [QualificationMatch], chosen: [Int: String], error: String?
    ) -> Response {
        let id = draft.id
        var page = Page("import-review", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("import.title")
        page["draft"] = ["id": id, "file": draft.fileName, "level": Show.level(draft.level, page.language), "recognised": draft.recognisedOn.description, "source": draft.source, "rows": draft.rows.count]
        var ready: [[String: Any]] = []
        var toResolve: [[String: Any]] = []
        for match in matches {
            let row = match.row
            var item: [String: Any] = ["row": row.row, "uscc": row.uscc, "name": row.name, "district": row.district, "choice": chosen[row.row] ?? ""]
            switch match.outcome {
            case .firm(let uscc):
                item["matched"] = uscc
                item["note"] = match.registeredName.map { page.t("import.registeredAs") + " " + $0 } ?? (row.uscc.isEmpty ? page.t("import.byName") : "")
                ready.append(item)
            case .newFirm:
                item["matched"] = row.uscc
                item["note"] = page.t("import.newFirm")
                ready.append(item)
            case .unmatched:
                item["unmatched"] = true
                toResolve.append(item)
            case .ambiguous(let candidates):
                item["candidates"] = candidates.map { ["uscc": $0, "checked": chosen[row.row] == $0] }
                toResolve.append(item)
            }
        }
        page["ready"] = ready
        page["toResolve"] = toResolve
        page["allMatched"] = toResolve.isEmpty
        page["error"] = error
        return render(page)
    }

    func firmPage(_ session: WebSession, uscc: String) async throws -> Response {
        var page = Page("firm", session: session)
        var firm: [String: Any]?
        for try await (name, district, accountName, accountNo, bank) in try await client.query(
            "SELECT name, coalesce(district, ''), account_name, account_no, account_bank FROM firms WHERE uscc = \(uscc)", logger: logger
        ).decode((String, String, String?, String?, String?).self) {
            firm = ["uscc": uscc, "name": name, "district": district, "accountName": accountName ?? "", "accountNo": accountNo ?? "", "bank": bank ?? ""]
        }
        guard let firm else { return errorPage(session, status: .notFound, message: Page.text("firm.notFound", session.language) + " " + uscc) }
        page["title"] = firm["name"]
        page["firm"] = firm
        var qualifications: [[String: Any]] = []
        for try await (level, from, to, source, valid) in try await client.query(
            "SELECT level, valid_from::text, valid_to::text, source, current_date BETWEEN valid_from AND valid_to FROM qualifications WHERE firm_uscc = \(uscc) ORDER BY valid_from DESC",
            logger: logger
        ).decode((String, String, String, String, Bool).self) {
            qualifications.append(["level": Show.level(level, page.language), "from": from, "to": to, "source": source, "valid": valid])
        }
        page["qualifications"] = qualifications
        var loans: [[String: Any]] = []
        for try await (id, bank, loanNo, program, principal, start, maturity, records, paid) in try await client.query(
            """
            SELECT l.id, l.bank_code, l.loan_no, l.program, l.principal_fen, l.start_date::text, l.maturity_date::text,
                   (SELECT count(*) FROM interest_records r WHERE r.loan_id = l.id AND r.status = 'accepted')::int,
                   (SELECT coalesce(sum(paid_fen), 0) FROM interest_records r WHERE r.loan_id = l.id AND r.status = 'accepted')::bigint
            FROM loans l WHERE l.firm_uscc = \(uscc) ORDER BY l.start_date DESC
            """, logger: logger
        ).decode((Int64, String, String, String, Int64, String, String, Int, Int64).self) {
            loans.append(["id": id, "bank": bank, "loanNo": loanNo, "program": Program(rawValue: program).map { Show.program($0, page.language) } ?? program,
                          "principal": Show.fen(principal), "start": start, "maturity": maturity, "records": records, "paid": Show.fen(paid)])
        }
        page["loans"] = loans
        var records: [[String: Any]] = []
        // Every version of the firm's loans' records, a loan at a time (sql/047).
        for try await (loanNo, from, to, balance, paid, paidOn, version, status) in try await client.query(
            """
            SELECT l.loan_no, r.period_from::text, r.period_to::text, r.balance_fen, r.paid_fen, r.paid_on::text, r.version, r.status
            FROM loans l CROSS JOIN LATERAL loan_interest_records(l.id) r
            WHERE l.firm_uscc = \(uscc)
            ORDER BY r.paid_on DESC, r.id DESC LIMIT 200
            """, logger: logger
        ).decode((String, String, String, Int64, Int64, String, Int, String).self) {
            records.append(["loanNo": loanNo, "from": from, "to": to, "balance": Show.fen(balance), "paid": Show.fen(paid), "paidOn": paidOn,
                            "version": version, "status": page.t("record." + status), "superseded": status == "superseded"])
        }
        page["records"] = records
        // Awards granted per program-year, beside the firm's cap in the policy version of that year.
        var awards: [[String: Any]] = []
        for try await (program, year, granted, cap) in try await client.query(
            """
            SELECT g.program, g.year, sum(g.amount_fen)::bigint,
                   (SELECT (p.value::numeric * 100)::bigint FROM policy_parameters p JOIN policy_versions v ON v.id = p.version_id
                    WHERE p.key = g.program || '.firmCap' AND v.valid_from <= make_date(g.year, 12, 31) ORDER BY v.valid_from DESC LIMIT 1)
            FROM granted_lines g WHERE g.recipient_uscc = \(uscc) GROUP BY g.program, g.year ORDER BY g.year DESC, g.program
            """, logger: logger
        ).decode((String, Int, Int64, Int64?).self) {
            var row: [String: Any] = ["program": Program(rawValue: program).map { Show.program($0, page.language) } ?? program, "year": year, "granted": Show.fen(granted)]
            if let cap, cap > 0 {
                row["cap"] = Show.fen(cap)
                row["percent"] = min(100, Int(granted * 100 / cap))
            }
            awards.append(row)
        }
        page["awards"] = awards
        return render(page)
    }
}
