import Crypto
import Foundation
import NIOCore
import PostgresNIO
public import SubsidyRules

/// Collects checked records as COPY text for the staging table, and problems, as an upload
/// streams in. The whole body is read and checked before a database connection is taken, so a
/// slow client never holds one: the COPY text is about the size of the body (at most 64 MiB).
public final class RecordSink {
    let today: CivilDate
    var buffer = ByteBuffer()
    public private(set) var rows = 0
    public private(set) var problems: [FieldProblem] = []
    public private(set) var problemCount = 0

    init(today: CivilDate) {
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
            guard let trimmed = value?.trimmingSpaces(), !trimmed.isEmpty else {
                faults.append(FieldProblem(position: record.position, field: field, message: "is required"))
                return nil
            }
            return trimmed
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
        let firm = record.firm.map { $0.trimmingSpaces() }.flatMap { $0.isEmpty ? nil : $0 }
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
        buffer.writeCopyRow(cells)
    }
}


/// Interest-record uploads and reads, always scoped to one bank.
extension BankData {
    // MARK: Interest records

    public func records(bank: String, loanNo: String?, after cursor: Int64, limit: Int) async throws -> [RecordView] {
        try await recordViews(bank: bank, loanNo: loanNo, id: nil, after: cursor, limit: limit)
    }

    public func record(bank: String, id: Int64) async throws -> RecordView? {
        try await recordViews(bank: bank, loanNo: nil, id: id, after: 0, limit: 1).first
    }

