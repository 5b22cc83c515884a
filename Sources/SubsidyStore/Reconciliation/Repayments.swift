import Foundation
import Logging
import PostgresNIO
import SubsidyReconciliation
import SubsidyRules

/// Recovery lines (应收) a statement's credits may settle: a firm repaying what an approved batch
/// found it owes. Each repayment posts bank ↔ receivable and marks the line repaid.
struct ExpectedRecoveries {
    var expected: [ExpectedRecovery] = []
    var recipients: [Int64: (recipient: String, batch: Int64)] = [:]
}

extension ReconciliationStore {
    func expectedRecoveries(on connection: PostgresConnection) async throws -> ExpectedRecoveries {
        var result = ExpectedRecoveries()
        for try await (id, reference, account, owedFen, recipient, batch) in try await connection.query(
            """
            SELECT g.id, bl.payment_ref, coalesce(bl.payee_account, ''), -g.amount_fen, g.recipient_uscc::text, g.batch_id
            FROM granted_lines g JOIN batch_lines bl ON bl.id = g.id
            WHERE g.amount_fen < 0 AND g.status = 'active'
            ORDER BY g.id
            """, logger: logger
        ).decode((Int64, String, String, Int64, String, Int64).self) {
            result.expected.append(ExpectedRecovery(lineID: id, reference: reference, payerAccount: account, amount: Money(fen: owedFen)))
            result.recipients[id] = (recipient, batch)
        }
        return result
    }

    func applyRepayments(_ outcomes: [EntryOutcome], entryIDs: [Int64], recoveries: ExpectedRecoveries, on connection: PostgresConnection) async throws {
        let owed = Dictionary(uniqueKeysWithValues: recoveries.expected.map { ($0.lineID, $0) })
        var journal: [NewJournalEntry] = []
        var links: [(entry: Int64, line: Int64)] = []
        for (index, outcome) in outcomes.enumerated() where outcome.category == .repayment {
            for line in outcome.lineIDs {
                guard let recovery = owed[line], let owner = recoveries.recipients[line] else { continue }
                journal.append(NewJournalEntry(
                    kind: .payment, memo: "repaid (退回) \(recovery.reference) (statement entry \(entryIDs[index]))", batchID: owner.batch,
                    lines: [LedgerLine(.bureauBank, recovery.amount), LedgerLine(.receivable(owner.recipient), Money(fen: -recovery.amount.fen))]))
                links.append((entryIDs[index], line))
            }
        }
        guard !journal.isEmpty else { return }
        let seqs = try await ledger.post(journal, on: connection)
        try await connection.query(
            """
            INSERT INTO entry_lines (entry_id, batch_line_id, kind, journal_seq)
            SELECT e, l, 'repayment', s FROM unnest(\(links.map(\.entry))::bigint[], \(links.map(\.line))::bigint[], \(seqs)::bigint[]) AS t(e, l, s)
            """, logger: logger)
        try await connection.query(
            "UPDATE batch_lines SET status = 'repaid' WHERE id = ANY(\(links.map(\.line))::bigint[]) AND status = 'active'", logger: logger)
    }
}
