import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore

extension WebApp {
    func addAdminRoutes(to router: Router<WebRequestContext>) {
        router.get("admin") { request, _ -> Response in
            let session = try await require(request, [.admin])
            return try await adminPage(session, notice: nil, error: nil, form: nil)
        }

        // Every admin form posts here with `action`; the page comes back with what happened, or
        // with the error and what was typed.
        router.post("admin") { request, _ -> Response in
            let (session, form) = try await change(request, [.admin])
            let admin = session.user
            do {
                var notice = Page.text("saved", session.language)
                switch form["action"] {
                case "user.add":
                    let roles = Set(form.lists["roles", default: []].compactMap(Role.init(rawValue:)))
                    try await users.add(login: form.trimmed("login").lowercased(), displayName: form.trimmed("name"), password: form["password"], roles: roles, by: admin)
                case "user.active":
                    guard let id = Int64(form["id"]) else { throw WebError.missing("id") }
                    guard id != admin.id else { throw WebError.invalid(field: "user", message: Page.text("admin.notSelf", session.language)) }
                    try await users.actingAs(admin) { connection in
                        try await connection.query("UPDATE users SET active = \(form["active"] == "true") WHERE id = \(id)", logger: logger)
                        try await connection.query("DELETE FROM web_sessions WHERE user_id = \(id)", logger: logger)
                    }
                case "bank.add":
                    try await BankTokens(client: client, logger: logger).addBank(code: form.trimmed("code").uppercased(), name: form.trimmed("name"), by: admin)
                case "token.create":
                    let (id, token) = try await BankTokens(client: client, logger: logger).create(bank: form.trimmed("bank"), label: form.trimmed("label"), by: admin)
                    // Shown once: only its hash is kept.
                    return try await adminPage(session, notice: Page.text("token.created", session.language) + " #\(id)", error: nil, form: nil, newToken: token)
                case "token.revoke":
                    guard let id = Int64(form["id"]) else { throw WebError.missing("id") }
                    _ = try await BankTokens(client: client, logger: logger).revoke(id: id, by: admin)
                case "account.add":
                    try await DisbursementAccounts(client: client, logger: logger).add(account: form.trimmed("account"), bank: form.trimmed("bank"), name: form.trimmed("name"), by: admin)
                case "budget.set":
                    guard let program = Program(rawValue: form["program"]) else { throw WebError.missing(Page.text("program", session.language)) }
                    guard let year = Int(form.trimmed("year")), (2024...2100).contains(year) else { throw WebError.invalid(field: "year", message: "2024–2100") }
                    let amount = try Money.parse(form.trimmed("amount").replacingOccurrences(of: ",", with: ""), field: "amount")
                    try await batches.setBudget(program: program, year: year, amount: amount, source: form.trimmed("source"), by: admin)
                case "rehearsal.day":
                    let day = try CivilDate.parse(form.trimmed("day"), field: "day")
                    guard try await users.isRehearsal() else { throw BatchError.notRehearsal }
                    _ = try await users.actingAs(admin) { connection in
                        try await connection.query("INSERT INTO rehearsal_days (day, set_by) VALUES (\(day.description)::date, \(admin.id))", logger: logger)
                    }
                    notice = Page.text("rehearsal.set", session.language) + " " + day.description
                default:
                    throw WebError.missing("action")
                }
                return try await adminPage(session, notice: notice, error: nil, form: nil)
            } catch let error as PageError {
                throw error
            } catch {
                return try await adminPage(session, notice: nil, error: message(error, session.language), form: form)
            }
        }

        router.get("admin/lpr") { request, _ -> Response in
            let session = try await require(request, [.admin])
            return try await lprPage(session, notice: nil, error: nil, form: nil)
        }
        router.post("admin/lpr") { request, _ -> Response in
            let (session, form) = try await change(request, [.admin])
            do {
                let day = try CivilDate.parse(form.trimmed("published"), field: "published")
                let one = try Rate.parse(form.trimmed("oneYear"), field: "oneYear")
                let five = try Rate.parse(form.trimmed("fiveYear"), field: "fiveYear")
                _ = try await users.actingAs(session.user) { connection in
                    try await connection.query(
                        """
                        INSERT INTO lpr_fixings (published, one_year_pct, five_year_pct, source)
                        VALUES (\(day.description)::date, \(one.text)::numeric, \(five.text)::numeric, 'B')
                        """, logger: logger)
                }
                return try await lprPage(session, notice: Page.text("saved", session.language), error: nil, form: nil)
            } catch {
                return try await lprPage(session, notice: nil, error: message(error, session.language), form: form)
            }
        }

        router.get("admin/policy") { request, _ -> Response in
            let session = try await require(request, [.admin])
            return try await policyPage(session, notice: nil, error: nil, form: nil)
        }
        router.post("admin/policy") { request, _ -> Response in
            let (session, form) = try await change(request, [.admin])
            do {
                try await addPolicyVersion(form, by: session.user)
                return try await policyPage(session, notice: Page.text("saved", session.language), error: nil, form: nil)
            } catch {
                return try await policyPage(session, notice: nil, error: message(error, session.language), form: form)
            }
        }
    }

