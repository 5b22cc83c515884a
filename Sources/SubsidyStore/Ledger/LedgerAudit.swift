import Foundation
public import PostgresNIO
public import SubsidyRules

/// The outcome of recomputing the hash chain.
public struct ChainReport: Sendable {
    public var entriesChecked: Int
    /// The first entry whose content, link or balance does not hold, and why.
    public var firstBroken: (seq: Int64, reason: String)?

    /// The newest entry read: the chain's head, to be recorded and given back as `expect`.
    public var head: LedgerHead?
    var expectedSeen = false

    public var isIntact: Bool { firstBroken == nil }
}

/// The chain's newest entry. Recorded in the audit log at approval and export, on the 公示 list
/// and the reconciliation report, it lets `subsidy ledger verify --expect` detect a chain that
/// was cut short or rewritten after it (each entry's hash covers all entries before it).
public struct LedgerHead: Sendable, Hashable, CustomStringConvertible {
    public var seq: Int64
    public var hashHex: String

    public init(seq: Int64, hashHex: String) {
        self.seq = seq
        self.hashHex = hashHex
    }

    /// `SEQ:HASH`, as printed and as `--expect` takes it.
    public var description: String { "\(seq):\(hashHex)" }

    public static func parse(_ text: String) -> LedgerHead? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = Int64(parts[0]), seq > 0, parts[1].count == 64,
            parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        return LedgerHead(seq: seq, hashHex: String(parts[1]))
    }
}

public struct AccountBalance: Sendable, Hashable {
    public var code: String
    public var kind: AccountKind
    public var name: String
    /// Σ of the account's lines: debits positive.
    public var balance: Money
    public var debits: Money
    public var credits: Money
}

extension Ledger {
    /// Recomputes every entry's hash in `seq` order and checks each link and balance; reports the
    /// first entry that does not hold. Streams the journal: memory stays flat as it grows.
    public func verify(_ client: PostgresClient, expect: LedgerHead? = nil) async throws -> ChainReport {
        var report = try await verifyChain(client, expect: expect)
        if report.isIntact, let expect {
            report.firstBroken = expectationFailure(expect, report)
        }
        return report
    }

    /// Why the chain read does not contain the head recorded earlier, or nil when it does.
    func expectationFailure(_ expect: LedgerHead, _ report: ChainReport) -> (seq: Int64, reason: String)? {
        guard let head = report.head, head.seq >= expect.seq else {
            return (expect.seq, "the recorded head \(expect) is missing: the chain ends at \(report.head?.description ?? "nothing") (entries were removed from its end)")
        }
        return report.expectedSeen ? nil : (expect.seq, "entry \(expect.seq) no longer has the recorded hash \(expect.hashHex): the chain was rewritten")
    }

