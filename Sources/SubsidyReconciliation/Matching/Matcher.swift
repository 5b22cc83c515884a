public import SubsidyRules

/// A payment the bureau ordered: one exported batch line.
public struct ExpectedPayment: Sendable, Hashable {
    public var lineID: Int64
    public var reference: String
    public var payeeName: String
    public var payeeAccount: String
    public var amount: Money
    public var exportedOn: CivilDate
    /// Already matched to a debit earlier (a return or duplicate can still refer to it).
    public var paid: Bool

    public init(lineID: Int64, reference: String, payeeName: String, payeeAccount: String, amount: Money, exportedOn: CivilDate, paid: Bool = false) {
        self.lineID = lineID
        self.reference = reference
        self.payeeName = payeeName
        self.payeeAccount = payeeAccount
        self.amount = amount
        self.exportedOn = exportedOn
        self.paid = paid
    }
}

/// An amount a firm owes back (a recovery line, 应收) that a credit from it may settle.
public struct ExpectedRecovery: Sendable, Hashable {
    public var lineID: Int64
    public var reference: String
    public var payerAccount: String
    /// What the firm owes, positive.
    public var amount: Money

    public init(lineID: Int64, reference: String, payerAccount: String, amount: Money) {
        self.lineID = lineID
        self.reference = reference
        self.payerAccount = payerAccount
        self.amount = amount
    }
}

/// What the matcher decided for one statement entry, and why.
public struct EntryOutcome: Sendable, Hashable {
    public enum Category: String, Sendable, CaseIterable {
        /// Paid: the debit settles these lines.
        case matched
        /// A likely match a clerk must confirm (name and amount only).
        case suggested
        /// A debit the bureau did not order.
        case unexpected
        /// The reference names a line but the amount differs.
        case mismatch
        /// A credit returning an earlier payment (退汇): the line reopens.
        case returned
        /// A second debit for a line already paid.
        case duplicate
        /// A credit that returns nothing of ours (interest, top-ups): recorded, not reconciled.
        case other
        /// A credit from a firm settling what it owes back (a recovery line, 应收).
        case repayment
    }

    public var entryIndex: Int
    public var category: Category
    public var lineIDs: [Int64]
    /// The rule that decided: reference, reference-truncated, references-sum, account-amount,
    /// account-sum, name-amount, return-reference, return-account.
    public var rule: String
    public var explanation: String
}

/// Deterministic matching of statement entries against expected payments.
public struct Matcher: Sendable {
    public var calendar: WorkingCalendar
    /// How many working days after export a payment may appear on the statement (rule 3).
    public var windowWorkingDays: Int
    /// The shortest reference fragment taken as a truncated reference: `SL`, the program letter,
    /// the year and the batch (10 characters) at least.
    public static let minimumFragment = 10

    public init(calendar: WorkingCalendar, windowWorkingDays: Int = 10) {
        self.calendar = calendar
        self.windowWorkingDays = windowWorkingDays
    }

    /// Matches `entries` in order (so that results do not depend on timing) against `payments`.
    /// A payment is used once: later entries naming it are duplicates or returns.
    public func match(_ entries: [StatementEntry], against payments: [ExpectedPayment], recoveries: [ExpectedRecovery] = []) -> [EntryOutcome] {
        // With every payment at hand the secondary indexes are always there: never nil.
        matchAll(entries, payments, recoveries, partial: false)!
    }

    /// The same outcomes as `match` against every payment, decided from only the payments whose
    /// reference some entry's text names in full (`Matcher.referenceTokens`): those are all that
    /// rule 1 and the returns by reference ever read. Nil as soon as an entry needs more — a
    /// truncated or unknown reference, the payee account or name rules, a flagged return by
    /// account — which read every payment: the caller then matches against all of them. A
    /// statement whose every entry carries a known reference (the bureau's own payment file, the
    /// usual case) is so matched without reading every exported line of every batch.
    public func matchNamed(_ entries: [StatementEntry], against named: [ExpectedPayment], recoveries: [ExpectedRecovery] = []) -> [EntryOutcome]? {
        matchAll(entries, named, recoveries, partial: true)
    }

    /// The full references any of `entries` may name: what `matchNamed` needs loaded.
    public static func referenceTokens(_ entries: [StatementEntry]) -> Set<String> {
        var tokens: Set<String> = []
        for entry in entries { tokens.formUnion(MatchState.tokens(in: entry)) }
        return tokens
    }

