import Foundation
import SubsidyReconciliation
import SubsidyRules
import Testing

func day(_ text: String) -> CivilDate { try! CivilDate.parse(text, field: "test") }

/// Two lines of batch 1, exported Friday 2025-10-10, and one of batch 2 to the same payee as line 2.
let payments = [
    ExpectedPayment(lineID: 1, reference: "SLZ2500001000014", payeeName: "成都乙制造有限公司", payeeAccount: "6226090000000002", amount: money("7663.89"), exportedOn: day("2025-10-10")),
    ExpectedPayment(lineID: 2, reference: "SLZ2500001000022", payeeName: "成都甲科技有限公司", payeeAccount: "6222020000000001", amount: money("15069.45"), exportedOn: day("2025-10-10")),
    ExpectedPayment(lineID: 3, reference: "SLX2500002000017", payeeName: "成都甲科技有限公司", payeeAccount: "6222020000000001", amount: money("5000.00"), exportedOn: day("2025-10-10")),
]

func debit(_ amount: String, text: String = "", name: String? = nil, account: String? = nil, on date: String = "2025-10-13") -> StatementEntry {
    StatementEntry(
        amount: money("-" + amount), currency: "CNY", valueDate: day(date), bookingDate: day(date), reference: nil, bankReference: nil,
        description: text, counterparty: Counterparty(name: name, account: account), origin: "test")
}

func credit(_ amount: String, text: String = "", account: String? = nil) -> StatementEntry {
    StatementEntry(
        amount: money(amount), currency: "CNY", valueDate: day("2025-10-20"), bookingDate: day("2025-10-20"), reference: nil, bankReference: nil,
        description: text, counterparty: Counterparty(account: account), origin: "test")
}

@Suite("Matching statement entries to payments")
struct MatcherTests {
    let matcher = Matcher(calendar: WorkingCalendar(holidays: [], workingWeekends: []), windowWorkingDays: 10)

    @Test("rule 1: the reference with the ordered amount; split by white space; truncated by the bank")
    func reference() {
        let outcomes = matcher.match([
            debit("15069.45", text: "转账支出 SLZ2500001000022 壮大贷贴息"),
            // A bank cut 附言 at 20 characters: "壮大贷贴息SLZ25000010000" keeps 14 of 16; the amount picks line 1.
            debit("7663.89", text: "壮大贷贴息SLZ25000010000"),
            debit("5000.00", text: "SLX250000 2000017"),  // wrapped over two lines
        ], against: payments)
        #expect(outcomes.map(\.category) == [.matched, .matched, .matched])
        #expect(outcomes.map(\.lineIDs) == [[2], [1], [3]])
        #expect(outcomes.map(\.rule) == ["reference", "reference-truncated", "reference"])
        #expect(outcomes[1].explanation.contains("truncated to 14 characters"))
    }

    @Test("after entries matched by full reference, the indexes for the other rules are built and used")
    func referencesThenOtherRules() {
        // The first two entries need only the references; the third (payee account, no
        // reference) and the fourth (name only) build the other indexes part-way through.
        let outcomes = matcher.match([
            debit("15069.45", text: "SLZ2500001000022"),
            debit("15069.45", text: "SLZ2500001000022"),
            debit("7663.89", account: "6226-0900-0000-0002"),
            debit("5000.00", name: "成都甲科技 有限责任公司"),
        ], against: payments)
        #expect(outcomes.map(\.category) == [.matched, .duplicate, .matched, .suggested])
        #expect(outcomes.map(\.lineIDs) == [[2], [2], [1], [3]])
        #expect(outcomes.map(\.rule) == ["reference", "reference", "account-amount", "name-amount"])
    }

    @Test("a reference with another amount is a mismatch; a second debit for a paid line a duplicate")
    func mismatchAndDuplicate() {
        let outcomes = matcher.match([
            debit("15069.40", text: "SLZ2500001000022"),
            debit("15069.45", text: "SLZ2500001000022"),
            debit("15069.45", text: "SLZ2500001000022"),
        ], against: payments)
        #expect(outcomes.map(\.category) == [.mismatch, .matched, .duplicate])
        #expect(outcomes[0].explanation == "SLZ2500001000022 orders 15,069.45 but the debit is 15,069.40")
    }