    func verifyChain(_ client: PostgresClient, expect: LedgerHead?) async throws -> ChainReport {
        let rows = try await client.query(
            """
            SELECT e.seq, (extract(epoch FROM e.posted_at) * 1000000)::bigint, e.kind, e.memo,
                   coalesce(e.batch_id, 0), coalesce(e.reverses, 0), coalesce(e.created_by, 0),
                   encode(e.prev_hash, 'hex'), encode(e.hash, 'hex'),
                   coalesce(array_agg(l.line_no ORDER BY l.line_no) FILTER (WHERE l.line_no IS NOT NULL), '{}'),
                   coalesce(array_agg(a.code ORDER BY l.line_no) FILTER (WHERE l.line_no IS NOT NULL), '{}'),
                   coalesce(array_agg(l.amount_fen ORDER BY l.line_no) FILTER (WHERE l.line_no IS NOT NULL), '{}')
            FROM journal_entries e
            LEFT JOIN journal_lines l ON l.entry_seq = e.seq
            LEFT JOIN accounts a ON a.id = l.account_id
            GROUP BY e.seq ORDER BY e.seq
            """, logger: logger)
        var previous = EntryHash.genesis.hex
        var checked = 0
        var head: LedgerHead?
        var expectedSeen = false
        for try await (seq, micros, kind, memo, batch, reverses, createdBy, prevHex, hashHex, lineNos, codes, amounts) in rows.decode(
            (Int64, Int64, String, String, Int64, Int64, Int64, String, String, [Int], [String], [Int64]).self)
        {
            checked += 1
            guard prevHex == previous else {
                return ChainReport(entriesChecked: checked, firstBroken: (seq, "link broken: prev_hash does not match the hash of the entry before (an entry was removed or reordered)"))
            }
            let lines = zip(lineNos, zip(codes, amounts)).map { (lineNo: $0.0, account: $0.1.0, amountFen: $0.1.1) }
            let recomputed = EntryHash.compute(
                previous: Array(hexadecimal: previous), seq: seq, postedMicros: micros, kind: kind, memo: memo,
                batchID: batch, reverses: reverses, createdBy: createdBy, lines: lines).hex
            guard recomputed == hashHex else {
                return ChainReport(entriesChecked: checked, firstBroken: (seq, "content changed: the stored hash does not match the entry's lines and fields"))
            }
            let sum = amounts.reduce(0, +)
            guard sum == 0, lines.count >= 2 else {
                return ChainReport(entriesChecked: checked, firstBroken: (seq, "unbalanced: \(lines.count) lines summing to \(Money(fen: sum).plain)"))
            }
            previous = hashHex
            head = LedgerHead(seq: seq, hashHex: hashHex)
            if let expect, expect.seq == seq, expect.hashHex == hashHex { expectedSeen = true }
        }
        var report = ChainReport(entriesChecked: checked, firstBroken: nil, head: head)
        report.expectedSeen = expectedSeen
        return report
    }

    /// The newest entry, read in the caller's transaction.
    public func head(on connection: PostgresConnection) async throws -> LedgerHead? {
        var head: LedgerHead?
        for try await (seq, hex) in try await connection.query(
            "SELECT seq, encode(hash, 'hex') FROM journal_entries ORDER BY seq DESC LIMIT 1", logger: logger
        ).decode((Int64, String).self) {
            head = LedgerHead(seq: seq, hashHex: hex)
        }
        return head
    }

    public func head(_ client: PostgresClient) async throws -> LedgerHead? {
        try await client.withConnection { try await head(on: $0) }
    }

    /// Every account's balance at the end of `day` (Beijing time), or now when `day` is nil.
    public func balances(_ client: PostgresClient, at day: CivilDate?) async throws -> [AccountBalance] {
        // A `date` parameter: as text, the cast below was parsed again for every journal entry.
        let until = day.map { $0 + 1 } ?? CivilDate(year: 9999, month: 12, day: 31)!
        let rows = try await client.query(
            """
            SELECT a.code, a.kind, a.name, coalesce(sum(l.amount_fen), 0)::bigint,
                   coalesce(sum(l.amount_fen) FILTER (WHERE l.amount_fen > 0), 0)::bigint,
                   coalesce(-sum(l.amount_fen) FILTER (WHERE l.amount_fen < 0), 0)::bigint
            FROM accounts a
            JOIN journal_lines l ON l.account_id = a.id
            JOIN journal_entries e ON e.seq = l.entry_seq
            WHERE e.posted_at < (\(until)::date)::timestamp AT TIME ZONE 'Asia/Shanghai'
            GROUP BY a.code, a.kind, a.name
            ORDER BY a.code
            """, logger: logger)
        var result: [AccountBalance] = []
        for try await (code, kind, name, balance, debits, credits) in rows.decode((String, String, String, Int64, Int64, Int64).self) {
            result.append(AccountBalance(
                code: code, kind: AccountKind(rawValue: kind)!, name: name, balance: Money(fen: balance),
                debits: Money(fen: debits), credits: Money(fen: credits)))
        }
        return result
    }
}
