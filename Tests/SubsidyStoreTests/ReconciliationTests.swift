import Foundation
import Logging
import PostgresNIO
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore
import SubsidyTestSupport
import Testing

/// An MT940 statement of the bureau's account, in CNY.
func bureauStatement(number: String, opening: String, closing: String, on day: String, entries: [String]) -> String {
    ([":20:STMT\(number)", ":25:6222020000009999", ":28C:\(number)/1", ":60F:C\(day)CNY\(opening)"] + entries + [":62F:C\(day)CNY\(closing)", "-"])
        .joined(separator: "\r\n") + "\r\n"
}

extension BatchFixture {
    /// The lifecycle batch, exported: B = SLZ2500001000014 (7,663.89), A = SLZ2500001000022 (15,069.45).
    func exportedBatch() async throws -> Int64 {
        let id = try await approvedBatch()
        _ = try await store.export(id, by: clerk)
        return id
    }

    func count(_ sql: String) async throws -> Int { try await SubsidyStoreTests.count(client, sql) }

    func lineStatus(_ recipient: String) async throws -> String {
        var status = ""
        for try await value in try await client.query(
            "SELECT status FROM batch_lines WHERE recipient_uscc = \(recipient) ORDER BY id DESC LIMIT 1", logger: TestDatabase.logger
        ).decode(String.self) {
            status = value
        }
        return status
    }
}

@Suite("Reconciliation in PostgreSQL", .enabled(if: TestDatabase.isConfigured))
struct ReconciliationTests {
    /// The bureau's statement paying A's 15,069.45 and B's 7,663.89 by reference:
    /// 1,000,000.00 − 22,733.34 = 977,266.66.
    static let payingAAndB = bureauStatement(number: "1", opening: "1000000,00", closing: "977266,66", on: "251013", entries: [
        ":61:2510131013D15069,45NTRFNONREF", ":86:/REMI/SLZ2500001000022",
        ":61:2510131013D7663,89NTRFNONREF", ":86:/REMI/SLZ2500001000014",
    ])
    /// The next statement, B's payment returned (退汇): 977,266.66 + 7,663.89 = 984,930.55.
    static let returningB = bureauStatement(number: "2", opening: "977266,66", closing: "984930,55", on: "251020", entries: [
        ":61:2510201020C7663,89NTRFNONREF", ":86:/REMI/退汇 户名账号不符 SLZ2500001000014",
    ])

    @Test("a statement pays the batch: references (one truncated), ledger payable ↔ bank, lines and batch paid; a second import changes nothing")
    func paysOnce() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let batch = try await fixture.exportedBatch()
            let reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            // 1,000,000.00 − 15,069.45 − 7,663.89 − 500.00 = 976,766.66
            let text = bureauStatement(number: "1", opening: "1000000,00", closing: "976766,66", on: "251013", entries: [
                ":61:2510131013D15069,45NTRFNONREF", ":86:/NAME/成都甲科技有限公司/REMI/壮大贷贴息 SLZ2500001000022",
                ":61:2510131013D7663,89NTRFNONREF", ":86:/REMI/壮大贷SLZ25000010000",
                ":61:2510131013D500,00NTRFNONREF", ":86:/REMI/手续费",
            ])
            let parsed = try StatementParser.parse(Data(text.utf8))
            let first = try await reconciliation.importStatements(parsed, source: "test", by: fixture.clerk)
            #expect(first.categories == [.matched: 2, .unexpected: 1])
            #expect(try await fixture.lineStatus(firmA) == "paid")
            #expect(try await fixture.lineStatus(firmB) == "paid")
            #expect(try await fixture.store.summary(batch).state == .paid)
            // Payables settled; the bank account paid out 22,733.34 (the fee is not ours to post).
            #expect(try await fixture.balance("payable:\(firmA)") == .zero)
            #expect(try await fixture.balance("payable:\(firmB)") == .zero)
            #expect(try await fixture.balance("bank:bureau") == money("-22733.34"))
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
            let journal = try await fixture.count("SELECT count(*)::int FROM journal_entries")

