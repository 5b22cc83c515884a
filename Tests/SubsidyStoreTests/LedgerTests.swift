import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore
import SubsidyTestSupport
import Testing

@Suite("The ledger in PostgreSQL", .enabled(if: TestDatabase.isConfigured))
struct LedgerTests {
    let ledger = Ledger(logger: TestDatabase.logger)
    let logger = TestDatabase.logger
    let firm = "91350200776049653A"

    /// Budget 1,000,000.00 for 壮大贷 2025, then an accrual of 15,069.45 to the firm.
    func postSample(_ client: PostgresClient) async throws -> [Int64] {
        try await client.withTransaction(logger: logger) { connection in
            try await ledger.post([
                NewJournalEntry(kind: .budget, memo: "2025 壮大贷 budget", lines: [
                    LedgerLine(.budget(.zhuangda, 2025), Money(fen: 100_000_000)),
                    LedgerLine(.bureauBank, Money(fen: -100_000_000)),
                ]),
                NewJournalEntry(kind: .accrual, memo: "batch 1 line 1", batchID: 1, lines: [
                    LedgerLine(.expense(.zhuangda, 2025), Money(fen: 1_506_945)),
                    LedgerLine(.payable(firm), Money(fen: -1_506_945)),
                ]),
            ], on: connection)
        }
    }

    func expectRefused(_ client: PostgresClient, _ sql: String, containing text: String) async {
        do {
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            Issue.record("\(sql) was accepted")
        } catch let error as PSQLError {
            let message = error.serverInfo?[.message] ?? ""
            #expect(message.contains(text), "\(message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("balanced entries post, chain and balance; the trial balance sums to zero")
    func postsAndBalances() async throws {
        try await TestDatabase.withFresh { client, _ in
            let seqs = try await postSample(client)
            #expect(seqs.count == 2 && seqs[1] > seqs[0])
            let report = try await ledger.verify(client)
            #expect(report.isIntact)
            #expect(report.entriesChecked == 2)
            let balances = try await ledger.balances(client, at: nil)
            let byCode = Dictionary(uniqueKeysWithValues: balances.map { ($0.code, $0.balance) })
            #expect(byCode["expense:zhuangda:2025"] == Money(fen: 1_506_945))
            #expect(byCode["payable:\(firm)"] == Money(fen: -1_506_945))
            #expect(byCode["bank:bureau"] == Money(fen: -100_000_000))
            #expect(balances.map(\.balance).sum() == .zero)
            // At the end of 2024 nothing was posted yet.
            #expect(try await ledger.balances(client, at: CivilDate(year: 2024, month: 12, day: 31)!).isEmpty)
        }
    }

    @Test("the database refuses UPDATE, DELETE and TRUNCATE of journal rows")
    func immutable() async throws {
        try await TestDatabase.withFresh { client, _ in
            _ = try await postSample(client)
            await expectRefused(client, "UPDATE journal_lines SET amount_fen = amount_fen + 1", containing: "immutable")
            await expectRefused(client, "DELETE FROM journal_lines", containing: "immutable")
            await expectRefused(client, "UPDATE journal_entries SET memo = 'x'", containing: "immutable")
            await expectRefused(client, "DELETE FROM journal_entries", containing: "immutable")
            await expectRefused(client, "TRUNCATE journal_lines CASCADE", containing: "immutable")
            await expectRefused(client, "DELETE FROM audit_log", containing: "immutable")
            #expect(try await ledger.verify(client).isIntact)
        }
    }

    @Test("the database refuses an unbalanced entry and lines added to a committed entry")
    func balancedOnly() async throws {
        try await TestDatabase.withFresh { client, _ in
            let seqs = try await postSample(client)
            // One line of 1.00 with nothing against it: refused at commit by the deferred trigger.
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        "INSERT INTO journal_entries (seq, posted_at, kind, memo, prev_hash, hash) VALUES (999, now(), 'adjustment', 'x', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))",
                        logger: logger)
                    try await connection.query("INSERT INTO journal_lines VALUES (999, 1, (SELECT min(id) FROM accounts), 100)", logger: logger)
                }
                Issue.record("an unbalanced entry was committed")
            } catch let error as PostgresTransactionError {
                let message = (error.commitError as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
                #expect(message.contains("unbalanced"), "\(message)")
            }
            // A balanced pair added later to a committed entry: refused, the entry is sealed.
            await expectRefused(
                client,
                "INSERT INTO journal_lines SELECT \(seqs[1]), n, (SELECT min(id) FROM accounts), a FROM (VALUES (3, 100), (4, -100)) v(n, a)",
                containing: "sealed")
            // Swift refuses to send one at all.
            await #expect {
                try await client.withTransaction(logger: logger) { connection in
                    try await ledger.post([NewJournalEntry(kind: .adjustment, memo: "bad", lines: [
                        LedgerLine(.bureauBank, Money(fen: 1)), LedgerLine(.payable(firm), Money(fen: -2)),
                    ])], on: connection)
                }
            } throws: { error in
                (error as? PostgresTransactionError)?.closureError is LedgerError
            }
            #expect(try await ledger.verify(client).entriesChecked == 2)
        }
    }

    @Test("verify reports the first tampered entry, even when the triggers were switched off")
    func tamperDetected() async throws {
        try await TestDatabase.withFresh { client, _ in
            let seqs = try await postSample(client)
            // The table owner disables the guard and edits an amount on both sides (still balanced).
            try await client.query("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_immutable", logger: logger)
            try await client.query("UPDATE journal_lines SET amount_fen = amount_fen * 2 WHERE entry_seq = \(seqs[1])", logger: logger)
            let report = try await ledger.verify(client)
            #expect(report.firstBroken?.seq == seqs[1])
            #expect(report.firstBroken?.reason.contains("content changed") == true)
            // Removing the first entry breaks the link of the second.
            try await TestDatabase.withFresh { other, _ in
                let seqs = try await postSample(other)
                try await other.query("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_immutable", logger: logger)
                try await other.query("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable", logger: logger)
                try await other.query("DELETE FROM journal_lines WHERE entry_seq = \(seqs[0])", logger: logger)
                try await other.query("DELETE FROM journal_entries WHERE seq = \(seqs[0])", logger: logger)
                #expect(try await ledger.verify(other).firstBroken?.seq == seqs[1])
            }
        }
    }

    @Test("a correction is a reversing entry linked to what it reverses, and only one")
    func reversal() async throws {
        try await TestDatabase.withFresh { client, _ in
            let seqs = try await postSample(client)
            let reversal = try await client.withTransaction(logger: logger) { connection in
                try await ledger.reverse(seqs[1], memo: "reverse batch 1 line 1", createdBy: nil, on: connection)
            }
            let balances = Dictionary(uniqueKeysWithValues: try await ledger.balances(client, at: nil).map { ($0.code, $0) })
            #expect(balances["payable:\(firm)"]?.balance == .zero)
            #expect(balances["payable:\(firm)"]?.credits == Money(fen: 1_506_945))
            #expect(balances["payable:\(firm)"]?.debits == Money(fen: 1_506_945))
            var reverses: Int64?
            for try await value in try await client.query("SELECT reverses FROM journal_entries WHERE seq = \(reversal)", logger: logger).decode(Int64.self) {
                reverses = value
            }
            #expect(reverses == seqs[1])
            await #expect(throws: (any Error).self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await ledger.reverse(seqs[1], memo: "again", createdBy: nil, on: connection)
                }
            }
            #expect(try await ledger.verify(client).isIntact)
        }
    }
}
