import Crypto
import Foundation
public import Logging
import NIOCore
public import PostgresNIO
public import SubsidyRules

/// Where a problem is: the item's index in a JSON upload or its line in a CSV upload.
public enum UploadPosition: Sendable, Hashable {
    case index(Int)
    case line(Int)

    var sortKey: Int {
        switch self {
        case .index(let value), .line(let value): value
        }
    }
}

/// One problem with an upload: where, which field, what is wrong.
public struct FieldProblem: Sendable, Hashable {
    public var position: UploadPosition?
    public var field: String
    public var message: String

    public init(position: UploadPosition?, field: String, message: String) {
        self.position = position
        self.field = field
        self.message = message
    }
}

/// A loan as a bank sends it: text fields, checked here.
public struct LoanSubmission: Sendable {
    public var loanNo: String
    public var firm: String
    public var program: String
    public var tier: String?
    public var principal: String
    public var start: String
    public var maturity: String
    public var contractRate: String

    public init(loanNo: String, firm: String, program: String, tier: String?, principal: String, start: String, maturity: String, contractRate: String) {
        self.loanNo = loanNo
        self.firm = firm
        self.program = program
        self.tier = tier
        self.principal = principal
        self.start = start
        self.maturity = maturity
        self.contractRate = contractRate
    }
}

/// An interest record as a bank sends it (a JSON item or a CSV line), before checking.
public struct RecordSubmission: Sendable {
    public var position: UploadPosition
    public var loanNo: String?
    public var periodFrom: String?
    public var periodTo: String?
    public var balance: String?
    public var paid: String?
    public var paidOn: String?
    public var firm: String?
    public var firmName: String?
    public var bankReference: String?

    public init(
        position: UploadPosition, loanNo: String?, periodFrom: String?, periodTo: String?, balance: String?, paid: String?,
        paidOn: String?, firm: String? = nil, firmName: String? = nil, bankReference: String? = nil
    ) {
        self.position = position
        self.loanNo = loanNo
        self.periodFrom = periodFrom
        self.periodTo = periodTo
        self.balance = balance
        self.paid = paid
        self.paidOn = paidOn
        self.firm = firm
        self.firmName = firmName
        self.bankReference = bankReference
    }
}

public enum LoanRegistration: Sendable {
    case stored(created: Int, updated: Int)
    case rejected([FieldProblem])
}

public struct UploadResult: Sendable, Hashable, Codable {
    public var uploadId: Int64
    public var accepted: Int
    public var replaced: Int
    public var corrections: Int
}

public enum UploadOutcome: Sendable {
    case stored(UploadResult)
    /// The same Idempotency-Key and body as an earlier upload: its result, nothing stored again.
    case replayed(UploadResult)
    /// Every problem found (up to `BankData.maxProblemsListed`), and how many there were; nothing stored.
    case rejected([FieldProblem], total: Int)
    /// The Idempotency-Key was used before with another body.
    case keyReused
}

public struct LoanView: Sendable {
    public var id: Int64
    public var loanNo: String
    public var firm: String
    public var firmName: String
    public var program: String
    public var tier: String?
    public var principal: Money
    public var start: String
    public var maturity: String
    public var contractRate: String
    public var createdAt: String
}

public struct RecordView: Sendable {
    public var id: Int64
    public var loanNo: String
    public var periodFrom: String
    public var periodTo: String
    public var balance: Money
    public var paid: Money
    public var paidOn: String
    public var firmName: String?
    public var bankReference: String?
    public var version: Int
    public var status: String
    public var usedInBatch: Int64?
    public var correction: Bool
}

/// Collects checked records for the COPY into the staging table, and problems, as an upload
/// streams in. Rows are flushed to PostgreSQL in chunks, so memory stays flat.
public final class RecordSink {
    let writer: PostgresCopyFromWriter
    let today: CivilDate
    var buffer = ByteBuffer()
    public private(set) var rows = 0
    public private(set) var problems: [FieldProblem] = []
    public private(set) var problemCount = 0
    static let flushBytes = 256 * 1024

    init(writer: PostgresCopyFromWriter, today: CivilDate) {
        self.writer = writer
        self.today = today
    }

    public func problem(_ problem: FieldProblem) {
        problemCount += 1
        if problems.count < BankData.maxProblemsListed { problems.append(problem) }
    }

