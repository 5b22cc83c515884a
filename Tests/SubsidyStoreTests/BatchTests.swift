import Foundation
import Logging
import PostgresNIO
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore
import SubsidyTestSupport
import Testing

let firmA = "91350200776049653A"
let firmB = "913502000728319549"
/// A third firm, after A and B in byte order (`BatchFixture.addFirmC`).
let firmC = "91510100MA6123456W"
func day(_ text: String) -> CivilDate { try! CivilDate.parse(text, field: "test") }

/// Two firms with 壮大贷 loans in 2025, a budget, a clerk and an approver.
///   A: ICBC/L-1, 5,000,000.00 from 2025-01-10; record [2025-01-10, 2025-03-21) paid 36,944.44
///      → 5,000,000.00 × 3.10 % × 70 / 360 = 30,138.89; × 50 % = 15,069.45 (the CALCULATOR example)
///   B: CMBC/L-2, 2,000,000.00 from 2025-02-01; record [2025-02-01, 2025-05-01) paid 20,000.00
///      → 2,000,000.00 × 3.10 % × 89 / 360 = 15,327.78; × 50 % = 7,663.89
struct BatchFixture {
    let store: BatchStore
    let clerk: User
    let approver: User
    let client: PostgresClient

    static func make(_ client: PostgresClient, budget: String? = "1000000.00") async throws -> BatchFixture {
        let logger = TestDatabase.logger
        let statements: [PostgresQuery] = [
            """
            INSERT INTO firms (uscc, name, district, account_name, account_no, account_bank) VALUES
              ('91350200776049653A', '成都甲科技有限公司', '高新区', '成都甲科技有限公司', '6222020000000001', '工商银行成都高新支行'),
              ('913502000728319549', '成都乙制造有限公司', '锦江区', '成都乙制造有限公司', '6226090000000002', '民生银行成都分行')
            """,
            """
            INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source) VALUES
              ('91350200776049653A', 'specialized', '2024-03-01', '2027-02-28', '川经信〔2024〕1号'),
              ('913502000728319549', 'little_giant', '2023-07-01', '2026-06-30', '工信部〔2023〕5批')
            """,
            """
            INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date) VALUES
              ('ICBC', 'L-1', '91350200776049653A', 'zhuangda', 500000000, '2025-01-10', '2026-01-09'),
              ('CMBC', 'L-2', '913502000728319549', 'zhuangda', 200000000, '2025-02-01', '2026-01-31')
            """,
            """
            INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on) VALUES
              ((SELECT id FROM loans WHERE loan_no = 'L-1'), '2025-01-10', '2025-03-21', 500000000, 3694444, '2025-03-21'),
              ((SELECT id FROM loans WHERE loan_no = 'L-2'), '2025-02-01', '2025-05-01', 200000000, 2000000, '2025-05-01')
            """,
        ]
        let admin = TestDatabase.admin
        let banks = BankTokens(client: client, logger: logger)
        try await banks.addBank(code: "ICBC", name: "中国工商银行", by: admin)
        try await banks.addBank(code: "CMBC", name: "中国民生银行", by: admin)
        for statement in statements { try await client.query(statement, logger: logger) }
        // The bureau's disbursement account, held at ICBC (the statements in the tests are for it).
        try await DisbursementAccounts(client: client, logger: logger).add(account: "6222020000009999", bank: "ICBC", name: "财政局专户", by: admin)
        let store = BatchStore(client: client, logger: logger)
        let users = UserStore(client: client, logger: logger)
        let clerk = try await users.add(login: "clerk", displayName: "王会计", password: "clerk-pass-1", roles: [.clerk], by: admin, cost: 4)
        let approver = try await users.add(login: "approver", displayName: "李处长", password: "approver-pass", roles: [.approver], by: admin, cost: 4)
        if let budget {
            try await store.setBudget(
                program: .zhuangda, year: 2025, amount: try Money.parse(budget, field: "budget"), source: "成财教〔2025〕1号", by: admin)
        }
        return BatchFixture(store: store, clerk: clerk, approver: approver, client: client)
    }

    /// Runs reference-data SQL as the administrator (the audit triggers refuse it for nobody).
    func asAdmin(_ query: PostgresQuery) async throws {
        _ = try await UserStore(client: client, logger: TestDatabase.logger).actingAs(TestDatabase.admin) { connection in
            try await connection.query(query, logger: TestDatabase.logger)
        }
    }

    /// A draft zhuangda 2025 batch, created by the clerk.
    func draftBatch(district: String? = nil) async throws -> Int64 {
        try await store.create(program: .zhuangda, year: 2025, district: district, by: clerk)
    }

    /// create → compute → submit on a Friday before the National Day holiday: in 公示 until 2025-10-10.
    func batchInPublicity(district: String? = nil) async throws -> Int64 {
        let id = try await draftBatch(district: district)
        _ = try await store.compute(id, by: clerk)
        _ = try await store.submit(id, by: clerk, today: day("2025-09-26"))
        return id
    }

    /// create → compute → submit on a Friday before the National Day holiday → approve after 公示.
    func approvedBatch(district: String? = nil) async throws -> Int64 {
        let id = try await batchInPublicity(district: district)
        _ = try await store.approve(id, by: approver, today: day("2025-10-11"))
        return id
    }

    /// A late record for A: [2025-03-21, 2025-06-21), 92 days on 5,000,000.00, paid 40,000.00.
    func addLateRecordOfA() async throws {
        try await client.query(
            """
            INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
            VALUES ((SELECT id FROM loans WHERE loan_no = 'L-1'), '2025-03-21', '2025-06-21', 500000000, 4000000, '2025-06-21')
            """, logger: TestDatabase.logger)
    }

