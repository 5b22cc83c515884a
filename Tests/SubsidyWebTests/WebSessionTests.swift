import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SubsidyRules
import SubsidyStore
import SubsidyTestSupport
import Testing
@testable import SubsidyWeb

/// Sign-in, sessions, CSRF and roles on a real server and database.
@Suite(.serialized) struct WebSessionTests {
    struct Client {
        let app: Application<RouterResponder<WebRequestContext>>

        /// GET /login for the double-submit token, then POST the credentials; returns status,
        /// the session cookie (if any) and the Set-Cookie header.
        func signIn(_ login: String, _ password: String, headers extra: HTTPFields = [:]) async throws -> (status: Int, cookie: String?, setCookie: String) {
            try await app.test(.live) { http in
                let form = try await http.execute(uri: "/login", method: .get) { $0 }
                let loginCookie = try #require(form.headers[values: .setCookie].first { $0.hasPrefix("sl_login=") })
                let token = String(loginCookie.dropFirst("sl_login=".count).prefix { $0 != ";" })
                var headers: HTTPFields = extra
                headers[.contentType] = "application/x-www-form-urlencoded"
                headers[.cookie] = "sl_login=\(token)"
                let body = "_csrf=\(token)&login=\(login)&password=\(password)"
                return try await http.execute(uri: "/login", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                    let set = response.headers[values: .setCookie].first { $0.hasPrefix("sl_session=") } ?? ""
                    let cookie = set.isEmpty ? nil : String(set.prefix { $0 != ";" })
                    return (Int(response.status.code), cookie, set)
                }
            }
        }

        /// POSTs a multipart form with one file, as a browser's file input sends it.
        func upload(_ uri: String, cookie: String, fields: [String: String], file: (field: String, name: String, content: String)) async throws -> (status: Int, body: String, location: String?) {
            let boundary = "----subsidy-test-\(UUID().uuidString)"
            var body = ""
            for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
                body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
            }
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\n"
            body += "Content-Type: application/octet-stream\r\n\r\n\(file.content)\r\n--\(boundary)--\r\n"
            let multipart = ByteBuffer(string: body)
            return try await app.test(.live) { http in
                let headers: HTTPFields = [.cookie: cookie, .contentType: "multipart/form-data; boundary=\(boundary)"]
                return try await http.execute(uri: uri, method: .post, headers: headers, body: multipart) { response in
                    (Int(response.status.code), String(buffer: response.body), response.headers[.location])
                }
            }
        }

        /// GET with the response's headers, for downloads.
        func get(_ uri: String, cookie: String) async throws -> (status: Int, body: [UInt8], headers: HTTPFields) {
            try await app.test(.live) { http in
                try await http.execute(uri: uri, method: .get, headers: [.cookie: cookie]) { response in
                    (Int(response.status.code), Array(buffer: response.body), response.headers)
                }
            }
        }