    /// Checks one record field by field; a good one goes to the staging table, each fault to problems.
    public func add(_ record: RecordSubmission) async throws {
        rows += 1
        guard rows <= BankData.maxRecordsPerUpload else {
            if rows == BankData.maxRecordsPerUpload + 1 {
                problem(FieldProblem(position: record.position, field: "", message: "more than \(BankData.maxRecordsPerUpload) records in one upload: split the file"))
            }
            return
        }
        var faults: [FieldProblem] = []
        func required(_ value: String?, _ field: String) -> String? {
            guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                faults.append(FieldProblem(position: record.position, field: field, message: "is required"))
                return nil
            }
            return value.trimmingCharacters(in: .whitespaces)
        }
        func date(_ value: String?, _ field: String) -> CivilDate? {
            guard let text = required(value, field) else { return nil }
            do { return try CivilDate.parse(text, field: field) } catch {
                faults.append(FieldProblem(position: record.position, field: field, message: error.message))
                return nil
            }
        }
        func amount(_ value: String?, _ field: String) -> Money? {
            guard let text = required(value, field) else { return nil }
            do { return try Money.parse(text, field: field) } catch {
                faults.append(FieldProblem(position: record.position, field: field, message: error.message))
                return nil
            }
        }
        let loanNo = required(record.loanNo, "loan_no")
        if let loanNo, loanNo.utf8.count > 64 {
            faults.append(FieldProblem(position: record.position, field: "loan_no", message: "longer than 64 bytes"))
        }
        let from = date(record.periodFrom, "period_from")
        let to = date(record.periodTo, "period_to")
        let balance = amount(record.balance, "balance")
        let paid = amount(record.paid, "paid")
        let paidOn = date(record.paidOn, "paid_on")
        if let from, let to, from >= to {
            faults.append(FieldProblem(position: record.position, field: "period_to", message: "\(to) is not after period_from \(from)"))
        }
        if let paidOn, paidOn > today {
            faults.append(FieldProblem(position: record.position, field: "paid_on", message: "\(paidOn) is in the future (today is \(today))"))
        }
        let firm = record.firm.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if let firm, !USCC.isValid(firm) {
            faults.append(FieldProblem(position: record.position, field: "firm_uscc", message: "\"\(firm)\" is not a valid USCC (GB 32100-2015 check)"))
        }
        if let name = record.firmName, name.count > 200 {
            faults.append(FieldProblem(position: record.position, field: "firm_name", message: "longer than 200 characters"))
        }
        if let reference = record.bankReference, reference.utf8.count > 64 {
            faults.append(FieldProblem(position: record.position, field: "bank_reference", message: "longer than 64 bytes"))
        }
        guard faults.isEmpty, let loanNo, let from, let to, let balance, let paid, let paidOn else {
            faults.forEach(problem)
            return
        }
        var line: Int?
        var index: Int?
        switch record.position {
        case .line(let value): line = value
        case .index(let value): index = value
        }
        let cells: [String?] = [
            line.map(String.init), index.map(String.init), loanNo, from.description, to.description, String(balance.fen),
            String(paid.fen), paidOn.description, firm, record.firmName, record.bankReference,
        ]
        buffer.writeString(cells.map { $0.map(Self.copyEscaped) ?? "\\N" }.joined(separator: "\t"))
        buffer.writeString("\n")
        if buffer.readableBytes >= Self.flushBytes { try await flush() }
    }

    func flush() async throws {
        guard buffer.readableBytes > 0 else { return }
        try await writer.write(buffer)
        buffer.clear()
    }

    /// COPY text format: backslash, tab, line feed and carriage return escaped.
    static func copyEscaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == "\r" }) else { return text }
        return text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }
}