    /// The bank re-sends B's record with another amount paid: the old version is superseded, kept.
    func correctRecordOfB(paidFen: Int64) async throws {
        try await client.query(
            """
            WITH old AS (UPDATE interest_records SET status = 'superseded'
                         WHERE loan_id = (SELECT id FROM loans WHERE loan_no = 'L-2') AND status = 'accepted' RETURNING *)
            INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on, version, supersedes)
            SELECT loan_id, period_from, period_to, balance_fen, \(paidFen), paid_on, version + 1, id FROM old
            """, logger: TestDatabase.logger)
    }

    /// Firm C (成都丙材料, 武侯区) with a 壮大贷 loan ICBC/L-3 of 1,000,000.00 and a record for each
    /// period, paid on its last day; qualified (专精特新) over `qualified` when given, else never.
    func addFirmC(
        qualified: (from: String, to: String)?, loan: (start: String, maturity: String), records: [(from: String, to: String, paidFen: Int64)]
    ) async throws {
        var statements: [PostgresQuery] = ["INSERT INTO firms (uscc, name, district) VALUES (\(firmC), '成都丙材料有限公司', '武侯区')"]
        if let qualified {
            statements.append("""
                INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
                VALUES (\(firmC), 'specialized', \(qualified.from)::date, \(qualified.to)::date, '川经信〔2024〕1号')
                """)
        }
        statements.append("""
            INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date)
            VALUES ('ICBC', 'L-3', \(firmC), 'zhuangda', 100000000, \(loan.start)::date, \(loan.maturity)::date)
            """)
        statements.append("""
            INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
            SELECT (SELECT id FROM loans WHERE loan_no = 'L-3'), f, t, 100000000, p, t
            FROM unnest(\(records.map(\.from))::date[], \(records.map(\.to))::date[], \(records.map(\.paidFen))::bigint[]) AS r(f, t, p)
            """)
        for statement in statements { try await client.query(statement, logger: TestDatabase.logger) }
    }

    func amounts(_ id: Int64) async throws -> [String: Money] {
        Dictionary(uniqueKeysWithValues: try await store.lines(id).map { ($0.recipient, $0.amount) })
    }

    func balance(_ code: String) async throws -> Money {
        let balances = try await Ledger(logger: TestDatabase.logger).balances(client, at: nil)
        return balances.first { $0.code == code }?.balance ?? .zero
    }
}

func money(_ text: String) -> Money { try! Money.parse(text, field: "test", allowNegative: true) }

