import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore

/// Batch computations running in the background: the page that started one stays usable and
/// shows the progress the store reports. A computation writes in one transaction, so a server
/// stopped midway leaves the batch as it was.
actor ComputeJobs {
    struct Job: Sendable {
        var running: Bool
        var message: String
        var error: String?
        /// What a finished job has to show (a trial's figures), if anything.
        var result: String?
        var startedAt: Date
    }

    private var jobs: [Int64: Job] = [:]

    func job(_ batch: Int64) -> Job? { jobs[batch] }

    /// Starts `work` unless one is running for the batch; false when one already is. What the
    /// work returns is shown on the batch's page when it is done.
    func start(_ batch: Int64, _ work: @escaping @Sendable (@escaping @Sendable (String) -> Void) async throws -> String?,
               describe: @escaping @Sendable (any Error) -> String) -> Bool {
        if jobs[batch]?.running == true { return false }
        jobs[batch] = Job(running: true, message: "…", error: nil, startedAt: Date())
        Task {
            do {
                let result = try await work { message in Task { await self.update(batch, message) } }
                self.finish(batch, error: nil, result: result)
            } catch {
                self.finish(batch, error: describe(error), result: nil)
            }
        }
        return true
    }

    func update(_ batch: Int64, _ message: String) {
        if jobs[batch]?.running == true { jobs[batch]?.message = message }
    }

    func finish(_ batch: Int64, error: String?, result: String?) {
        jobs[batch]?.running = false
        jobs[batch]?.error = error
        jobs[batch]?.result = result
    }
}

