import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SubsidyRules
import SubsidyServer
import SubsidyStore
import SubsidyTestSupport
import Testing

let firmA = "91350200776049653A"
let firmB = "913502000728319549"

/// Two banks with a token each, two registered firms, and the bank API served over a real socket
/// on a fresh database. Every response a test reads is validated against openapi.yaml.
struct BankAPIFixture: Sendable {
    let client: PostgresClient
    let responder: RouterResponder<AppRequestContext>
    let icbc: String
    let cmbc: String
    let tokens: BankTokens
    let validator: OpenAPIValidator

    static func make(
        _ client: PostgresClient, maxBodyBytes: Int = 64 * 1024 * 1024, heavyWork: HeavyWork = HeavyWork(),
        statementReads: HeavyWork = HeavyWork.statementReads()
    ) async throws -> BankAPIFixture {
        let logger = TestDatabase.logger
        try await client.query(
            """
            INSERT INTO firms (uscc, name, district, account_name, account_no, account_bank) VALUES
              ('91350200776049653A', '成都甲科技有限公司', '高新区', '成都甲科技有限公司', '6222020000000001', '工商银行'),
              ('913502000728319549', '成都乙制造有限公司', '锦江区', '成都乙制造有限公司', '6226090000000002', '民生银行')
            """, logger: logger)
        try await client.query(
            """
            INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source) VALUES
              ('91350200776049653A', 'specialized', '2022-01-01', '2027-12-31', 'test'),
              ('913502000728319549', 'specialized', '2022-01-01', '2027-12-31', 'test')
            """, logger: logger)
        let tokens = BankTokens(client: client, logger: logger)
        try await tokens.addBank(code: "ICBC", name: "中国工商银行", by: TestDatabase.admin)
        try await tokens.addBank(code: "CMBC", name: "中国民生银行", by: TestDatabase.admin)
        let icbc = try await tokens.create(bank: "ICBC", label: "ICBC integration", by: TestDatabase.admin).token
        let cmbc = try await tokens.create(bank: "CMBC", label: "CMBC integration", by: TestDatabase.admin).token
        let router = try buildRouter(health: nil, bank: BankServices(
            client: client, logger: logger, maxBodyBytes: maxBodyBytes, heavyWork: heavyWork, statementReads: statementReads))
        return BankAPIFixture(client: client, responder: router.buildResponder(), icbc: icbc, cmbc: cmbc, tokens: tokens, validator: try OpenAPIValidator())
    }

    /// Sends a request and validates the response against the document; returns status and JSON.
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, contentType: String = "application/json", body: Data? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> (status: Int, json: [String: Any], headers: HTTPFields) {
        var fields = extra
        if let token { fields[.authorization] = "Bearer \(token)" }
        if body != nil { fields[.contentType] = contentType }
        let headers = fields
        // A real HTTP server on a loopback port, as banks reach it.
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let (status, data, responseHeaders) = try await app.test(.live) { http in
            try await http.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) }) { response in
                (Int(response.status.code), Data(response.body.readableBytesView), response.headers)
            }
        }
        try validator.validate(method: method.rawValue, path: uri, status: status, contentType: responseHeaders[.contentType], body: data)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return (status, json, responseHeaders)
    }

    func json(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object) }

    /// An MT940 statement of the bureau's ICBC account 6222 0200 0000 9999 on 13 Oct 2025: 100.00
    /// opening, one 10.00 fee, 90.00 closing.
    static let bureauStatement = ":20:API\r\n:25:6222020000009999\r\n:28C:1/1\r\n:60F:C251013CNY100,00\r\n:61:2510131013D10,00NTRFNONREF\r\n:86:/REMI/手续费\r\n:62F:C251013CNY90,00\r\n-\r\n"

    /// Loan L-1 at ICBC for firm A: 5,000,000.00 at 3.80 % from 2023-01-01.
    func registerLoan(_ loanNo: String = "L-1", token: String? = nil, firm: String = firmA) async throws -> Int {
        try await send(.post, "/v1/loans", token: token ?? icbc, body: json(["loans": [[
            "loanNo": loanNo, "firm": firm, "program": "zhuangda", "principal": "5000000.00", "start": "2023-01-01",
            "maturity": "2027-12-31", "contractRate": "3.80",
        ]]])).status
    }

    func recordCount() async throws -> Int {
        var count = 0
        for try await value in try await client.query("SELECT count(*)::int FROM interest_records", logger: TestDatabase.logger).decode(Int.self) {
            count = value
        }
        return count
    }
}

