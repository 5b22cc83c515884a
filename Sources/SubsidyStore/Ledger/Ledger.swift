import Crypto
import Foundation
public import Logging
public import PostgresNIO
public import SubsidyRules

public enum EntryKind: String, Sendable {
    case budget, accrual, payment, reversal, recovery, adjustment
    /// A return (退汇) of one payment line of an entry that paid several (sql/041): a reversal
    /// reverses a whole entry, once.
    case paymentReturn = "return"
}

public enum AccountKind: String, Sendable {
    case budget, expense, payable, receivable, bank
}

/// A ledger account named by its code: `budget:zhuangda:2025`, `expense:zhuangda:2025`,
/// `payable:<uscc>`, `receivable:<uscc>`, `bank:bureau`.
public struct AccountRef: Hashable, Sendable {
    public var code: String
    public var kind: AccountKind
    public var program: Program?
    public var year: Int?
    public var recipient: String?
    public var name: String

    public static func budget(_ program: Program, _ year: Int) -> AccountRef {
        AccountRef(code: "budget:\(program.rawValue):\(year)", kind: .budget, program: program, year: year, name: "专项资金预算 Budget \(program.chineseName) \(year)")
    }
    public static func expense(_ program: Program, _ year: Int) -> AccountRef {
        AccountRef(code: "expense:\(program.rawValue):\(year)", kind: .expense, program: program, year: year, name: "补贴支出 Expense \(program.chineseName) \(year)")
    }
    public static func payable(_ uscc: String) -> AccountRef {
        AccountRef(code: "payable:\(uscc)", kind: .payable, recipient: uscc, name: "应付补贴 Payable \(uscc)")
    }
    public static func receivable(_ uscc: String) -> AccountRef {
        AccountRef(code: "receivable:\(uscc)", kind: .receivable, recipient: uscc, name: "应收退回 Receivable \(uscc)")
    }
    public static let bureauBank = AccountRef(code: "bank:bureau", kind: .bank, name: "财政局专户 Bureau bank account")
}

/// One line: positive debits, negative credits.
public struct LedgerLine: Hashable, Sendable {
    public var account: AccountRef
    public var amount: Money

    public init(_ account: AccountRef, _ amount: Money) {
        precondition(amount != .zero, "a journal line moves money")
        self.account = account
        self.amount = amount
    }
}

extension LedgerLine {
    /// The line on `account` that balances `lines`: their sum with the opposite sign. The sum is
    /// checked (an overflow is refused, not wrapped), for an entry of many lines' amounts.
    public static func balancing(_ lines: [LedgerLine], on account: AccountRef, memo: String) throws(LedgerError) -> LedgerLine {
        var total: Int64 = 0
        for line in lines {
            let (sum, overflow) = total.addingReportingOverflow(line.amount.fen)
            guard !overflow, sum != .min else { throw .overflow(memo: memo) }
            total = sum
        }
        return LedgerLine(account, Money(fen: -total))
    }
}

public struct NewJournalEntry: Sendable {
    public var kind: EntryKind
    public var memo: String
    public var batchID: Int64?
    public var reverses: Int64?
    public var createdBy: Int64?
    public var lines: [LedgerLine]

    public init(kind: EntryKind, memo: String, batchID: Int64? = nil, reverses: Int64? = nil, createdBy: Int64? = nil, lines: [LedgerLine]) {
        self.kind = kind
        self.memo = memo
        self.batchID = batchID
        self.reverses = reverses
        self.createdBy = createdBy
        self.lines = lines
    }
}