    private func matchAll(_ entries: [StatementEntry], _ payments: [ExpectedPayment], _ recoveries: [ExpectedRecovery], partial: Bool) -> [EntryOutcome]? {
        var state = MatchState(payments: payments, recoveries: recoveries)
        state.partial = partial
        var outcomes: [EntryOutcome] = []
        outcomes.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            outcomes.append(entry.amount.fen < 0 ? matchDebit(entry, index: index, &state) : matchCredit(entry, index: index, &state))
            if state.needsEveryPayment { return nil }
        }
        return outcomes
    }

    func matchDebit(_ entry: StatementEntry, index: Int, _ state: inout MatchState) -> EntryOutcome {
        let amount = Money(fen: -entry.amount.fen)
        let found = state.references(in: entry)
        // Rule 1: the payment reference (full or truncated) with the exact amount.
        if found.count == 1, let line = found[0].line {
            let payment = state.payments[line]
            if payment.paid || state.used.contains(line) {
                return EntryOutcome(entryIndex: index, category: .duplicate, lineIDs: [payment.lineID], rule: found[0].rule,
                                    explanation: "\(payment.reference) was already paid: this debit of \(amount.grouped) leaves the account a second time")
            }
            guard payment.amount == amount else {
                return EntryOutcome(entryIndex: index, category: .mismatch, lineIDs: [payment.lineID], rule: found[0].rule,
                                    explanation: "\(payment.reference) orders \(payment.amount.grouped) but the debit is \(amount.grouped)")
            }
            state.use(line)
            return EntryOutcome(entryIndex: index, category: .matched, lineIDs: [payment.lineID], rule: found[0].rule, explanation: found[0].note)
        }
        // 1:N by references: several references in the text whose amounts add up to the debit.
        if found.count > 1 {
            let lines = found.compactMap(\.line)
            let open = lines.filter { !state.payments[$0].paid && !state.used.contains($0) }
            let sum = open.map { state.payments[$0].amount }.sum()
            if open.count == lines.count, sum == amount {
                open.forEach { state.use($0) }
                return EntryOutcome(entryIndex: index, category: .matched, lineIDs: open.map { state.payments[$0].lineID }, rule: "references-sum",
                                    explanation: "\(open.count) references totalling \(sum.grouped) = the debit")
            }
        }
        // Rule 3: payee account and exact amount within the window after export.
        let day = entry.bookingDate ?? entry.valueDate
        if let account = entry.counterparty.account.map(Self.normaliseAccount), !account.isEmpty {
            let candidates = (state.secondary.byAccountAmount[AccountAmount(account: account, fen: amount.fen)] ?? [])
                .filter { !state.used.contains($0) && !state.payments[$0].paid && self.inWindow(state.payments[$0].exportedOn, day) }
            if candidates.count == 1 {
                let payment = state.payments[candidates[0]]
                state.use(candidates[0])
                return EntryOutcome(entryIndex: index, category: .matched, lineIDs: [payment.lineID], rule: "account-amount",
                                    explanation: "payee account \(account) and amount \(amount.grouped) within \(windowWorkingDays) working days of export (\(payment.exportedOn))")
            }
            // 1:N by sum: all open lines to this payee add up to the debit.
            let open = (state.secondary.byAccount[account] ?? []).filter { !state.used.contains($0) && !state.payments[$0].paid && self.inWindow(state.payments[$0].exportedOn, day) }
            if open.count > 1, open.map({ state.payments[$0].amount }).sum() == amount {
                open.forEach { state.use($0) }
                return EntryOutcome(entryIndex: index, category: .matched, lineIDs: open.map { state.payments[$0].lineID }, rule: "account-sum",
                                    explanation: "\(open.count) lines to account \(account) totalling \(amount.grouped)")
            }
            if candidates.count > 1 {
                return EntryOutcome(entryIndex: index, category: .suggested, lineIDs: candidates.map { state.payments[$0].lineID }, rule: "account-amount",
                                    explanation: "\(candidates.count) open lines to account \(account) for \(amount.grouped): a clerk chooses")
            }
        }
        // Rule 4: payee name and amount — only ever a suggestion.
        if let name = entry.counterparty.name.map(Self.normaliseName), !name.isEmpty {
            let candidates = (state.secondary.byNameAmount[NameAmount(name: name, fen: amount.fen)] ?? []).filter { !state.used.contains($0) && !state.payments[$0].paid }
            if !candidates.isEmpty {
                return EntryOutcome(entryIndex: index, category: .suggested, lineIDs: candidates.map { state.payments[$0].lineID }, rule: "name-amount",
                                    explanation: "payee name \(entry.counterparty.name ?? "") and amount \(amount.grouped) match; confirm before it counts as paid")
            }
        }
        return EntryOutcome(entryIndex: index, category: .unexpected, lineIDs: [], rule: "",
                            explanation: "a debit of \(amount.grouped) that matches no ordered payment")
    }

    /// A credit returns a paid line (退汇) only when it names the line's reference with its amount,
    /// or when the bank flags it as a return and it comes from the payee's account with the amount:
    /// a firm's own transfer of an equal amount is not a return. A credit settling what a firm owes
    /// back (by the recovery's reference, or from its account for the exact amount) is a repayment.
    func matchCredit(_ entry: StatementEntry, index: Int, _ state: inout MatchState) -> EntryOutcome {
        let found = state.references(in: entry)
        if let line = found.first?.line, state.payments[line].paid || state.used.contains(line), state.payments[line].amount == entry.amount {
            state.unuse(line)
            return EntryOutcome(entryIndex: index, category: .returned, lineIDs: [state.payments[line].lineID], rule: "return-reference",
                                explanation: "\(state.payments[line].reference) returned (退汇): the line reopens for re-issue")
        }
        let account = entry.counterparty.account.map(Self.normaliseAccount) ?? ""
        if !account.isEmpty, Self.isFlaggedReturn(entry) {
            let paid = (state.secondary.byAccountAmount[AccountAmount(account: account, fen: entry.amount.fen)] ?? [])
                .filter { state.payments[$0].paid || state.used.contains($0) }
            if paid.count == 1 {
                state.unuse(paid[0])
                return EntryOutcome(entryIndex: index, category: .returned, lineIDs: [state.payments[paid[0]].lineID], rule: "return-account",
                                    explanation: "the bank flags a return of \(entry.amount.grouped) from the payee's account \(account): returned (退汇), the line reopens")
            }
        }
        if let recovery = state.recovery(for: entry, account: account) {
            let owed = state.recoveries[recovery]
            return EntryOutcome(entryIndex: index, category: .repayment, lineIDs: [owed.lineID], rule: found.isEmpty ? "repayment-account" : "repayment-reference",
                                explanation: "\(owed.reference): the firm repays \(owed.amount.grouped) it owed (应收)")
        }
        return EntryOutcome(entryIndex: index, category: .other, lineIDs: [], rule: "", explanation: "a credit that returns no payment")
    }

    /// A return the bank marked as one, or whose text says 退汇 / 退票.
    static func isFlaggedReturn(_ entry: StatementEntry) -> Bool {
        entry.flaggedReturn || entry.description.contains("退汇") || entry.description.contains("退票")
    }

    func inWindow(_ exported: CivilDate, _ day: CivilDate?) -> Bool {
        guard let day else { return true }
        return day >= exported && day <= calendar.lastOfWorkingDays(windowWorkingDays, after: exported)
    }

    /// Digits and letters only: banks print accounts with spaces or dashes.
    public static func normaliseAccount(_ account: String) -> String {
        String(account.unicodeScalars.filter { CharacterSetASCII.isAlphanumeric($0) }.map(Character.init)).uppercased()
    }

    /// Full-width to half-width, no spaces or punctuation, one spelling of the company suffixes:
    /// `成都甲科技有限责任公司` and `成都甲科技 有限公司` are the same payee.
    public static func normaliseName(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            var value = scalar.value
            if value == 0x3000 { continue }  // ideographic space
            if (0xFF01...0xFF5E).contains(value) { value -= 0xFEE0 }  // full-width ASCII
            guard let converted = Unicode.Scalar(value) else { continue }
            if converted.properties.isWhitespace || "()（）.,，、·-_".unicodeScalars.contains(converted) { continue }
            scalars.append(converted)
        }
        var text = String(scalars).uppercased()
        for variant in ["股份有限公司", "有限责任公司", "有限公司", "CO.,LTD", "COLTD", "LTD"] {
            if text.hasSuffix(variant) {
                text = String(text.dropLast(variant.count)) + "有限公司"
                break
            }
        }
        return text
    }
}