/// The bank-facing data: loans and interest records, always scoped to one bank.
public struct BankData: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public static let maxRecordsPerUpload = 200_000
    public static let maxProblemsListed = 1000
    public static let maxLoansPerUpload = 10_000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }


    // MARK: Loans

    /// Registers or updates loans, all or nothing. Returns (created, updated) or every problem.
    public func registerLoans(bank: String, _ loans: [LoanSubmission]) async throws -> LoanRegistration {
        var problems: [FieldProblem] = []
        guard loans.count <= Self.maxLoansPerUpload else {
            return .rejected([FieldProblem(position: nil, field: "loans", message: "more than \(Self.maxLoansPerUpload) loans in one request")])
        }
        var seen: [String: Int] = [:]
        var wellFormedFirms = (index: [Int](), uscc: [String]())
        var columns = (no: [String](), firm: [String](), program: [String](), tier: [String](), principal: [Int64](), start: [String](),
                       maturity: [String](), rate: [String](), index: [Int]())
        for (index, loan) in loans.enumerated() {
            let position = UploadPosition.index(index)
            var faults: [FieldProblem] = []
            func fault(_ field: String, _ message: String) { faults.append(FieldProblem(position: position, field: field, message: message)) }
            if loan.loanNo.isEmpty || loan.loanNo.utf8.count > 64 { fault("loanNo", "must be 1 to 64 bytes") }
            if let first = seen[loan.loanNo] { fault("loanNo", "\"\(loan.loanNo)\" is also at index \(first)") }
            seen[loan.loanNo] = seen[loan.loanNo] ?? index
            do {
                try USCC.validate(loan.firm, field: "firm", allowList: [])
                // Whether the firm is known is checked for every well-formed code, whatever else is wrong.
                wellFormedFirms.index.append(index)
                wellFormedFirms.uscc.append(loan.firm)
            } catch { fault("firm", error.message) }
            let program = Program(rawValue: loan.program)
            if program != .zhuangda && program != .xinyidai { fault("program", "\"\(loan.program)\" must be zhuangda or xinyidai") }
            if program == .xinyidai, XinyidaiTier(rawValue: loan.tier ?? "") == nil {
                fault("tier", "a xinyidai loan needs a tier: xinedai, huiye, peiyou or touliandai")
            }
            if program == .zhuangda, loan.tier != nil { fault("tier", "only xinyidai loans have a tier") }
            var principal = Money.zero
            do {
                principal = try Money.parse(loan.principal, field: "principal")
                if principal == .zero { fault("principal", "must be greater than 0.00") }
            } catch { fault("principal", error.message) }
            var start: CivilDate?
            var maturity: CivilDate?
            do { start = try CivilDate.parse(loan.start, field: "start") } catch { fault("start", error.message) }
            do { maturity = try CivilDate.parse(loan.maturity, field: "maturity") } catch { fault("maturity", error.message) }
            if let start, let maturity, start >= maturity { fault("maturity", "\(maturity) must be after start \(start)") }
            do { _ = try Rate.parse(loan.contractRate, field: "contractRate") } catch { fault("contractRate", error.message) }
            problems.append(contentsOf: faults)
            guard faults.isEmpty, let start, let maturity else { continue }
            columns.no.append(loan.loanNo)
            columns.firm.append(loan.firm)
            columns.program.append(loan.program)
            columns.tier.append(loan.tier ?? "")
            columns.principal.append(principal.fen)
            columns.start.append(start.description)
            columns.maturity.append(maturity.description)
            columns.rate.append(loan.contractRate)
            columns.index.append(index)
        }
        // Set-based checks: the firm is known; a loan an approved batch paid on cannot be changed here.
        for try await (index, firm) in try await client.query(
            """
            SELECT t.i, t.f FROM unnest(\(wellFormedFirms.index)::int[], \(wellFormedFirms.uscc)::text[]) AS t(i, f)
            WHERE NOT EXISTS (SELECT 1 FROM firms WHERE uscc = t.f)
            """, logger: logger
        ).decode((Int, String).self) {
            problems.append(FieldProblem(position: .index(index), field: "firm", message: "firm \(firm) is not registered with the bureau (优质中小企业名单)"))
        }
        for try await (index, batch) in try await client.query(
            """
            SELECT t.i, min(b.id) FROM unnest(\(columns.index)::int[], \(columns.no)::text[]) AS t(i, n)
            JOIN loans l ON l.bank_code = \(bank) AND l.loan_no = t.n
            JOIN interest_records r ON r.loan_id = l.id
            JOIN batch_records br ON br.record_id = r.id
            JOIN granted_batches b ON b.id = br.batch_id
            GROUP BY t.i
            """, logger: logger
        ).decode((Int, Int64).self) {
            problems.append(FieldProblem(position: .index(index), field: "loanNo", message: "approved batch \(batch) paid on this loan: changes must go through the bureau"))
        }
        guard problems.isEmpty else { return .rejected(problems.sorted { ($0.position?.sortKey ?? -1) < ($1.position?.sortKey ?? -1) }) }
        var created = 0
        var updated = 0
        for try await inserted in try await client.query(
            """
            INSERT INTO loans (bank_code, loan_no, firm_uscc, program, tier, principal_fen, start_date, maturity_date, contract_rate_pct)
            SELECT \(bank), n, f, p, nullif(t, ''), a, s::date, m::date, r::numeric
            FROM unnest(\(columns.no)::text[], \(columns.firm)::text[], \(columns.program)::text[], \(columns.tier)::text[],
                        \(columns.principal)::bigint[], \(columns.start)::text[], \(columns.maturity)::text[], \(columns.rate)::text[])
                 AS u(n, f, p, t, a, s, m, r)
            ON CONFLICT (bank_code, loan_no) DO UPDATE SET
                firm_uscc = excluded.firm_uscc, program = excluded.program, tier = excluded.tier, principal_fen = excluded.principal_fen,
                start_date = excluded.start_date, maturity_date = excluded.maturity_date, contract_rate_pct = excluded.contract_rate_pct
            RETURNING (xmax = 0)
            """, logger: logger
        ).decode(Bool.self) {
            if inserted { created += 1 } else { updated += 1 }
        }
        return .stored(created: created, updated: updated)
    }

    public func loans(bank: String, after cursor: Int64, limit: Int) async throws -> [LoanView] {
        try await loanViews(bank: bank, filter: "l.id > \(cursor)", limit: limit, loanNo: nil)
    }

    public func loan(bank: String, loanNo: String) async throws -> LoanView? {
        try await loanViews(bank: bank, filter: "true", limit: 1, loanNo: loanNo).first
    }

    private func loanViews(bank: String, filter: String, limit: Int, loanNo: String?) async throws -> [LoanView] {
        let rows = try await client.query(
            """
            SELECT l.id, l.loan_no, l.firm_uscc::text, f.name, l.program, l.tier, l.principal_fen, l.start_date::text, l.maturity_date::text,
                   coalesce(l.contract_rate_pct::text, ''), to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM loans l JOIN firms f ON f.uscc = l.firm_uscc
            WHERE l.bank_code = \(bank) AND \(unescaped: filter) AND (\(loanNo)::text IS NULL OR l.loan_no = \(loanNo))
            ORDER BY l.id LIMIT \(limit)
            """, logger: logger)
        var result: [LoanView] = []
        for try await (id, no, firm, name, program, tier, principal, start, maturity, rate, created) in rows.decode(
            (Int64, String, String, String, String, String?, Int64, String, String, String, String).self)
        {
            result.append(LoanView(
                id: id, loanNo: no, firm: firm, firmName: name, program: program, tier: tier, principal: Money(fen: principal),
                start: start, maturity: maturity, contractRate: Self.trimRate(rate), createdAt: created))
        }
        return result
    }

    /// `3.800000` → `3.80`: at least two decimals, no trailing zeros beyond.
    static func trimRate(_ text: String) -> String {
        guard let point = text.firstIndex(of: ".") else { return text.isEmpty ? text : text + ".00" }
        var result = text
        while result.last == "0", result.distance(from: point, to: result.endIndex) > 3 { result.removeLast() }
        return result
    }

    // MARK: Interest records

    public func records(bank: String, loanNo: String?, after cursor: Int64, limit: Int) async throws -> [RecordView] {
        try await recordViews(bank: bank, loanNo: loanNo, id: nil, after: cursor, limit: limit)
    }

    public func record(bank: String, id: Int64) async throws -> RecordView? {
        try await recordViews(bank: bank, loanNo: nil, id: id, after: 0, limit: 1).first
    }

    private func recordViews(bank: String, loanNo: String?, id: Int64?, after cursor: Int64, limit: Int) async throws -> [RecordView] {
        let rows = try await client.query(
            """
            SELECT r.id, l.loan_no, r.period_from::text, r.period_to::text, r.balance_fen, r.paid_fen, r.paid_on::text, r.firm_name,
                   r.bank_reference, r.version, r.status, r.is_correction,
                   (SELECT max(b.id) FROM batch_records br JOIN granted_batches b ON b.id = br.batch_id WHERE br.record_id = r.id)
            FROM interest_records r JOIN loans l ON l.id = r.loan_id
            WHERE l.bank_code = \(bank) AND r.id > \(cursor) AND (\(loanNo)::text IS NULL OR l.loan_no = \(loanNo))
              AND (\(id)::bigint IS NULL OR r.id = \(id))
            ORDER BY r.id LIMIT \(limit)
            """, logger: logger)
        var result: [RecordView] = []
        for try await (id, no, from, to, balance, paid, paidOn, name, reference, version, status, correction, batch) in rows.decode(
            (Int64, String, String, String, Int64, Int64, String, String?, String?, Int, String, Bool, Int64?).self)
        {
            result.append(RecordView(
                id: id, loanNo: no, periodFrom: from, periodTo: to, balance: Money(fen: balance), paid: Money(fen: paid), paidOn: paidOn,
                firmName: name, bankReference: reference, version: version,
                status: status == "superseded" ? "superseded" : (batch != nil ? "used" : "accepted"), usedInBatch: batch, correction: correction))
        }
        return result
    }

    /// Uploads interest records, all or nothing. `produce` streams the submissions into the sink
    /// (parsing CSV or JSON as it goes) and returns the body's SHA-256 for the idempotency check.
    public func uploadRecords(
        bank: String, contentType: String, idempotencyKey: String?, today: CivilDate,
        produce: (RecordSink) async throws -> [UInt8]
    ) async throws -> UploadOutcome {
        try await client.transaction(logger: logger) { connection in
            if let idempotencyKey {
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(bank + "\u{1F}" + idempotencyKey)))", logger: logger)
            }
            try await connection.query(
                """
                CREATE TEMP TABLE upload_staging (line int, idx int, loan_no text, period_from date, period_to date, balance_fen bigint,
                    paid_fen bigint, paid_on date, firm_uscc text, firm_name text, bank_reference text) ON COMMIT DROP
                """, logger: logger)
            var bodyHash: [UInt8] = []
            var sinkRows = 0
            var problems: [FieldProblem] = []
            var problemCount = 0
            try await connection.copyFrom(
                table: "upload_staging",
                columns: ["line", "idx", "loan_no", "period_from", "period_to", "balance_fen", "paid_fen", "paid_on", "firm_uscc", "firm_name", "bank_reference"],
                logger: logger
            ) { writer in
                let sink = RecordSink(writer: writer, today: today)
                bodyHash = try await produce(sink)
                try await sink.flush()
                sinkRows = sink.rows
                problems = sink.problems
                problemCount = sink.problemCount
            }
            if let idempotencyKey {
                for try await (hash, response) in try await connection.query(
                    "SELECT encode(body_sha256, 'hex'), response::text FROM uploads WHERE bank_code = \(bank) AND kind = 'interest_records' AND idempotency_key = \(idempotencyKey)",
                    logger: logger
                ).decode((String, String).self) {
                    guard hash == bodyHash.hex else { return .keyReused }
                    return .replayed(try JSONDecoder().decode(UploadResult.self, from: Data(response.utf8)))
                }
            }
            if sinkRows == 0, problemCount == 0 {
                problems.append(FieldProblem(position: nil, field: "records", message: "the upload holds no records"))
                problemCount = 1
            }
            let found = try await setProblems(bank: bank, on: connection)
            problemCount += found.count
            problems.append(contentsOf: found.prefix(max(0, Self.maxProblemsListed - problems.count)))
            guard problemCount == 0 else {
                // The transaction rolls back: nothing of the upload is stored.
                throw UploadRejection(problems: problems.sorted { ($0.position?.sortKey ?? -1, $0.field) < ($1.position?.sortKey ?? -1, $1.field) }, total: problemCount)
            }
            return .stored(try await apply(bank: bank, contentType: contentType, idempotencyKey: idempotencyKey, bodyHash: bodyHash, on: connection))
        }
    }

    /// The checks that need the database, each one query over the whole staging table.
    func setProblems(bank: String, on connection: PostgresConnection) async throws -> [FieldProblem] {
        let rows = try await connection.query(
            """
            WITH s AS (SELECT s.*, l.id AS loan_id, l.principal_fen, l.firm_uscc::text AS loan_firm, l.contract_rate_pct
                       FROM upload_staging s LEFT JOIN loans l ON l.bank_code = \(bank) AND l.loan_no = s.loan_no)
            SELECT line, idx, 'loan_no', 'no loan "' || loan_no || '" is registered by this bank' FROM s WHERE loan_id IS NULL
            UNION ALL
            SELECT line, idx, 'balance', 'balance ' || to_char(balance_fen / 100.0, 'FM999999999990.00') || ' exceeds the loan''s principal '
                   || to_char(principal_fen / 100.0, 'FM999999999990.00') FROM s WHERE balance_fen > principal_fen
            UNION ALL
            SELECT line, idx, 'firm_uscc', 'loan ' || loan_no || ' belongs to ' || loan_firm || ', not ' || firm_uscc
            FROM s WHERE firm_uscc IS NOT NULL AND firm_uscc <> loan_firm
            UNION ALL
            -- Plausible interest: at most balance × contract rate × days / 360, plus 1 分 of tolerance.
            SELECT line, idx, 'paid', 'paid ' || to_char(paid_fen / 100.0, 'FM999999999990.00') || ' is more than the contract rate '
                   || trim_scale(contract_rate_pct)::text || '% allows on ' || to_char(balance_fen / 100.0, 'FM999999999990.00') || ' for '
                   || (period_to - period_from) || ' days (' || to_char(balance_fen * contract_rate_pct * (period_to - period_from) / 3600000.0, 'FM999999999990.00') || ')'
            FROM s WHERE contract_rate_pct IS NOT NULL AND (paid_fen - 1) * 36000 > balance_fen * contract_rate_pct * (period_to - period_from)
            UNION ALL
            SELECT line, idx, 'period_from', CASE WHEN period_from = prev_from AND period_to = prev_to
                       THEN 'the same period is sent twice in this upload'
                       ELSE 'period overlaps another record of loan ' || loan_no || ' in this upload' END
            FROM (SELECT s.*, max(period_to) OVER w AS prev_max, lag(period_from) OVER w AS prev_from, lag(period_to) OVER w AS prev_to
                  FROM s WHERE loan_id IS NOT NULL
                  WINDOW w AS (PARTITION BY loan_id ORDER BY period_from, period_to, coalesce(line, idx)
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) t
            WHERE period_from < prev_max
            UNION ALL
            SELECT s.line, s.idx, 'period_from', 'period overlaps the stored record ' || r.period_from || '…' || r.period_to || ' (id ' || r.id || ')'
            FROM s JOIN interest_records r ON r.loan_id = s.loan_id AND r.status = 'accepted'
                 AND r.period_from < s.period_to AND s.period_from < r.period_to
                 AND NOT (r.period_from = s.period_from AND r.period_to = s.period_to)
            """, logger: logger)
        var problems: [FieldProblem] = []
        for try await (line, index, field, message) in rows.decode((Int?, Int?, String, String).self) {
            problems.append(FieldProblem(position: line.map(UploadPosition.line) ?? index.map(UploadPosition.index), field: field, message: message))
        }
        return problems
    }

    /// Stores a checked upload: earlier versions of the same loan and period are superseded (kept),
    /// and the new versions are corrections where an approved batch used the old one.
    func apply(bank: String, contentType: String, idempotencyKey: String?, bodyHash: [UInt8], on connection: PostgresConnection) async throws -> UploadResult {
        try await connection.query(
            """
            CREATE TEMP TABLE upload_old (record_id bigint, loan_id bigint, period_from date, period_to date, version int, used boolean) ON COMMIT DROP
            """, logger: logger)
        try await connection.query(
            """
            WITH s AS (SELECT l.id AS loan_id, s.period_from, s.period_to FROM upload_staging s JOIN loans l ON l.bank_code = \(bank) AND l.loan_no = s.loan_no),
            old AS (UPDATE interest_records r SET status = 'superseded' FROM s
                    WHERE r.loan_id = s.loan_id AND r.period_from = s.period_from AND r.period_to = s.period_to AND r.status = 'accepted'
                    RETURNING r.id, r.loan_id, r.period_from, r.period_to, r.version)
            INSERT INTO upload_old
            SELECT o.id, o.loan_id, o.period_from, o.period_to, o.version,
                   EXISTS (SELECT 1 FROM batch_records br JOIN granted_batches b ON b.id = br.batch_id WHERE br.record_id = o.id)
            FROM old o
            """, logger: logger)
        var accepted = 0
        var replaced = 0
        var corrections = 0
        for try await (all, replacedCount, correctionCount) in try await connection.query(
            """
            SELECT (SELECT count(*) FROM upload_staging)::int, count(*) FILTER (WHERE NOT used)::int, count(*) FILTER (WHERE used)::int FROM upload_old
            """, logger: logger
        ).decode((Int, Int, Int).self) {
            (accepted, replaced, corrections) = (all, replacedCount, correctionCount)
        }
        var result = UploadResult(uploadId: 0, accepted: accepted, replaced: replaced, corrections: corrections)
        let response = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        for try await id in try await connection.query(
            """
            INSERT INTO uploads (bank_code, kind, content_type, idempotency_key, body_sha256, records, response)
            VALUES (\(bank), 'interest_records', \(contentType), \(idempotencyKey), decode(\(bodyHash.hex), 'hex'), \(accepted), \(response)::jsonb)
            RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            result.uploadId = id
        }
        try await connection.query(
            "UPDATE uploads SET response = \(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))::jsonb WHERE id = \(result.uploadId)",
            logger: logger)
        try await connection.query(
            """
            INSERT INTO interest_records (loan_id, period_from, period_to, balance_fen, paid_fen, paid_on, bank_reference, version, supersedes,
                                          firm_name, upload_id, is_correction)
            SELECT l.id, s.period_from, s.period_to, s.balance_fen, s.paid_fen, s.paid_on, s.bank_reference, coalesce(o.version, 0) + 1,
                   o.record_id, s.firm_name, \(result.uploadId), coalesce(o.used, false)
            FROM upload_staging s JOIN loans l ON l.bank_code = \(bank) AND l.loan_no = s.loan_no
            LEFT JOIN upload_old o ON o.loan_id = l.id AND o.period_from = s.period_from AND o.period_to = s.period_to
            ORDER BY coalesce(s.line, s.idx)
            """, logger: logger)
        return result
    }
}

/// Thrown inside the upload transaction so that it rolls back; turned into `.rejected`.
struct UploadRejection: Error {
    var problems: [FieldProblem]
    var total: Int
}

extension BankData {
    /// `uploadRecords`, with a rejection returned as `.rejected` after the rollback.
    public func upload(
        bank: String, contentType: String, idempotencyKey: String?, today: CivilDate,
        produce: (RecordSink) async throws -> [UInt8]
    ) async throws -> UploadOutcome {
        do {
            return try await uploadRecords(bank: bank, contentType: contentType, idempotencyKey: idempotencyKey, today: today, produce: produce)
        } catch let rejection as UploadRejection {
            return .rejected(rejection.problems, total: rejection.total)
        }
    }
}

/// A statement uploaded over the API and what became of it.
public struct StatementUploadView: Sendable {
    public var id: Int64
    public var status: String
    public var statementIDs: [Int64]
    public var error: String?
}

extension BankData {
    /// Queues a statement for the daemon (the insert NOTIFYs it).
    public func queueStatement(bank: String, name: String, format: String?, profile: String?, content: [UInt8]) async throws -> Int64 {
        var id: Int64 = 0
        for try await value in try await client.query(
            """
            INSERT INTO statement_uploads (bank_code, name, format, profile, content)
            VALUES (\(bank), \(name), \(format), \(profile), \(ByteBuffer(bytes: content))) RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            id = value
        }
        return id
    }

    public func statementUpload(bank: String, id: Int64) async throws -> StatementUploadView? {
        for try await (status, statements, error) in try await client.query(
            "SELECT status, statement_ids, error FROM statement_uploads WHERE id = \(id) AND bank_code = \(bank)", logger: logger
        ).decode((String, [Int64], String?).self) {
            return StatementUploadView(id: id, status: status, statementIDs: statements, error: error)
        }
        return nil
    }
}
