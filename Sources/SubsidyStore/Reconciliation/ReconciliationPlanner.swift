public import SubsidyReconciliation
public import SubsidyRules

/// One thing an imported statement does, in entry order.
public enum ReconciliationEffect: Sendable {
    /// A debit paid a line: the line's amount to its recipient's payable, against the bank, the
    /// line marked paid. The payments of a run of entries are posted together, one ledger entry
    /// per batch with a line per payment (`ReconciliationPlanner.paymentEntries`).
    case pay(entry: Int64, line: Int64, payout: Payout)
    /// A credit returned a paid line (退汇): its payment's journal line is reversed, the line reopens.
    case returned(entry: Int64, line: Int64, memo: String)
    /// A credit repaid a recovery (应收): bank ↔ receivable, the recovery marked repaid.
    case repay(entry: Int64, line: Int64, journal: NewJournalEntry)
    /// For a clerk: a suggestion, a mismatch or a duplicate, recorded and not posted.
    case note(entry: Int64, line: Int64, kind: String)
}

/// What a statement's debit pays: a batch line's amount to its recipient.
public struct Payout: Sendable, Hashable {
    public var recipient: String
    public var amount: Money
    public var batch: Int64
    public var reference: String
    /// The statement entry (its id) that paid it.
    public var entry: Int64

    public init(recipient: String, amount: Money, batch: Int64, reference: String, entry: Int64) {
        self.recipient = recipient
        self.amount = amount
        self.batch = batch
        self.reference = reference
        self.entry = entry
    }
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
                    effects.append(.pay(entry: entry, line: line, payout: Payout(
                        recipient: owner.recipient, amount: payment.amount, batch: owner.batch, reference: payment.reference, entry: entry)))
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

extension ReconciliationPlanner {
    /// The ledger entries of a run of payments, in their order: one entry per batch (batches in
    /// the order their first payment comes), its lines a payable debit per payment in order and
    /// one bank credit for their sum, last. Returns, for each payout, its entry's index and its
    /// line's number (from 1), which its link names. A province statement's 26,379 payments were
    /// 26,379 entries, each hashed into the chain with two lines of its own.
    ///
    /// The amounts are batch lines' (each at most a program's cap), but their sum is checked: an
    /// overflow is refused, not wrapped.
    public static func paymentEntries(_ payouts: [Payout]) throws(LedgerError) -> (entries: [NewJournalEntry], positions: [(entry: Int, line: Int)]) {
        var order: [Int64] = []
        var members: [Int64: [Int]] = [:]
        for (index, payout) in payouts.enumerated() {
            if members[payout.batch] == nil { order.append(payout.batch) }
            members[payout.batch, default: []].append(index)
        }
        var entries: [NewJournalEntry] = []
        var positions = [(entry: Int, line: Int)](repeating: (0, 0), count: payouts.count)
        for batch in order {
            let indices = members[batch] ?? []
            var lines: [LedgerLine] = []
            lines.reserveCapacity(indices.count + 1)
            for (offset, index) in indices.enumerated() {
                let payout = payouts[index]
                guard payout.amount.fen > 0 else { throw LedgerError.notPositive(memo: "paid \(payout.reference)", fen: payout.amount.fen) }
                lines.append(LedgerLine(.payable(payout.recipient), payout.amount))
                positions[index] = (entries.count, offset + 1)
            }
            let first = payouts[indices[0]], last = payouts[indices[indices.count - 1]]
            let memo = indices.count == 1
                ? "paid \(first.reference) (statement entry \(first.entry))"
                : "paid \(indices.count) lines of batch \(batch) (statement entries \(first.entry)–\(last.entry))"
            lines.append(try LedgerLine.balancing(lines, on: .bureauBank, memo: memo))
            entries.append(NewJournalEntry(kind: .payment, memo: memo, batchID: batch, lines: lines))
        }
        return (entries, positions)
    }
}
