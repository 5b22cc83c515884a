public import SubsidyRules
public import SubsidyReconciliation

/// A line a computation stores: what the engine computed for the recipient's whole program-year,
/// what approved batches already granted it, and the difference the line pays.
public struct PlannedLine: Sendable, Equatable {
    public var lineNo: Int
    public var recipient: String
    public var recipientName: String
    public var computed: Money
    public var previously: Money
    public var paymentRef: String
    public var itemsJSON: String
    public var explanationJSON: String

    public var amount: Money { computed - previously }
}

/// An item of a planned line under a cap that spans years (a 新易贷 loan's lifetime cap, an
/// equity or fund pair), with the cap's key and what the computation took as granted under it in
/// other years; approval refuses the line when that has changed.
public struct PlannedItem: Sendable, Equatable {
    public var lineNo: Int
    public var id: String
    public var kind: ItemKind
    public var amount: Money
    public var capKey: String
    public var awardedBefore: Money
}

/// A computation's exclusions as `batch_exclusion_sets` rows: one per recipient, kind and reason
/// code, in the order each first appears, with its items in the engine's order. "Firm not
/// qualified on <day>" sets (`dated`) are stored as their days, the others (`worded`) with their
/// words (sql/037); a set's code is one or the other, so no set is split.
public struct ExclusionSets: Sendable {
    public struct Rows: Sendable {
        public var recipients: [String] = []
        public var kinds: [String] = []
        public var codes: [String] = []
        /// Each item's row, 1-based: the items are grouped row by row, rows in order.
        public var rowOfItem: [Int32] = []
        public var items: [Exclusion] = []

        init(_ exclusions: [Exclusion]) {
            struct Key: Hashable {
                var recipient: String
                var kind: ExclusionKind
                var code: String
            }
            // Rows numbered as they first appear, each keeping its items in the engine's order.
            var rowOf: [Key: Int] = [:]
            var members: [[Exclusion]] = []
            for exclusion in exclusions {
                let key = Key(recipient: exclusion.recipient, kind: exclusion.kind, code: exclusion.code)
                if let row = rowOf[key] {
                    members[row].append(exclusion)
                } else {
                    rowOf[key] = members.count
                    members.append([exclusion])
                    recipients.append(exclusion.recipient)
                    kinds.append(exclusion.kind.rawValue)
                    codes.append(exclusion.code)
                }
            }
            items.reserveCapacity(exclusions.count)
            rowOfItem.reserveCapacity(exclusions.count)
            for (row, list) in members.enumerated() {
                items.append(contentsOf: list)
                rowOfItem.append(contentsOf: repeatElement(Int32(row + 1), count: list.count))
            }
        }
    }

    public var dated: Rows
    public var worded: Rows

    public init(_ exclusions: [Exclusion]) {
        var (dated, worded): ([Exclusion], [Exclusion]) = ([], [])
        for exclusion in exclusions {
            if exclusion.notQualifiedOn != nil { dated.append(exclusion) } else { worded.append(exclusion) }
        }
        (self.dated, self.worded) = (Rows(dated), Rows(worded))
    }
}

/// The interest records an award rests on, of one loan (bank and loan number, as the loan's id
/// "BANK/LOAN_NO" names it), in ascending order.
public struct UsedRecords: Sendable, Equatable {
    public var bank: String
    public var loanNo: String
    public var records: [Int64]

    /// The loan's id as the engine and the loader name it, "BANK/LOAN_NO".
    public var loan: String { "\(bank)/\(loanNo)" }
}

public struct ComputationPlan: Sendable {
    public var lines: [PlannedLine]
    /// The items under a cap that spans years (a 新易贷 loan's lifetime cap, an investment
    /// pair's), stored as rows for what approval and later computations look up by cap key
    /// (`granted_items`). Every item of a line, capped or not, is in its `itemsJSON`. Until
    /// sql/042 every item was a row: a province zhuangda batch's 135,718, none under such a cap,
    /// were 1.0 s of its statements' time (their insert and its check) and never read.
    public var items: [PlannedItem]
    /// The interest records the awards rest on, a loan at a time.
    public var usedRecords: [UsedRecords]
    public var total: Money { lines.map(\.amount).sum() }
}