enum CharacterSetASCII {
    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value >= 48 && scalar.value <= 57) || (scalar.value >= 65 && scalar.value <= 90) || (scalar.value >= 97 && scalar.value <= 122)
    }
}

struct AccountAmount: Hashable {
    var account: String
    var fen: Int64
}

struct NameAmount: Hashable {
    var name: String
    var fen: Int64
}

/// Indexes over the expected payments, built once: every lookup is a hash probe, so matching
/// n entries against m payments is O(n + m).
struct MatchState {
    let payments: [ExpectedPayment]
    var used: Set<Int> = []
    var byReference: [String: Int] = [:]
    /// The indexes for entries without a full reference, built when the first such entry comes:
    /// a statement whose every entry carries its reference — the usual case — never needs them,
    /// and building them (ten prefixes and a normalised name per payment, over every exported
    /// line of every batch) was most of an import's matching time.
    var secondary: SecondaryIndexes {
        mutating get {
            if partial { needsEveryPayment = true }
            if let built = secondaryIndexes { return built }
            let built = SecondaryIndexes(payments)
            secondaryIndexes = built
            return built
        }
    }
    private var secondaryIndexes: SecondaryIndexes?
    /// `payments` holds only the payments the entries name by full reference (`matchNamed`).
    var partial = false
    /// Set when a partial state was asked for what only every payment can answer.
    var needsEveryPayment = false
    let recoveries: [ExpectedRecovery]
    var recoveryByReference: [String: Int] = [:]
    var recoveryByAccountAmount: [AccountAmount: [Int]] = [:]
    var settled: Set<Int> = []