/// The hash of an entry: SHA-256 over the previous entry's hash and the entry's fields, each
/// length-prefixed so that no two different entries share a canonical text.
public enum EntryHash {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    public static func compute(
        previous: [UInt8], seq: Int64, postedMicros: Int64, kind: String, memo: String, batchID: Int64, reverses: Int64,
        createdBy: Int64, lines: [(lineNo: Int, account: String, amountFen: Int64)]
    ) -> [UInt8] {
        var text = ""
        func field(_ value: String) { text += "\(value.utf8.count):\(value)|" }
        field("v1")
        field(String(seq))
        field(String(postedMicros))
        field(kind)
        field(memo)
        field(String(batchID))
        field(String(reverses))
        field(String(createdBy))
        for line in lines.sorted(by: { $0.lineNo < $1.lineNo }) {
            field("\(line.lineNo):\(line.account):\(line.amountFen)")
        }
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: Array(text.utf8))
        return Array(hasher.finalize())
    }
}

public enum LedgerError: Error, CustomStringConvertible, Sendable {
    case unbalanced(memo: String, sumFen: Int64)
    case noAccount(String)
    case notPositive(memo: String, fen: Int64)
    case overflow(memo: String)
    case noLine(seq: Int64, line: Int)

    public var description: String {
        switch self {
        case .unbalanced(let memo, let sum): "entry \"\(memo)\" does not balance: its lines sum to \(Money(fen: sum).plain)"
        case .noAccount(let code): "account \(code) neither exists nor could be opened"
        case .notPositive(let memo, let fen): "\"\(memo)\": a payment of \(Money(fen: fen).plain) is not positive; nothing was posted"
        case .overflow(let memo): "\"\(memo)\": the amounts sum past what an amount can hold; nothing was posted"
        case .noLine(let seq, let line): "journal entry \(seq) has no line \(line)"
        }
    }
}

/// Posts entries and reads the ledger. Posting runs inside the caller's transaction, under a
/// transaction-level advisory lock, so that entries form one chain in `seq` order.
public struct Ledger: Sendable {
    static let chainLockKey: Int64 = 0x4C45_4447_4552  // "LEDGER"
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Posts `entries` in order on `connection`, which must be in a transaction. Returns their seqs.
    /// They are written `chunkSize` entries to a statement, the chain carried from one to the
    /// next: a nation approval's 486,521 entries bound as one statement's arrays took the
    /// command past 1.1 GB.
    @discardableResult
    public func post(_ entries: [NewJournalEntry], on connection: PostgresConnection, chunkSize: Int = 20_000) async throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        for entry in entries {
            let sum = entry.lines.map(\.amount).sum()
            guard sum == .zero, entry.lines.count >= 2 else { throw LedgerError.unbalanced(memo: entry.memo, sumFen: sum.fen) }
        }
        try await connection.query("SELECT pg_advisory_xact_lock(\(Ledger.chainLockKey))", logger: logger)
        let accounts = Array(Set(entries.flatMap { $0.lines.map(\.account) }))
        let accountIDs = try await ensureAccounts(accounts, on: connection)