/// A CSV of daily records for loan L-1 from 2023-01-01: 5,000,000.00 × 3.80 % / 360 = 527.78 a day
/// allows at most 527.79 paid (1 分 tolerance); each line pays 527.77.
func dailyCSV(lines: Int, header: String = "loan_no,period_from,period_to,balance,paid,paid_on", mutate: (Int, inout [String]) -> Void = { _, _ in }) -> String {
    var rows = [header]
    let start = CivilDate(year: 2023, month: 1, day: 1)!
    for index in 0..<lines {
        let from = start + index
        let to = from + 1
        var cells = ["L-1", from.description, to.description, "5000000.00", "527.77", to.description]
        mutate(index + 2, &cells)  // line numbers: the header is line 1
        rows.append(cells.joined(separator: ","))
    }
    return rows.joined(separator: "\r\n") + "\r\n"
}

@Suite("Bank API against the real server and database", .enabled(if: TestDatabase.isConfigured))
struct BankAPITests {
    @Test("no token, an unknown token and a revoked token get 401 problems")
    func authentication() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.send(.get, "/v1/loans", token: nil).status == 401)
            let unknown = try await fixture.send(.get, "/v1/loans", token: "slb_" + String(repeating: "A", count: 43))
            #expect(unknown.status == 401)
            #expect(unknown.json["title"] as? String == "Unauthorized")
            #expect(unknown.headers[.contentType] == "application/problem+json")
            let (id, token) = try await fixture.tokens.create(bank: "ICBC", label: "to revoke", by: TestDatabase.admin)
            #expect(try await fixture.send(.get, "/v1/loans", token: token).status == 200)
            #expect(try await fixture.tokens.revoke(id: id, by: TestDatabase.admin))
            #expect(try await fixture.send(.get, "/v1/loans", token: token).status == 401)
            // Tokens are stored only as hashes.
            var stored = 0
            for try await count in try await client.query(
                "SELECT count(*)::int FROM bank_tokens WHERE encode(token_sha256, 'hex') = \(BankTokens.sha256(token).map { String(format: "%02x", $0) }.joined())",
                logger: TestDatabase.logger
            ).decode(Int.self) {
                stored = count
            }
            #expect(stored == 1)
            #expect(token.count == 47)  // slb_ + 43 base64url characters = 256 bits
        }
    }

    @Test("loans register, update and list; every problem is named by index and field")
    func loans() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            let created = try await fixture.send(.post, "/v1/loans", token: fixture.icbc, body: fixture.json(["loans": [
                ["loanNo": "L-1", "firm": firmA, "program": "zhuangda", "principal": "5000000.00", "start": "2025-01-10", "maturity": "2026-01-09", "contractRate": "3.80"],
                ["loanNo": "X-1", "firm": firmB, "program": "xinyidai", "tier": "huiye", "principal": "10000000.00", "start": "2024-06-01", "maturity": "2027-05-31", "contractRate": "3.45"],
            ]]))
            #expect(created.status == 200)
            #expect(created.json["created"] as? Int == 2)
            let updated = try await fixture.send(.post, "/v1/loans", token: fixture.icbc, body: fixture.json(["loans": [
                ["loanNo": "L-1", "firm": firmA, "program": "zhuangda", "principal": "4000000.00", "start": "2025-01-10", "maturity": "2026-01-09", "contractRate": "3.80"],
            ]]))
            #expect(updated.json["updated"] as? Int == 1)
            let loan = try await fixture.send(.get, "/v1/loans/L-1", token: fixture.icbc)
            #expect(loan.json["principal"] as? String == "4000000.00")
            #expect(loan.json["firmName"] as? String == "成都甲科技有限公司")
            let page = try await fixture.send(.get, "/v1/loans?limit=1", token: fixture.icbc)
            #expect((page.json["items"] as? [Any])?.count == 1)
            let next = try #require(page.json["nextCursor"] as? String)
            let rest = try await fixture.send(.get, "/v1/loans?limit=1&cursor=\(next)", token: fixture.icbc)
            #expect(((rest.json["items"] as? [[String: Any]])?.first?["loanNo"] as? String) == "X-1")

            let bad = try await fixture.send(.post, "/v1/loans", token: fixture.icbc, body: fixture.json(["loans": [
                ["loanNo": "B-1", "firm": "91350200776049653B", "program": "zhuangda", "principal": "12abc", "start": "2025-01-10", "maturity": "2024-01-09", "contractRate": "3.80"],
                ["loanNo": "B-2", "firm": "91440101MA5CJQ4N59", "program": "xinyidai", "principal": "1.00", "start": "2025-01-10", "maturity": "2026-01-09", "contractRate": "3.80"],
            ]]))
            #expect(bad.status == 422)
            let errors = (bad.json["errors"] as? [[String: Any]] ?? []).map { "\($0["index"] ?? "-"):\($0["field"] ?? "")" }
            #expect(Set(errors) == ["0:firm", "0:principal", "0:maturity", "1:tier", "1:firm"])
            // An invalid enum value is a contract violation: 422 naming the field, not a 500.
            let enumError = try await fixture.send(.post, "/v1/loans", token: fixture.icbc, body: fixture.json(["loans": [
                ["loanNo": "E-1", "firm": firmA, "program": "mortgage", "principal": "1.00", "start": "2025-01-10", "maturity": "2026-01-09", "contractRate": "3.80"],
            ]]))
            #expect(enumError.status == 422)
        }
    }

    @Test("a bank never sees or writes another bank's loan: it answers as a missing one")
    func isolation() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            #expect(try await fixture.send(.get, "/v1/loans/L-1", token: fixture.icbc).status == 200)
            let other = try await fixture.send(.get, "/v1/loans/L-1", token: fixture.cmbc)
            let missing = try await fixture.send(.get, "/v1/loans/NO-SUCH", token: fixture.cmbc)
            #expect(other.status == 404 && missing.status == 404)
            #expect((other.json["detail"] as? String)?.replacingOccurrences(of: "L-1", with: "NO-SUCH") == missing.json["detail"] as? String)
            let csv = Data(dailyCSV(lines: 1).utf8)
            let upload = try await fixture.send(.post, "/v1/interest-records", token: fixture.cmbc, contentType: "text/csv", body: csv)
            #expect(upload.status == 422)
            #expect(((upload.json["errors"] as? [[String: Any]])?.first?["message"] as? String) == "no loan \"L-1\" is registered by this bank")
            #expect(try await fixture.recordCount() == 0)
            #expect((try await fixture.send(.get, "/v1/interest-records", token: fixture.cmbc).json["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a GB18030 CSV with Chinese headers and firm names round-trips, with or without charset")
    func gb18030() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            let text = """
                贷款编号,计息起日,计息止日,贷款余额,实付利息,付息日,统一社会信用代码,企业名称,银行流水号\r
                L-1,2025-01-10,2025-03-21,5000000.00,36944.44,2025-03-21,\(firmA),"成都甲科技有限公司（高新区）",工行流水0001\r
                L-1,2025-03-21,2025-06-21,5000000.00,48555.55,2025-06-21,\(firmA),成都甲科技有限公司,工行流水0002\r

                """
            let encoded = try #require(text.data(using: String.Encoding(rawValue: 0x8000_0632)))
            #expect(encoded != Data(text.utf8))  // really GB18030, not UTF-8
            let declared = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv; charset=GBK", body: encoded)
            #expect(declared.status == 200, "\(declared.json)")
            #expect(declared.json["accepted"] as? Int == 2)
            let list = try await fixture.send(.get, "/v1/interest-records?loanNo=L-1", token: fixture.icbc)
            let names = (list.json["items"] as? [[String: Any]] ?? []).compactMap { $0["firmName"] as? String }
            #expect(names == ["成都甲科技有限公司（高新区）", "成都甲科技有限公司"])
            // Detected without a charset; re-sending replaces the two versions (no approved batch used them).
            let detected = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: encoded)
            #expect(detected.json["replaced"] as? Int == 2)
            // UTF-8 with a BOM and LF line ends works too.
            let bom = Data([0xEF, 0xBB, 0xBF]) + Data(text.replacingOccurrences(of: "\r\n", with: "\n").utf8)
            #expect(try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: bom).status == 200)
            let all = try await fixture.send(.get, "/v1/interest-records", token: fixture.icbc)
            let allItems = all.json["items"] as? [[String: Any]] ?? []
            let statuses = allItems.compactMap { $0["status"] as? String }
            #expect(statuses == ["superseded", "superseded", "superseded", "superseded", "accepted", "accepted"])
            // One loan's records: every version too, by id (the accepted and the superseded each
            // read by its own index, sql/047).
            let ofLoan = try await fixture.send(.get, "/v1/interest-records?loanNo=L-1", token: fixture.icbc)
            let items = ofLoan.json["items"] as? [[String: Any]] ?? []
            #expect(items.compactMap { $0["status"] as? String } == statuses)
            #expect(items.compactMap { $0["id"] as? Int } == allItems.compactMap { $0["id"] as? Int })
            #expect(items.compactMap { $0["version"] as? Int } == [1, 1, 2, 2, 3, 3])
            let page = try await fixture.send(.get, "/v1/interest-records?loanNo=L-1&limit=4", token: fixture.icbc)
            let cursor = try #require(page.json["nextCursor"] as? String)
            let rest = try await fixture.send(.get, "/v1/interest-records?loanNo=L-1&cursor=\(cursor)", token: fixture.icbc)
            #expect(((page.json["items"] as? [[String: Any]] ?? []) + (rest.json["items"] as? [[String: Any]] ?? [])).compactMap { $0["id"] as? Int }
                == items.compactMap { $0["id"] as? Int })
        }
    }

    @Test("a file with 3 bad lines among 1,000 reports exactly those 3, and stores nothing")
    func allOrNothing() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            let csv = dailyCSV(lines: 1000) { line, cells in
                switch line {
                case 17: cells[4] = "12abc"                 // malformed amount
                case 500: cells[2] = cells[1]               // period_to not after period_from
                case 901: cells[4] = "600.00"               // more than 3.80 % allows for one day (527.78)
                default: break
                }
            }
            let response = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: Data(csv.utf8))
            #expect(response.status == 422)
            let errors = response.json["errors"] as? [[String: Any]] ?? []
            #expect(errors.map { $0["line"] as? Int } == [17, 500, 901])
            #expect(errors.map { $0["field"] as? String } == ["paid", "period_to", "paid"])
            #expect((errors.first?["message"] as? String)?.contains("\"12abc\" is not an amount") == true)
            #expect((errors.last?["message"] as? String)?.contains("more than the contract rate 3.8% allows") == true)
            #expect(response.json["detail"] as? String == "3 problems found; nothing was stored")
            #expect(try await fixture.recordCount() == 0)
            // The same file corrected is accepted whole.
            let good = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: Data(dailyCSV(lines: 1000).utf8))
            #expect(good.json["accepted"] as? Int == 1000)
            #expect(try await fixture.recordCount() == 1000)
            // Overlaps, within the upload and with stored records, are refused.
            let overlapping = dailyCSV(lines: 2) { line, cells in if line == 3 { cells[1] = "2023-01-01" } }
            let overlap = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: Data(overlapping.utf8))
            #expect(overlap.status == 422)
            #expect((overlap.json["errors"] as? [[String: Any]])?.contains { ($0["message"] as? String)?.contains("overlaps") == true } == true)
        }
    }

    @Test("an Idempotency-Key retry returns the first result; the key with another body is refused")
    func idempotency() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            let body = Data(dailyCSV(lines: 10).utf8)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "upload-2025-03-21-001"]
            let first = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: body, headers: key)
            let retry = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: body, headers: key)
            #expect(first.status == 200 && retry.status == 200)
            #expect(first.json["uploadId"] as? Int == retry.json["uploadId"] as? Int)
            #expect(retry.json["replaced"] as? Int == 0)
            #expect(try await fixture.recordCount() == 10)
            let other = try await fixture.send(
                .post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: Data(dailyCSV(lines: 11).utf8), headers: key)
            #expect(other.status == 422)
            #expect(((other.json["errors"] as? [[String: Any]])?.first?["field"] as? String) == "Idempotency-Key")
            #expect(try await fixture.recordCount() == 10)
            // The same key from another bank is that bank's own key.
            #expect(try await fixture.send(.post, "/v1/interest-records", token: fixture.cmbc, contentType: "text/csv", body: body, headers: key).status == 422)
        }
    }

    @Test("a record re-sent after an approved batch used it is stored as a correction; nothing is deleted")
    func correctionAfterApproval() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            let record: [String: Any] = [
                "loanNo": "L-1", "periodFrom": "2025-01-10", "periodTo": "2025-03-21", "balance": "5000000.00", "paid": "36944.44", "paidOn": "2025-03-21",
            ]
            let first = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, body: fixture.json(["records": [record]]))
            #expect(first.status == 200)
            // The bureau pays on it: a 壮大贷 batch through approval.
            let store = BatchStore(client: client, logger: TestDatabase.logger)
            let users = UserStore(client: client, logger: TestDatabase.logger)
            let clerk = try await users.add(login: "clerk", displayName: "c", password: "clerk-pass-1", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            let approver = try await users.add(login: "approver", displayName: "a", password: "approver-pass", roles: [.approver], by: TestDatabase.admin, cost: 4)
            try await store.setBudget(program: .zhuangda, year: 2025, amount: Money(fen: 100_000_000), source: "test", by: TestDatabase.admin)
            let batch = try await store.create(program: .zhuangda, year: 2025, district: nil, by: clerk)
            _ = try await store.compute(batch, by: clerk)
            _ = try await store.submit(batch, by: clerk, today: CivilDate(year: 2025, month: 9, day: 26)!)
            _ = try await store.approve(batch, by: approver, today: CivilDate(year: 2025, month: 10, day: 11)!)

            var corrected = record
            corrected["paid"] = "30000.00"
            let second = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, body: fixture.json(["records": [corrected]]))
            #expect(second.json["corrections"] as? Int == 1)
            #expect(second.json["replaced"] as? Int == 0)
            let items = try await fixture.send(.get, "/v1/interest-records", token: fixture.icbc).json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 2)
            #expect(items[0]["status"] as? String == "superseded")
            #expect(items[0]["usedInBatch"] as? Int == Int(batch))
            #expect(items[1]["status"] as? String == "accepted")
            #expect(items[1]["correction"] as? Bool == true)
            #expect(items[1]["version"] as? Int == 2)
            let one = try await fixture.send(.get, "/v1/interest-records/\(items[1]["id"] as? Int ?? 0)", token: fixture.icbc)
            #expect(one.json["paid"] as? String == "30000.00")
            #expect(try await fixture.send(.get, "/v1/interest-records/\(items[1]["id"] as? Int ?? 0)", token: fixture.cmbc).status == 404)
        }
    }

    @Test("a body above the limit gets 413 with the limit stated; the contract is served at /openapi.yaml")
    func limitsAndContract() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client, maxBodyBytes: 1000)
            #expect(try await fixture.registerLoan() == 200)
            let response = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: Data(dailyCSV(lines: 40).utf8))
            #expect(response.status == 413)
            #expect(response.json["limitBytes"] as? Int == 1000)
            #expect((response.json["detail"] as? String)?.contains("1000 bytes") == true)
            let app = Application(responder: fixture.responder)
            try await app.test(.router) { http in
                try await http.execute(uri: "/openapi.yaml", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).hasPrefix("openapi: 3.1.0"))
                }
            }
        }
    }

    @Test("a statement uploaded over the API is queued for the daemon, imported once, and only its bank sees it")
    func statementUpload() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            // The bureau's disbursement account is held at ICBC.
            try await DisbursementAccounts(client: client, logger: TestDatabase.logger)
                .add(account: "6222 0200 0000 9999", bank: "ICBC", name: "财政局专户", by: TestDatabase.admin)
            let text = BankAPIFixture.bureauStatement
            let accepted = try await fixture.send(
                .post, "/v1/statements?name=bureau-20251013.sta", token: fixture.icbc, contentType: "application/octet-stream", body: Data(text.utf8))
            #expect(accepted.status == 202)
            #expect(accepted.json["status"] as? String == "pending")
            let id = try #require(accepted.json["uploadId"] as? Int)
            // One pass of the daemon (the process-level tests run the real one).
            let inbox = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: inbox) }
            let daemon = ReconciliationDaemon(
                client: client, database: try DatabaseURL("postgres://x@127.0.0.1:1/x"), inbox: inbox, logger: TestDatabase.logger)
            await daemon.processAll()
            let done = try await fixture.send(.get, "/v1/statements/\(id)", token: fixture.icbc)
            #expect(done.json["status"] as? String == "processed")
            #expect((done.json["statementIds"] as? [Int])?.count == 1)
            #expect(try await fixture.send(.get, "/v1/statements/\(id)", token: fixture.cmbc).status == 404)
            // The same statement again: processed, but no second statement.
            let again = try await fixture.send(.post, "/v1/statements", token: fixture.icbc, contentType: "text/plain", body: Data(text.utf8))
            await daemon.processAll()
            let second = try await fixture.send(.get, "/v1/statements/\(again.json["uploadId"] as? Int ?? 0)", token: fixture.icbc)
            #expect(second.json["status"] as? String == "processed")
            #expect(second.json["statementIds"] == nil)

            // Another bank cannot report on the bureau's ICBC account, and nobody on an account
            // that is not the bureau's: each upload is rejected with the reason, nothing imported,
            // and the queue goes on.
            let foreign = try await fixture.send(.post, "/v1/statements", token: fixture.cmbc, contentType: "text/plain",
                                                 body: Data(text.replacingOccurrences(of: ":20:API", with: ":20:CMBC").utf8))
            let stranger = try await fixture.send(.post, "/v1/statements", token: fixture.icbc, contentType: "text/plain",
                                                  body: Data(text.replacingOccurrences(of: "6222020000009999", with: "6222020000001234").utf8))
            await daemon.processAll()
            let foreignDone = try await fixture.send(.get, "/v1/statements/\(foreign.json["uploadId"] as? Int ?? 0)", token: fixture.cmbc)
            #expect(foreignDone.json["status"] as? String == "rejected")
            #expect((foreignDone.json["error"] as? String)?.contains("held at ICBC") == true, "\(foreignDone.json)")
            let strangerDone = try await fixture.send(.get, "/v1/statements/\(stranger.json["uploadId"] as? Int ?? 0)", token: fixture.icbc)
            #expect(strangerDone.json["status"] as? String == "rejected")
            #expect((strangerDone.json["error"] as? String)?.contains("not one of the bureau's disbursement accounts") == true, "\(strangerDone.json)")
            #expect(try await count(client, "SELECT count(*)::int FROM statements") == 1)
        }
    }

    @Test("a statement upload takes the server's turn: while another heavy action runs it waits, stores nothing, and then is checked and queued")
    func statementUploadWaitsItsTurn() async throws {
        try await TestDatabase.withFresh { client, _ in
            let gate = HeavyWork()
            let fixture = try await BankAPIFixture.make(client, heavyWork: gate)
            let text = BankAPIFixture.bureauStatement
            // Another heavy action (a computation, an import) holds the turn until the test lets it go.
            let (hold, letGo) = AsyncStream<Void>.makeStream()
            let other = Task { try await gate.run { for await _ in hold {} } }
            try await eventually("the heavy action holds the turn") { await gate.busy }
            let upload = Task {
                try await fixture.send(.post, "/v1/statements?name=waits.sta", token: fixture.icbc, contentType: "text/plain", body: Data(text.utf8)).status
            }
            // The upload queues for the turn (5 s at most; without the turn it would be stored now).
            for _ in 0..<500 where await gate.queued < 1 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await gate.queued == 1)
            #expect(try await count(client, "SELECT count(*)::int FROM statement_uploads") == 0)
            letGo.finish()
            try await other.value
            #expect(try await upload.value == 202)
            #expect(try await count(client, "SELECT count(*)::int FROM statement_uploads WHERE name = 'waits.sta' AND status = 'pending'") == 1)
            // A malformed file in its turn: refused with where, nothing stored, and the turn passed on.
            let bad = try await fixture.send(
                .post, "/v1/statements", token: fixture.icbc, contentType: "text/plain", body: Data(text.replacingOccurrences(of: "D10,00", with: "D10,0x").utf8))
            #expect(bad.status == 422)
            #expect(try await count(client, "SELECT count(*)::int FROM statement_uploads") == 1)
            #expect(await !gate.busy)
            #expect(await gate.queued == 0)
        }
    }
}