/// What a recipient was granted in the program-year by approved batches (any district), and the
/// recipient's own district, which decides whether a district batch covers it.
public struct GrantedToRecipient: Sendable, Equatable {
    public var amount: Money
    public var district: String?

    public init(amount: Money, district: String?) {
        self.amount = amount
        self.district = district
    }
}

/// Decides a batch's lines from the engine's result, without a database.
public enum ComputationPlanner {
    /// One line per recipient the engine awards (all in the batch's scope: the inputs were
    /// loaded for the scope's recipients), plus a recovery line for each recipient of the scope
    /// that was granted earlier and is owed nothing now. A district batch never touches a
    /// recipient of another district; "previously granted" counts every district.
    public static func plan(
        batch: Int64, district: String?, request: CalculationRequest, result: CalculationResult,
        granted: [String: GrantedToRecipient]
    ) -> ComputationPlan {
        var plan = awards(batch: batch, request: request, result: result, granted: granted, firstLine: 1)
        let recoveries = recoveries(
            batch: batch, program: request.program, year: request.year, district: district, granted: granted,
            awarded: Set(result.awards.map(\.recipient)), firstLine: plan.lines.count + 1)
        plan.lines += recoveries
        return plan
    }

    /// The lines of the recipients the engine awards, numbered from `firstLine`: one chunk of a
    /// batch computed in chunks of recipients (in the engine's order), or the whole of it.
    public static func awards(
        batch: Int64, request: CalculationRequest, result: CalculationResult, granted: [String: GrantedToRecipient], firstLine: Int
    ) -> ComputationPlan {
        let program = request.program
        let capKeys = capKeys(request)
        var lines: [PlannedLine] = []
        var items: [PlannedItem] = []
        lines.reserveCapacity(result.awards.count)
        for (index, award) in result.awards.enumerated() {
            let lineNo = firstLine + index
            let recipient = award.recipient
            lines.append(PlannedLine(
                lineNo: lineNo, recipient: recipient, recipientName: request.firms[recipient]?.name ?? award.recipientName,
                computed: award.amount, previously: granted[recipient]?.amount ?? .zero,
                paymentRef: PaymentReference.make(program: program, year: request.year, batch: batch, line: lineNo),
                itemsJSON: JSONValue.array(award.items.map {
                    .object([("id", .string($0.id)), ("kind", .string($0.kind.rawValue)), ("amount", .string($0.amount.plain))])
                }).serialized(),
                explanationJSON: ExplanationStep.storedJSON(award.explanation)))
            for item in award.items {
                guard let cap = capKeys[item.id] else { continue }
                items.append(PlannedItem(lineNo: lineNo, id: item.id, kind: item.kind, amount: item.amount, capKey: cap.key, awardedBefore: cap.before))
            }
        }
        return ComputationPlan(lines: lines, items: items, usedRecords: usedRecords(result))
    }

    /// The records the awards' items name ("R<id>"), a loan at a time in the awards' order. Only
    /// a loan's item rests on records, and it carries the loan's id ("BANK/LOAN_NO"); a loan is
    /// one item of one award, so each loan comes once (the table's key refuses it twice).
    static func usedRecords(_ result: CalculationResult) -> [UsedRecords] {
        result.awards.flatMap(\.items).compactMap { item in
            guard !item.records.isEmpty, let slash = item.id.firstIndex(of: "/") else { return nil }
            return UsedRecords(
                bank: String(item.id[..<slash]), loanNo: String(item.id[item.id.index(after: slash)...]),
                records: item.records.compactMap { Int64($0.dropFirst()) }.sorted())
        }
    }