    init(payments: [ExpectedPayment], recoveries: [ExpectedRecovery] = []) {
        self.payments = payments
        self.recoveries = recoveries
        for (index, recovery) in recoveries.enumerated() {
            recoveryByReference[recovery.reference.uppercased()] = index
            recoveryByAccountAmount[AccountAmount(account: Matcher.normaliseAccount(recovery.payerAccount), fen: recovery.amount.fen), default: []].append(index)
        }
        for (index, payment) in payments.enumerated() {
            byReference[payment.reference.uppercased()] = index
        }
    }

    struct SecondaryIndexes {
        /// Every prefix of at least `Matcher.minimumFragment` characters → the payments it begins.
        var byPrefix: [String: [Int]] = [:]
        var byAccountAmount: [AccountAmount: [Int]] = [:]
        var byAccount: [String: [Int]] = [:]
        var byNameAmount: [NameAmount: [Int]] = [:]

        init(_ payments: [ExpectedPayment]) {
            for (index, payment) in payments.enumerated() {
                let reference = payment.reference.uppercased()
                if reference.count > Matcher.minimumFragment {
                    for length in Matcher.minimumFragment..<reference.count {
                        byPrefix[String(reference.prefix(length)), default: []].append(index)
                    }
                }
                let account = Matcher.normaliseAccount(payment.payeeAccount)
                byAccountAmount[AccountAmount(account: account, fen: payment.amount.fen), default: []].append(index)
                byAccount[account, default: []].append(index)
                byNameAmount[NameAmount(name: Matcher.normaliseName(payment.payeeName), fen: payment.amount.fen), default: []].append(index)
            }
        }
    }

    mutating func use(_ index: Int) { used.insert(index) }

    /// The open recovery a credit settles: named by its reference with the owed amount, or the
    /// only one owed from the payer's account for exactly that amount. Each is settled once.
    mutating func recovery(for entry: StatementEntry, account: String) -> Int? {
        for token in Self.tokens(in: entry) {
            if let index = recoveryByReference[token], !settled.contains(index), recoveries[index].amount == entry.amount {
                settled.insert(index)
                return index
            }
        }
        guard !account.isEmpty else { return nil }
        let open = (recoveryByAccountAmount[AccountAmount(account: account, fen: entry.amount.fen)] ?? []).filter { !settled.contains($0) }
        guard open.count == 1 else { return nil }
        settled.insert(open[0])
        return open[0]
    }

