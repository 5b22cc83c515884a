import Foundation
import Logging
import PostgresNIO
import SubsidyReconciliation
import SubsidyRules

/// Recovery lines (应收) a statement's credits may settle: a firm repaying what an approved batch
/// found it owes. Each repayment posts bank ↔ receivable and marks the line repaid.
struct ExpectedRecoveries {
    var expected: [ExpectedRecovery] = []
    var owners: [Int64: ReconciliationPlanner.Owner] = [:]
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
            result.owners[id] = ReconciliationPlanner.Owner(recipient: recipient, batch: batch)
        }
        return result
    }
}