        // The entries take the seqs after the chain's head, under the lock, so the chain has no
        // gaps (a sequence's nextval, one call per entry, cost 132 ms of a 26,379-entry statement
        // at province and left gaps where a transaction rolled back; sql/022 drops it).
        let head = try await head(on: connection)
        var previous = head.map { Array(hexadecimal: $0.hashHex) } ?? EntryHash.genesis
        let seqs = (1...Int64(entries.count)).map { (head?.seq ?? 0) + $0 }
        // Whole microseconds: what timestamptz stores, so that verify reads back what was hashed.
        let postedMicros = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))

        let size = max(1, chunkSize)
        for start in stride(from: 0, to: entries.count, by: size) {
            let chunk = start..<min(entries.count, start + size)
            var columns = (seq: [Int64](), kind: [String](), memo: [String](), batch: [Int64](), reverses: [Int64](), by: [Int64](),
                           prev: [String](), hash: [String]())
            var lineColumns = (seq: [Int64](), no: [Int](), account: [Int64](), amount: [Int64]())
            for index in chunk {
                let (entry, seq) = (entries[index], seqs[index])
                let lines = entry.lines.enumerated().map { (lineNo: $0.offset + 1, account: $0.element.account.code, amountFen: $0.element.amount.fen) }
                let hash = EntryHash.compute(
                    previous: previous, seq: seq, postedMicros: postedMicros, kind: entry.kind.rawValue, memo: entry.memo,
                    batchID: entry.batchID ?? 0, reverses: entry.reverses ?? 0, createdBy: entry.createdBy ?? 0, lines: lines)
                columns.seq.append(seq)
                columns.kind.append(entry.kind.rawValue)
                columns.memo.append(entry.memo)
                columns.batch.append(entry.batchID ?? 0)
                columns.reverses.append(entry.reverses ?? 0)
                columns.by.append(entry.createdBy ?? 0)
                columns.prev.append(previous.hex)
                columns.hash.append(hash.hex)
                for line in lines {
                    guard let account = accountIDs[line.account] else { throw LedgerError.noAccount(line.account) }
                    lineColumns.seq.append(seq)
                    lineColumns.no.append(line.lineNo)
                    lineColumns.account.append(account)
                    lineColumns.amount.append(line.amountFen)
                }
                previous = hash
            }
            // One statement for the entries and their lines: the database checks each statement's
            // entries for balance once, at its end (sql/015), and refuses an entry inserted alone.
            try await connection.query(
                """
                WITH entries AS (
                    INSERT INTO journal_entries (seq, posted_at, kind, memo, batch_id, reverses, created_by, prev_hash, hash)
                    SELECT s, timestamptz 'epoch' + \(postedMicros) * interval '1 microsecond', k, m, nullif(b, 0), nullif(r, 0), nullif(u, 0),
                           decode(p, 'hex'), decode(h, 'hex')
                    FROM unnest(\(columns.seq)::bigint[], \(columns.kind)::text[], \(columns.memo)::text[], \(columns.batch)::bigint[],
                                \(columns.reverses)::bigint[], \(columns.by)::bigint[], \(columns.prev)::text[], \(columns.hash)::text[])
                         AS t(s, k, m, b, r, u, p, h)
                    ORDER BY s
                )
                INSERT INTO journal_lines (entry_seq, line_no, account_id, amount_fen)
                SELECT t.s, t.n, t.a, t.amount
                FROM unnest(\(lineColumns.seq)::bigint[], \(lineColumns.no)::int[], \(lineColumns.account)::bigint[], \(lineColumns.amount)::bigint[])
                     AS t(s, n, a, amount)
                """, logger: logger)
        }
        return seqs
    }

    /// Creates the accounts that do not exist yet and returns every account's id by code, for
    /// the journal lines (which then need no lookup of their own by code). Most already exist (a
    /// statement pays recipients whose payable accounts the approval opened): they are looked up
    /// first, in a query of their own, and only the missing ones are inserted. Inserted as
    /// conflicts, a statement's 26,379 existing accounts cost 175 ms; and a `NOT EXISTS` inside
    /// the insert is quadratic where it is planned as a scan, since the scan reads the rows the
    /// same insert has just added (52 s for a province approval's 87,475 new accounts). The
    /// lookup is `code = ANY(…)`, not a join to the codes unnested: the join was planned as a hash
    /// of the whole chart (79,137 accounts at province, 35-50 ms for a chunk of 20,000 codes; the
    /// chart grows with every recipient of every year), the list is hashed once and the chart
    /// read by index or scanned as the planner finds cheaper (14-18 ms at province).
    func ensureAccounts(_ accounts: [AccountRef], on connection: PostgresConnection) async throws -> [String: Int64] {
        var ids: [String: Int64] = [:]
        ids.reserveCapacity(accounts.count)
        func lookUp(_ codes: [String]) async throws {
            for try await (code, id) in try await connection.query(
                "SELECT a.code, a.id FROM accounts a WHERE a.code = ANY(\(codes)::text[])", logger: logger
            ).decode((String, Int64).self) {
                ids[code] = id
            }
        }
        try await lookUp(accounts.map(\.code))
        let missing = accounts.filter { ids[$0.code] == nil }
        guard !missing.isEmpty else { return ids }
        for try await (code, id) in try await connection.query(
            """
            INSERT INTO accounts (code, kind, program, year, recipient_uscc, name)
            SELECT c, k, nullif(p, ''), nullif(y, 0), nullif(r, ''), n
            FROM unnest(\(missing.map(\.code))::text[], \(missing.map(\.kind.rawValue))::text[], \(missing.map { $0.program?.rawValue ?? "" })::text[],
                        \(missing.map { $0.year ?? 0 })::int[], \(missing.map { $0.recipient ?? "" })::text[], \(missing.map(\.name))::text[])
                 AS t(c, k, p, y, r, n)
            ON CONFLICT (code) DO NOTHING
            RETURNING code, id
            """, logger: logger
        ).decode((String, Int64).self) {
            ids[code] = id
        }
        // An account another transaction created meanwhile is a conflict, not returned: read it.
        let raced = missing.map(\.code).filter { ids[$0] == nil }
        if !raced.isEmpty { try await lookUp(raced) }
        return ids
    }

    /// Posts the reversal of entry `seq`: the same lines with opposite signs, linked to it.
    @discardableResult
    public func reverse(_ seq: Int64, memo: String, createdBy: Int64?, on connection: PostgresConnection) async throws -> Int64 {
        let (lines, batch) = try await lines(of: seq, on: connection)
        precondition(!lines.isEmpty, "entry \(seq) has no lines")
        return try await post([NewJournalEntry(
            kind: .reversal, memo: memo, batchID: batch, reverses: seq, createdBy: createdBy,
            lines: lines.map { LedgerLine($0.account, Money(fen: -$0.amount.fen)) })], on: connection)[0]
    }

    /// Posts the return (退汇) of one line of entry `seq` that paid several: an entry of its own,
    /// that line with the opposite sign against `counter` (a `reversal` reverses a whole entry,
    /// once). Returns its seq; its first line is the reversed one.
    @discardableResult
    public func returnLine(_ seq: Int64, line lineNo: Int, against counter: AccountRef, memo: String, on connection: PostgresConnection) async throws -> Int64 {
        let (lines, batch) = try await lines(of: seq, lineNo: lineNo, on: connection)
        guard let paid = lines.first else { throw LedgerError.noLine(seq: seq, line: lineNo) }
        return try await post([NewJournalEntry(
            kind: .paymentReturn, memo: memo, batchID: batch,
            lines: [LedgerLine(paid.account, Money(fen: -paid.amount.fen)), LedgerLine(counter, paid.amount)])], on: connection)[0]
    }

    /// Entry `seq`'s lines (or its line `lineNo` alone) in order, with the entry's batch.
    func lines(of seq: Int64, lineNo: Int? = nil, on connection: PostgresConnection) async throws -> (lines: [LedgerLine], batch: Int64?) {
        var lines: [LedgerLine] = []
        var batch: Int64?
        let rows = try await connection.query(
            """
            SELECT a.code, a.kind, a.program, a.year, a.recipient_uscc, a.name, l.amount_fen, e.batch_id
            FROM journal_lines l JOIN accounts a ON a.id = l.account_id JOIN journal_entries e ON e.seq = l.entry_seq
            WHERE l.entry_seq = \(seq) AND (\(lineNo)::int IS NULL OR l.line_no = \(lineNo)) ORDER BY l.line_no
            """, logger: logger)
        for try await (code, kind, program, year, recipient, name, amount, batchID) in rows.decode(
            (String, String, String?, Int?, String?, String, Int64, Int64?).self)
        {
            let account = AccountRef(
                code: code, kind: AccountKind(rawValue: kind)!, program: program.flatMap(Program.init(rawValue:)), year: year,
                recipient: recipient, name: name)
            lines.append(LedgerLine(account, Money(fen: amount)))
            batch = batchID
        }
        return (lines, batch)
    }
}

extension [UInt8] {
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    init(hexadecimal text: String) {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            default: continue
            }
            if let h = high {
                bytes.append(h << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        self = bytes
    }
}