    func adminPage(_ session: WebSession, notice: String?, error: String?, form: Form?, newToken: String? = nil) async throws -> Response {
        var page = Page("admin", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("admin")
        page["notice"] = notice
        page["error"] = error
        page["newToken"] = newToken
        page["form"] = form?.fields.filter { $0.key != "password" && $0.key != "_csrf" } ?? [:]
        var userRows: [[String: Any]] = []
        for try await (id, login, name, roles, active, language) in try await client.query(
            "SELECT id, login, display_name, roles, active, language FROM users ORDER BY login", logger: logger
        ).decode((Int64, String, String, [String], Bool, String).self) {
            userRows.append(["id": id, "login": login, "name": name, "roles": roles.map { page.t("role." + $0) }.joined(separator: "、"), "active": active,
                             "language": language, "self": id == session.user.id])
        }
        page["users"] = userRows
        page["roles"] = Role.allCases.map { ["value": $0.rawValue, "label": page.t("role." + $0.rawValue)] }
        var banks: [[String: Any]] = []
        for try await (code, name) in try await client.query("SELECT code, name FROM banks ORDER BY code", logger: logger).decode((String, String).self) {
            banks.append(["code": code, "name": name])
        }
        page["banks"] = banks
        var tokens: [[String: Any]] = []
        for try await (id, bank, label, created, revoked) in try await client.query(
            """
            SELECT id, bank_code, label, to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),
                   to_char(revoked_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
            FROM bank_tokens ORDER BY id DESC LIMIT 100
            """, logger: logger
        ).decode((Int64, String, String, String, String?).self) {
            tokens.append(["id": id, "bank": bank, "label": label, "created": created, "revoked": revoked ?? "", "active": revoked == nil])
        }
        page["tokens"] = tokens
        var accounts: [[String: Any]] = []
        for try await (account, bank, name, active) in try await client.query(
            "SELECT account_no, bank_code, name, active FROM disbursement_accounts ORDER BY bank_code, account_no", logger: logger
        ).decode((String, String, String, Bool).self) {
            accounts.append(["account": account, "bank": bank, "name": name, "active": active])
        }
        page["accounts"] = accounts
        var budgets: [[String: Any]] = []
        for try await (program, year, amount, source) in try await client.query(
            "SELECT program, year, amount_fen, source FROM budgets ORDER BY year DESC, program", logger: logger
        ).decode((String, Int, Int64, String).self) {
            budgets.append(["program": Program(rawValue: program).map { Show.program($0, page.language) } ?? program, "year": year, "amount": Show.fen(amount), "source": source])
        }
        page["budgets"] = budgets
        page["programs"] = Program.allCases.map { ["value": $0.rawValue, "label": Show.program($0, page.language)] }
        page["rehearsal"] = try await users.isRehearsal()
        page["rehearsalDay"] = try await businessDay()?.description ?? ""
        return render(page)
    }

    func lprPage(_ session: WebSession, notice: String?, error: String?, form: Form?) async throws -> Response {
        var page = Page("lpr", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("lpr")
        page["notice"] = notice
        page["error"] = error
        page["form"] = form?.fields ?? [:]
        var rows: [[String: Any]] = []
        for try await (published, one, five, source) in try await client.query(
            "SELECT published::text, trim_scale(one_year_pct)::text, trim_scale(five_year_pct)::text, source FROM lpr_fixings ORDER BY published DESC",
            logger: logger
        ).decode((String, String, String, String).self) {
            rows.append(["published": published, "one": one, "five": five, "source": page.t("lpr.source." + source)])
        }
        page["rows"] = rows
        return render(page)
    }

    func policyPage(_ session: WebSession, notice: String?, error: String?, form: Form?) async throws -> Response {
        var page = Page("policy", session: session, status: error == nil ? .ok : .unprocessableContent)
        page["title"] = page.t("policy")
        page["notice"] = notice
        page["error"] = error
        let document = try await BatchInputLoader(client: client, logger: logger).policyDocument()
        page["versions"] = document.versions.reversed().map { version -> [String: Any] in
            [
                "id": version.id, "title": version.title, "validFrom": version.validFrom,
                "parameters": version.parameters.sorted { $0.key < $1.key }.map {
                    ["key": $0.key, "value": $0.value, "clause": $0.clause, "assumption": $0.assumption, "ceiling": $0.key.hasSuffix("Max")]
                },
            ]
        }
        // The form for a new version starts from the newest one; ceilings (…Max) are the policy's
        // own words and are not editable.
        if let latest = document.versions.last {
            page["base"] = latest.id
            page["editable"] = latest.parameters.filter { !$0.key.hasSuffix("Max") }.sorted { $0.key < $1.key }.map { parameter -> [String: Any] in
                ["key": parameter.key, "value": form?.fields["p." + parameter.key] ?? parameter.value, "clause": form?.fields["c." + parameter.key] ?? parameter.clause,
                 "assumption": form.map { $0.fields["a." + parameter.key] == "true" } ?? parameter.assumption]
            }
        }
        page["form"] = ["id": form?["id"] ?? "", "title": form?["title"] ?? "", "validFrom": form?["validFrom"] ?? ""]
        return render(page)
    }

    /// A new dated policy version: the newest version's parameters with the admin's values, each
    /// with its clause; refused unless every program's rules accept it and every value stays
    /// within the ceiling the policy states (`…Max`).
    func addPolicyVersion(_ form: Form, by admin: User) async throws {
        let id = form.trimmed("id")
        guard id.range(of: #"^[a-z0-9][a-z0-9.-]{2,63}$"#, options: .regularExpression) != nil else {
            throw WebError.invalid(field: "id", message: "3–64 characters: a-z, 0-9, '.' and '-'")
        }
        let title = form.trimmed("title")
        guard !title.isEmpty else { throw WebError.missing("title") }
        let validFrom = try CivilDate.parse(form.trimmed("validFrom"), field: "validFrom")
        let loader = BatchInputLoader(client: client, logger: logger)
        let document = try await loader.policyDocument()
        guard let base = document.versions.last else { throw WebError.missing("base version") }
        guard validFrom.description > base.validFrom else {
            throw WebError.invalid(field: "validFrom", message: "a new version starts after the newest one (\(base.validFrom))")
        }
        var parameters: [PolicyParameter] = []
        for parameter in base.parameters {
            if parameter.key.hasSuffix("Max") {
                parameters.append(parameter)
                continue
            }
            let value = (form.fields["p." + parameter.key] ?? parameter.value).trimmingCharacters(in: .whitespaces)
            let clause = (form.fields["c." + parameter.key] ?? parameter.clause).trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { throw WebError.missing(parameter.key) }
            guard !clause.isEmpty else { throw WebError.invalid(field: parameter.key, message: "every parameter names the clause it comes from") }
            parameters.append(PolicyParameter(key: parameter.key, value: value, clause: clause, assumption: form.fields["a." + parameter.key] == "true"))
        }
        let values = Dictionary(uniqueKeysWithValues: parameters.map { ($0.key, $0.value) })
        for parameter in parameters where !parameter.key.hasSuffix("Max") {
            guard let ceiling = values[parameter.key + "Max"] else { continue }
            guard let value = Decimal(string: parameter.value), let maximum = Decimal(string: ceiling), value <= maximum else {
                throw WebError.invalid(field: parameter.key, message: "\(parameter.value) is above the ceiling the policy states (\(ceiling))")
            }
        }
        let version = PolicyVersion(id: id, title: title, validFrom: validFrom.description, parameters: parameters)
        for program in Program.allCases {
            _ = try ResolvedPolicy(version: version, program: program, overrides: [:])
        }
        try await users.actingAs(admin) { connection in
            try await connection.query(
                "INSERT INTO policy_versions (id, title, valid_from) VALUES (\(id), \(title), \(validFrom.description)::date)", logger: logger)
            try await connection.query(
                """
                INSERT INTO policy_parameters (version_id, key, value, clause, assumption)
                SELECT \(id), k, v, c, a FROM unnest(\(parameters.map(\.key))::text[], \(parameters.map(\.value))::text[], \(parameters.map(\.clause))::text[],
                                                     \(parameters.map(\.assumption))::boolean[]) AS t(k, v, c, a)
                """, logger: logger)
        }
    }
}