func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
    var result = 0
    for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self) { result = value }
    return result
}

#if canImport(Glibc)
import Glibc
#endif

/// A client that sends an upload's headers and the first bytes of its body, then stalls.
struct StalledUpload {
    let client: RawHTTPClient

    init(port: Int, token: String, declaredBytes: Int, path: String = "/v1/interest-records",
         firstBytes: String = "loan_no,period_from,period_to,balance,paid,paid_on\r\n") throws {
        client = try RawHTTPClient(port: port)
        client.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: text/csv\r\nContent-Length: \(declaredBytes)\r\n\r\n\(firstBytes)")
    }

    func close() { client.close() }
}

@Suite("Slow uploads", .enabled(if: TestDatabase.isConfigured))
struct SlowUploadTests {
    /// The bank API served as the service serves it (`.subsidyHTTP1`), over a real socket, with
    /// one loan registered; the body's upload stores the three records of `dailyCSV(lines: 3)`.
    func withLiveBankAPI(_ body: @escaping @Sendable (BankAPIFixture, Int, any TestClientProtocol) async throws -> Void) async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            let app = Application(responder: fixture.responder, server: .subsidyHTTP1, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { http in try await body(fixture, try #require(http.port), http) }
            #expect(try await fixture.recordCount() == 3)
        }
    }

    @Test("twenty uploads stalled mid-body hold no database connection: other requests go on")
    func stalledUploads() async throws {
        try await withLiveBankAPI { fixture, port, http in
            // The pool holds 20 connections: were each stalled upload to hold one, nothing else could run.
            let stalled = try (0..<20).map { _ in try StalledUpload(port: port, token: fixture.icbc, declaredBytes: 1_000_000) }
            defer { stalled.forEach { $0.close() } }
            try await Task.sleep(for: .milliseconds(300))
            // 30 reads while the 20 uploads stay stalled (they end only when the test closes them):
            // were the uploads holding the pool's 20 connections, the reads would wait for as long
            // as the stall lasts, so they would not be served within the minute. (A bound of 10 s
            // on the reads' time failed once at 10.09 s in a loaded full-suite run: it measured the
            // machine, not the connections.)
            let token = fixture.icbc
            let statuses = try await withDeadline(.seconds(60)) {
                var statuses: [Int] = []
                for _ in 0..<30 {
                    statuses.append(try await http.execute(uri: "/v1/loans", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                        Int($0.status.code)
                    })
                }
                return statuses
            }
            #expect(statuses == Array(repeating: 200, count: 30), "served while the uploads stall")
            // And a whole upload still goes through.
            let csv = dailyCSV(lines: 3)
            let stored = try await http.execute(
                uri: "/v1/interest-records", method: .post,
                headers: [.authorization: "Bearer \(fixture.icbc)", .contentType: "text/csv"], body: ByteBuffer(string: csv)
            ) { Int($0.status.code) }
            #expect(stored == 200)
        }
    }

    @Test("statement uploads stalled mid-body hold a read slot, never the server's turn: a computation's turn stays free, and a third upload waits for a slot")
    func stalledStatementUploads() async throws {
        try await TestDatabase.withFresh { client, _ in
            let (turn, reads) = (HeavyWork(), HeavyWork.statementReads())
            let fixture = try await BankAPIFixture.make(client, heavyWork: turn, statementReads: reads)
            let app = Application(responder: fixture.responder, server: .subsidyHTTP1, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { http in
                let port = try #require(http.port)
                let stalled = try (0..<2).map { _ in
                    try StalledUpload(port: port, token: fixture.icbc, declaredBytes: 1_000_000, path: "/v1/statements", firstBytes: ":20:SLOW\r\n")
                }
                for _ in 0..<500 where await reads.running < 2 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(await reads.running == 2)
                // The server's turn is free: a computation or an import runs at once.
                #expect(await !turn.busy)
                #expect(try await turn.run { 7 } == 7)
                // A third, whole upload waits for a slot, and nothing is stored meanwhile.
                let text = BankAPIFixture.bureauStatement
                let headers: HTTPFields = [.authorization: "Bearer \(fixture.icbc)", .contentType: "text/plain"]
                let third = Task {
                    try await http.execute(uri: "/v1/statements?name=third.sta", method: .post, headers: headers, body: ByteBuffer(string: text)) {
                        Int($0.status.code)
                    }
                }
                for _ in 0..<500 where await reads.queued < 1 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(await reads.queued == 1)
                #expect(try await count(client, "SELECT count(*)::int FROM statement_uploads") == 0)
                // The stalled senders go away: their slots pass on, the third is checked and queued.
                stalled.forEach { $0.close() }
                #expect(try await third.value == 202)
                #expect(try await count(client, "SELECT count(*)::int FROM statement_uploads WHERE name = 'third.sta'") == 1)
                for _ in 0..<500 where await reads.running > 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(await reads.running == 0)
            }
        }
    }

    @Test("a client that asks for 100-continue gets it before it sends the body, then the upload's answer")
    func expectContinue() async throws {
        try await withLiveBankAPI { fixture, port, http in
            let csv = dailyCSV(lines: 3)
            // As curl sends any body over 1 MB: the head, then a wait for the interim answer
            // (curl gives up waiting after a second and sends anyway).
            let raw = try RawHTTPClient(port: port)
            defer { raw.close() }
            raw.send("POST /v1/interest-records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(fixture.icbc)\r\n"
                + "Content-Type: text/csv\r\nContent-Length: \(csv.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
            let interim = raw.receiveHead(timeoutSeconds: 2)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(interim)")
            raw.send(csv)
            let final = raw.receiveHead(timeoutSeconds: 20)
            #expect(final.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(final)")
            // The token in another case is answered too; without the header no interim answer
            // comes: the first head is the final one.
            for (expect, interimExpected) in [("Expect: 100-Continue\r\n", true), ("", false)] {
                let other = try RawHTTPClient(port: port)
                defer { other.close() }
                other.send("GET /v1/loans HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(fixture.icbc)\r\n\(expect)\r\n")
                let first = other.receiveHead(timeoutSeconds: 10)
                #expect(first.hasPrefix(interimExpected ? "HTTP/1.1 100 Continue\r\n" : "HTTP/1.1 200 OK\r\n"), "\(first)")
            }
        }
    }
}

/// A blocking HTTP/1.1 client over a socket, for what URLSession and Hummingbird's test client
/// hide: interim responses.
struct RawHTTPClient {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) {
        _ = text.withCString { Glibc.send(socket, $0, strlen($0), 0) }
    }

    /// The next response head (up to its blank line), byte by byte so that nothing after it is
    /// consumed; what came when `timeoutSeconds` pass without a byte.
    func receiveHead(timeoutSeconds: Int) -> String {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while !bytes.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), Glibc.recv(socket, &byte, 1, 0) == 1 {
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func close() { _ = Glibc.close(socket) }
}