extension WebApp {
    func addBatchRoutes(to router: Router<WebRequestContext>) {
        router.get("batches") { request, _ -> Response in
            let session = try await require(request)
            return try await batchList(request, session: session, values: [:], error: nil)
        }

        router.post("batches") { request, _ -> Response in
            let (session, form) = try await change(request, [.clerk])
            let values = ["program": form["program"], "year": form.trimmed("year"), "district": form.trimmed("district")]
            guard let program = Program(rawValue: form["program"]) else {
                return try await batchList(request, session: session, values: values, error: Page.text("batch.programRequired", session.language))
            }
            guard let year = Int(form.trimmed("year")), (2024...2100).contains(year) else {
                return try await batchList(request, session: session, values: values, error: Page.text("batch.yearRequired", session.language))
            }
            let district = form.trimmed("district")
            do {
                let id = try await batches.create(program: program, year: year, district: district.isEmpty ? nil : district, by: session.user)
                return Self.redirect("/batches/\(id)")
            } catch {
                return try await batchList(request, session: session, values: values, error: message(error, session.language))
            }
        }

        router.get("batches/:id") { request, context -> Response in
            let session = try await require(request)
            return try await batchPage(request, session: session, id: pathID(context), error: nil)
        }

        router.post("batches/:id/compute") { request, context -> Response in
            let (session, _) = try await change(request, [.clerk])
            let id = try pathID(context)
            let store = batches
            let user = session.user
            let language = session.language
            let heavyWork = heavyWork
            _ = await jobs.start(id, { progress in
                _ = try await heavyWork.run(whenWaiting: { progress(Page.text("batch.waitingTurn", language)) }) {
                    try await store.compute(id, by: user, progress: progress)
                }
                return nil
            }, describe: { WebMessages.describe($0, language) })
            return Self.redirect("/batches/\(id)")
        }

        // 试算: the batch computed as it would be now, nothing stored; the figures are shown on its
        // page when done. It takes its turn as a computation does: it reads and computes as much.
        router.post("batches/:id/trial") { request, context -> Response in
            let (session, _) = try await change(request, [.clerk])
            let id = try pathID(context)
            let (store, user, language, heavyWork) = (batches, session.user, session.language, heavyWork)
            _ = await jobs.start(id, { progress in
                let trial = try await heavyWork.run(whenWaiting: { progress(Page.text("batch.waitingTurn", language)) }) {
                    try await store.trial(id, signingIn: Task { user }, progress: progress)
                }
                return Page.text("batch.trialResult", language)
                    .replacingOccurrences(of: "{total}", with: Show.money(trial.total))
                    .replacingOccurrences(of: "{lines}", with: String(trial.lines))
                    .replacingOccurrences(of: "{excluded}", with: String(trial.excludedItems))
            }, describe: { WebMessages.describe($0, language) })
            return Self.redirect("/batches/\(id)")
        }

        router.post("batches/:id/exclude") { request, context -> Response in
            try await batchAction(request, context, [.clerk]) { id, session, form in
                try await batches.exclude(id, recipient: form.trimmed("recipient"), reason: form["reason"], by: session.user)
            }
        }
        router.post("batches/:id/submit") { request, context -> Response in
            try await batchAction(request, context, [.clerk]) { id, session, _ in
                _ = try await batches.submit(id, by: session.user, today: try await businessDay())
            }
        }
        router.post("batches/:id/approve") { request, context -> Response in
            try await batchAction(request, context, [.approver]) { id, session, _ in
                let (store, user, day) = (batches, session.user, try await businessDay())
                _ = try await heavyWork.run { try await store.approve(id, by: user, today: day) }
            }
        }
        router.post("batches/:id/send-back") { request, context -> Response in
            try await batchAction(request, context, [.approver]) { id, session, form in
                try await batches.sendBack(id, by: session.user, reason: form["reason"])
            }
        }
        router.post("batches/:id/cancel") { request, context -> Response in
            try await batchAction(request, context, [.clerk]) { id, session, form in
                try await batches.cancel(id, by: session.user, reason: form["reason"])
            }
        }
        router.post("batches/:id/export") { request, context -> Response in
            try await batchAction(request, context, [.clerk]) { id, session, _ in
                try await batches.markExported(id, by: session.user)
            }
        }

        router.get("batches/:id/lines/:no") { request, context -> Response in
            let session = try await require(request)
            let id = try pathID(context)
            let number = Int(context.parameters.get("no") ?? "") ?? 0
            let summary = try await batches.summary(id)
            guard let line = try await batches.line(id, number: number) else {
                return errorPage(session, status: .notFound, message: Page.text("batch.noLine", session.language))
            }
            var page = Page("line", session: session)
            page["title"] = "\(page.t("line")) \(number) · \(line.recipientName)"
            page["batch"] = batchContext(summary, page.language)
            page["line"] = lineContext(line, batch: summary, page.language)
            let explanation = (try? ExplanationStep.steps(stored: line.explanation)) ?? []
            page["steps"] = explanation.enumerated().map { index, step -> [String: Any] in
                ["n": index + 1, "rule": step.rule, "clause": step.clause, "text": step.text, "item": step.item ?? "",
                 "amount": step.amount.map(Show.money) ?? ""]
            }
            return render(page)
        }

        for kind in ["payment", "publicity"] {
            for format in ["xlsx", "csv"] {
                router.get("batches/:id/\(kind).\(format)") { request, context -> Response in
                    let session = try await require(request)
                    let id = try pathID(context)
                    let summary = try await batches.summary(id)
                    guard Self.canDownload(kind, summary.state) else {
                        return errorPage(
                            session, status: .conflict, message: Page.text(kind == "payment" ? "batch.exportFirst" : "batch.submitFirst", session.language))
                    }
                    let table = BatchExport.Kind(rawValue: kind) ?? .payment
                    let name = "batch-\(id)-\(kind == "payment" ? "payment 支付文件" : "publicity 公示名单")"
                    // Written whole into a file first, row by row from the database, then sent: a
                    // batch of any size takes the server no more memory than a small one, and a
                    // failure midway sends an error, never a payment file cut short.
                    let directory = try BufferedFile.temporaryDirectory()
                    do {
                        let written: URL
                        if format == "xlsx" {
                            let sheet = try XLSX.SheetWriter(directory: directory, sheet: table == .payment ? "支付文件 Payment" : "公示名单 Publicity")
                            try await batches.exportTable(table, batch: summary) { try sheet.add($0) }
                            written = try sheet.finish()
                        } else {
                            written = directory.appendingPathComponent("table.csv")
                            try await batches.exportCSV(table, batch: summary, to: written.path)
                        }
                        try await users.audit(session.user, action: "batch.download", subject: "batch:\(id)", detail: ["file": kind + "." + format])
                        return try download(
                            written, removing: directory, name: name + "." + format,
                            type: format == "xlsx" ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv; charset=utf-8")
                    } catch {
                        try? FileManager.default.removeItem(at: directory)
                        throw error
                    }
                }
            }
        }

        router.get("batches/:id/voucher") { request, context -> Response in
            let session = try await require(request)
            return try await voucher(session, id: pathID(context), line: nil, paging: Paging(request, sorts: ["no"], defaultSort: "no", size: Self.vouchersPerPage))
        }
        router.get("batches/:id/lines/:no/voucher") { request, context -> Response in
            let session = try await require(request)
            return try await voucher(session, id: pathID(context), line: Int(context.parameters.get("no") ?? "") ?? 0, paging: nil)
        }
    }

    /// Whether a batch in `state` gives its `payment` file (once exported) or its `publicity`
    /// (公示) list (from submission on, unless cancelled).
    static func canDownload(_ kind: String, _ state: BatchState) -> Bool {
        kind == "payment" ? [.exported, .paid, .closed].contains(state) : ![.draft, .computed, .cancelled].contains(state)
    }

    /// The page's `:id` (a batch, a statement); a page that does not exist otherwise.
    func pathID(_ context: WebRequestContext) throws -> Int64 {
        guard let id = Int64(context.parameters.get("id") ?? "") else { throw PageError(response: Response(status: .notFound)) }
        return id
    }

    /// A batch action: role, CSRF, the store's own checks; success goes back to the batch page
    /// (POST-redirect-GET), a refusal shows the batch page with what to do.
    func batchAction(
        _ request: Request, _ context: WebRequestContext, _ roles: [Role],
        _ body: (Int64, WebSession, Form) async throws -> Void
    ) async throws -> Response {
        let (session, form) = try await change(request, roles)
        let id = try pathID(context)
        do {
            try await body(id, session, form)
            return Self.redirect("/batches/\(id)")
        } catch let error as PageError {
            throw error
        } catch {
            return try await batchPage(request, session: session, id: id, error: message(error, session.language), form: form)
        }
    }

    func batchList(_ request: Request, session: WebSession, values: [String: String], error: String?) async throws -> Response {
        var page = Page("batches", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("batches")
        let sorts = ["id", "program", "year", "state", "total"]
        let paging = Paging(request, sorts: sorts, defaultSort: "id")
        let stateFilter = request.uri.queryParameters.get("state") ?? ""
        var rows: [[String: Any]] = []
        var total = 0
        for try await (id, program, year, district, state, totalFen, lines, count) in try await client.query(
            """
            SELECT b.id, b.program, b.year, coalesce(b.district, ''), b.state, b.total_fen,
                   b.line_count, count(*) OVER ()::int
            FROM batches b WHERE \(stateFilter) = '' OR b.state = \(stateFilter)
            ORDER BY CASE WHEN \(paging.sort) = 'program' THEN b.program END,
                     CASE WHEN \(paging.sort) = 'state' THEN b.state END,
                     CASE WHEN \(paging.sort) = 'year' AND NOT \(paging.descending) THEN b.year END ASC,
                     CASE WHEN \(paging.sort) = 'year' AND \(paging.descending) THEN b.year END DESC,
                     CASE WHEN \(paging.sort) = 'total' AND NOT \(paging.descending) THEN b.total_fen END ASC,
                     CASE WHEN \(paging.sort) = 'total' AND \(paging.descending) THEN b.total_fen END DESC,
                     CASE WHEN \(paging.sort) = 'id' AND NOT \(paging.descending) THEN b.id END ASC, b.id DESC
            LIMIT \(paging.size) OFFSET \(paging.offset)
            """, logger: logger
        ).decode((Int64, String, Int, String, String, Int64, Int, Int).self) {
            total = count
            rows.append([
                "id": id, "program": Program(rawValue: program).map { Show.program($0, page.language) } ?? program, "year": year, "district": district,
                "state": BatchState(rawValue: state).map { Show.state($0, page.language) } ?? state, "stateKey": state, "total": Show.fen(totalFen), "lines": lines,
            ])
        }
        page["rows"] = rows
        page["paging"] = paging.context(total: total, base: "/batches", keep: ["state": stateFilter], sorts: sorts)
        page["programs"] = Program.allCases.map { ["value": $0.rawValue, "label": Show.program($0, page.language), "selected": values["program"] == $0.rawValue] }
        page["states"] = BatchState.allCases.map { ["value": $0.rawValue, "label": Show.state($0, page.language), "selected": stateFilter == $0.rawValue] }
        page["values"] = values.isEmpty ? ["year": String(CivilDate.todayInBeijing().year - 1)] : values
        page["error"] = error
        return render(page)
    }

    func batchContext(_ summary: BatchSummary, _ language: Language) -> [String: Any] {
        var context: [String: Any] = [
            "id": summary.id, "program": Show.program(summary.program, language), "programKey": summary.program.rawValue, "year": summary.year,
            "district": summary.district ?? "", "state": Show.state(summary.state, language), "stateKey": summary.state.rawValue,
            "total": Show.fen(summary.totalFen), "lines": summary.lines, "excludedItems": summary.excludedItems,
        ]
        // Absent, not empty: a Mustache section shows the 公示 dates only when there are some.
        if let from = summary.publicityFrom, let until = summary.publicityUntil {
            context["publicityFrom"] = from.description
            context["publicityUntil"] = until.description
        }
        return context
    }

    func lineContext(_ line: BatchLine, batch: BatchSummary, _ language: Language) -> [String: Any] {
        [
            "no": line.lineNo, "recipient": line.recipient, "name": line.recipientName, "computed": Show.money(line.computed),
            "previously": Show.money(line.previously), "amount": Show.money(line.amount), "negative": line.amount < .zero,
            "status": Strings.text("line." + line.status, language), "statusKey": line.status, "excluded": line.status == "excluded",
            "reason": line.excludedReason ?? "", "reference": line.paymentRef, "accountName": line.accountName ?? "", "accountNo": line.accountNo ?? "",
            "bank": line.accountBank ?? "", "frozen": line.payeeFrozen, "batchID": batch.id,
        ]
    }

    func batchPage(_ request: Request, session: WebSession, id: Int64, error: String?, form: Form? = nil) async throws -> Response {
        let summary: BatchSummary
        do { summary = try await batches.summary(id) } catch {
            return errorPage(session, status: .notFound, message: message(error, session.language))
        }
        var page = Page("batch", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = "\(page.t("batch")) \(id)"
        page["batch"] = batchContext(summary, page.language)
        page["error"] = error
        page["form"] = ["recipient": form?["recipient"] ?? "", "reason": form?["reason"] ?? ""]
        let job = await jobs.job(id)
        if let job {
            page["job"] = ["running": job.running, "message": job.message, "error": job.error ?? "", "failed": job.error != nil, "result": job.result ?? ""]
        }
        let clerk = session.user.acts(as: .clerk), approver = session.user.acts(as: .approver)
        let state = summary.state
        let running = job?.running == true
        let ownComputation = summary.computedBy == session.user.id
        let today = try await businessDay() ?? .todayInBeijing()
        page["can"] = [
            "compute": clerk && !running && BatchLifecycle.allowed(.compute).contains(state),
            "trial": clerk && !running && state != .cancelled,
            "exclude": clerk && !running && BatchLifecycle.allowed(.exclude).contains(state),
            "submit": clerk && !running && BatchLifecycle.allowed(.submit).contains(state),
            // Four eyes: the approver who computed the batch sees no approve button (and the
            // store refuses a forged request all the same).
            "approve": approver && !ownComputation && BatchLifecycle.allowed(.approve).contains(state),
            "sendBack": approver && !ownComputation && BatchLifecycle.allowed(.sendBack).contains(state),
            "cancel": clerk && !running && BatchLifecycle.allowed(.cancel).contains(state),
            "export": clerk && BatchLifecycle.allowed(.export).contains(state),
            "downloadPayment": Self.canDownload("payment", state),
            "downloadPublicity": Self.canDownload("publicity", state),
        ]
        page["ownComputation"] = ownComputation && state == .publicity && approver
        if state == .publicity, let until = summary.publicityUntil {
            page["publicityOver"] = today > until
        }
        page["today"] = today.description
        page["signatures"] = try await signatures(id)
        // The lines, sorted and paged in the database. The sort's parameters are planned as
        // constants, so a sort by number reads the page from the (batch_id, line_no) index and
        // stops; the count is the summary's, which the batch keeps (sql/045). A `count(*) OVER ()`
        // here read every line of the batch for each page: 75-180 ms a page of a province batch
        // (87,475 lines), 4 ms without.
        let sorts = ["no", "name", "amount", "status"]
        let paging = Paging(request, sorts: sorts, defaultSort: "no")
        var lines: [[String: Any]] = []
        for try await (no, uscc, name, computed, previously, amount, status, reason, ref) in try await client.query(
            """
            SELECT line_no, recipient_uscc::text, recipient_name, computed_fen, previously_fen, amount_fen, status, coalesce(excluded_reason, ''), payment_ref
            FROM batch_lines WHERE batch_id = \(id)
            ORDER BY CASE WHEN \(paging.sort) = 'name' AND NOT \(paging.descending) THEN recipient_name END ASC,
                     CASE WHEN \(paging.sort) = 'name' AND \(paging.descending) THEN recipient_name END DESC,
                     CASE WHEN \(paging.sort) = 'amount' AND NOT \(paging.descending) THEN amount_fen END ASC,
                     CASE WHEN \(paging.sort) = 'amount' AND \(paging.descending) THEN amount_fen END DESC,
                     CASE WHEN \(paging.sort) = 'status' THEN status END,
                     CASE WHEN \(paging.sort) = 'no' AND \(paging.descending) THEN line_no END DESC, line_no
            LIMIT \(paging.size) OFFSET \(paging.offset)
            """, logger: logger
        ).decode((Int, String, String, Int64, Int64, Int64, String, String, String).self) {
            lines.append([
                "no": no, "recipient": uscc, "name": name, "computed": Show.fen(computed), "previously": Show.fen(previously), "amount": Show.fen(amount),
                "negative": amount < 0, "status": page.t("line." + status), "statusKey": status, "excluded": status == "excluded", "reason": reason,
                "reference": ref, "batchID": id,
            ])
        }
        page["lines"] = lines
        page["paging"] = paging.context(total: summary.lines, base: "/batches/\(id)", sorts: sorts)
        var exclusions: [[String: Any]] = []
        for try await (item, recipient, reason, reasonZh) in try await client.query(
            "SELECT item_id, recipient_uscc, reason, reason_zh FROM batch_exclusions WHERE batch_id = \(id) ORDER BY recipient_uscc, kind, item_id LIMIT 200", logger: logger
        ).decode((String, String, String, String).self) {
            exclusions.append(["item": item, "recipient": recipient, "reason": page.language == .zh ? reasonZh : reason])
        }
        page["exclusions"] = exclusions
        if job?.running == true {
            page["refresh"] = true
        }
        return render(page)
    }

    /// Who computed and approved the batch, and when (Beijing time): `computedBy` "name (login)",
    /// `computedAt` "YYYY-MM-DD HH:MM", the same for approval, and `approvedOn` the day alone.
    /// Keys without a value are left out, so that a page shows only signatures there are.
    func signatures(_ id: Int64) async throws -> [String: String] {
        var result: [String: String] = [:]
        for try await (computedName, computedBy, approvedName, approvedBy, computedAt, approvedAt) in try await client.query(
            """
            SELECT c.display_name, c.display_name || ' (' || c.login || ')', a.display_name, a.display_name || ' (' || a.login || ')',
                   to_char(b.computed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'), to_char(b.approved_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
            FROM batches b LEFT JOIN users c ON c.id = b.computed_by LEFT JOIN users a ON a.id = b.approved_by WHERE b.id = \(id)
            """, logger: logger
        ).decode((String?, String?, String?, String?, String?, String?).self) {
            result = [
                "computedName": computedName, "computedBy": computedBy, "approvedName": approvedName, "approvedBy": approvedBy,
                "computedAt": computedAt, "approvedAt": approvedAt, "approvedOn": approvedAt.map { String($0.prefix(10)) },
            ].compactMapValues { $0 }
        }
        return result
    }

    /// Vouchers of a whole batch printed per page: with the summary voucher, page 1 is a batch's
    /// cover and its first 100 lines.
    static let vouchersPerPage = 100

    /// One line's voucher (`line`), or a page of the batch's (`paging`), the first with the
    /// batch's summary voucher: count, total and 人民币大写 of every line that pays money.
    func voucher(_ session: WebSession, id: Int64, line number: Int?, paging: Paging?) async throws -> Response {
        let summary = try await batches.summary(id)
        guard [.approved, .exported, .paid, .closed].contains(summary.state) else {
            return errorPage(session, status: .conflict, message: Page.text("voucher.approveFirst", session.language))
        }
        var page = Page("voucher", session: session)
        let chosen: [BatchLine]
        if let paging {
            let (lines, count, total) = try await batches.voucherLines(id, limit: paging.size, offset: paging.offset)
            chosen = lines
            if paging.page == 1, count > 0 {
                page["summary"] = ["count": count, "total": Show.money(total), "capital": ChineseCapital.amount(total)]
            }
            page["paging"] = paging.context(total: count, base: "/batches/\(id)/voucher", sorts: ["no"])
        } else {
            chosen = (try await batches.line(id, number: number ?? 0).map { [$0] } ?? []).filter { $0.status != "excluded" && $0.amount > .zero }
        }
        guard !chosen.isEmpty else { return errorPage(session, status: .notFound, message: Page.text("batch.noLine", session.language)) }
        page["title"] = page.t("voucher")
        page["batch"] = batchContext(summary, page.language)
        page["signatures"] = try await signatures(id)
        page["vouchers"] = chosen.map { line -> [String: Any] in
            var item = lineContext(line, batch: summary, page.language)
            item["capital"] = ChineseCapital.amount(line.amount)
            return item
        }
        page["printedOn"] = CivilDate.todayInBeijing().description
        return render(page)
    }
}