    mutating func unuse(_ index: Int) { used.remove(index) }

    struct Found {
        var line: Int?
        var rule: String
        var note: String
    }

    /// The references an entry's texts contain: `SL` + letter + digits, searched in the text
    /// with white space removed (banks wrap and split it). A fragment shorter than a full
    /// reference counts when exactly one payment begins with it.
    /// The reference-shaped tokens in an entry's texts (`PaymentReference.scan`).
    static func tokens(in entry: StatementEntry) -> [String] {
        PaymentReference.scan([entry.description, entry.reference ?? "", entry.bankReference ?? ""].joined(separator: " "))
    }

    /// The references an entry's texts contain. A fragment shorter than a full reference counts
    /// when exactly one payment begins with it.
    mutating func references(in entry: StatementEntry) -> [Found] {
        var results: [Found] = []
        var seen: Set<Int> = []
        for token in Self.tokens(in: entry) {
            if let line = byReference[token] {
                if seen.insert(line).inserted { results.append(Found(line: line, rule: "reference", note: "payment reference \(token) with the ordered amount")) }
            } else if token.count >= Matcher.minimumFragment {
                // The longest prefix of the token that one payment begins with (a truncated reference).
                var length = min(token.count, payments.first.map { $0.reference.count - 1 } ?? token.count)
                while length >= Matcher.minimumFragment {
                    if var matches = secondary.byPrefix[String(token.prefix(length))] {
                        // Lines of one batch share their prefix: the amount tells them apart.
                        if matches.count > 1 {
                            let amount = Money(fen: entry.amount.fen < 0 ? -entry.amount.fen : entry.amount.fen)
                            let sameAmount = matches.filter { payments[$0].amount == amount }
                            if sameAmount.count == 1 { matches = sameAmount }
                        }
                        if matches.count == 1, seen.insert(matches[0]).inserted {
                            results.append(Found(line: matches[0], rule: "reference-truncated",
                                                 note: "payment reference truncated to \(length) characters (\(token.prefix(length))) with the ordered amount"))
                        } else if matches.count > 1 {
                            results.append(Found(line: nil, rule: "reference-truncated", note: "fragment \(token.prefix(length)) fits \(matches.count) references"))
                        }
                        break
                    }
                    length -= 1
                }
            }
        }
        return results
    }
}

/// Which payments a statement's entries can reach beyond those they name by full reference, so
/// that an import whose entries need the other rules reads those, not every payable line of
/// every batch: a payment whose reference begins with the first `Matcher.minimumFragment`
/// characters of a reference-shaped token that is no payment's full reference (a truncated
/// reference: every prefix the matcher tries is at least that long); whose normalised payee
/// account is an entry's (the payee-account rules, returns flagged by account); or whose amount
/// is an entry's with a payee name (the name rule matches name and amount). Matching against
/// the named payments and those admitted decides what matching against every payment decides
/// (`NamedMatchingTests`). The store reads the same set in SQL (`expectedPayments`).
public struct MatchCandidates: Sendable, Equatable {
    public var prefixes: Set<String> = []
    public var accounts: Set<String> = []
    public var amounts: Set<Int64> = []

    public init(prefixes: Set<String>, accounts: Set<String>, amounts: Set<Int64>) {
        self.prefixes = prefixes
        self.accounts = accounts
        self.amounts = amounts
    }

    /// `named`: the full references some payable line carries, of those the entries name.
    public init(_ entries: [StatementEntry], named: Set<String>) {
        for entry in entries {
            for token in MatchState.tokens(in: entry) where token.count >= Matcher.minimumFragment && !named.contains(token) {
                prefixes.insert(String(token.prefix(Matcher.minimumFragment)))
            }
            if let account = entry.counterparty.account.map(Matcher.normaliseAccount), !account.isEmpty { accounts.insert(account) }
            if let name = entry.counterparty.name.map(Matcher.normaliseName), !name.isEmpty, entry.amount.fen != .min {
                amounts.insert(abs(entry.amount.fen))
            }
        }
    }

    public func admits(_ payment: ExpectedPayment) -> Bool {
        prefixes.contains(String(payment.reference.uppercased().prefix(Matcher.minimumFragment)))
            || accounts.contains(Matcher.normaliseAccount(payment.payeeAccount)) || amounts.contains(payment.amount.fen)
    }
}