        func request(_ method: HTTPRequest.Method, _ uri: String, cookie: String?, body: String? = nil) async throws -> (status: Int, body: String, location: String?) {
            try await app.test(.live) { http in
                var headers: HTTPFields = [:]
                if let cookie { headers[.cookie] = cookie }
                if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
                return try await http.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                    (Int(response.status.code), String(buffer: response.body), response.headers[.location])
                }
            }
        }
    }

    static func client(
        _ database: PostgresClient, heavyWork: HeavyWork = HeavyWork(), statementReads: HeavyWork = HeavyWork.statementReads()
    ) async throws -> Client {
        let web = try await WebApp(client: database, logger: TestDatabase.logger, heavyWork: heavyWork, statementReads: statementReads)
        let router = Router(context: WebRequestContext.self)
        web.addRoutes(to: router)
        return Client(app: Application(responder: router.buildResponder(), configuration: .init(address: .hostname("127.0.0.1", port: 0))))
    }

    /// A clerk (`clerk` / `clerk-password`) and the bureau's disbursement account 6222020000009999
    /// at ICBC, which the tests' statements are of.
    static func clerkAndBureauAccount(_ database: PostgresClient) async throws {
        let users = UserStore(client: database, logger: TestDatabase.logger)
        try await users.add(login: "clerk", displayName: "王会计", password: "clerk-password", roles: [.clerk], by: TestDatabase.admin, cost: 4)
        try await BankTokens(client: database, logger: TestDatabase.logger).addBank(code: "ICBC", name: "中国工商银行", by: TestDatabase.admin)
        try await DisbursementAccounts(client: database, logger: TestDatabase.logger)
            .add(account: "6222020000009999", bank: "ICBC", name: "专户", by: TestDatabase.admin)
    }

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test("sign-in: HttpOnly SameSite=Strict cookie (Secure behind TLS), pages need a session, CSRF and roles are enforced")
    func sessions() async throws {
        try await TestDatabase.withFresh { database, url in
            let users = UserStore(client: database, logger: TestDatabase.logger)
            try await users.add(login: "clerk", displayName: "王会计", password: "clerk-password", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            let client = try await Self.client(database)

            // No session: every page sends the browser to sign in.
            let anonymous = try await client.request(.get, "/batches", cookie: nil)
            #expect(anonymous.status == 303 && anonymous.location == "/login?next=/batches")

            let signed = try await client.signIn("clerk", "clerk-password")
            #expect(signed.status == 303)
            #expect(signed.setCookie.contains("HttpOnly") && signed.setCookie.contains("SameSite=Strict") && !signed.setCookie.contains("Secure"))
            let cookie = try #require(signed.cookie)
            let tls = try await client.signIn("clerk", "clerk-password", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(tls.setCookie.contains("Secure"))

            let batches = try await client.request(.get, "/batches", cookie: cookie)
            #expect(batches.status == 200 && batches.body.contains("王会计"))
            let token = try #require(Self.csrf(in: batches.body))

            // A form without its token, or with another, changes nothing.
            for body in ["program=zhuangda&year=2025", "_csrf=forged&program=zhuangda&year=2025"] {
                let refused = try await client.request(.post, "/batches", cookie: cookie, body: body)
                #expect(refused.status == 403)
            }
            var count = 0
            for try await value in try await database.query("SELECT count(*)::int FROM batches", logger: TestDatabase.logger).decode(Int.self) { count = value }
            #expect(count == 0)
            let created = try await client.request(.post, "/batches", cookie: cookie, body: "_csrf=\(token)&program=zhuangda&year=2025")
            #expect(created.status == 303 && created.location == "/batches/1")

            // A clerk's session cannot open admin pages, nor post to them.
            #expect(try await client.request(.get, "/admin", cookie: cookie).status == 403)
            #expect(try await client.request(.post, "/admin", cookie: cookie, body: "_csrf=\(token)&action=budget.set").status == 403)
            #expect(try await client.request(.get, "/audit", cookie: cookie).status == 403)

            // The session lives in PostgreSQL: only the cookie's hash is stored; 30 minutes idle ends it.
            var stored: [Data] = []
            for try await hash in try await database.query("SELECT token_hash FROM web_sessions", logger: TestDatabase.logger).decode(Data.self) { stored.append(hash) }
            let raw = String(cookie.dropFirst("sl_session=".count))
            #expect(stored.contains(Data(SessionStore.hash(raw))) && !stored.contains(Data(raw.utf8)))
            _ = try await TestDatabase.withOwnerClient(of: url) { owner in
                try await owner.query("UPDATE web_sessions SET last_seen = now() - interval '31 minutes'", logger: TestDatabase.logger)
            }
            let expired = try await client.request(.get, "/batches", cookie: cookie)
            #expect(expired.status == 303 && expired.location?.hasPrefix("/login") == true)

            // Sign-out ends a session at once.
            let again = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            let page = try await client.request(.get, "/", cookie: again)
            let out = try await client.request(.post, "/logout", cookie: again, body: "_csrf=\(try #require(Self.csrf(in: page.body)))")
            #expect(out.status == 303)
            #expect(try await client.request(.get, "/", cookie: again).status == 303)
        }
    }

    @Test("a computation started while another computation, approval or import runs waits its turn, says so on its page, then runs")
    func computeWaitsItsTurn() async throws {
        try await TestDatabase.withFresh { database, _ in
            let users = UserStore(client: database, logger: TestDatabase.logger)
            try await users.add(login: "clerk", displayName: "王会计", password: "clerk-password", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            let gate = HeavyWork()
            let client = try await Self.client(database, heavyWork: gate)
            let cookie = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            let token = try #require(Self.csrf(in: try await client.request(.get, "/batches", cookie: cookie).body))
            #expect(try await client.request(.post, "/batches", cookie: cookie, body: "_csrf=\(token)&program=zhuangda&year=2025").location == "/batches/1")
            func state() async throws -> String {
                try await database.query("SELECT state FROM batches WHERE id = 1", logger: TestDatabase.logger).collect().first!.decode(String.self)
            }
            // Another heavy action holds the turn until the test lets it go.
            let (hold, letGo) = AsyncStream<Void>.makeStream()
            let other = Task { try await gate.run { for await _ in hold {} } }
            try await eventually("the other heavy action holds the turn") { await gate.busy }
            #expect(try await client.request(.post, "/batches/1/compute", cookie: cookie, body: "_csrf=\(token)").status == 303)
            try await eventually("the computation queued behind it", pause: .milliseconds(10)) { await gate.queued >= 1 }
            // The job's message is updated as it comes: read the page until it shows (2 s at most).
            let waitingText = "排队中：另一项测算、审批或对账单导入正在进行，完成后即开始。"
            var page = ""
            for _ in 0..<40 where !page.contains(waitingText) {
                page = try await client.request(.get, "/batches/1", cookie: cookie).body
                if !page.contains(waitingText) { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(page.contains(waitingText))
            #expect(try await state() == "draft")
            letGo.finish()
            try await other.value
            // Its turn: the computation runs (no firms here, so no lines) and the batch is computed.
            for _ in 0..<200 where try await state() != "computed" { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try await state() == "computed")
            try await eventually("the turn free again", pause: .milliseconds(10)) { await !gate.busy }
            #expect(await gate.queued == 0)
        }
    }

    @Test("试算 on a batch's page: the clerk's trial shows what computing would give, and the batch stays as it was")
    func trialOnPage() async throws {
        try await TestDatabase.withFresh { database, _ in
            try await Self.clerkAndBureauAccount(database)
            try await UserStore(client: database, logger: TestDatabase.logger)
                .add(login: "approver", displayName: "李处长", password: "approver-password", roles: [.approver], by: TestDatabase.admin, cost: 4)
            // Firm A of the store's tests: ICBC/L-1, 5,000,000.00 from 2025-01-10; its record
            // [2025-01-10, 2025-03-21) paid 36,944.44 → 5,000,000.00 × 3.10 % × 70 / 360 = 30,138.89;
            // × 50 % = 15,069.45.
            for statement: PostgresQuery in [
                "INSERT INTO firms (uscc, name, district) VALUES ('91350200776049653A', '成都甲科技有限公司', '高新区')",
                """
                INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
                VALUES ('91350200776049653A', 'specialized', '2024-03-01', '2027-02-28', '川经信〔2024〕1号')
                """,
                """
                INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date)
                VALUES ('ICBC', 'L-1', '91350200776049653A', 'zhuangda', 500000000, '2025-01-10', '2026-01-09')
                """,
                """
                INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
                VALUES ((SELECT id FROM loans WHERE loan_no = 'L-1'), '2025-01-10', '2025-03-21', 500000000, 3694444, '2025-03-21')
                """,
            ] { try await database.query(statement, logger: TestDatabase.logger) }
            let client = try await Self.client(database)
            let cookie = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            let token = try #require(Self.csrf(in: try await client.request(.get, "/batches", cookie: cookie).body))
            #expect(try await client.request(.post, "/batches", cookie: cookie, body: "_csrf=\(token)&program=zhuangda&year=2025").location == "/batches/1")
            #expect(try await client.request(.get, "/batches/1", cookie: cookie).body.contains(#"id="trial""#))

            // An approver neither sees the button nor may post it.
            let approver = try #require(try await client.signIn("approver", "approver-password").cookie)
            let approverPage = try await client.request(.get, "/batches/1", cookie: approver).body
            #expect(!approverPage.contains(#"id="trial""#))
            let approverToken = try #require(Self.csrf(in: approverPage))
            #expect(try await client.request(.post, "/batches/1/trial", cookie: approver, body: "_csrf=\(approverToken)").status == 403)

            #expect(try await client.request(.post, "/batches/1/trial", cookie: cookie, body: "_csrf=\(token)").location == "/batches/1")
            let shown = "试算结果（未保存，批次不变）：合计 15,069.45，明细 1 笔，剔除 0 项。"
            var page = ""
            for _ in 0..<200 where !page.contains(shown) {
                page = try await client.request(.get, "/batches/1", cookie: cookie).body
                if !page.contains(shown) { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(page.contains(shown), "\(page)")
            let stored = try await database.query(
                "SELECT b.state, (SELECT count(*)::int FROM batch_lines), (SELECT count(*)::int FROM audit_log WHERE action = 'batch.compute') FROM batches b WHERE id = 1",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, Int, Int).self) }
            #expect(stored.map(\.0) == ["draft"] && stored.map(\.1) == [0] && stored.map(\.2) == [0])
        }
    }

    @Test("a firm's page lists every version of its loans' records, newest payment first, a superseded one marked")
    func firmRecordVersions() async throws {
        try await TestDatabase.withFresh { database, _ in
            try await Self.clerkAndBureauAccount(database)
            // L-1's [2025-01-10, 2025-03-21) sent paying 36,944.44, then corrected to 36,900.00
            // (version 2 supersedes 1); [2025-03-21, 2025-06-21) paid 48,555.55 once. Three rows,
            // by payment day descending, then id descending: the later period, the correction,
            // the superseded first version.
            for statement: PostgresQuery in [
                "INSERT INTO firms (uscc, name, district) VALUES ('91350200776049653A', '成都甲科技有限公司', '高新区')",
                """
                INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date)
                VALUES ('ICBC', 'L-1', '91350200776049653A', 'zhuangda', 500000000, '2025-01-10', '2026-01-09')
                """,
                """
                INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
                VALUES ((SELECT id FROM loans WHERE loan_no = 'L-1'), '2025-01-10', '2025-03-21', 500000000, 3694444, '2025-03-21'),
                       ((SELECT id FROM loans WHERE loan_no = 'L-1'), '2025-03-21', '2025-06-21', 500000000, 4855555, '2025-06-21')
                """,
                "UPDATE interest_records SET status = 'superseded' WHERE paid_fen = 3694444",
                """
                INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on, version, supersedes)
                SELECT loan_id, period_from, period_to, balance_fen, 3690000, paid_on, 2, id FROM interest_records WHERE paid_fen = 3694444
                """,
            ] { try await database.query(statement, logger: TestDatabase.logger) }
            let client = try await Self.client(database)
            let cookie = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            let page = try await client.request(.get, "/firms/91350200776049653A", cookie: cookie).body
            let rows = page.components(separatedBy: "<tr").filter { $0.contains(#"<td class="mono">L-1</td><td>2025-"#) }
            let shown = rows.map { row in
                row.components(separatedBy: "<td").dropFirst().map { cell in
                    String(cell.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
                }
            }
            #expect(shown.map { $0[3] } == ["48,555.55", "36,900.00", "36,944.44"], "\(shown)")
            #expect(shown.map { $0[5] } == ["1", "2", "1"])
            #expect(rows.map { $0.hasPrefix(#" class="muted""#) } == [false, false, true])
        }
    }

    @Test("a batch's lines and the firms page by page: each sort and search, with their counts, as the database orders them")
    func pagedLists() async throws {
        try await TestDatabase.withFresh { database, _ in
            let clerk = try await UserStore(client: database, logger: TestDatabase.logger)
                .add(login: "clerk", displayName: "王会计", password: "clerk-password", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            _ = try await DataLoader(client: database, logger: TestDatabase.logger)
                .load(DataGenerator(scale: GeneratorScale(name: "custom", firms: 400, loans: 800), seed: 42), by: TestDatabase.admin)
            let batches = BatchStore(client: database, logger: TestDatabase.logger)
            let id = try await batches.create(program: .zhuangda, year: 2025, district: nil, by: clerk)
            let summary = try await batches.compute(id, by: clerk)
            // The orders the page must show, from the stored lines themselves: by number, and by
            // amount with the number breaking ties.
            func order(_ sort: String) async throws -> [Int] {
                let query: PostgresQuery = sort == "amount"
                    ? "SELECT line_no FROM batch_lines WHERE batch_id = \(id) ORDER BY amount_fen DESC, line_no"
                    : "SELECT line_no FROM batch_lines WHERE batch_id = \(id) ORDER BY line_no"
                return try await database.query(query, logger: TestDatabase.logger).collect().map { try $0.decode(Int.self) }
            }
            let byNumber = try await order("no"), byAmount = try await order("amount")
            #expect(summary.lines == byNumber.count && byNumber.count > 100, "\(byNumber.count) lines")
            // The count the list of batches shows is the one the computation kept (sql/045).
            let kept = try await database.query("SELECT line_count FROM batches WHERE id = \(id)", logger: TestDatabase.logger)
                .collect().map { try $0.decode(Int.self) }
            #expect(kept == [byNumber.count])
            let pages = (byNumber.count + 49) / 50

            let client = try await Self.client(database)
            let cookie = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            func shown(_ query: String) async throws -> (numbers: [Int], pager: Bool) {
                let body = try await client.request(.get, "/batches/\(id)?\(query)", cookie: cookie).body
                let numbers = body.components(separatedBy: #"class="line-link">"#).dropFirst().compactMap { Int($0.prefix { $0 != "<" }) }
                let page = Int(query.components(separatedBy: "page=").last ?? "") ?? 1
                return (numbers, body.contains("\(page) / \(pages) · \(byNumber.count) "))
            }
            let list = try await client.request(.get, "/batches", cookie: cookie).body
            #expect(list.contains(#"<td class="num">\#(byNumber.count)</td>"#), "\(list)")
            let first = try await shown("page=1")
            #expect(first.numbers == Array(byNumber[0..<50]) && first.pager)
            let second = try await shown("sort=no&dir=asc&page=2")
            #expect(second.numbers == Array(byNumber[50..<100]) && second.pager)
            let last = try await shown("sort=no&dir=asc&page=\(pages)")
            #expect(last.numbers == Array(byNumber[((pages - 1) * 50)...]) && last.pager)
            let descending = try await shown("sort=no&dir=desc&page=2")
            #expect(descending.numbers == Array(byNumber.reversed()[50..<100]) && descending.pager)
            let byAmountPage = try await shown("sort=amount&dir=desc&page=2")
            #expect(byAmountPage.numbers == Array(byAmount[50..<100]) && byAmountPage.pager)

            // The firms' list the same way: by name (the default, the code breaking ties) and by
            // code descending, 50 a page, its count all firms or those a search matches, and
            // whether each holds a qualification today.
            func firms(_ order: String, _ filter: String = "") async throws -> [(String, Bool)] {
                let query: PostgresQuery = order == "name"
                    ? "SELECT uscc::text, EXISTS (SELECT 1 FROM qualifications q WHERE q.firm_uscc = f.uscc AND current_date BETWEEN q.valid_from AND q.valid_to) FROM firms f WHERE name LIKE '%' || \(filter) || '%' ORDER BY name, uscc"
                    : "SELECT uscc::text, EXISTS (SELECT 1 FROM qualifications q WHERE q.firm_uscc = f.uscc AND current_date BETWEEN q.valid_from AND q.valid_to) FROM firms f ORDER BY uscc DESC"
                return try await database.query(query, logger: TestDatabase.logger).collect().map { try $0.decode((String, Bool).self) }
            }
            func listed(_ query: String, count: Int, page: Int) async throws -> [(String, Bool)]? {
                let body = try await client.request(.get, "/firms?\(query)", cookie: cookie).body
                guard body.contains("\(page) / \((count + 49) / 50) · \(count) ") else { return nil }
                return body.components(separatedBy: #"<tr><td class="mono"><a href="/firms/"#).dropFirst().map { row in
                    (String(row.prefix(18)), row.prefix { $0 != "\n" }.components(separatedBy: "</td>").dropFirst(3).first == "<td>✓")
                }
            }
            let byName = try await firms("name"), byCode = try await firms("uscc")
            #expect(byName.count == 400 && byName.contains { $0.1 } && byName.contains { !$0.1 })
            let named = try #require(try await listed("page=2", count: 400, page: 2))
            #expect(named.map(\.0) == byName[50..<100].map(\.0) && named.map(\.1) == byName[50..<100].map(\.1))
            let coded = try #require(try await listed("sort=uscc&dir=desc&page=8", count: 400, page: 8))
            #expect(coded.map(\.0) == byCode[350..<400].map(\.0) && coded.map(\.1) == byCode[350..<400].map(\.1))
            // A search by part of a name: the count and rows of the firms whose name holds it.
            let name = try #require(try await database.query("SELECT name FROM firms ORDER BY uscc LIMIT 1", logger: TestDatabase.logger)
                .collect().first?.decode(String.self))
            let part = String(name.dropFirst(2).prefix(4))
            let matching = try await firms("name", part)
            let searched = try #require(try await listed(
                "q=\(part.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? part)", count: matching.count, page: 1))
            #expect(!matching.isEmpty && searched.map(\.0) == matching.prefix(50).map(\.0))
        }
    }

    @Test("a clerk's statement file is read in one of the read slots the bank API's uploads share, then imported in the turn")
    func statementUploadTakesAReadSlot() async throws {
        try await TestDatabase.withFresh { database, _ in
            try await Self.clerkAndBureauAccount(database)
            let (turn, reads) = (HeavyWork(), HeavyWork.statementReads())
            let client = try await Self.client(database, heavyWork: turn, statementReads: reads)
            let cookie = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            let token = try #require(Self.csrf(in: try await client.request(.get, "/reconciliation", cookie: cookie).body))
            func statements() async throws -> Int {
                try await database.query("SELECT count(*)::int FROM statements", logger: TestDatabase.logger).collect().first!.decode(Int.self)
            }
            // Two uploads (banks', say) hold both read slots until the test lets them go.
            let (hold, letGo) = AsyncStream<Void>.makeStream()
            let holders = (0..<2).map { _ in Task { try await reads.run { for await _ in hold {} } } }
            try await eventually("two reads running") { await reads.running >= 2 }
            // One statement: opening 100.00, a 10.00 fee, closing 90.00.
            let file = ":20:WEB\r\n:25:6222020000009999\r\n:28C:1/1\r\n:60F:C251013CNY100,00\r\n:61:2510131013D10,00NTRFNONREF\r\n:86:/REMI/手续费\r\n:62F:C251013CNY90,00\r\n-\r\n"
            let upload = Task {
                try await client.upload("/reconciliation/upload", cookie: cookie, fields: ["_csrf": token, "format": "mt940"], file: ("file", "bureau.sta", file))
            }
            var waited = 0
            while await reads.queued < 1, waited < 500 {  // 5 s at most
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(await reads.queued == 1, "the upload did not wait for a read slot")
            #expect(try await statements() == 0)
            #expect(await !turn.busy)
            letGo.finish()
            for holder in holders { try await holder.value }
            // Its slot: read, parsed and imported; the clerk is sent to the statement's report.
            let response = try await upload.value
            #expect(response.status == 303 && response.location == "/reconciliation/statements/1", "\(response.status) \(response.body.prefix(300))")
            #expect(try await statements() == 1)
            var entries: (Int, Int64) = (0, 0)
            for try await row in try await database.query(
                "SELECT count(*)::int, sum(amount_fen)::bigint FROM statement_entries", logger: TestDatabase.logger
            ).decode((Int, Int64).self) { entries = row }
            #expect(entries == (1, -1_000))  // the fee of 10.00 (a debit)
            let (running, waiting, turnWaiting, turnBusy) = (await reads.running, await reads.queued, await turn.queued, await turn.busy)
            #expect(running == 0 && waiting == 0 && turnWaiting == 0 && !turnBusy)
        }
    }

    @Test("a reconciliation report downloads whole, as CSV or printable HTML, for a signed-in user; the download is audited")
    func reportDownloads() async throws {
        try await TestDatabase.withFresh { database, _ in
            try await Self.clerkAndBureauAccount(database)
            let client = try await Self.client(database)
            let cookie = try #require(try await client.signIn("clerk", "clerk-password").cookie)
            let token = try #require(Self.csrf(in: try await client.request(.get, "/reconciliation", cookie: cookie).body))
            // One statement: opening 100.00, a fee of 10.00 and a credit of 25.50 that pay no line,
            // closing 115.50 (100.00 − 10.00 + 25.50).
            let file = ":20:WEB\r\n:25:6222020000009999\r\n:28C:1/1\r\n:60F:C251013CNY100,00\r\n:61:2510131013D10,00NTRFNONREF\r\n:86:/REMI/手续费\r\n"
                + ":61:2510131013C25,50NTRFNONREF\r\n:86:/REMI/利息\r\n:62F:C251013CNY115,50\r\n-\r\n"
            let uploaded = try await client.upload("/reconciliation/upload", cookie: cookie, fields: ["_csrf": token, "format": "mt940"], file: ("file", "bureau.sta", file))
            #expect(uploaded.location == "/reconciliation/statements/1", "\(uploaded.status) \(uploaded.body.prefix(300))")
            // The page links both downloads.
            let page = try await client.request(.get, "/reconciliation/statements/1", cookie: cookie).body
            #expect(["xlsx", "csv", "html"].allSatisfy { page.contains("href=\"/reconciliation/statements/1/download?format=\($0)\"") })

            let csv = try await client.get("/reconciliation/statements/1/download?format=csv", cookie: cookie)
            #expect(csv.status == 200 && csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"download\"; filename*=UTF-8''reconciliation-statement-1") == true)
            // The bytes of the report written by the store, and what they say: two entries that
            // pay no line, −10.00 + 25.50 = 15.50, the balances agreeing.
            let text = String(decoding: csv.body, as: UTF8.self)
            #expect(csv.body.starts(with: [0xEF, 0xBB, 0xBF]))
            let directory = try BufferedFile.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let url = directory.appendingPathComponent("report.csv")
            try await ReconciliationReport.write(
                .statement(1), format: .csv, client: database, logger: TestDatabase.logger, today: .todayInBeijing(), to: BufferedFile(path: url.path))
            #expect(csv.body == Array(try Data(contentsOf: url)))
            let rows = text.split(separator: "\r\n").filter { !$0.hasPrefix("汇总") && !$0.hasPrefix("核对") }.dropFirst(2)
            #expect(rows.map { $0.split(separator: ",")[2] }.sorted() == ["-10.00", "25.50"])
            #expect(text.contains("核对 Check: 余额勾稽 Opening + entries = closing,,,,,平衡 balanced\r\n"))

            let html = try await client.get("/reconciliation/statements/1/download?format=html", cookie: cookie)
            #expect(html.status == 200 && html.headers[.contentType] == "text/html; charset=utf-8")
            #expect(String(decoding: html.body, as: UTF8.self).contains("@page { size: A4;"))

            // The sheet (the default): the CSV's rows, cell for cell, read back from the workbook.
            let xlsx = try await client.get("/reconciliation/statements/1/download", cookie: cookie)
            #expect(xlsx.status == 200 && xlsx.headers[.contentType] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            let sheet: [[String]] = try XLSX.readFirstSheet(xlsx.body).map { $0.cells + Array(repeating: "", count: max(0, 6 - $0.cells.count)) }
            let report = try await ReconciliationReport.load(.statement(1), client: database, logger: TestDatabase.logger, today: .todayInBeijing())
            let cells: [[BatchExport.Cell]] = ReconciliationReport.openingCells(report) + report.rows.map(ReconciliationReport.cells)
            let expected: [[String]] = cells.map { $0.map(\.csvText) }
            let rowCount: Int = sheet.count
            #expect(rowCount == 17)  // 2 + 8 + 5 + 2: headings and title, 8 categories, 5 checks, 2 entries
            #expect(sheet == expected)
            let amounts: [String] = sheet.suffix(2).map { $0[2] }.sorted()
            #expect(amounts == ["-10.00", "25.50"])  // the amounts, as numbers

            // A format it does not write, a statement that does not exist, no session.
            let pdf = try await client.get("/reconciliation/statements/1/download?format=pdf", cookie: cookie)
            #expect(pdf.status == 400 && String(decoding: pdf.body, as: UTF8.self).contains("报告格式只能是 xlsx、csv 或 html"))
            #expect(try await client.get("/reconciliation/statements/99/download?format=csv", cookie: cookie).status == 404)
            #expect(try await client.get("/reconciliation/batches/99/download", cookie: cookie).status == 404)
            let anonymous = try await client.request(.get, "/reconciliation/statements/1/download?format=csv", cookie: nil)
            #expect(anonymous.status == 303 && anonymous.location?.hasPrefix("/login") == true)
            // The three downloads, audited.
            let audited = try await database.query(
                "SELECT count(*)::int FROM audit_log WHERE action = 'report.download' AND subject = 'statement:1'", logger: TestDatabase.logger
            ).collect().first!.decode(Int.self)
            #expect(audited == 3)
        }
    }

    @Test("throttling: five failures for a login refuse even the right password for a while; other logins are unaffected")
    func throttling() async throws {
        try await TestDatabase.withFresh { database, _ in
            let users = UserStore(client: database, logger: TestDatabase.logger)
            try await users.add(login: "clerk", displayName: "王会计", password: "clerk-password", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            try await users.add(login: "auditor", displayName: "审计员", password: "auditor-password", roles: [.auditor], by: TestDatabase.admin, cost: 4)
            let client = try await Self.client(database)
            for _ in 0..<5 {
                #expect(try await client.signIn("clerk", "wrong-password").status == 401)
            }
            let blocked = try await client.signIn("clerk", "clerk-password")
            #expect(blocked.status == 429 && blocked.cookie == nil)
            #expect(try await client.signIn("auditor", "auditor-password").status == 303)
            var attempts = 0
            for try await value in try await database.query("SELECT count(*)::int FROM login_attempts WHERE login = 'clerk'", logger: TestDatabase.logger).decode(Int.self) {
                attempts = value
            }
            #expect(attempts == 6)
        }
    }
}