    private func recordViews(bank: String, loanNo: String?, id: Int64?, after cursor: Int64, limit: Int) async throws -> [RecordView] {
        let columns = """
            SELECT r.id, l.loan_no, r.period_from::text, r.period_to::text, r.balance_fen, r.paid_fen, r.paid_on::text, r.firm_name,
                   r.bank_reference, r.version, r.status, r.is_correction,
                   (SELECT max(b.id) FROM batch_loan_records br JOIN granted_batches b ON b.id = br.batch_id
                    WHERE br.loan_id = r.loan_id AND r.id = ANY(br.record_ids))
            """
        // One loan's records, every version (`loan_interest_records`, sql/047: no index holds
        // both statuses); every record of the bank. Either walked by id as a page asks, and
        // narrowed to one record when `id` names it.
        let query: PostgresQuery = if let loanNo {
            """
            \(unescaped: columns)
            FROM loans l CROSS JOIN LATERAL loan_interest_records(l.id) r
            WHERE l.bank_code = \(bank) AND l.loan_no = \(loanNo) AND r.id > \(cursor) AND (\(id)::bigint IS NULL OR r.id = \(id))
            ORDER BY r.id LIMIT \(limit)
            """
        } else {
            """
            \(unescaped: columns)
            FROM interest_records r JOIN loans l ON l.id = r.loan_id
            WHERE l.bank_code = \(bank) AND r.id > \(cursor) AND (\(id)::bigint IS NULL OR r.id = \(id))
            ORDER BY r.id LIMIT \(limit)
            """
        }
        let rows = try await client.query(query, logger: logger)
        var result: [RecordView] = []
        // Cell by cell (`RowCells`): `decode((…).self)` of 13 columns looked up the tuple's
        // generic metadata for every row, 13-17 % of the server's CPU under `wrk` on this read.
        for try await row in rows {
            var cells = RowCells(row)
            let (id, no, from, to) = (try cells.next(Int64.self), try cells.next(String.self), try cells.next(String.self), try cells.next(String.self))
            let (balance, paid, paidOn, name) = (try cells.next(Int64.self), try cells.next(Int64.self), try cells.next(String.self), try cells.next(String?.self))
            let (reference, version, status) = (try cells.next(String?.self), try cells.next(Int.self), try cells.next(String.self))
            let (correction, batch) = (try cells.next(Bool.self), try cells.next(Int64?.self))
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
        // The body first, with no connection held: parsing and the per-row checks.
        var laps = Laps()
        let sink = RecordSink(today: today)
        let bodyHash = try await produce(sink)
        laps.mark("parse and field checks")
        var problems = sink.problems
        var problemCount = sink.problemCount
        let sinkRows = sink.rows
        let copyText = sink.buffer
        return try await client.transaction(logger: logger) { connection in
            laps.mark("connection")
            defer { logger.debug("record upload timings", metadata: laps.metadata(["records": "\(sinkRows)"])) }
            if let idempotencyKey {
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(bank + "\u{1F}" + idempotencyKey)))", logger: logger)
            }
            try await connection.query(
                """
                CREATE TEMP TABLE upload_staging (line int, idx int, loan_no text, period_from date, period_to date, balance_fen bigint,
                    paid_fen bigint, paid_on date, firm_uscc text, firm_name text, bank_reference text) ON COMMIT DROP
                """, logger: logger)
            try await connection.copy(
                copyText, into: "upload_staging",
                columns: ["line", "idx", "loan_no", "period_from", "period_to", "balance_fen", "paid_fen", "paid_on", "firm_uscc", "firm_name", "bank_reference"],
                logger: logger)
            // Statistics for the planner: without them it guessed the staging table's size and, past
            // a few hundred thousand stored records, chose plans that scanned `loans` per row.
            try await connection.query("ANALYZE upload_staging", logger: logger)
            laps.mark("staged")
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
            laps.mark("set checks")
            problemCount += found.count
            problems.append(contentsOf: found.prefix(max(0, Self.maxProblemsListed - problems.count)))
            guard problemCount == 0 else {
                // The transaction rolls back: nothing of the upload is stored.
                throw UploadRejection(problems: problems.sorted { ($0.position?.sortKey ?? -1, $0.field) < ($1.position?.sortKey ?? -1, $1.field) }, total: problemCount)
            }
            do {
                return .stored(try await apply(
                    bank: bank, contentType: contentType, idempotencyKey: idempotencyKey, bodyHash: bodyHash, on: connection, laps: &laps))
            } catch let error as PSQLError where ["23P01", "23505"].contains(error.serverInfo?[.sqlState] ?? "") {
                // Another upload for the same loan committed an overlapping period while this one
                // was checked: the database refused the second. Nothing of this one is stored.
                throw UploadRejection(problems: [FieldProblem(
                    position: nil, field: "period_from",
                    message: "another upload stored a record overlapping these periods at the same time; nothing was stored, send this upload again to see its problems")], total: 1)
            }
        }
    }

    /// The checks that need the database, each one query over the whole staging table. The overlap
    /// with stored records is also the database's own rule (sql/023's trigger, under a lock per
    /// bank, for racing uploads); this query is what names each offending line to the bank.
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
            -- An index lookup per staged record (OFFSET 0 keeps the subquery a parameterised nested
            -- loop): as a join the planner hashed every stored record, 1.7 s an upload at 3.4
            -- million records and growing with the table.
            FROM s CROSS JOIN LATERAL (
                SELECT r.id, r.period_from, r.period_to FROM interest_records r
                WHERE r.loan_id = s.loan_id AND r.status = 'accepted' AND r.period_from < s.period_to AND s.period_from < r.period_to
                  AND NOT (r.period_from = s.period_from AND r.period_to = s.period_to)
                OFFSET 0) r
            """, logger: logger)
        var problems: [FieldProblem] = []
        for try await (line, index, field, message) in rows.decode((Int?, Int?, String, String).self) {
            problems.append(FieldProblem(position: line.map(UploadPosition.line) ?? index.map(UploadPosition.index), field: field, message: message))
        }
        return problems
    }

    /// Stores a checked upload: earlier versions of the same loan and period are superseded (kept),
    /// and the new versions are corrections where an approved batch used the old one.
    func apply(
        bank: String, contentType: String, idempotencyKey: String?, bodyHash: [UInt8], on connection: PostgresConnection, laps: inout Laps
    ) async throws -> UploadResult {
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
                   EXISTS (SELECT 1 FROM batch_loan_records br JOIN granted_batches b ON b.id = br.batch_id
                           WHERE br.loan_id = o.loan_id AND o.id = ANY(br.record_ids))
            FROM old o
            """, logger: logger)
        try await connection.query("ANALYZE upload_old", logger: logger)
        laps.mark("superseded")
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
        laps.mark("inserted")
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
            let outcome = try await uploadRecords(bank: bank, contentType: contentType, idempotencyKey: idempotencyKey, today: today, produce: produce)
            switch outcome {
            case .stored(let result): StoreMetrics.upload(kind: "interest_records", outcome: "stored", rows: result.accepted)
            case .replayed: StoreMetrics.upload(kind: "interest_records", outcome: "replayed", rows: 0)
            default: StoreMetrics.upload(kind: "interest_records", outcome: "rejected", rows: 0)
            }
            return outcome
        } catch let rejection as UploadRejection {
            StoreMetrics.upload(kind: "interest_records", outcome: "rejected", rows: 0)
            return .rejected(rejection.problems, total: rejection.total)
        }
    }
}

