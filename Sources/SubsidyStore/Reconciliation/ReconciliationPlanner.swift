public import SubsidyReconciliation
public import SubsidyRules

/// One thing an imported statement does, in entry order.
public enum ReconciliationEffect: Sendable {
    /// A debit paid a line: payable ↔ bank, one ledger entry per line (so a return reverses
    /// exactly its own payment), the line marked paid.
    case pay(entry: Int64, line: Int64, journal: NewJournalEntry)
    /// A credit returned a paid line (退汇): its payment entry is reversed, the line reopens.
    case returned(entry: Int64, line: Int64, memo: String)
    /// A credit repaid a recovery (应收): bank ↔ receivable, the recovery marked repaid.
    case repay(entry: Int64, line: Int64, journal: NewJournalEntry)
    /// For a clerk: a suggestion, a mismatch or a duplicate, recorded and not posted.
    case note(entry: Int64, line: Int64, kind: String)
}

/// Decides what the matcher's outcomes do to the ledger and the lines, without a database; the
/// store applies the effects in order with a short loop.
public enum ReconciliationPlanner {
    public struct Owner: Sendable, Hashable {
        public var recipient: String
        public var batch: Int64

        public init(recipient: String, batch: Int64) {
            self.recipient = recipient
            self.batch = batch
        }
    }

    /// What the planner looks up by line: the payments and recoveries the outcomes may name, and
    /// each line's recipient and batch. Built once per import, read by every chunk of entries.
    public struct Lookup: Sendable {
        let payments: [Int64: ExpectedPayment]
        let recoveries: [Int64: ExpectedRecovery]
        let owners: [Int64: Owner]

        public init(payments: [ExpectedPayment], recoveries: [ExpectedRecovery], owners: [Int64: Owner]) {
            self.payments = Dictionary(uniqueKeysWithValues: payments.map { ($0.lineID, $0) })
            self.recoveries = Dictionary(uniqueKeysWithValues: recoveries.map { ($0.lineID, $0) })
            self.owners = owners
        }
    }

    public static func effects(
        _ outcomes: [EntryOutcome], entryIDs: [Int64], payments: [ExpectedPayment], recoveries: [ExpectedRecovery],
        owners: [Int64: Owner]
    ) -> (effects: [ReconciliationEffect], batches: Set<Int64>) {
        effects(outcomes[...], entryIDs: entryIDs, Lookup(payments: payments, recoveries: recoveries, owners: owners))
    }

    /// The effects of `outcomes` (a chunk of a statement's, in entry order), whose entries were
    /// stored as `entryIDs`, one for one: each outcome's effects depend on it alone, so the
    /// effects of consecutive chunks are those of the whole.
    public static func effects(
        _ outcomes: ArraySlice<EntryOutcome>, entryIDs: [Int64], _ lookup: Lookup
    ) -> (effects: [ReconciliationEffect], batches: Set<Int64>) {
        precondition(outcomes.count == entryIDs.count, "an entry id for each outcome")
        var effects: [ReconciliationEffect] = []
        var batches: Set<Int64> = []
        for (outcome, entry) in zip(outcomes, entryIDs) {
            for line in outcome.lineIDs {
                guard let owner = lookup.owners[line] else { continue }
                switch outcome.category {
                case .matched:
                    guard let payment = lookup.payments[line] else { continue }
                    batches.insert(owner.batch)
                    effects.append(.pay(entry: entry, line: line, journal: NewJournalEntry(
                        kind: .payment, memo: "paid \(payment.reference) (statement entry \(entry))", batchID: owner.batch,
                        lines: [LedgerLine(.payable(owner.recipient), payment.amount), LedgerLine(.bureauBank, Money(fen: -payment.amount.fen))])))
                case .returned:
                    batches.insert(owner.batch)
                    effects.append(.returned(entry: entry, line: line, memo: "returned (退汇) \(lookup.payments[line]?.reference ?? "") (statement entry \(entry))"))
                case .repayment:
                    guard let recovery = lookup.recoveries[line] else { continue }
                    effects.append(.repay(entry: entry, line: line, journal: NewJournalEntry(
                        kind: .payment, memo: "repaid (退回) \(recovery.reference) (statement entry \(entry))", batchID: owner.batch,
                        lines: [LedgerLine(.bureauBank, recovery.amount), LedgerLine(.receivable(owner.recipient), Money(fen: -recovery.amount.fen))])))
                case .suggested, .mismatch, .duplicate:
                    effects.append(.note(entry: entry, line: line, kind: outcome.category == .suggested ? "suggestion" : outcome.category.rawValue))
                case .unexpected, .other:
                    break
                }
            }
        }
        return (effects, batches)
    }
}
