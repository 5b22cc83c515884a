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

    @Test("entries take the seqs after the chain's head: none is lost to a rolled-back post or to posts racing each other")
    func gaplessSeqs() async throws {
        struct Abandon: Error {}
        try await TestDatabase.withFresh { client, _ in
            let first = try await postSample(client)
            #expect(first == [1, 2])
            // A post whose transaction rolls back leaves no trace: the next post takes seq 3.
            do {
                try await client.withTransaction(logger: logger) { connection in
                    let seqs = try await ledger.post([NewJournalEntry(kind: .accrual, memo: "rolled back", batchID: 1, lines: [
                        LedgerLine(.expense(.zhuangda, 2025), Money(fen: 100)), LedgerLine(.payable(firm), Money(fen: -100)),
                    ])], on: connection)
                    #expect(seqs == [3])
                    throw Abandon()
                }
            } catch let error as PostgresTransactionError where error.closureError is Abandon {}
            // Eight transactions of five entries each race for the chain: the lock orders them,
            // and together they take seqs 3 to 42, each transaction's five in a run. Half of them
            // post in chunks of two entries (three statements: 2, 2, 1), the chain carried across.
            let runs = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for task in 0..<8 {
                    group.addTask {
                        try await client.withTransaction(logger: logger) { connection in
                            try await ledger.post((0..<5).map { index in
                                NewJournalEntry(kind: .accrual, memo: "task \(task) entry \(index)", batchID: 1, lines: [
                                    LedgerLine(.expense(.zhuangda, 2025), Money(fen: 100)), LedgerLine(.payable(firm), Money(fen: -100)),
                                ])
                            }, on: connection, chunkSize: task % 2 == 0 ? 2 : 20_000)
                        }
                    }
                }
                var runs: [[Int64]] = []
                for try await run in group { runs.append(run) }
                return runs
            }
            #expect(runs.allSatisfy { $0 == Array($0[0]...($0[0] + 4)) })
            #expect(runs.flatMap { $0 }.sorted() == Array(3...42))
            let report = try await ledger.verify(client)
            #expect(report.isIntact)
            #expect(report.entriesChecked == 42)
        }
    }

    @Test("the database refuses UPDATE, DELETE and TRUNCATE of journal rows: to the service by privilege, to the owner by trigger")
    func immutable() async throws {
        try await TestDatabase.withFresh { client, url in
            _ = try await postSample(client)
            let changes = [
                "UPDATE journal_lines SET amount_fen = amount_fen + 1", "DELETE FROM journal_lines", "UPDATE journal_entries SET memo = 'x'",
                "DELETE FROM journal_entries", "TRUNCATE journal_lines CASCADE", "DELETE FROM audit_log", "UPDATE audit_log SET action = 'x'",
            ]
            // The service's role holds no UPDATE, DELETE or TRUNCATE on them at all.
            for sql in changes { await expectRefused(client, sql, containing: "permission denied") }
            // Even the schema's owner meets the immutability triggers.
            try await TestDatabase.withOwnerClient(of: url) { owner in
                for sql in changes { await expectRefused(owner, sql, containing: "immutable") }
            }
            #expect(try await ledger.verify(client).isIntact)
        }
    }

    @Test("the service's role cannot disable a trigger, alter or drop a table, or create one")
    func servicePrivileges() async throws {
        try await TestDatabase.withFresh { client, _ in
            _ = try await postSample(client)
            await expectRefused(client, "ALTER TABLE journal_lines DISABLE TRIGGER USER", containing: "must be owner")
            await expectRefused(client, "ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable", containing: "must be owner")
            await expectRefused(client, "DROP TRIGGER journal_lines_immutable ON journal_lines", containing: "must be owner")
            await expectRefused(client, "ALTER TABLE batches DROP CONSTRAINT batches_check", containing: "must be owner")
            await expectRefused(client, "CREATE TABLE sneaky (id int)", containing: "permission denied")
            await expectRefused(client, "INSERT INTO batch_transitions VALUES ('approve', 'approved', 'computed')", containing: "permission denied")
            await expectRefused(client, "INSERT INTO schema_migrations VALUES (999, 'x', 'x')", containing: "permission denied")
            await expectRefused(client, "UPDATE installation SET rehearsal = false", containing: "permission denied")
            #expect(try await ledger.verify(client).isIntact)
        }
    }

    @Test("balance holds whatever the constraint mode: SET CONSTRAINTS … IMMEDIATE and one more line is refused")
    func balanceInImmediateMode() async throws {
        try await TestDatabase.withFresh { client, _ in
            _ = try await postSample(client)
            do {
                try await client.withTransaction(logger: logger) { connection in
                    // An entry with its balanced pair of lines, in one statement as Ledger.post writes them …
                    try await connection.query(
                        """
                        WITH e AS (INSERT INTO journal_entries (seq, posted_at, kind, memo, prev_hash, hash)
                                   VALUES (990, now(), 'adjustment', 'x', decode(repeat('00', 32), 'hex'), decode(repeat('22', 32), 'hex')))
                        INSERT INTO journal_lines VALUES (990, 1, (SELECT min(id) FROM accounts), 100), (990, 2, (SELECT max(id) FROM accounts), -100)
                        """, logger: logger)
                    // … passes the entry's check; a constraint mode changes nothing (none is deferred) …
                    try await connection.query("SET CONSTRAINTS ALL IMMEDIATE", logger: logger)
                    // … and one more line must not slip through after it.
                    try await connection.query("INSERT INTO journal_lines VALUES (990, 3, (SELECT min(id) FROM accounts), 1)", logger: logger)
                }
                Issue.record("an unbalanced entry was committed after SET CONSTRAINTS IMMEDIATE")
            } catch let error as PostgresTransactionError {
                let message = ((error.closureError ?? error.commitError) as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
                #expect(message.contains("unbalanced"), "\(message)")
            }
            #expect(try await count(client, "SELECT count(*)::int FROM journal_entries WHERE seq = 990") == 0)
        }
    }

    @Test("lines a later statement adds to an entry of the transaction must sum to zero among themselves (sql/020)")
    func addedLinesBalance() async throws {
        try await TestDatabase.withFresh { client, _ in
            _ = try await postSample(client)
            let entry = """
                WITH e AS (INSERT INTO journal_entries (seq, posted_at, kind, memo, prev_hash, hash)
                           VALUES (995, now(), 'adjustment', 'x', decode(repeat('00', 32), 'hex'), decode(repeat('33', 32), 'hex')))
                INSERT INTO journal_lines VALUES (995, 1, (SELECT min(id) FROM accounts), 100), (995, 2, (SELECT max(id) FROM accounts), -100)
                """
            // Two lines of 0.50 and -0.40: the entry would be 0.10 off.
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: entry), logger: logger)
                    try await connection.query(
                        "INSERT INTO journal_lines VALUES (995, 3, (SELECT min(id) FROM accounts), 50), (995, 4, (SELECT max(id) FROM accounts), -40)",
                        logger: logger)
                }
                Issue.record("lines summing to 10 fen were added to a balanced entry")
            } catch let error as PostgresTransactionError {
                let message = (error.closureError as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
                #expect(message == "journal entry 995 is unbalanced: 2 lines summing to 10 fen (debits must equal credits)", "\(message)")
            }
            #expect(try await count(client, "SELECT count(*)::int FROM journal_entries WHERE seq = 995") == 0)
        }
    }

    @Test("the database refuses an unbalanced entry, lines added to a committed entry, and lines naming no entry or account")
    func balancedOnly() async throws {
        try await TestDatabase.withFresh { client, url in
            let seqs = try await postSample(client)
            // One line of 1.00 with nothing against it, and an entry with no lines at all (to have
            // its lines follow in a later statement): each refused by the statement that wrote it.
            let entry999 = "INSERT INTO journal_entries (seq, posted_at, kind, memo, prev_hash, hash) VALUES (999, now(), 'adjustment', 'x', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))"
            for (sql, expected) in [
                ("WITH e AS (\(entry999)) INSERT INTO journal_lines VALUES (999, 1, (SELECT min(id) FROM accounts), 100)", "journal entry 999 is unbalanced: 1 lines summing to 100 fen"),
                (entry999, "journal entry 999 is unbalanced: 0 lines summing to 0 fen"),
            ] {
                do {
                    _ = try await client.withTransaction(logger: logger) { connection in
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    }
                    Issue.record("an unbalanced entry was committed: \(sql)")
                } catch let error as PostgresTransactionError {
                    let message = ((error.closureError ?? error.commitError) as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
                    #expect(message.contains(expected), "\(message)")
                }
            }
            // A balanced pair added later to a committed entry: refused, the entry is sealed.
            await expectRefused(
                client,
                "INSERT INTO journal_lines SELECT \(seqs[1]), n, (SELECT min(id) FROM accounts), a FROM (VALUES (3, 100), (4, -100)) v(n, a)",
                containing: "sealed")
            // The references the foreign keys checked per row, checked per statement (sql/017):
            // a balanced pair for an entry that does not exist, and a new entry's line naming an
            // account that does not exist.
            await expectRefused(
                client,
                "INSERT INTO journal_lines SELECT 12345, n, (SELECT min(id) FROM accounts), a FROM (VALUES (1, 100), (2, -100)) v(n, a)",
                containing: "journal entry 12345 does not exist")
            await expectRefused(
                client,
                "WITH e AS (\(entry999)) INSERT INTO journal_lines VALUES (999, 1, 987654, 100), (999, 2, (SELECT min(id) FROM accounts), -100)",
                containing: "account 987654 does not exist")
            // An entry's poster and reversed entry, checked per statement too (sql/028): a user
            // and an entry that do not exist, each with balanced lines.
            let balanced = "INSERT INTO journal_lines SELECT 999, n, (SELECT min(id) FROM accounts), a FROM (VALUES (1, 100), (2, -100)) v(n, a)"
            let header = "INSERT INTO journal_entries (seq, posted_at, kind, memo, prev_hash, hash, created_by, reverses)"
            await expectRefused(
                client, "WITH e AS (\(header) VALUES (999, now(), 'adjustment', 'x', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'), 987654, NULL)) \(balanced)",
                containing: "user 987654 does not exist")
            await expectRefused(
                client, "WITH e AS (\(header) VALUES (999, now(), 'reversal', 'x', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'), NULL, 987654)) \(balanced)",
                containing: "journal entry 987654 does not exist")
            // An account, once in the chart, stays: not even the schema's owner may change or
            // remove one (the lines naming it would lose their account).
            try await TestDatabase.withOwnerClient(of: url) { owner in
                for sql in ["DELETE FROM accounts WHERE code = 'bank:bureau'", "UPDATE accounts SET name = 'x'", "TRUNCATE accounts CASCADE"] {
                    await expectRefused(owner, sql, containing: "immutable")
                }
                // Nor a user the journal may name (sql/028): deactivated, never removed or renumbered.
                for (sql, reason) in [
                    ("DELETE FROM users WHERE id NOT IN (SELECT actor FROM audit_log WHERE actor IS NOT NULL)", "a user is kept"),
                    ("TRUNCATE users CASCADE", "a user is kept"),
                    ("UPDATE users SET id = id + 1000", "a user's id never changes"),
                ] {
                    await expectRefused(owner, sql, containing: reason)
                }
            }
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
        try await TestDatabase.withFresh { client, url in
            let seqs = try await postSample(client)
            // The schema's owner (only it can) disables the guard and edits an amount on both
            // sides (still balanced).
            try await TestDatabase.withOwnerClient(of: url) { owner in
                try await owner.query("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_immutable", logger: logger)
                try await owner.query("UPDATE journal_lines SET amount_fen = amount_fen * 2 WHERE entry_seq = \(seqs[1])", logger: logger)
            }
            let report = try await ledger.verify(client)
            #expect(report.firstBroken?.seq == seqs[1])
            #expect(report.firstBroken?.reason.contains("content changed") == true)
            // Removing the first entry breaks the link of the second.
            try await TestDatabase.withFresh { other, otherURL in
                let seqs = try await postSample(other)
                try await TestDatabase.withOwnerClient(of: otherURL) { owner in
                    try await owner.query("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_immutable", logger: logger)
                    try await owner.query("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable", logger: logger)
                    try await owner.query("DELETE FROM journal_lines WHERE entry_seq = \(seqs[0])", logger: logger)
                    try await owner.query("DELETE FROM journal_entries WHERE seq = \(seqs[0])", logger: logger)
                }
                #expect(try await ledger.verify(other).firstBroken?.seq == seqs[1])
            }
        }
    }

    @Test("a head recorded earlier detects a chain cut short or rewritten at its end (--expect)")
    func anchoredHead() async throws {
        try await TestDatabase.withFresh { client, url in
            let seqs = try await postSample(client)
            let recorded = try #require(try await ledger.verify(client).head)
            #expect(recorded.seq == seqs[1])
            #expect(LedgerHead.parse(recorded.description) == recorded)
            #expect(LedgerHead.parse("12:XYZ") == nil)
            #expect(try await ledger.verify(client, expect: recorded).isIntact)
            // Cutting the newest entry leaves a chain that verifies by itself — but not against the head.
            try await TestDatabase.withOwnerClient(of: url) { owner in
                try await owner.query("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_immutable", logger: logger)
                try await owner.query("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable", logger: logger)
                try await owner.query("DELETE FROM journal_lines WHERE entry_seq = \(seqs[1])", logger: logger)
                try await owner.query("DELETE FROM journal_entries WHERE seq = \(seqs[1])", logger: logger)
            }
            #expect(try await ledger.verify(client).isIntact)
            let cut = try await ledger.verify(client, expect: recorded)
            #expect(cut.firstBroken?.seq == seqs[1])
            #expect(cut.firstBroken?.reason.contains("missing") == true)
            // A tail rewritten with a fresh, self-consistent entry at the same seq: its hash differs.
            _ = try await client.withTransaction(logger: logger) { connection in
                try await ledger.post([NewJournalEntry(kind: .adjustment, memo: "forged", lines: [
                    LedgerLine(.bureauBank, Money(fen: 5)), LedgerLine(.payable(firm), Money(fen: -5)),
                ])], on: connection)
            }
            let forged = try await ledger.verify(client, expect: LedgerHead(seq: try #require(try await ledger.verify(client).head?.seq), hashHex: recorded.hashHex))
            #expect(forged.firstBroken?.reason.contains("rewritten") == true)
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
