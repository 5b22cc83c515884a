import Foundation
import PostgresNIO
public import SubsidyRules

/// The loan registry a bank keeps through the API: register or update loans (all or nothing),
/// list and read its own.
extension BankData {

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
            JOIN batch_loan_records br ON br.loan_id = l.id
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
        try await loanViews(bank: bank, after: cursor, limit: limit, loanNo: nil)
    }

    public func loan(bank: String, loanNo: String) async throws -> LoanView? {
        try await loanViews(bank: bank, after: nil, limit: 1, loanNo: loanNo).first
    }

    private func loanViews(bank: String, after cursor: Int64?, limit: Int, loanNo: String?) async throws -> [LoanView] {
        let rows = try await client.query(
            """
            SELECT l.id, l.loan_no, l.firm_uscc::text, f.name, l.program, l.tier, l.principal_fen, l.start_date::text, l.maturity_date::text,
                   coalesce(l.contract_rate_pct::text, ''), to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM loans l JOIN firms f ON f.uscc = l.firm_uscc
            WHERE l.bank_code = \(bank) AND (\(cursor)::bigint IS NULL OR l.id > \(cursor)) AND (\(loanNo)::text IS NULL OR l.loan_no = \(loanNo))
            ORDER BY l.id LIMIT \(limit)
            """, logger: logger)
        var result: [LoanView] = []
        // Cell by cell, as the records' read (`RowCells`): no tuple metadata looked up per row.
        for try await row in rows {
            var cells = RowCells(row)
            let (id, no, firm, name) = (try cells.next(Int64.self), try cells.next(String.self), try cells.next(String.self), try cells.next(String.self))
            let (program, tier, principal) = (try cells.next(String.self), try cells.next(String?.self), try cells.next(Int64.self))
            let (start, maturity, rate, created) = (try cells.next(String.self), try cells.next(String.self), try cells.next(String.self), try cells.next(String.self))
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
}