    /// A recovery line for each recipient of the scope that approved batches granted something
    /// and the computation awards nothing now (in byte order, after the awards). A district batch
    /// never touches a recipient of another district; "previously granted" counts every district.
    public static func recoveries(
        batch: Int64, program: Program, year: Int, district: String?, granted: [String: GrantedToRecipient], awarded: Set<String>, firstLine: Int
    ) -> [PlannedLine] {
        var lines: [PlannedLine] = []
        for (recipient, grant) in granted.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
        where !awarded.contains(recipient) && grant.amount != .zero && (district == nil || grant.district == district) {
            let lineNo = firstLine + lines.count
            lines.append(PlannedLine(
                lineNo: lineNo, recipient: recipient, recipientName: "", computed: .zero, previously: grant.amount,
                paymentRef: PaymentReference.make(program: program, year: year, batch: batch, line: lineNo),
                itemsJSON: "[]", explanationJSON: "[]"))
        }
        return lines
    }

    /// The cap key of every item under a cap that spans years, with what was granted under it in
    /// other years as the request states.
    static func capKeys(_ request: CalculationRequest) -> [String: (key: String, before: Money)] {
        var keys: [String: (key: String, before: Money)] = [:]
        switch request.program {
        case .xinyidai:
            for loan in request.loans { keys[loan.id] = (capKey(loan: loan.id), loan.awardedBefore) }
        case .equity, .fund:
            for investment in request.investments {
                keys[investment.id] = (capKey(kind: investment.kind, investor: investment.investor, investee: investment.investee), investment.awardedBefore)
            }
        case .zhuangda, .guarantee:
            break
        }
        return keys
    }

    public static func capKey(loan: String) -> String { "loan:" + loan }

    public static func capKey(kind: InvestmentKind, investor: String, investee: String) -> String {
        "\(kind.rawValue):\(investor):\(investee)"
    }
}

/// A line of the batch being approved, with what other batches of its program-year grant the
/// recipient at this moment.
public struct ApprovalLine: Sendable, Equatable {
    public var recipient: String
    public var previously: Money
    public var amount: Money
    public var grantedNow: Money

    public init(recipient: String, previously: Money, amount: Money, grantedNow: Money) {
        self.recipient = recipient
        self.previously = previously
        self.amount = amount
        self.grantedNow = grantedNow
    }
}

/// An item under a cap that spans years: what its computation took as granted in other years,
/// and what is granted there now.
public struct ApprovalCapItem: Sendable, Equatable {
    public var capKey: String
    public var computedWith: Money
    public var grantedNow: Money

    public init(capKey: String, computedWith: Money, grantedNow: Money) {
        self.capKey = capKey
        self.computedWith = computedWith
        self.grantedNow = grantedNow
    }
}

/// Decides an approval — every cap and the budget against what is approved at this moment — and
/// returns the accrual entries, without a database. The store calls it under the program's lock,
/// in the transaction that posts the entries.
public enum ApprovalPlanner {
    /// The whole decision over lines held in memory: `ApprovalCheck` line by line, then the cap
    /// items, then the budget; the accruals of the lines in their order (`accruals`). The store
    /// takes the same steps over the lines as it reads them, and builds the accruals a chunk at a
    /// time.
    public static func plan(
        batch: Int64, program: Program, year: Int, approver: Int64, lines: [ApprovalLine], firmCap: Money?,
        capItems: [ApprovalCapItem], budget: Money?, budgetUsed: Money
    ) throws -> [NewJournalEntry] {
        var check = ApprovalCheck(program: program, year: year, firmCap: firmCap)
        for line in lines { try check.add(line) }
        for item in capItems { try ApprovalCheck.check(item) }
        try check.finish(budget: budget, budgetUsed: budgetUsed)
        return try accruals(
            batch: batch, program: program, year: year, approver: approver,
            lines: lines.enumerated().map { Accrued(lineNo: $0.offset + 1, recipient: $0.element.recipient, amount: $0.element.amount) })
    }

    /// A batch line as approval posts it.
    public struct Accrued: Sendable, Hashable {
        public var lineNo: Int
        public var recipient: String
        public var amount: Money

        public init(lineNo: Int, recipient: String, amount: Money) {
            self.lineNo = lineNo
            self.recipient = recipient
            self.amount = amount
        }
    }