@Suite("Subsidy batches in PostgreSQL", .enabled(if: TestDatabase.isConfigured))
struct BatchTests {
    @Test("a full lifecycle: compute, 公示 by working days, four-eyes approval, accruals in the ledger, export")
    func lifecycle() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            let id = try await fixture.draftBatch()
            await #expect(throws: BatchError.wrongState(batch: id, state: .draft, action: "approve")) {
                _ = try await store.approve(id, by: fixture.approver, today: day("2025-12-01"))
            }
            let computed = try await store.compute(id, by: fixture.clerk)
            // 15,069.45 + 7,663.89 = 22,733.34
            #expect(computed.totalFen == 2_273_334)
            // Every connection asks the server to watch for its client (a stopped command's query
            // must not run on holding locks): the service's pool sets it at start-up.
            let interval = try await client.query("SHOW client_connection_check_interval", logger: TestDatabase.logger)
                .collect().first?.decode(String.self)
            #expect(interval == "5s")
            #expect(try await fixture.amounts(id) == [firmA: money("15069.45"), firmB: money("7663.89")])
            // Lines in recipient order (USCC as text): B (…0728319549) before A (…776049653A).
            let lines = try await store.lines(id)
            #expect(lines.map(\.recipient) == [firmB, firmA])
            // SL + Z (壮大贷) + 25 + batch 00001 + line 00001 + Luhn check digit: 16 characters, under 20.
            #expect(lines.map(\.paymentRef) == ["SLZ2500001000014", "SLZ2500001000022"])
            #expect(lines.allSatisfy { $0.paymentRef.count == 16 && PaymentReference.luhn(String($0.paymentRef.dropFirst(3).dropLast())) == Int(String($0.paymentRef.last!)) })
            #expect(lines[1].explanation.contains("5,000,000.00 × 3.10% × 70 / 360 = 30,138.89"))
            // Stored with each rule, clause and item once (sql/029), the record-level steps as
            // their figures (sql/031): A's record is [ICBC/L-1, balance 500000000 分, rate "3.10",
            // 70 days, basis 360, interest 3013889 分], with no words. Read back, and turned back
            // by SQL's explanation_steps, as the array of step objects in the calculator's words.
            #expect(try await count(client, """
                SELECT count(*) FROM batch_lines WHERE batch_id = \(id) AND explanation::text LIKE '{"v":4,"steps":[[%'
                  AND explanation::text NOT LIKE '% / 360 = %' AND explanation::text NOT LIKE '%min(%'
                """) == 2)
            #expect(try await count(client, """
                SELECT count(*) FROM batch_lines WHERE batch_id = \(id) AND recipient_uscc = '\(firmA)'
                  AND explanation::text LIKE '%[0,0,0,3,500000000,0,70,360,3013889,%' AND explanation::json->'rates'->>0 = '3.10'
                """) == 1)
            for line in lines {
                #expect(line.explanation.hasPrefix(#"[{"rule":""#))
                let sameInSQL = try await client.query("""
                    SELECT explanation_steps(explanation)::jsonb = \(line.explanation)::jsonb
                    FROM batch_lines WHERE batch_id = \(id) AND recipient_uscc = \(line.recipient)
                    """, logger: TestDatabase.logger).collect().first?.decode(Bool.self)
                #expect(sameInSQL == true)
            }
            // A line stored in version 3 (before sql/036) reads back in SQL as in the service.
            let version3 = #"{"v":3,"steps":[[0,0,0,1,100000,0,31,360,297],[1,0,0,2,297,300,297],[2,0,0,"2.97 × 50% = 1.49","1.49"]],"#
                + #""rules":["zhuangda.lprInterest","zhuangda.base","zhuangda.ratio"],"clauses":["第6条"],"items":["ICBC/L-1"],"rates":["3.45"]}"#
            #expect(try await client.query(
                "SELECT explanation_steps(\(version3)::json)::jsonb = \(try ExplanationStep.readableJSON(stored: version3))::jsonb", logger: TestDatabase.logger
            ).collect().first?.decode(Bool.self) == true)
            // A line stored in the array form (before sql/029) reads back as it is.
            #expect(try await client.query(
                #"SELECT explanation_steps('[{"rule":"r","clause":"c","text":"t"}]')::text"#, logger: TestDatabase.logger
            ).collect().first?.decode(String.self) == #"[{"rule":"r","clause":"c","text":"t"}]"#)

            // 公示: submitted Friday 2025-09-26 → 09-28 (调休 Sunday), 09-29, 09-30, [10-01…10-08 holiday], 10-09, 10-10.
            let submitted = try await store.submit(id, by: fixture.clerk, today: day("2025-09-26"))
            #expect(submitted.publicityFrom == day("2025-09-28"))
            #expect(submitted.publicityUntil == day("2025-10-10"))
            await #expect(throws: BatchError.missingRole(login: "clerk", role: .approver)) {
                _ = try await store.approve(id, by: fixture.clerk, today: day("2025-10-11"))
            }
            let both = User(id: fixture.clerk.id, login: "clerk", displayName: "", roles: [.clerk, .approver])
            await #expect(throws: BatchError.sameUser(login: "clerk")) {
                _ = try await store.approve(id, by: both, today: day("2025-10-11"))
            }
            await #expect(throws: BatchError.publicityNotOver(until: day("2025-10-10"))) {
                _ = try await store.approve(id, by: fixture.approver, today: day("2025-10-10"))
            }
            // A payee without an account on file cannot be paid: approval refuses, naming it.
            try await fixture.asAdmin("UPDATE firms SET account_no = NULL WHERE uscc = \(firmB)")
            await #expect(throws: BatchError.missingAccount([firmB])) { _ = try await store.approve(id, by: fixture.approver, today: day("2025-10-11")) }
            try await fixture.asAdmin("UPDATE firms SET account_no = '6226090000000002' WHERE uscc = \(firmB)")
            let approved = try await store.approve(id, by: fixture.approver, today: day("2025-10-11"))
            #expect(approved.state == .approved)
            // The approval began with fresh statistics (sql/016, called by the service's own role):
            // a fresh database has never analysed batch_lines (reltuples -1); now it counts the 2 lines.
            let counted = try await client.query(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = 'batch_lines'", logger: TestDatabase.logger
            ).collect().first?.decode(Int64.self)
            #expect(counted == 2)
            #expect(try await fixture.balance("payable:\(firmA)") == money("-15069.45"))
            #expect(try await fixture.balance("payable:\(firmB)") == money("-7663.89"))
            #expect(try await fixture.balance("expense:zhuangda:2025") == money("22733.34"))
            // One accrual entry for the two lines (an entry per chunk of lines, not per line):
            // the expense debited 22,733.34, then each payable credited its line, in line order.
            let accrued = try await client.query(
                """
                SELECT e.kind, e.memo, a.code, l.amount_fen FROM journal_entries e JOIN journal_lines l ON l.entry_seq = e.seq
                JOIN accounts a ON a.id = l.account_id WHERE e.batch_id = \(id) ORDER BY e.seq, l.line_no
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, String, Int64).self) }
            #expect(accrued.map(\.0) == ["accrual", "accrual", "accrual"])
            #expect(accrued.map(\.1) == Array(repeating: "batch \(id) zhuangda 2025: 2 lines 1–2", count: 3))
            #expect(accrued.map(\.2) == ["expense:zhuangda:2025", "payable:\(firmB)", "payable:\(firmA)"])
            #expect(accrued.map(\.3) == [2_273_334, -766_389, -1_506_945])
            let audited = try await client.query(
                "SELECT detail->>'lines', detail->>'entries' FROM audit_log WHERE action = 'batch.approve' AND subject = \("batch:\(id)")",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String).self) }
            #expect(audited.map(\.0) == ["2"] && audited.map(\.1) == ["1"])
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
            await #expect(throws: BatchError.wrongState(batch: id, state: .approved, action: "cancel (only before approval)")) {
                try await store.cancel(id, by: fixture.clerk, reason: "late")
            }

            // The payee was frozen at approval: a later change of the firm's account does not reach the file.
            try await fixture.asAdmin("UPDATE firms SET account_no = '9999999999999999' WHERE uscc = \(firmB)")
            let files = try await store.export(id, by: fixture.clerk)
            #expect(files.payment.hasPrefix("\u{FEFF}序号 No.,收款人名称 Payee"))
            #expect(files.payment.contains("成都甲科技有限公司,6222020000000001,工商银行成都高新支行,15069.45,\(lines[1].paymentRef),\(firmA)\r\n"))
            #expect(files.payment.contains("合计 Total,,,,22733.34,2 笔 payments,"))
            #expect(files.publicity.contains("成都乙制造有限公司,\(firmB),壮大贷贴息 zhuangda,2025,7663.89"))
            #expect(files.payment.contains("成都乙制造有限公司,6226090000000002,"))
            #expect(!files.payment.contains("9999999999999999"))
            #expect(try await store.summary(id).state == .exported)
        }
    }

    @Test("a computation reads while its user signs in: nothing is written, and no error of the batch's own is reported, before the sign-in succeeds")
    func computeWhileSigningIn() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            let id = try await fixture.draftBatch()
            func stored() async throws -> [Int] {
                [try await count(client, "SELECT count(*)::int FROM batch_lines WHERE batch_id = \(id)"),
                 try await count(client, "SELECT count(*)::int FROM audit_log WHERE action = 'batch.compute'")]
            }
            let failed = Task<User, any Error> { throw BatchError.badPassword("clerk") }
            // A failed sign-in is the only error an unknown user sees: not that batch 987654 does
            // not exist, nor (below) that an approved batch cannot be computed.
            for batch in [id, 987_654] {
                await #expect(throws: BatchError.badPassword("clerk")) { try await store.compute(batch, signingIn: failed) }
            }
            await #expect(throws: BatchError.missingRole(login: "approver", role: .clerk)) {
                try await store.compute(id, signingIn: Task { fixture.approver })
            }
            #expect(try await stored() == [0, 0])
            #expect(try await store.summary(id).state == .draft)
            // Signed in, the batch's own error comes through, and a computation is stored.
            await #expect(throws: BatchError.notFound(987_654)) { try await store.compute(987_654, signingIn: Task { fixture.clerk }) }
            let computed = try await store.compute(id, signingIn: Task { fixture.clerk })
            #expect(computed.totalFen == 2_273_334)  // A 15,069.45 + B 7,663.89 = 22,733.34
            #expect(try await stored() == [2, 1])
            let approved = try await fixture.approvedBatch()
            await #expect(throws: BatchError.badPassword("clerk")) { try await store.compute(approved, signingIn: failed) }
            do {
                _ = try await store.compute(approved, signingIn: Task { fixture.clerk })
                Issue.record("an approved batch was computed again")
            } catch let error as BatchError {
                guard case .wrongState(batch: approved, state: .approved, action: _) = error else { throw error }
            }
            #expect(try await count(client, "SELECT count(*)::int FROM audit_log WHERE action = 'batch.compute'") == 2)
        }
    }

    @Test("recompute after a corrected interest record; a clerk's exclusion is audited and not paid")
    func recomputeAndExclude() async throws {
        try await TestDatabase.withFresh { client, url in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            let id = try await fixture.draftBatch()
            _ = try await store.compute(id, by: fixture.clerk)
            // The bank corrects B's record: paid 10,000.00 → base min(15,327.78, 10,000.00) = 10,000.00; × 50 % = 5,000.00
            try await fixture.correctRecordOfB(paidFen: 1_000_000)
            let recomputed = try await store.compute(id, by: fixture.clerk)
            #expect(try await fixture.amounts(id)[firmB] == money("5000.00"))
            #expect(recomputed.totalFen == 2_006_945)  // 15,069.45 + 5,000.00
            // A zhuangda item is under no cap that spans years: it is in its line's items, not a
            // row of batch_line_items (sql/042).
            let line = try await count(client, "SELECT min(id)::int FROM batch_lines WHERE batch_id = \(id)")
            #expect(try await count(client, "SELECT count(*)::int FROM batch_line_items WHERE batch_line_id = \(line)") == 0)
            #expect(try await count(client, """
                SELECT count(*)::int FROM batch_lines WHERE batch_id = \(id) AND json_array_length(items::json) = 1 AND items::json->0->>'kind' = 'loan'
                """) == 2)
            // A line with an item row (as every line had before sql/042): an item names a line
            // that exists, and a line goes only after its items, checked per statement (sql/030),
            // for the service's role and the schema's owner alike.
            try await client.query(
                "INSERT INTO batch_line_items (batch_line_id, item_id, kind, amount_fen) VALUES (\(line), 'ICBC/L-1', 'loan', 1)", logger: TestDatabase.logger)
            try await TestDatabase.withOwnerClient(of: url) { owner in
                for role in [client, owner] {
                    await expectRefused(
                        role, "INSERT INTO batch_line_items (batch_line_id, item_id, kind, amount_fen) VALUES (987654, 'ICBC/X', 'loan', 1)",
                        containing: "batch line 987654 does not exist")
                    await expectRefused(role, "DELETE FROM batch_lines WHERE id = \(line)", containing: "batch line \(line) still has items")
                }
                await expectRefused(
                    owner, "UPDATE batch_line_items SET batch_line_id = 987654 WHERE batch_line_id = \(line)", containing: "batch line 987654 does not exist")
                // A line's batch exists, checked per statement (sql/034); a line stays in its
                // batch; a batch goes only after its lines, never by TRUNCATE, and keeps its id.
                let other = try await store.create(program: .zhuangda, year: 2024, district: nil, by: fixture.clerk)
                for role in [client, owner] {
                    await expectRefused(role, """
                        INSERT INTO batch_lines (batch_id, line_no, recipient_uscc, recipient_name, computed_fen, previously_fen, amount_fen,
                                                 payment_ref, items, explanation)
                        VALUES (987654, 1, '\(firmA)', 'x', 1, 0, 1, 'SLX', '[]', '[]')
                        """, containing: "batch 987654 does not exist")
                    await expectRefused(
                        role, "UPDATE batch_lines SET batch_id = \(other) WHERE id = \(line)", containing: "a batch line stays in its batch")
                    // What a line says of its award stays as computed, before approval too (sql/039).
                    await expectRefused(
                        role, "UPDATE batch_lines SET explanation = explanation || ' ' WHERE id = \(line)",
                        containing: "a batch line's explanation and items are written with it and never change")
                }
                // A payee correction names a line that exists, the line is kept while a
                // correction names it, and a correction stays with its line: checked per
                // statement (sql/038), for both roles.
                for role in [client, owner] {
                    await expectRefused(role, """
                        INSERT INTO payee_corrections (batch_line_id, new_name, new_account, new_bank, reason, requested_by)
                        VALUES (987654, '成都乙', '6200000000000002', '工商银行', '更正', \(fixture.clerk.id))
                        """, containing: "batch line 987654 does not exist")
                }
                let correction = try await count(owner, """
                    INSERT INTO payee_corrections (batch_line_id, new_name, new_account, new_bank, reason, requested_by)
                    VALUES (\(line), '成都乙', '6200000000000002', '工商银行', '更正', \(fixture.clerk.id)) RETURNING id::int
                    """)
                await expectRefused(owner, "DELETE FROM batch_lines WHERE id = \(line)", containing: "batch line \(line) has payee corrections")
                await expectRefused(
                    owner, "UPDATE payee_corrections SET batch_line_id = 987654 WHERE id = \(correction)", containing: "a payee correction stays with its line")
                #expect(try await count(owner, "WITH gone AS (DELETE FROM payee_corrections WHERE id = \(correction) RETURNING 1) SELECT count(*)::int FROM gone") == 1)
                await expectRefused(owner, "DELETE FROM batches WHERE id = \(id)", containing: "batch \(id) still has lines")
                await expectRefused(owner, "TRUNCATE batches CASCADE", containing: "batches go only one by one")
                await expectRefused(owner, "UPDATE batches SET id = 987654 WHERE id = \(id)", containing: "a batch's id never changes")
                // A batch without lines may go (the owner's; the service may not delete batches).
                #expect(try await count(owner, "WITH gone AS (DELETE FROM batches WHERE id = \(other) RETURNING 1) SELECT count(*)::int FROM gone") == 1)
            }
            // The line's one item row is as it was: nothing above changed it.
            #expect(try await count(client, "SELECT count(*)::int FROM batch_line_items WHERE batch_line_id = \(line)") == 1)

            try await store.exclude(id, recipient: firmB, reason: "企业申请放弃 (firm declined)", by: fixture.clerk)
            #expect(try await store.summary(id).totalFen == 1_506_945)
            var audited = 0
            for try await count in try await client.query(
                "SELECT count(*)::int FROM audit_log WHERE action = 'batch.exclude' AND detail->>'recipient' = \(firmB)", logger: TestDatabase.logger
            ).decode(Int.self) {
                audited = count
            }
            #expect(audited == 1)
            _ = try await store.submit(id, by: fixture.clerk, today: day("2025-09-26"))
            _ = try await store.approve(id, by: fixture.approver, today: day("2025-10-11"))
            #expect(try await fixture.balance("payable:\(firmB)") == .zero)
            let files = try await store.export(id, by: fixture.clerk)
            #expect(!files.payment.contains(firmB))
        }
    }

    @Test("a computation failing in its last chunk, read while the one before was computed, stores nothing of itself")
    func failingChunk() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            let id = try await fixture.draftBatch()
            // 15,069.45 (A) + 7,663.89 (B) = 22,733.34, a chunk a firm.
            #expect(try await store.compute(id, by: fixture.clerk, chunk: 1).totalFen == 2_273_334)
            // A third firm, after A and B in byte order, with a qualified 壮大贷 loan that started
            // in 2010: no LPR had been published then (the history starts 2019-08-20), so the
            // engine refuses its chunk, the third, read while the second was being computed.
            try await fixture.addFirmC(
                qualified: (from: "2024-01-01", to: "2026-12-31"), loan: (start: "2010-01-04", maturity: "2030-01-04"),
                records: [(from: "2025-01-01", to: "2025-04-01", paidFen: 1_000_000)])
            for chunk in [1, 2, Int.max] {
                do {
                    _ = try await store.compute(id, by: fixture.clerk, chunk: chunk)
                    Issue.record("chunk \(chunk): the computation stored lines for a loan without an LPR")
                } catch let error as BatchError {
                    #expect("\(error)".contains("ICBC/L-3"), "chunk \(chunk): \(error)")
                }
                // The first computation's lines, items, used records and exclusions are as they were.
                let summary = try await store.summary(id)
                #expect(summary.state == .computed && summary.totalFen == 2_273_334 && summary.lines == 2, "chunk \(chunk)")
                #expect(try await fixture.amounts(id) == [firmA: money("15069.45"), firmB: money("7663.89")], "chunk \(chunk)")
                #expect(try await count(client, "SELECT count(*)::int FROM batch_loan_records WHERE batch_id = \(id)") == 2, "chunk \(chunk)")
                #expect(try await count(
                    client, "SELECT sum(json_array_length(items::json))::int FROM batch_lines WHERE batch_id = \(id)") == 2, "chunk \(chunk)")
            }
        }
    }

    @Test("a batch's used records: a row a loan and batch, unique by the database; recomputing replaces the batch's own rows only")
    func usedRecordsByLoan() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            let id = try await fixture.draftBatch()
            // 15,069.45 (A) + 7,663.89 (B) = 22,733.34: a loan each, of one record each.
            #expect(try await store.compute(id, by: fixture.clerk).totalFen == 2_273_334)
            func used(_ batch: Int64) async throws -> [String] {
                try await client.query(
                    "SELECT loan_id::text || ':' || record_ids::text FROM batch_loan_records WHERE batch_id = \(batch) ORDER BY loan_id",
                    logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
            }
            let first = try await used(id)
            #expect(first.count == 2 && first.allSatisfy { !$0.contains(",") }, "\(first)")
            // Another batch's row for the same loan as A's: sql/048 keys the table by loan, then
            // batch, and finds a batch's rows through a BRIN index; the removal must not reach it.
            let loanA = try #require(first.first.map { String($0.prefix { $0 != ":" }) })
            let other = id + 1_000
            #expect(await refusal(client, "INSERT INTO batch_loan_records VALUES (\(other), \(loanA), '{1}')") == "accepted")
            // The same loan in the same batch twice is refused, for the service's role too.
            await expectRefused(
                client, "INSERT INTO batch_loan_records VALUES (\(id), \(loanA), '{2}')", containing: "batch_loan_records_pkey")
            #expect(try await store.compute(id, by: fixture.clerk).totalFen == 2_273_334)
            #expect(try await used(id) == first)
            #expect(try await used(other) == ["\(loanA):{1}"])
        }
    }

    @Test("a firm's excluded records are stored as one set and read back item by item, in both languages, whole after recomputing")
    func exclusionSets() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            // A third firm with no qualification at all: its three records of 2025 are each
            // excluded (RULES §3.1), "firm not qualified on" the day each was paid.
            try await fixture.addFirmC(
                qualified: nil, loan: (start: "2025-01-10", maturity: "2026-01-10"),
                records: [("2025-01-10", "2025-04-10", 250_000), ("2025-04-10", "2025-07-10", 250_000), ("2025-07-10", "2025-10-10", 250_000)])
            // A fourth, its balance 1,000,000.01 above the loan's principal of 1,000,000.00: two
            // reasons, a set of its own, stored with its words.
            try await client.query("""
                INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
                SELECT id, '2025-10-10', '2025-12-10', 100000001, 250000, '2025-12-10' FROM loans WHERE loan_no = 'L-3'
                """, logger: TestDatabase.logger)
            var records: [String] = []
            for try await id in try await client.query(
                "SELECT 'R' || id FROM interest_records WHERE loan_id = (SELECT id FROM loans WHERE loan_no = 'L-3') ORDER BY id",
                logger: TestDatabase.logger
            ).decode(String.self) {
                records.append(id)
            }
            let id = try await fixture.draftBatch()
            for round in 1...2 {
                // A and B are paid as before (15,069.45 + 7,663.89 = 22,733.34); C gets nothing.
                let summary = try await store.compute(id, by: fixture.clerk, chunk: round)
                #expect(summary.totalFen == 2_273_334 && summary.excludedItems == 4, "round \(round)")
                // The three "not qualified" records as their days (sql/037), the fourth in words.
                #expect(try await count(client, """
                    SELECT count(*)::int FROM batch_exclusion_sets WHERE batch_id = \(id) AND recipient_uscc = '\(firmC)'
                      AND code = 'firm_not_qualified' AND cardinality(item_ids) = 3 AND reasons IS NULL
                      AND days = '{2025-04-10,2025-07-10,2025-10-10}'::date[]
                    """) == 1, "round \(round)")
                #expect(try await count(client, """
                    SELECT count(*)::int FROM batch_exclusion_sets WHERE batch_id = \(id) AND recipient_uscc = '\(firmC)'
                      AND code = 'balance_above_principal,firm_not_qualified' AND cardinality(reasons) = 1 AND days IS NULL
                    """) == 1, "round \(round)")
                #expect(try await count(client, "SELECT count(*)::int FROM batch_exclusion_sets WHERE batch_id = \(id)") == 2)
                var read: [String] = []
                for try await (item, kind, reason, reasonZh, recipient) in try await client.query(
                    "SELECT item_id, kind, reason, reason_zh, recipient_uscc FROM batch_exclusions WHERE batch_id = \(id) ORDER BY length(item_id), item_id",
                    logger: TestDatabase.logger
                ).decode((String, String, String, String, String).self) {
                    read.append("\(item) \(kind) \(recipient) \(reason) | \(reasonZh)")
                }
                // The words the calculator writes (RULES §3.1), whole, in both languages.
                let notQualified = { (day: String) in
                    "企业在 \(day) 不具备优质中小企业资格（创新型或科技和创新型中小企业、专精特新中小企业、专精特新“小巨人”均无有效认定）"
                }
                #expect(read == zip(records, ["2025-04-10", "2025-07-10", "2025-10-10"]).map { record, day in
                    "\(record) interest_record \(firmC) firm not qualified on \(day) | \(notQualified(day))"
                } + [
                    "\(records[3]) interest_record \(firmC) balance 1,000,000.01 exceeds principal 1,000,000.00; firm not qualified on 2025-12-10"
                        + " | 贷款余额 1,000,000.01 超过本金 1,000,000.00；\(notQualified("2025-12-10"))",
                ], "round \(round)")
            }
        }
    }

    @Test("a supplementary batch pays only the difference; a lowered award becomes a recovery")
    func supplementary() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            _ = try await fixture.approvedBatch()
            // A late record for A: [2025-03-21, 2025-06-21) = 92 days, paid 40,000.00:
            //   5,000,000.00 × 3.10 % × 92 / 360 = 39,611.11; base 39,611.11.
            //   Loan A: (30,138.89 + 39,611.11) × 50 % = 34,875.00; already granted 15,069.45 → pays 19,805.55.
            // B's record corrected down to paid 10,000.00: 5,000.00 − 7,663.89 granted = −2,663.89 (recovery).
            try await fixture.addLateRecordOfA()
            try await fixture.correctRecordOfB(paidFen: 1_000_000)
            let supplement = try await fixture.draftBatch()
            let summary = try await store.compute(supplement, by: fixture.clerk)
            let lines = Dictionary(uniqueKeysWithValues: try await store.lines(supplement).map { ($0.recipient, $0) })
            #expect(lines[firmA]?.computed == money("34875.00"))
            #expect(lines[firmA]?.previously == money("15069.45"))
            #expect(lines[firmA]?.amount == money("19805.55"))
            #expect(lines[firmB]?.amount == money("-2663.89"))
            #expect(summary.totalFen == 1_714_166)  // 19,805.55 − 2,663.89 = 17,141.66
            _ = try await store.submit(supplement, by: fixture.clerk, today: day("2025-11-03"))
            // Approved one line at a time (the service accrues 20,000 at a time): each of the two
            // statements continues the chain, in line order (B before A), and the audit row states
            // the batch's total, its lines and its entries.
            var oneByOne = store
            oneByOne.accrualChunk = 1
            _ = try await oneByOne.approve(supplement, by: fixture.approver, today: day("2025-11-11"))
            let posted = try await client.query(
                "SELECT kind, memo, seq FROM journal_entries WHERE batch_id = \(supplement) ORDER BY seq", logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, Int64).self) }
            #expect(posted.map(\.0) == ["recovery", "accrual"])
            #expect(posted.map(\.1) == ["batch \(supplement) recovery zhuangda 2025 \(firmB)", "batch \(supplement) zhuangda 2025 \(firmA)"])
            #expect(posted.count == 2 && posted[1].2 == posted[0].2 + 1)
            let audited = try await client.query(
                "SELECT detail->>'total', detail->>'lines', detail->>'entries' FROM audit_log WHERE action = 'batch.approve' AND subject = \("batch:\(supplement)")",
                logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, String).self) }
            #expect(audited.map(\.0) == ["17141.66"] && audited.map(\.1) == ["2"] && audited.map(\.2) == ["2"])
            // Payable to A: 15,069.45 + 19,805.55 = 34,875.00; B: 7,663.89 payable and 2,663.89 receivable.
            #expect(try await fixture.balance("payable:\(firmA)") == money("-34875.00"))
            #expect(try await fixture.balance("receivable:\(firmB)") == money("2663.89"))
            // Expense: 22,733.34 + 19,805.55 − 2,663.89 = 39,875.00 = A's 34,875.00 + B's 5,000.00.
            #expect(try await fixture.balance("expense:zhuangda:2025") == money("39875.00"))
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
            let files = try await store.export(supplement, by: fixture.clerk)
            #expect(!files.payment.contains(firmB))  // a recovery is collected, not paid
        }
    }

    @Test("a trial (试算) gives what computing would give, in any state, and writes nothing: no line, no state, no audit row")
    func trial() async throws {
        try await TestDatabase.withFresh { client, url in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            let first = try await fixture.approvedBatch()
            // As in `supplementary`: a late record for A, B's record corrected down to paid 10,000.00.
            try await fixture.addLateRecordOfA()
            try await fixture.correctRecordOfB(paidFen: 1_000_000)
            let supplement = try await fixture.draftBatch()
            // Everything a computation or an approval writes, counted.
            func footprint() async throws -> [Int64] {
                try await client.query(
                    """
                    SELECT (SELECT count(*) FROM batch_lines), (SELECT count(*) FROM batch_line_items), (SELECT count(*) FROM batch_exclusion_sets),
                           (SELECT count(*) FROM batch_loan_records), (SELECT count(*) FROM audit_log), (SELECT count(*) FROM journal_entries),
                           (SELECT count(*) FROM batches WHERE state = 'draft')
                    """, logger: TestDatabase.logger
                ).collect().map { row in
                    let (a, b, c, d, e, f, g) = try row.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                    return [a, b, c, d, e, f, g]
                }[0]
            }
            let before = try await footprint()
            // The supplement: A 34,875.00 − 15,069.45 granted = 19,805.55; B 5,000.00 − 7,663.89 = −2,663.89
            // (a recovery line): 17,141.66 in two lines. A chunk a firm gives the same.
            for chunk in [BatchStore.defaultChunk, 1] {
                let trial = try await store.trial(supplement, signingIn: Task { fixture.clerk }, chunk: chunk)
                #expect(trial.total == money("17141.66") && trial.lines == 2 && trial.recipients == 2, "chunk \(chunk)")
                #expect(trial.batch.state == .draft && trial.batch.lines == 0 && trial.batch.totalFen == 0)
            }
            // The approved batch against today's records, nothing granted before it: A (30,138.89 +
            // 39,611.11) × 50 % = 34,875.00; B min(15,327.78, paid 10,000.00) × 50 % = 5,000.00:
            // 39,875.00. It stays approved at its 22,733.34.
            let again = try await store.trial(first, signingIn: Task { fixture.clerk })
            #expect(again.total == money("39875.00") && again.lines == 2 && again.interestRecords == 3)
            #expect(again.batch.state == .approved && again.batch.totalFen == 2_273_334)
            #expect(try await fixture.amounts(first) == [firmA: money("15069.45"), firmB: money("7663.89")])
            #expect(try await footprint() == before)
            // Computing is a clerk's work, on trial too.
            await #expect(throws: BatchError.missingRole(login: "approver", role: .clerk)) {
                _ = try await store.trial(supplement, signingIn: Task { fixture.approver })
            }
            #expect(try await footprint() == before)
            // `subsidy batch compute --trial` as a clerk runs it.
            #expect(FileManager.default.isExecutableFile(atPath: SubsidyCommand.binary), "build the subsidy product first (scripts/test.sh does)")
            let run = try SubsidyCommand.run(
                ["batch", "compute", String(supplement), "--trial", "--user", "clerk", "--database-url", DaemonProcess.urlText(url)],
                environment: ["SUBSIDY_PASSWORD": "clerk-pass-1", "LOG_LEVEL": "warning"])
            #expect(run.status == 0, "\(run.err)")
            #expect(run.out.contains("状态 State: 草稿 draft"), "\(run.out)")
            #expect(run.out.contains("试算 Trial (nothing stored): 合计 Total: 17,141.66   明细 Lines: 2"), "\(run.out)")
            #expect(try await footprint() == before)
            // Computed for real, the supplement has the trial's figures.
            let trial = try await store.trial(supplement, signingIn: Task { fixture.clerk })
            let computed = try await store.compute(supplement, by: fixture.clerk)
            #expect(computed.totalFen == trial.total.fen && computed.lines == trial.lines && computed.excludedItems == trial.excludedItems)
        }
    }

    @Test("approval checks the budget")
    func budget() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client, budget: "20000.00")
            let id = try await fixture.draftBatch()
            _ = try await fixture.store.compute(id, by: fixture.clerk)
            _ = try await fixture.store.submit(id, by: fixture.clerk, today: day("2025-09-26"))
            await #expect(throws: BatchError.budgetExceeded(approved: .zero, batch: money("22733.34"), budget: money("20000.00"))) {
                _ = try await fixture.store.approve(id, by: fixture.approver, today: day("2025-10-11"))
            }
            #expect(try await fixture.store.summary(id).state == .publicity)
            #expect(try await Ledger(logger: TestDatabase.logger).balances(client, at: nil).isEmpty)
        }
    }

    @Test("8 concurrent approvals over overlapping firms never grant a firm twice or exceed a cap")
    func concurrentApprovals() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let store = fixture.store
            // A third firm whose award reaches the cap: 60,000,000.00 for 365 days at 3.10 %:
            //   60,000,000.00 × 3.10 % × 365 / 360 = 1,885,833.33; min with paid 2,000,000.00; × 50 % = 942,916.67 → cap 800,000.00
            try await client.query(
                """
                WITH f AS (INSERT INTO firms (uscc, name, district, account_name, account_no, account_bank)
                           VALUES ('91510100MA6C12345G', '成都丙电子有限公司', '高新区', '成都丙电子有限公司', '6222020000000003', '工商银行') RETURNING uscc),
                     q AS (INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
                           SELECT uscc, 'specialized', '2024-01-01', '2026-12-31', '川经信〔2024〕2号' FROM f),
                     l AS (INSERT INTO loans (bank_code, loan_no, firm_uscc, program, principal_fen, start_date, maturity_date)
                           SELECT 'ICBC', 'L-3', uscc, 'zhuangda', 6000000000, '2025-01-01', '2026-12-31' FROM f RETURNING id)
                INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on)
                SELECT id, '2025-01-01', '2026-01-01', 6000000000, 200000000, '2025-12-31' FROM l
                """, logger: TestDatabase.logger)
            // Four city-wide batches and two per district, all computed before any approval.
            var ids: [Int64] = []
            for district in [nil, nil, nil, nil, "高新区", "高新区", "锦江区", "锦江区"] as [String?] {
                let id = try await fixture.draftBatch(district: district)
                _ = try await store.compute(id, by: fixture.clerk)
                _ = try await store.submit(id, by: fixture.clerk, today: day("2025-12-01"))
                ids.append(id)
            }
            let approved = await MoneyPathTests.approveConcurrently(ids, fixture, today: "2025-12-31")
            #expect(approved >= 1)
            #expect(approved <= 2)
            // Whatever won, SQL over the journal: each firm's payable equals its award once, within the cap.
            var credited: [String: Int64] = [:]
            for try await (code, total) in try await client.query(
                """
                SELECT a.code, -sum(l.amount_fen)::bigint FROM journal_lines l JOIN accounts a ON a.id = l.account_id
                WHERE a.kind = 'payable' GROUP BY a.code
                """, logger: TestDatabase.logger
            ).decode((String, Int64).self) {
                credited[code] = total
            }
            #expect(credited["payable:\(firmA)"] == 1_506_945)
            #expect(credited["payable:\(firmB)"] == 766_389)
            #expect(credited["payable:91510100MA6C12345G"] == 80_000_000)
            #expect(credited.values.allSatisfy { $0 <= 80_000_000 })
        }
    }
}

@Suite("Policy as data in PostgreSQL", .enabled(if: TestDatabase.isConfigured))
struct PolicyInDatabaseTests {
    @Test("the database's policy version equals the built-in one, parameter by parameter with clauses")
    func sameAsBuiltIn() async throws {
        try await TestDatabase.withFresh { client, _ in
            var rows: [PolicyParameter] = []
            for try await (key, value, clause, assumption) in try await client.query(
                "SELECT key, value, clause, assumption FROM policy_parameters WHERE version_id = 'chengdu-zjtx-2024' ORDER BY key",
                logger: TestDatabase.logger
            ).decode((String, String, String, Bool).self) {
                rows.append(PolicyParameter(key: key, value: value, clause: clause, assumption: assumption))
            }
            let builtIn = try PolicyDocument.builtIn.version(forYear: 2025).parameters.sorted { $0.key < $1.key }
            #expect(rows == builtIn)
            #expect(rows.count == 35)  // 28 parameters and ceilings, and the 7 ceilings of sql/012 (issue 10)
        }
    }
}
