import Crypto
import Foundation
import NIOCore
public import Logging
public import PostgresNIO
public import SubsidyReconciliation
public import SubsidyRules

public struct ImportSummary: Sendable {
    public var statementIDs: [Int64]
    /// Statements already imported before (from this file or another): nothing changed for them.
    public var alreadyImported: Int
    public var entries: Int
    public var categories: [EntryOutcome.Category: Int]
}

/// Imports parsed statements: matches their entries to exported batch lines, posts the
/// payments (payable ↔ bank, one entry per batch and chunk) and returns (each payment's line
/// reversed) to the ledger, and marks lines paid or reopened — all in one transaction, so that a
/// crash at any moment leaves either everything or nothing, and importing the same statement
/// again changes nothing.
public struct ReconciliationStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    let ledger: Ledger
    static let lockKey: Int64 = 0x5245_434F_4E43  // "RECONC"
    /// Working days after export within which account + amount matches (rule 3).
    public var windowWorkingDays = 10
    /// How many of a statement's entries are stored, planned and posted at a time.
    public var entryChunk = 20_000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.ledger = Ledger(logger: logger)
    }

    /// SHA-256 over a statement's normalized content, so that the same statement is recognised
    /// whatever file it arrives in.
    public static func fingerprint(_ statement: BankStatement, format: StatementFormat) -> [UInt8] {
        var hasher = SHA256()
        func add(_ text: String) {
            hasher.update(data: Array("\(text.utf8.count):".utf8))
            hasher.update(data: Array(text.utf8))
        }
        add(format.rawValue)
        add(statement.account)
        add(statement.currency)
        add(statement.statementNumber)
        for balance in [statement.openingBalance, statement.closingBalance] {
            add(balance.map { "\($0.amount.fen)@\($0.date?.description ?? "")" } ?? "-")
        }
        for entry in statement.entries {
            add([String(entry.amount.fen), entry.valueDate?.description ?? "", entry.bookingDate?.description ?? "", entry.reference ?? "",
                 entry.bankReference ?? "", entry.description, entry.counterparty.name ?? "", entry.counterparty.account ?? ""].joined(separator: "\u{1F}"))
        }
        return Array(hasher.finalize())
    }

    /// A clerk imports a statement file now (the daemon does this for its inbox and for uploads).
    public func importStatements(_ parsed: ParsedStatements, source: String, by user: User) async throws -> ImportSummary {
        try UserStore.require(user, .clerk)
        return try await UserStore(client: client, logger: logger).actingAs(user) { connection in
            let summary = try await importStatements(parsed, source: source, sentBy: nil, on: connection)
            try await UserStore.audit(
                actor: user.id, action: "statement.import", subject: "statements:\(summary.statementIDs.map(String.init).joined(separator: ","))",
                detail: ["source": source, "entries": String(summary.entries)], on: connection, logger: logger)
            return summary
        }
    }

    /// The import inside the caller's transaction (the daemon also marks an upload processed in
    /// it). Every statement must be for one of the bureau's disbursement accounts and, when a bank
    /// sent it through the API (`sentBy`), held at that bank: otherwise nothing is imported.
    public func importStatements(_ parsed: ParsedStatements, source: String, sentBy bank: String?, on connection: PostgresConnection) async throws -> ImportSummary {
        var laps = Laps()
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
        let accounts = try await DisbursementAccounts(client: client, logger: logger).all(on: connection)
        for statement in parsed.statements {
            let number = DisbursementAccounts.normalise(statement.account)
            guard let holder = accounts[number] else { throw ReconciliationError.notDisbursementAccount(statement.account) }
            if let bank, holder != bank { throw ReconciliationError.accountOfAnotherBank(account: statement.account, holder: holder, sender: bank) }
        }
        // The same statement twice in one file (or in two files) is imported once.
        var seen: Set<String> = []
        let fingerprints = parsed.statements.map { Self.fingerprint($0, format: parsed.format).hex }
        var existing: Set<String> = []
        for try await hex in try await connection.query(
            "SELECT encode(fingerprint, 'hex') FROM statements WHERE encode(fingerprint, 'hex') = ANY(\(fingerprints)::text[])", logger: logger
        ).decode(String.self) {
            existing.insert(hex)
        }
        let fresh = parsed.statements.indices.filter { !existing.contains(fingerprints[$0]) && seen.insert(fingerprints[$0]).inserted }
        var summary = ImportSummary(statementIDs: [], alreadyImported: parsed.statements.count - fresh.count, entries: 0, categories: [:])
        guard !fresh.isEmpty else { return summary }
        laps.mark("lock, accounts, fingerprints")

        // One statement (the usual file) is matched from its own array, not a copy of it.
        let entries = fresh.count == 1 ? parsed.statements[fresh[0]].entries : fresh.flatMap { parsed.statements[$0].entries }
        // First the lines the entries name by reference; when an entry needs the other rules
        // (`Matcher.matchNamed` says nil), those lines and the ones those rules can reach
        // (`MatchCandidates`), not every payable line of every batch: the outcomes are the same.
        let tokens = Matcher.referenceTokens(entries)
        var (payments, paymentOwners) = try await expectedPayments(named: tokens, on: connection)
        let recoveries = try await expectedRecoveries(on: connection)
        let calendar = try await BatchInputLoader(client: client, logger: logger).calendar()
        laps.mark("expected payments and recoveries")
        let matcher = Matcher(calendar: calendar, windowWorkingDays: windowWorkingDays)
        let named = matcher.matchNamed(entries, against: payments, recoveries: recoveries.expected)
        if named == nil {
            let candidates = MatchCandidates(entries, named: Set(payments.map { $0.reference.uppercased() }))
            (payments, paymentOwners) = try await expectedPayments(named: tokens, candidates: candidates, on: connection)
            laps.mark("the lines the other rules can reach")
        }
        let outcomes = named ?? matcher.match(entries, against: payments, recoveries: recoveries.expected)
        laps.mark("match")

        // Statements, with their balance and continuity checks; then their entries stored,
        // planned and applied `entryChunk` at a time, in entry order: a chunk's rows, effects and
        // journal entries are gone before the next is read.
        let owners = paymentOwners.merging(recoveries.owners) { payment, _ in payment }
        let lookup = ReconciliationPlanner.Lookup(payments: payments, recoveries: recoveries.expected, owners: owners)
        var lastClosing: [String: (Money?, CivilDate?)] = [:]
        var batches: Set<Int64> = []
        var offset = 0
        let chunk = max(1, entryChunk)
        for index in fresh {
            let statement = parsed.statements[index]
            let continuity = try await continuityCheck(statement, known: lastClosing[statement.account], on: connection)
            lastClosing[statement.account] = (statement.closingBalance?.amount, statement.closingBalance?.date)
            var statementID: Int64 = 0
            for try await id in try await connection.query(
                """
                INSERT INTO statements (fingerprint, source, format, account, currency, statement_number, opening_fen, opening_date, closing_fen,
                                        closing_date, balance_difference_fen, continuity, continuity_note, entries)
                VALUES (decode(\(fingerprints[index]), 'hex'), \(source), \(parsed.format.rawValue), \(statement.account), \(statement.currency),
                        \(statement.statementNumber), \(statement.openingBalance?.amount.fen), \(statement.openingBalance?.date?.description)::date,
                        \(statement.closingBalance?.amount.fen), \(statement.closingBalance?.date?.description)::date,
                        \(statement.balanceDifference?.fen), \(continuity.0), \(continuity.1), \(statement.entries.count))
                RETURNING id
                """, logger: logger
            ).decode(Int64.self) {
                statementID = id
            }
            summary.statementIDs.append(statementID)
            for start in stride(from: 0, to: statement.entries.count, by: chunk) {
                let range = start..<min(statement.entries.count, start + chunk)
                let chunkOutcomes = outcomes[(offset + range.lowerBound)..<(offset + range.upperBound)]
                let entryIDs = try await insertEntries(statement.entries[range], firstNumber: start + 1, statementID: statementID, outcomes: chunkOutcomes, on: connection)
                laps.mark("statements and entries stored")
                let plan = ReconciliationPlanner.effects(chunkOutcomes, entryIDs: entryIDs, lookup)
                batches.formUnion(plan.batches)
                laps.mark("plan")
                try await apply(plan.effects, on: connection, laps: &laps)
            }
            offset += statement.entries.count
        }
        try await settle(batches, on: connection)
        laps.mark("notes and batches settled")
        summary.entries = entries.count
        for outcome in outcomes { summary.categories[outcome.category, default: 0] += 1 }
        logger.debug("statement import timings", metadata: laps.metadata(["entries": "\(entries.count)"]))
        return summary
    }

    /// Exported lines not yet paid (or returned for re-issue), and paid ones (returns and
    /// duplicates name them), with each line's recipient for the payable account: those whose
    /// reference is one of `references` (references are made upper case, as the matcher reads
    /// them: `PaymentReference.make`), and with `candidates` also those it admits — the same
    /// conditions as `MatchCandidates.admits`, in SQL: the reference's first ten characters, the
    /// payee account without what is not an ASCII letter or digit, upper case; the amount.
    func expectedPayments(
        named references: Set<String>, candidates: MatchCandidates? = nil, on connection: PostgresConnection
    ) async throws -> ([ExpectedPayment], [Int64: ReconciliationPlanner.Owner]) {
        var payments: [ExpectedPayment] = []
        var owners: [Int64: ReconciliationPlanner.Owner] = [:]
        let columns = """
            SELECT p.id, p.payment_ref, coalesce(p.payee_name, p.recipient_name), coalesce(p.payee_account, ''), p.amount_fen,
                   (p.exported_at AT TIME ZONE 'Asia/Shanghai')::date, NOT p.open, p.recipient_uscc::text, p.batch_id
            FROM payable_lines p
            """
        // Two texts, so that the usual import (references only) is planned as index lookups.
        let query: PostgresQuery = if let candidates {
            """
            \(unescaped: columns)
            WHERE p.payment_ref = ANY(\(Array(references))::text[])
               OR left(upper(p.payment_ref), \(Matcher.minimumFragment)::int) = ANY(\(Array(candidates.prefixes))::text[])
               OR upper(regexp_replace(coalesce(p.payee_account, ''), '[^A-Za-z0-9]', '', 'g')) = ANY(\(Array(candidates.accounts))::text[])
               OR p.amount_fen = ANY(\(Array(candidates.amounts))::bigint[])
            ORDER BY p.id
            """
        } else {
            "\(unescaped: columns) WHERE p.payment_ref = ANY(\(Array(references))::text[]) ORDER BY p.id"
        }
        let rows = try await connection.query(query, logger: logger)
        for try await row in rows {
            var cells = RowCells(row)
            let (id, reference, name, account) = (try cells.next(Int64.self), try cells.next(String.self), try cells.next(String.self), try cells.next(String.self))
            let (amount, exported, paid) = (try cells.next(Int64.self), try cells.next(CivilDate?.self), try cells.next(Bool.self))
            let (recipient, batch) = (try cells.next(String.self), try cells.next(Int64.self))
            payments.append(ExpectedPayment(
                lineID: id, reference: reference, payeeName: name, payeeAccount: account, amount: Money(fen: amount),
                exportedOn: exported ?? CivilDate(dayNumber: 0), paid: paid))
            owners[id] = ReconciliationPlanner.Owner(recipient: recipient, batch: batch)
        }
        return (payments, owners)
    }

    /// opening = the previous statement's closing for the account; a gap or an overlap otherwise.
    func continuityCheck(_ statement: BankStatement, known: (Money?, CivilDate?)?, on connection: PostgresConnection) async throws -> (String, String) {
        guard let opening = statement.openingBalance else { return ("unknown", "the statement states no opening balance") }
        var previous = known
        if previous == nil {
            for try await (closing, date) in try await connection.query(
                """
                SELECT closing_fen, closing_date::text FROM statements WHERE account = \(statement.account) AND closing_fen IS NOT NULL
                ORDER BY closing_date DESC NULLS LAST, id DESC LIMIT 1
                """, logger: logger
            ).decode((Int64?, String?).self) {
                previous = (closing.map { Money(fen: $0) }, date.flatMap { try? CivilDate.parse($0, field: "") })
            }
        }
        guard let (closing, closingDate) = previous, let closing else { return ("first", "") }
        if closing == opening.amount { return ("ok", "") }
        if let closingDate, let openingDate = opening.date, openingDate < closingDate {
            return ("overlap", "opens \(opening.amount.grouped) on \(openingDate), before the previous statement closed on \(closingDate) at \(closing.grouped)")
        }
        return ("gap", "opens at \(opening.amount.grouped) but the previous statement closed at \(closing.grouped): a statement is missing")
    }

    /// Stores `entries` (numbered from `firstNumber` in their statement) with their outcomes, and
    /// returns their ids in order.
    ///
    /// The rows go in by COPY, then their ids are read back by number: `INSERT … SELECT FROM
    /// unnest(…)` of thirteen arrays materialised them all before the first row was written
    /// (psql, 20,000 entries of a province statement, alternated: 147-163 ms against 85-91 ms by
    /// COPY). An empty reference, bank reference, counterparty name or account is stored as NULL,
    /// as before; the statement trigger of sql/027 checks the rows COPY writes as it checked the
    /// INSERT's.
    func insertEntries(
        _ entries: ArraySlice<StatementEntry>, firstNumber: Int, statementID: Int64, outcomes: ArraySlice<EntryOutcome>,
        on connection: PostgresConnection
    ) async throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        func present(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        var text = ByteBuffer()
        text.reserveCapacity(entries.count * 256)
        let statement = String(statementID)
        for (offset, (entry, outcome)) in zip(entries, outcomes).enumerated() {
            text.writeCopyRow([
                statement, String(firstNumber + offset), String(entry.amount.fen), entry.currency, entry.valueDate?.description,
                entry.bookingDate?.description, present(entry.reference), present(entry.bankReference), entry.description,
                present(entry.counterparty.name), present(entry.counterparty.account), outcome.category.rawValue, outcome.rule, outcome.explanation,
            ])
        }
        try await connection.copy(
            text, into: "statement_entries",
            columns: ["statement_id", "entry_no", "amount_fen", "currency", "value_date", "booking_date", "reference", "bank_reference",
                      "description", "counterparty_name", "counterparty_account", "category", "rule", "explanation"],
            logger: logger)
        let last = firstNumber + entries.count - 1
        var ids = [Int64](repeating: 0, count: entries.count)
        for try await row in try await connection.query(
            "SELECT id, entry_no FROM statement_entries WHERE statement_id = \(statementID) AND entry_no BETWEEN \(firstNumber) AND \(last)",
            logger: logger)
        {
            var cells = RowCells(row)
            let (id, number) = (try cells.next(Int64.self), try cells.next(Int.self))
            ids[number - firstNumber] = id
        }
        return ids
    }

    /// Applies the planner's effects in order: the payments of a run of entries are posted as one
    /// ledger entry per batch (`ReconciliationPlanner.paymentEntries`), repayments an entry each;
    /// a return first flushes the run, then reverses its payment's journal line. Each link names
    /// the journal line that moved its line's money (sql/041 checks it).
    func apply(_ effects: [ReconciliationEffect], on connection: PostgresConnection, laps: inout Laps) async throws {
        var payments: [(line: Int64, payout: Payout)] = []
        var repayments: [(entry: Int64, line: Int64, journal: NewJournalEntry)] = []
        var notes = (entry: [Int64](), line: [Int64](), kind: [String]())

        func flush() async throws {
            guard !payments.isEmpty || !repayments.isEmpty else { return }
            let grouped = try ReconciliationPlanner.paymentEntries(payments.map(\.payout))
            let seqs = try await ledger.post(grouped.entries + repayments.map(\.journal), on: connection)
            laps.mark("ledger entries posted")
            // A repayment's entry: the bank debited (line 1), the recipient's receivable credited (line 2).
            var links = (entry: [Int64](), line: [Int64](), kind: [String](), seq: [Int64](), journalLine: [Int]())
            for (payment, position) in zip(payments, grouped.positions) {
                links.entry.append(payment.payout.entry)
                links.line.append(payment.line)
                links.kind.append("payment")
                links.seq.append(seqs[position.entry])
                links.journalLine.append(position.line)
            }
            for (index, repayment) in repayments.enumerated() {
                links.entry.append(repayment.entry)
                links.line.append(repayment.line)
                links.kind.append("repayment")
                links.seq.append(seqs[grouped.entries.count + index])
                links.journalLine.append(2)
            }
            try await connection.query(
                """
                INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line)
                SELECT e, l, k, s, j FROM unnest(\(links.entry)::bigint[], \(links.line)::bigint[], \(links.kind)::text[], \(links.seq)::bigint[],
                                                 \(links.journalLine)::int[]) AS t(e, l, k, s, j)
                """, logger: logger)
            try await connection.query(
                """
                UPDATE batch_lines bl SET status = CASE t.k WHEN 'payment' THEN 'paid' ELSE 'repaid' END
                FROM unnest(\(links.line)::bigint[], \(links.kind)::text[]) AS t(l, k) WHERE bl.id = t.l
                """, logger: logger)
            laps.mark("entry links and lines paid")
            payments.removeAll()
            repayments.removeAll()
        }

        for effect in effects {
            switch effect {
            case .pay(_, let line, let payout): payments.append((line, payout))
            case .repay(let entry, let line, let journal): repayments.append((entry, line, journal))
            case .note(let entry, let line, let kind):
                notes.entry.append(entry)
                notes.line.append(line)
                notes.kind.append(kind)
            case .returned(let entry, let line, let memo):
                try await flush()
                try await reverseReturnedPayment(entry: entry, line: line, memo: memo, on: connection)
            }
        }
        try await flush()
        guard !notes.entry.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO entry_lines (entry_id, batch_line_id, kind)
            SELECT e, l, k FROM unnest(\(notes.entry)::bigint[], \(notes.line)::bigint[], \(notes.kind)::text[]) AS t(e, l, k)
            ON CONFLICT DO NOTHING
            """, logger: logger)
        laps.mark("notes")
    }

    /// Settles (exported → paid) a batch whose payable lines are all paid; reopens (paid →
    /// exported) one with a returned line — the lifecycle's settle and reopen, guarded.
    func settle(_ batches: Set<Int64>, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE batches b SET state = CASE WHEN EXISTS (SELECT 1 FROM payable_lines p WHERE p.batch_id = b.id AND p.open) THEN 'exported' ELSE 'paid' END
            WHERE b.id = ANY(\(Array(batches))::bigint[])
              AND b.state = ANY(\(BatchLifecycle.allowedNames(.settle) + BatchLifecycle.allowedNames(.reopen)))
            """, logger: logger)
    }

    /// The return of a paid line: its payment's journal line reversed, linked to the return. A
    /// payment posted with others (sql/041) is returned by an entry of its own that credits the
    /// recipient's payable and debits the bank by that line's amount; one posted alone (before
    /// sql/041) by the reversal of its entry, whose payable line is also line 1.
    func reverseReturnedPayment(entry: Int64, line: Int64, memo: String, on connection: PostgresConnection) async throws {
        // The payment's link is marked returned as it is read: one statement, in the transaction
        // that posts the return.
        var payment: (seq: Int64, line: Int?)?
        for try await (seq, journalLine) in try await connection.query(
            """
            UPDATE entry_lines SET returned_by = \(entry)
            WHERE batch_line_id = \(line) AND kind = 'payment' AND returned_by IS NULL AND journal_seq IS NOT NULL
            RETURNING journal_seq, journal_line
            """, logger: logger
        ).decode((Int64, Int?).self) {
            payment = (seq, journalLine)
        }
        guard let payment else { return }
        // What the return link names is checked by the database (sql/041): the recipient's
        // payable, credited the line's amount.
        let returned = if let journalLine = payment.line {
            try await ledger.returnLine(
                payment.seq, line: journalLine, against: .bureauBank, memo: "\(memo), paid in journal entry \(payment.seq) line \(journalLine)", on: connection)
        } else {
            try await ledger.reverse(payment.seq, memo: memo, createdBy: nil, on: connection)
        }
        try await connection.query(
            "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) VALUES (\(entry), \(line), 'return', \(returned), 1)", logger: logger)
        try await connection.query("UPDATE batch_lines SET status = 'returned' WHERE id = \(line)", logger: logger)
    }
}