    /// The accruals of a run of lines (the store's chunk), at most two entries: an `accrual`
    /// debiting the expense with the sum of the positive lines and crediting each one's payable
    /// with its amount, a line each; and a `recovery` debiting each negative line's receivable
    /// (应收) and crediting the expense with their sum. A line of zero posts nothing. A run of
    /// one line gives the two-line entry, with its memo, that approval used to post for every
    /// line: 78,680 entries for a province batch, each hashed into the chain and checked.
    public static func accruals(
        batch: Int64, program: Program, year: Int, approver: Int64, lines: [Accrued]
    ) throws(LedgerError) -> [NewJournalEntry] {
        // Each line moves its amount with the opposite sign: a payable credited, a receivable debited.
        func entry(_ kind: EntryKind, _ head: String, _ account: (String) -> AccountRef, _ members: [Accrued]) throws(LedgerError) -> NewJournalEntry? {
            guard let first = members.first, let last = members.last else { return nil }
            let memo = members.count == 1 ? "\(head) \(first.recipient)" : "\(head): \(members.count) lines \(first.lineNo)–\(last.lineNo)"
            var perLine: [LedgerLine] = []
            perLine.reserveCapacity(members.count)
            for member in members {
                guard member.amount.fen != .min else { throw .overflow(memo: memo) }
                perLine.append(LedgerLine(account(member.recipient), Money(fen: -member.amount.fen)))
            }
            let expense = try LedgerLine.balancing(perLine, on: .expense(program, year), memo: memo)
            // The expense first in an accrual and last in a recovery: the two-line entries' order.
            return NewJournalEntry(
                kind: kind, memo: memo, batchID: batch, createdBy: approver, lines: kind == .accrual ? [expense] + perLine : perLine + [expense])
        }
        return [
            try entry(.accrual, "batch \(batch) \(program.rawValue) \(year)", AccountRef.payable, lines.filter { $0.amount > .zero }),
            try entry(.recovery, "batch \(batch) recovery \(program.rawValue) \(year)", AccountRef.receivable, lines.filter { $0.amount < .zero }),
        ].compactMap { $0 }
    }
}

/// An approval's decision taken one line at a time, so that a batch of any size is decided
/// without holding its lines: each line against what other batches grant its recipient now and
/// the per-recipient cap (`add`), each cross-year cap item against what other years grant now
/// (`check`), and the batch's total against the budget (`finish`). The first refusal wins, in
/// that order.
public struct ApprovalCheck: Sendable {
    public let program: Program
    public let year: Int
    public let firmCap: Money?
    /// The sum of the lines added so far: what the batch adds to the budget's use.
    public private(set) var total = Money.zero
    /// How many of the lines added so far post a journal line (those whose amount is not zero).
    public private(set) var postings = 0

    public init(program: Program, year: Int, firmCap: Money?) {
        self.program = program
        self.year = year
        self.firmCap = firmCap
    }

    public mutating func add(_ line: ApprovalLine) throws(BatchError) {
        guard line.grantedNow == line.previously else {
            throw .stale(recipient: line.recipient, computedWith: line.previously, nowApproved: line.grantedNow)
        }
        if let firmCap, line.amount > .zero, line.grantedNow + line.amount > firmCap {
            throw .capExceeded(recipient: line.recipient, approved: line.grantedNow, line: line.amount, cap: firmCap)
        }
        total += line.amount
        if line.amount != .zero { postings += 1 }
    }

    public static func check(_ item: ApprovalCapItem) throws(BatchError) {
        guard item.computedWith == item.grantedNow else {
            throw .staleCap(key: item.capKey, computedWith: item.computedWith, nowApproved: item.grantedNow)
        }
    }

    public func finish(budget: Money?, budgetUsed: Money) throws(BatchError) {
        guard let budget else { throw .noBudget(program: program, year: year) }
        guard budgetUsed + total <= budget else { throw .budgetExceeded(approved: budgetUsed, batch: total, budget: budget) }
    }
}