    @Test("rule 3: payee account and exact amount within the window of working days")
    func accountAndAmount() {
        let inWindow = matcher.match([debit("7663.89", account: "6226 0900 0000 0002", on: "2025-10-24")], against: payments)
        #expect(inWindow[0].category == .matched)
        #expect(inWindow[0].rule == "account-amount")
        // 2025-10-10 + 10 working days (no holidays here) = 2025-10-24; 10-27 is outside.
        let late = matcher.match([debit("7663.89", account: "6226090000000002", on: "2025-10-27")], against: payments)
        #expect(late[0].category == .unexpected)
    }

    @Test("1:N: one debit for several lines to the same payee, by references or by sum")
    func oneToMany() {
        let byReferences = matcher.match([debit("20069.45", text: "SLZ2500001000022 SLX2500002000017")], against: payments)
        #expect(byReferences[0].category == .matched)
        #expect(Set(byReferences[0].lineIDs) == [2, 3])
        let bySum = matcher.match([debit("20069.45", account: "6222020000000001")], against: payments)
        #expect(bySum[0].rule == "account-sum")
        #expect(Set(bySum[0].lineIDs) == [2, 3])
    }

    @Test("rule 4: a normalised payee name with the amount is only a suggestion")
    func nameSuggestion() {
        let outcomes = matcher.match([debit("7663.89", name: "成都乙制造 有限责任公司")], against: payments)
        #expect(outcomes[0].category == .suggested)
        #expect(outcomes[0].lineIDs == [1])
        #expect(Matcher.normaliseName("ＡＢＣ（成都）科技有限责任公司") == Matcher.normaliseName("ABC(成都)科技 有限公司"))
    }

    @Test("a credit returning a payment reopens its line; an unknown credit is recorded only")
    func returns() {
        let outcomes = matcher.match([
            debit("7663.89", text: "SLZ2500001000014"),
            credit("7663.89", text: "退汇 原路退回 SLZ2500001000014 户名不符"),
            debit("7663.89", text: "SLZ2500001000014 重新支付"),
            credit("12.00", text: "利息"),
        ], against: payments)
        #expect(outcomes.map(\.category) == [.matched, .returned, .matched, .other])
        // A return by account and amount for an already-paid line (paid before this statement)
        // counts only when the bank flags it as a return: the firm's own transfer of the same
        // amount is not one (it would reopen the line and pay it twice).
        var paid = payments
        paid[0].paid = true
        let unflagged = matcher.match([credit("7663.89", account: "6226090000000002")], against: paid)
        #expect(unflagged[0].category == .other)
        var flagged = credit("7663.89", account: "6226090000000002")
        flagged.flaggedReturn = true
        let byAccount = matcher.match([flagged], against: paid)
        #expect(byAccount[0].category == .returned)
        #expect(byAccount[0].rule == "return-account")
        let byText = matcher.match([credit("7663.89", text: "退汇 账户已销户", account: "6226090000000002")], against: paid)
        #expect(byText[0].category == .returned)
    }

    @Test("no line is ever matched twice, whatever the entries", arguments: 0..<20)
    func neverTwice(seed: Int) {
        var rng = SplitMix(seed: UInt64(seed))
        var entries: [StatementEntry] = []
        for _ in 0..<40 {
            let payment = payments[Int(rng.next() % 3)]
            switch rng.next() % 4 {
            case 0: entries.append(debit(payment.amount.plain, text: payment.reference))
            case 1: entries.append(debit(payment.amount.plain, account: payment.payeeAccount))
            case 2: entries.append(credit(payment.amount.plain, text: payment.reference))
            default: entries.append(debit(payment.amount.plain, text: String(payment.reference.prefix(12))))
            }
        }
        var open: [Int64: Int] = [:]  // line → matched minus returned
        for outcome in matcher.match(entries, against: payments) {
            for line in outcome.lineIDs {
                if outcome.category == .matched { open[line, default: 0] += 1 }
                if outcome.category == .returned { open[line, default: 0] -= 1 }
            }
            #expect(open.values.allSatisfy { $0 == 0 || $0 == 1 }, "a line is paid at most once at any time")
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