            let again = try await reconciliation.importStatements(parsed, source: "test again", by: fixture.clerk)
            #expect(again.statementIDs.isEmpty && again.alreadyImported == 1)
            #expect(try await fixture.count("SELECT count(*)::int FROM journal_entries") == journal)
            #expect(try await fixture.count("SELECT count(*)::int FROM statement_entries") == 3)

            // Paid in full: the approver closes the batch; a clerk cannot, and only a paid batch closes.
            await #expect(throws: BatchError.missingRole(login: "clerk", role: .approver)) {
                _ = try await fixture.store.close(batch, by: fixture.clerk)
            }
            #expect(try await fixture.store.close(batch, by: fixture.approver).state == .closed)
            await #expect(throws: BatchError.wrongState(batch: batch, state: .closed, action: "close (every payable line must be paid first)")) {
                _ = try await fixture.store.close(batch, by: fixture.approver)
            }
        }
    }

    @Test("an entry's texts are stored as the statement reads them, backslashes and tabs included (COPY's escapes); an empty reference as NULL")
    func entryTextsStoredAsRead() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            // 1,000,000.00 − 500.00 = 999,500.00; "\\n" is a backslash and an n, not a line feed.
            let text = bureauStatement(number: "1", opening: "1000000,00", closing: "999500,00", on: "251013", entries: [
                ":61:2510131013D500,00NTRFNONREF", ":86:/NAME/甲\\乙\t公司/REMI/手续费 C:\\new\\n \\N \\. end",
            ])
            let parsed = try StatementParser.parse(Data(text.utf8))
            let entry = try #require(parsed.statements.first?.entries.first)
            #expect(entry.description.contains("\\N \\.") && entry.description.contains("\\n"))
            #expect(entry.counterparty.name?.contains("\t") == true)
            let summary = try await ReconciliationStore(client: client, logger: TestDatabase.logger).importStatements(parsed, source: "test", by: fixture.clerk)
            #expect(summary.categories == [.unexpected: 1])
            var stored: [(String, String?, String?, String?, Int64)] = []
            for try await row in try await client.query(
                "SELECT description, counterparty_name, reference, counterparty_account, amount_fen FROM statement_entries", logger: TestDatabase.logger
            ).decode((String, String?, String?, String?, Int64).self) {
                stored.append(row)
            }
            #expect(stored.count == 1)
            #expect(stored.first?.0 == entry.description)
            #expect(stored.first?.1 == entry.counterparty.name)
            // The parser reads NONREF as no reference; none stored, nor an account it did not read.
            #expect(entry.reference == nil || entry.reference == "")
            #expect(stored.first?.2 == nil && stored.first?.3 == nil)
            #expect(stored.first?.4 == -50_000)
        }
    }

    @Test("a statement stored, planned and posted an entry at a time does what it does imported whole: payments, a fee, a duplicate, a return of an earlier chunk's payment")
    func chunkedImportIsWhole() async throws {
        // 1,000,000.00 − 15,069.45 − 7,663.89 − 500.00 − 15,069.45 + 7,663.89 = 969,361.10
        let text = bureauStatement(number: "1", opening: "1000000,00", closing: "969361,10", on: "251013", entries: [
            ":61:2510131013D15069,45NTRFNONREF", ":86:/REMI/SLZ2500001000022",
            ":61:2510131013D7663,89NTRFNONREF", ":86:/REMI/SLZ2500001000014",
            ":61:2510131013D500,00NTRFNONREF", ":86:/REMI/手续费",
            ":61:2510131013D15069,45NTRFNONREF", ":86:/REMI/SLZ2500001000022",
            ":61:2510131013C7663,89NTRFNONREF", ":86:/REMI/退汇 户名账号不符 SLZ2500001000014",
        ])
        func imported(chunk: Int) async throws -> (rows: [String], journal: [String]) {
            try await TestDatabase.withFresh { client, _ in
                let fixture = try await BatchFixture.make(client)
                let batch = try await fixture.exportedBatch()
                var reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
                reconciliation.entryChunk = chunk
                let summary = try await reconciliation.importStatements(try StatementParser.parse(Data(text.utf8)), source: "test", by: fixture.clerk)
                #expect(summary.categories == [.matched: 2, .unexpected: 1, .duplicate: 1, .returned: 1])
                #expect(summary.entries == 5)
                // A paid once; B paid, returned, owed again; the batch open for B's re-issue.
                #expect(try await fixture.balance("payable:\(firmA)") == .zero)
                #expect(try await fixture.balance("payable:\(firmB)") == money("-7663.89"))
                #expect(try await fixture.balance("bank:bureau") == money("-15069.45"))
                #expect(try await fixture.store.summary(batch).state == .exported)
                #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
                let rows = try await client.query(
                    """
                    SELECT 'entry ' || entry_no || ' ' || category || ' ' || rule || ' ' || explanation FROM statement_entries
                    UNION ALL
                    SELECT 'link ' || e.entry_no || ' ' || bl.payment_ref || ' ' || el.kind || ' '
                           || coalesce(j.kind || ' ' || a.code || ' ' || jl.amount_fen, '-') || ' returned ' || (el.returned_by IS NOT NULL)
                    FROM entry_lines el JOIN statement_entries e ON e.id = el.entry_id JOIN batch_lines bl ON bl.id = el.batch_line_id
                    LEFT JOIN journal_entries j ON j.seq = el.journal_seq
                    LEFT JOIN journal_lines jl ON jl.entry_seq = el.journal_seq AND jl.line_no = el.journal_line
                    LEFT JOIN accounts a ON a.id = jl.account_id
                    UNION ALL
                    SELECT 'account ' || a.code || ' ' || sum(l.amount_fen) FROM journal_lines l JOIN accounts a ON a.id = l.account_id GROUP BY a.code
                    UNION ALL
                    SELECT 'line ' || payment_ref || ' ' || status FROM batch_lines
                    ORDER BY 1
                    """, logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
                let journal = try await client.query(
                    "SELECT kind || ' ' || memo || ' lines ' || (SELECT count(*) FROM journal_lines l WHERE l.entry_seq = seq) FROM journal_entries WHERE kind IN ('payment', 'return') ORDER BY seq",
                    logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
                return (rows, journal)
            }
        }
        let (whole, wholeJournal) = try await imported(chunk: 20_000)
        let (oneByOne, oneByOneJournal) = try await imported(chunk: 1)
        // The same links, lines, each link's journal line (account and amount) and balances.
        #expect(oneByOne == whole)
        // The return (entry 5, its own chunk) credited back B's line of the payment posted in entry 2's chunk.
        #expect(whole.contains("link 5 SLZ2500001000014 return return payable:\(firmB) -766389 returned false"))
        #expect(whole.contains("link 2 SLZ2500001000014 payment payment payable:\(firmB) 766389 returned true"))
        #expect(whole.contains("account bank:bureau -1506945"))
        // Whole, entries 1 and 2 paid A and B in one entry of three lines (two payable debits, the
        // bank's credit of 22,733.34); one by one, an entry each. The return's entry is B's alone.
        #expect(wholeJournal.count == 2 && oneByOneJournal.count == 3)
        #expect(wholeJournal.first?.hasPrefix("payment paid 2 lines of batch ") == true && wholeJournal.first?.hasSuffix(" lines 3") == true)
        #expect(oneByOneJournal.prefix(2).allSatisfy { $0.hasPrefix("payment paid SLZ25000010000") && $0.hasSuffix(" lines 2") })
        #expect(wholeJournal.last?.hasPrefix("return returned (退汇) SLZ2500001000014") == true && wholeJournal.last?.hasSuffix(" lines 2") == true)
        #expect(whole.contains("line SLZ2500001000014 returned") && whole.contains("line SLZ2500001000022 paid"))
        #expect(whole.filter { $0.hasPrefix("link 4 SLZ2500001000022 duplicate") }.count == 1)
    }

    @Test("a debit known only by the payee's account, printed with dashes, pays its line: the lines the other rules reach are read in SQL, not every line")
    func paidByAccount() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let batch = try await fixture.exportedBatch()
            let reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            // Booked on the day of export (Beijing time), within rule 3's ten working days.
            let booked = try await client.query("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYMMDD')", logger: TestDatabase.logger)
                .collect().first!.decode(String.self)
            // 1,000,000.00 − 15,069.45 − 7,663.89 = 977,266.66: A by its account only (6222020000000001,
            // printed with dashes, no reference), B by its reference.
            let text = bureauStatement(number: "1", opening: "1000000,00", closing: "977266,66", on: booked, entries: [
                ":61:\(booked)D15069,45NTRFNONREF", ":86:/IBAN/6222-0200-0000-0001/REMI/转账",
                ":61:\(booked)D7663,89NTRFNONREF", ":86:/REMI/SLZ2500001000014",
            ])
            let summary = try await reconciliation.importStatements(try StatementParser.parse(Data(text.utf8)), source: "test", by: fixture.clerk)
            #expect(summary.categories == [.matched: 2])
            #expect(try await fixture.count("SELECT count(*)::int FROM statement_entries WHERE rule = 'account-amount' AND entry_no = 1") == 1)
            #expect(try await fixture.lineStatus(firmA) == "paid")
            #expect(try await fixture.store.summary(batch).state == .paid)
            #expect(try await fixture.balance("bank:bureau") == money("-22733.34"))
        }
    }

    @Test("a later statement naming a paid line again is a duplicate, never a second payment: read by its reference alone or with every line")
    func paidOnceAcrossStatements() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            _ = try await fixture.exportedBatch()
            let reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            func importing(_ number: String, _ opening: String, _ closing: String, _ entries: [String]) async throws -> [EntryOutcome.Category: Int] {
                let text = bureauStatement(number: number, opening: opening, closing: closing, on: "251013", entries: entries)
                return try await reconciliation.importStatements(try StatementParser.parse(Data(text.utf8)), source: "test \(number)", by: fixture.clerk).categories
            }
            let payA = [":61:2510131013D15069,45NTRFNONREF", ":86:/REMI/壮大贷贴息 SLZ2500001000022"]
            // 1,000,000.00 − 15,069.45 = 984,930.55: A paid. Every entry names its line in full,
            // so the import reads only that line (Matcher.matchNamed).
            #expect(try await importing("1", "1000000,00", "984930,55", payA) == [.matched: 1])
            let journal = try await fixture.count("SELECT count(*)::int FROM journal_entries")
            // 984,930.55 − 15,069.45 = 969,861.10: the same debit in the next statement, again read
            // by its reference alone: the paid line is among the lines read, so a duplicate.
            #expect(try await importing("2", "984930,55", "969861,10", payA) == [.duplicate: 1])
            // 969,861.10 − 15,069.45 − 1.00 = 954,790.65: once more, beside a debit known only by
            // the payee's account, which makes the import read every payable line: a duplicate still.
            let byAccount = [":61:2510131013D1,00NTRFNONREF", ":86:/IBAN/6222020000000777/REMI/转账"]
            #expect(try await importing("3", "969861,10", "954790,65", payA + byAccount) == [.duplicate: 1, .unexpected: 1])
            // One payment in the ledger: no entry after the first statement's, the bank paid out
            // 15,069.45 once, A's payable settled once; one payment link and two duplicate notes.
            #expect(try await fixture.count("SELECT count(*)::int FROM journal_entries") == journal)
            #expect(try await fixture.balance("bank:bureau") == money("-15069.45"))
            #expect(try await fixture.balance("payable:\(firmA)") == .zero)
            #expect(try await fixture.count(
                "SELECT count(*)::int FROM entry_lines el JOIN batch_lines bl ON bl.id = el.batch_line_id WHERE bl.payment_ref = 'SLZ2500001000022' AND el.kind = 'payment'") == 1)
            #expect(try await fixture.count("SELECT count(*)::int FROM entry_lines WHERE kind = 'duplicate'") == 2)
            #expect(try await fixture.lineStatus(firmA) == "paid")
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
        }
    }

    @Test("what a statement did to a line names an entry, a line of an approved batch and a ledger entry that exist, and is kept: for every role")
    func linksChecked() async throws {
        try await TestDatabase.withFresh { client, url in
            let fixture = try await BatchFixture.make(client)
            _ = try await fixture.exportedBatch()
            let reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            // 1,000,000.00 − 15,069.45 = 984,930.55: A's line paid, B's left open.
            let text = bureauStatement(number: "1", opening: "1000000,00", closing: "984930,55", on: "251013", entries: [
                ":61:2510131013D15069,45NTRFNONREF", ":86:/NAME/成都甲科技有限公司/REMI/壮大贷贴息 SLZ2500001000022",
            ])
            _ = try await reconciliation.importStatements(try StatementParser.parse(Data(text.utf8)), source: "test", by: fixture.clerk)
            #expect(try await fixture.count("SELECT count(*)::int FROM entry_lines WHERE kind = 'payment'") == 1)
            // A draft batch's line, to link to: computed, not approved.
            let draft = try await fixture.draftBatch()
            _ = try await fixture.store.compute(draft, by: fixture.clerk)
            let entry = "(SELECT min(id) FROM statement_entries)"
            let openLine = "(SELECT id FROM batch_lines WHERE status = 'active' AND recipient_uscc = '\(firmB)' AND batch_id <> \(draft))"
            let refused: [(String, String)] = [
                ("INSERT INTO entry_lines (entry_id, batch_line_id, kind) SELECT 987654, \(openLine), 'suggestion'", "statement entry 987654 does not exist"),
                ("INSERT INTO entry_lines (entry_id, batch_line_id, kind) SELECT \(entry), 987654, 'suggestion'", "batch line 987654 is not a line of an approved batch (no such line)"),
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind) SELECT \(entry), min(id), 'suggestion' FROM batch_lines WHERE batch_id = \(draft)",
                    "is not a line of an approved batch (computed)"
                ),
                ("INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq) SELECT \(entry), \(openLine), 'mismatch', 987654", "journal entry 987654 does not exist"),
                ("UPDATE entry_lines SET returned_by = 987654 WHERE kind = 'payment'", "statement entry 987654 does not exist"),
                // B's open line claimed paid by the journal line that paid A's 15,069.45 (sql/041),
                // by a line the entry does not have, or by the bank's line; a link's line never changes.
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) SELECT \(entry), \(openLine), 'payment', journal_seq, journal_line FROM entry_lines WHERE kind = 'payment'",
                    "is not the payment of batch line"
                ),
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) SELECT \(entry), \(openLine), 'payment', journal_seq, 99 FROM entry_lines WHERE kind = 'payment'",
                    "line 99 is not the payment of batch line"
                ),
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) SELECT \(entry), \(openLine), 'payment', journal_seq, 2 FROM entry_lines WHERE kind = 'payment'",
                    "line 2 is not the payment of batch line"
                ),
                // A journal line of an entry that does not exist is refused as that entry (sql/043
                // looks the entry up only when no journal line is found).
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) SELECT \(entry), \(openLine), 'payment', 987654, 1",
                    "journal entry 987654 does not exist"
                ),
                // Two links in one statement, each breaking a different rule: the refusal names the
                // first rule in sql/024's order (the entry), whichever link comes first.
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) SELECT \(entry), \(openLine), 'payment', journal_seq, 99 FROM entry_lines WHERE kind = 'payment' UNION ALL SELECT 987654, \(openLine), 'suggestion', NULL, NULL",
                    "statement entry 987654 does not exist"
                ),
                (
                    "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) SELECT \(entry), \(openLine), 'payment', journal_seq, 99 FROM entry_lines WHERE kind = 'payment' UNION ALL SELECT \(entry), 987654, 'suggestion', NULL, NULL",
                    "batch line 987654 is not a line of an approved batch (no such line)"
                ),
                ("UPDATE entry_lines SET journal_line = 2 WHERE kind = 'payment'", "changes only when the payment is returned, once"),
                ("UPDATE entry_lines SET batch_line_id = \(openLine) WHERE kind = 'payment'", "changes only when the payment is returned, once"),
                ("UPDATE statement_entries SET id = id + 1000", "a statement entry's id never changes"),
                (
                    "INSERT INTO statement_entries (statement_id, entry_no, amount_fen, currency, description, category, rule, explanation) VALUES (987654, 1, -100, 'CNY', '', 'unexpected', '', '')",
                    "statement 987654 does not exist"
                ),
                ("UPDATE statement_entries SET statement_id = statement_id + 1", "a statement entry stays with its statement"),
                ("UPDATE batch_lines SET id = id + 100000 WHERE batch_id = \(draft)", "a batch line's id never changes"),
                ("DELETE FROM entry_lines", "permission denied"),
                ("DELETE FROM statement_entries", "permission denied"),
            ]
            for (sql, text) in refused {
                await expectRefused(client, sql, containing: text)
            }
            try await TestDatabase.withOwnerClient(of: url) { owner in
                for (sql, text) in [
                    ("DELETE FROM entry_lines", "DELETE on entry_lines: a statement entry's link to a line is kept"),
                    ("DELETE FROM statement_entries", "DELETE on statement_entries: a statement entry is kept"),
                    ("DELETE FROM statements", "DELETE on statements: an imported statement is kept"),
                    ("TRUNCATE statements CASCADE", "TRUNCATE on"),
                    ("UPDATE statements SET id = id + 1000", "a statement's id never changes"),
                    ("TRUNCATE batch_lines CASCADE", "TRUNCATE on"),
                    ("UPDATE entry_lines SET kind = 'duplicate'", "changes only when the payment is returned, once"),
                ] {
                    await expectRefused(owner, sql, containing: text)
                }
            }
            // A good note is stored: the open line, suggested by the entry.
            #expect(await refusal(client, "INSERT INTO entry_lines (entry_id, batch_line_id, kind) SELECT \(entry), \(openLine), 'suggestion'") == "accepted")
            #expect(try await fixture.count("SELECT count(*)::int FROM entry_lines") == 2)
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
        }
    }

    @Test("a payment posted alone before sql/041, its link naming no journal line, is reversed whole when it is returned")
    func returnOfAnEarlierPayment() async throws {
        try await TestDatabase.withFresh { client, url in
            let fixture = try await BatchFixture.make(client)
            _ = try await fixture.exportedBatch()
            var reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            // One entry at a time: each payment its own entry of two lines, as before sql/041.
            reconciliation.entryChunk = 1
            let paid = Self.payingAAndB
            _ = try await reconciliation.importStatements(try StatementParser.parse(Data(paid.utf8)), source: "1", by: fixture.clerk)
            // B's link as sql/041 found it: the owner, with the trigger that keeps links off.
            try await TestDatabase.withOwnerClient(of: url) { owner in
                try await owner.query("ALTER TABLE entry_lines DISABLE TRIGGER entry_lines_returned_once", logger: TestDatabase.logger)
                try await owner.query(
                    "UPDATE entry_lines SET journal_line = NULL WHERE kind = 'payment' AND batch_line_id = (SELECT id FROM batch_lines WHERE recipient_uscc = \(firmB))",
                    logger: TestDatabase.logger)
                try await owner.query("ALTER TABLE entry_lines ENABLE TRIGGER entry_lines_returned_once", logger: TestDatabase.logger)
            }
            let returned = Self.returningB
            #expect(try await reconciliation.importStatements(try StatementParser.parse(Data(returned.utf8)), source: "2", by: fixture.clerk).categories == [.returned: 1])
            // The reversal of B's own entry (7,663.89 back to payable:B from the bank), linked to the return.
            #expect(try await fixture.count("""
                SELECT count(*)::int FROM journal_entries r JOIN entry_lines el ON el.journal_seq = r.seq AND el.kind = 'return'
                WHERE r.kind = 'reversal' AND r.reverses = (SELECT journal_seq FROM entry_lines WHERE kind = 'payment' AND returned_by IS NOT NULL)
                """) == 1)
            #expect(try await fixture.count("SELECT count(*)::int FROM journal_entries WHERE kind = 'return'") == 0)
            #expect(try await fixture.balance("payable:\(firmB)") == money("-7663.89"))
            #expect(try await fixture.balance("payable:\(firmA)") == .zero)
            #expect(try await fixture.lineStatus(firmB) == "returned")
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)
        }
    }

    @Test("a return (退汇) reverses the payment in the ledger and reopens the line; continuity is checked")
    func returnsAndContinuity() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let batch = try await fixture.exportedBatch()
            let reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            let paid = Self.payingAAndB
            _ = try await reconciliation.importStatements(try StatementParser.parse(Data(paid.utf8)), source: "1", by: fixture.clerk)
            let returned = Self.returningB
            let summary = try await reconciliation.importStatements(try StatementParser.parse(Data(returned.utf8)), source: "2", by: fixture.clerk)
            let summary2 = summary.statementIDs[0]
            #expect(summary.categories == [.returned: 1])
            #expect(try await fixture.lineStatus(firmB) == "returned")
            #expect(try await fixture.store.summary(batch).state == .exported)  // open again for re-issue
            #expect(try await fixture.balance("payable:\(firmB)") == money("-7663.89"))  // owed again
            // The return credited B's payable line of the payment entry back, 7,663.89, against the bank.
            #expect(try await fixture.count("SELECT count(*)::int FROM journal_entries WHERE kind = 'return'") == 1)
            #expect(try await fixture.count("""
                SELECT jl.amount_fen::int FROM entry_lines el JOIN journal_lines jl ON (jl.entry_seq, jl.line_no) = (el.journal_seq, el.journal_line)
                WHERE el.kind = 'return'
                """) == -766_389)
            #expect(try await fixture.count("SELECT count(*)::int FROM statements WHERE continuity = 'ok'") == 1)
            // A statement that does not open where the last one closed: a gap is reported.
            let gap = bureauStatement(number: "4", opening: "1,00", closing: "1,00", on: "251101", entries: [])
            _ = try await reconciliation.importStatements(try StatementParser.parse(Data(gap.utf8)), source: "4", by: fixture.clerk)
            #expect(try await fixture.count("SELECT count(*)::int FROM statements WHERE continuity = 'gap'") == 1)
            #expect(try await Ledger(logger: TestDatabase.logger).verify(client).isIntact)

            // The batch's report: one line paid, one outstanding again after its return, the return itself.
            let report = try await ReconciliationReport.load(.batch(batch), client: client, logger: TestDatabase.logger, today: day("2025-10-24"))
            let totals = Dictionary(uniqueKeysWithValues: report.summary.map { ($0.key, ($0.count, $0.sum)) })
            #expect(totals["matched"]?.0 == 2)
            #expect(totals["returned"]?.0 == 1)
            #expect(totals["outstanding"]?.0 == 1)
            #expect(totals["outstanding"]?.1 == money("7663.89"))
            #expect(report.csv.hasPrefix("\u{FEFF}类别 Category,"))
            #expect(report.html.contains("<h2>退汇 Returned · 1</h2>"))
            #expect(report.html.contains("@page { size: A4;"))
            // A page's report (the web's) lists each category's first rows, with the totals of all:
            // matched has 2 rows, 1 listed; the same counts and sums as the whole report.
            let page = try await ReconciliationReport.load(
                .batch(batch), client: client, logger: TestDatabase.logger, today: day("2025-10-24"), rowsPerCategory: 1)
            #expect(report.rows.count == 4 && page.rows.count == 3)
            #expect(page.rows.filter { $0.category == "matched" }.map(\.reference) == report.rows.filter { $0.category == "matched" }.prefix(1).map(\.reference))
            #expect(page.summary.map { "\($0.key) \($0.count) \($0.sum)" } == report.summary.map { "\($0.key) \($0.count) \($0.sum)" })
            let statementReport = try await ReconciliationReport.load(.statement(summary2), client: client, logger: TestDatabase.logger, today: day("2025-10-24"))
            #expect(statementReport.checks.contains { $0.0.hasPrefix("余额勾稽") && $0.1 == "平衡 balanced" })

            // The whole report written as it is read (`subsidy report`, the web's download): the
            // same bytes as the report loaded whole, in both formats, for the batch and a statement.
            let directory = try BufferedFile.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            func written(_ scope: ReconciliationReport.Scope, _ format: ReconciliationReport.Format) async throws -> String {
                let url = directory.appendingPathComponent("report-\(UUID().uuidString).\(format.rawValue)")
                try await ReconciliationReport.write(
                    scope, format: format, client: client, logger: TestDatabase.logger, today: day("2025-10-24"), to: BufferedFile(path: url.path))
                return String(decoding: try Data(contentsOf: url), as: UTF8.self)  // with its BOM
            }
            #expect(try await written(.batch(batch), .csv) == report.csv)
            #expect(try await written(.batch(batch), .html) == report.html)
            #expect(try await written(.statement(summary2), .csv) == statementReport.csv)
            #expect(try await written(.statement(summary2), .html) == statementReport.html)
            // Rows by category in the report's order: the 2 matched payments, the line outstanding
            // again after its return (B's 7,663.89), then the return; each category's heading
            // with its count in the HTML, once.
            let rows = report.csv.split(separator: "\r\n").map { String($0.prefix { $0 != "," }) }
                .filter { key in ReconciliationReport.categories.contains { $0.0 == key } }
            #expect(rows == ["matched", "matched", "outstanding", "returned"])
            let outstanding = report.csv.split(separator: "\r\n").filter { $0.hasPrefix("outstanding,") }.map { $0.split(separator: ",").map(String.init) }
            #expect(outstanding.map { $0[2] } == ["7663.89"])
            let headings = report.html.split(separator: "\n").filter { $0.hasPrefix("<h2>") && $0.contains(" · ") }
            #expect(headings == ["<h2>已匹配 Matched · 2</h2>", "<h2>未支付 Outstanding · 1</h2>", "<h2>退汇 Returned · 1</h2>"])
            // An unknown scope is refused before anything is written.
            await #expect(throws: BatchError.self) { _ = try await written(.batch(9_999), .csv) }
        }
    }

    @Test("a name-and-amount suggestion counts only once a clerk confirms it")
    func confirmSuggestion() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            _ = try await fixture.exportedBatch()
            let reconciliation = ReconciliationStore(client: client, logger: TestDatabase.logger)
            // No reference and no account: only the payee's name, written differently, and B's amount.
            // 100,000.00 − 7,663.89 = 92,336.11
            let text = bureauStatement(number: "1", opening: "100000,00", closing: "92336,11", on: "251013", entries: [
                ":61:2510131013D7663,89NTRFNONREF", ":86:/NAME/成都乙制造 有限责任公司/REMI/补贴",
            ])
            let summary = try await reconciliation.importStatements(try StatementParser.parse(Data(text.utf8)), source: "1", by: fixture.clerk)
            #expect(summary.categories == [.suggested: 1])
            #expect(try await fixture.lineStatus(firmB) == "active")
            #expect(try await fixture.balance("bank:bureau") == .zero)
            var entry: Int64 = 0
            var line: Int64 = 0
            for try await (e, l) in try await client.query("SELECT entry_id, batch_line_id FROM entry_lines WHERE kind = 'suggestion'", logger: TestDatabase.logger)
                .decode((Int64, Int64).self) {
                (entry, line) = (e, l)
            }
            await #expect(throws: BatchError.missingRole(login: "approver", role: .clerk)) {
                try await reconciliation.confirmSuggestion(entryID: entry, lineID: line, by: fixture.approver)
            }
            try await reconciliation.confirmSuggestion(entryID: entry, lineID: line, by: fixture.clerk)
            #expect(try await fixture.lineStatus(firmB) == "paid")
            #expect(try await fixture.balance("payable:\(firmB)") == .zero)
            #expect(try await fixture.count("SELECT count(*)::int FROM audit_log WHERE action = 'reconcile.confirm'") == 1)
            // The report lists the entry as matched, naming B's line once, though the entry now
            // links it twice (the suggestion, and the payment its confirmation made).
            #expect(try await fixture.count("SELECT count(*)::int FROM entry_lines WHERE entry_id = \(entry) AND batch_line_id = \(line)") == 2)
            let reference = try await client.query("SELECT payment_ref FROM batch_lines WHERE id = \(line)", logger: TestDatabase.logger)
                .collect().first!.decode(String.self)
            let report = try await ReconciliationReport.load(
                .statement(summary.statementIDs[0]), client: client, logger: TestDatabase.logger, today: day("2025-10-24"))
            #expect(report.rows.filter { $0.category == "matched" }.map(\.reference) == [reference])
            await #expect(throws: ReconciliationError.noSuchSuggestion(entry: entry, line: line)) {
                try await reconciliation.confirmSuggestion(entryID: entry, lineID: line, by: fixture.clerk)
            }
        }
    }
}