public enum ReconciliationError: Error, CustomStringConvertible, Sendable, Equatable {
    case notDisbursementAccount(String)
    case accountOfAnotherBank(account: String, holder: String, sender: String)
    case noSuchSuggestion(entry: Int64, line: Int64)
    case lineNotOpen(line: Int64, status: String)
    case amountDiffers(entry: Money, line: Money)

    public var description: String {
        switch self {
        case .notDisbursementAccount(let account):
            "the statement is for account \(account), which is not one of the bureau's disbursement accounts (register it with `subsidy bank account`); nothing was imported"
        case .accountOfAnotherBank(let account, let holder, let sender):
            "the statement for account \(account) was sent by \(sender), but the account is held at \(holder); nothing was imported"
        case .noSuchSuggestion(let entry, let line): "statement entry \(entry) does not suggest line \(line)"
        case .lineNotOpen(let line, let status): "line \(line) is \(status), not open for payment"
        case .amountDiffers(let entry, let line): "the debit of \(entry.grouped) is not the line's \(line.grouped)"
        }
    }
}

extension ReconciliationStore {
    /// A clerk confirms a suggested match (name and amount, or one of several account matches):
    /// the payment is posted and the line marked paid, as an automatic match would be, and the
    /// confirmation is audited.
    public func confirmSuggestion(entryID: Int64, lineID: Int64, by user: User) async throws {
        try UserStore.require(user, .clerk)
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            var found: (Int64, Int64, String, String, String, Int64)?
            for try await row in try await connection.query(
                """
                SELECT e.amount_fen, bl.amount_fen, bl.status, bl.payment_ref, bl.recipient_uscc::text, bl.batch_id
                FROM entry_lines el JOIN statement_entries e ON e.id = el.entry_id JOIN batch_lines bl ON bl.id = el.batch_line_id
                WHERE el.entry_id = \(entryID) AND el.batch_line_id = \(lineID) AND el.kind = 'suggestion' AND e.category = 'suggested'
                FOR UPDATE OF bl
                """, logger: logger
            ).decode((Int64, Int64, String, String, String, Int64).self) {
                found = row
            }
            guard let (entryFen, lineFen, status, reference, recipient, batch) = found else {
                throw ReconciliationError.noSuchSuggestion(entry: entryID, line: lineID)
            }
            guard status == "active" || status == "returned" else { throw ReconciliationError.lineNotOpen(line: lineID, status: status) }
            guard -entryFen == lineFen else { throw ReconciliationError.amountDiffers(entry: Money(fen: -entryFen), line: Money(fen: lineFen)) }
            let amount = Money(fen: lineFen)
            let seq = try await ledger.post([NewJournalEntry(
                kind: .payment, memo: "paid \(reference) (statement entry \(entryID), confirmed by \(user.login))", batchID: batch, createdBy: user.id,
                lines: [LedgerLine(.payable(recipient), amount), LedgerLine(.bureauBank, Money(fen: -amount.fen))])], on: connection)[0]
            try await connection.query(
                "INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq, journal_line) VALUES (\(entryID), \(lineID), 'payment', \(seq), 1)",
                logger: logger)
            try await connection.query("UPDATE batch_lines SET status = 'paid' WHERE id = \(lineID)", logger: logger)
            try await connection.query(
                "UPDATE statement_entries SET category = 'matched', rule = 'confirmed', explanation = explanation || \(" — confirmed by \(user.login)") WHERE id = \(entryID)",
                logger: logger)
            try await connection.query(
                """
                INSERT INTO audit_log (actor, action, subject, detail)
                VALUES (\(user.id), 'reconcile.confirm', \("entry:\(entryID)"), jsonb_build_object('line', \(lineID)::bigint, 'reference', \(reference)::text))
                """, logger: logger)
            try await connection.query(
                """
                UPDATE batches b SET state = 'paid' WHERE b.id = \(batch) AND b.state = 'exported'
                  AND NOT EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.amount_fen > 0 AND l.status IN ('active', 'returned'))
                """, logger: logger)
        }
    }
}

extension ReconciliationStore {
    /// A clerk rejects a suggested match: the entry becomes unexpected (to be investigated), the
    /// line stays open, and the rejection with its reason is audited. Nothing is posted.
    public func rejectSuggestion(entryID: Int64, lineID: Int64, reason: String, by user: User) async throws {
        try UserStore.require(user, .clerk)
        let trimmed = try writtenReason(reason)
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            var changed = false
            for try await _ in try await connection.query(
                """
                UPDATE statement_entries e SET category = 'unexpected', rule = 'rejected',
                       explanation = e.explanation || \(" — suggestion rejected by \(user.login): \(trimmed)")
                WHERE e.id = \(entryID) AND e.category = 'suggested'
                  AND EXISTS (SELECT 1 FROM entry_lines el WHERE el.entry_id = e.id AND el.batch_line_id = \(lineID) AND el.kind = 'suggestion')
                RETURNING e.id
                """, logger: logger)
            {
                changed = true
            }
            guard changed else { throw ReconciliationError.noSuchSuggestion(entry: entryID, line: lineID) }
            try await UserStore.audit(
                actor: user.id, action: "reconcile.reject", subject: "entry:\(entryID)", detail: ["line": String(lineID), "reason": trimmed],
                on: connection, logger: logger)
        }
    }
}
