public import Logging
import NIOCore
public import PostgresNIO
public import SubsidyRules

/// Reads everything a batch computation needs with one query per kind of row (never one per
/// firm) and builds the engine's request from it.
public struct BatchInputLoader: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static func date(_ text: String) throws -> CivilDate {
        do { return try CivilDate.parse(text, field: "database") } catch { throw BatchError.invalidInput(error) }
    }

    static func rate(_ text: String) throws -> Rate {
        do { return try Rate.parse(text, field: "database") } catch { throw BatchError.invalidInput(error) }
    }

    /// The first day of `year` and of the next: sent as `date` parameters, so that a filter on a
    /// record's day compares dates and parses nothing per row.
    static func yearBounds(_ year: Int) throws -> (CivilDate, CivilDate) {
        guard let start = CivilDate(year: year, month: 1, day: 1), let next = CivilDate(year: year + 1, month: 1, day: 1) else {
            throw BatchError.invalidInput(InputError(field: "year", message: "\(year) is not a year"))
        }
        return (start, next)
    }

    /// The batch's recipients in byte order (the engine's order), for computing in chunks: the
    /// firms holding the program's loans, the investors, or nil for guarantees (computed in one
    /// piece: a guarantee paid to the guarantor counts against the guaranteed firm's cap).
    ///
    /// A loan firm is a recipient whether or not its loans have records paid in the year: the
    /// chunk's own read (`loadLoans`) takes the records, and a firm without any is in no request,
    /// as it would not be in one computed whole. Asking here for records in the year as well
    /// probed the records' index once per loan of the program: 4.2–5.2 s for a nation 新易贷 batch
    /// (1,000,420 loans; 10.6 s without parallel workers), against 1.2–1.7 s for the loans alone.
    func recipients(program: Program, year: Int, district: String?) async throws -> [String]? {
        let (yearStart, nextYear) = try Self.yearBounds(year)
        let query: PostgresQuery
        switch program {
        case .zhuangda, .xinyidai:
            query = """
                SELECT DISTINCT l.firm_uscc::text COLLATE "C" AS u
                FROM loans l
                WHERE l.program = \(program.rawValue)
                  AND (\(district)::text IS NULL OR EXISTS (SELECT 1 FROM firms f WHERE f.uscc = l.firm_uscc AND f.district = \(district)))
                ORDER BY u
                """
        case .equity, .fund:
            let dateColumn = program == .equity ? "i.invest_date" : "i.recognition_date"
            query = """
                SELECT DISTINCT i.investor_uscc::text COLLATE "C" AS u
                FROM investments i JOIN firms f ON f.uscc = i.investor_uscc
                WHERE i.kind = \(program.rawValue) AND \(unescaped: dateColumn) >= \(yearStart)::date AND \(unescaped: dateColumn) < \(nextYear)::date
                  AND (\(district)::text IS NULL OR f.district = \(district))
                ORDER BY u
                """
        case .guarantee:
            return nil
        }
        var result: [String] = []
        for try await uscc in try await client.query(query, logger: logger).decode(String.self) { result.append(uscc) }
        return result
    }

    /// The engine's request for the batch's scope, or for `only` these recipients of it, with
    /// the database ids of its loans.
    func request(
        program: Program, year: Int, district: String?, policy document: PolicyDocument, only recipients: [String]?, lpr: LPRTable
    ) async throws -> BatchInput {
        let version = try document.version(forYear: year)
        let policy = try ResolvedPolicy(version: version, program: program, overrides: [:])
        let (yearStart, nextYear) = try Self.yearBounds(year)
        var loans: [Loan] = []
        var investments: [Investment] = []
        var guarantees: [Guarantee] = []
        var firmIDs: Set<String> = []
        var loanIDs: [String: Int64] = [:]

        // The firms the chunk's loans name, when read beside the loans.
        var loanFirms: [String: Firm]?
        switch program {
        case .zhuangda, .xinyidai:
            // A chunk's firms are its recipients, known before its loans: both are read at once,
            // on two of the pool's connections, and the firms the loans name are kept (the same
            // request as reading them after). Read one after the other, a province 新易贷
            // computation waited 0.8–1.0 s in all for its chunks' reads (issue 12).
            async let chunkFirms = firmsIfNamed(recipients)
            (loans, loanIDs) = try await loadLoans(program: program, year: year, yearStart: yearStart, nextYear: nextYear, district: district, only: recipients)
            firmIDs.formUnion(loans.map(\.firm))
            loanFirms = try await chunkFirms?.filter { firmIDs.contains($0.key) }
        case .equity, .fund:
            investments = try await loadInvestments(program: program, year: year, yearStart: yearStart, nextYear: nextYear, district: district, only: recipients)
            firmIDs.formUnion(investments.flatMap { [$0.investor, $0.investee] })
        case .guarantee:
            guarantees = try await loadGuarantees(yearStart: yearStart, nextYear: nextYear, district: district, payee: policy.guaranteePayee)
            firmIDs.formUnion(guarantees.flatMap { [$0.firm, $0.guarantor] })
        }
        let firms = if let loanFirms { loanFirms } else { try await loadFirms(Array(firmIDs)) }
        // Investee qualifications come from the qualifications table too.
        investments = investments.map { investment in
            var copy = investment
            copy.investeeQualifications = firms[investment.investee]?.qualifications ?? []
            return copy
        }
        var request = CalculationRequest(
            program: program, year: year, policy: policy, lpr: lpr, firms: firms,
            loans: loans, investments: investments, guarantees: guarantees)
        // A line stores its steps' rules, clauses, texts, amounts and items, not their inputs;
        // and its record-level steps as their figures, worded when the line is read.
        request.recordStepInputs = false
        request.recordStepTexts = false
        return BatchInput(request: request, loanIDs: loanIDs)
    }

    /// The policy versions kept in the database (sql/006_policy.sql and later rows).
    public func policyDocument() async throws -> PolicyDocument {
        var versions: [String: PolicyVersion] = [:]
        for try await (id, title, validFrom) in try await client.query(
            "SELECT id, title, valid_from::text FROM policy_versions", logger: logger
        ).decode((String, String, String).self) {
            versions[id] = PolicyVersion(id: id, title: title, validFrom: validFrom, parameters: [])
        }
        for try await (id, key, value, clause, assumption) in try await client.query(
            "SELECT version_id, key, value, clause, assumption FROM policy_parameters ORDER BY version_id, key", logger: logger
        ).decode((String, String, String, String, Bool).self) {
            versions[id]?.parameters.append(PolicyParameter(key: key, value: value, clause: clause, assumption: assumption))
        }
        return PolicyDocument(versions: versions.values.sorted { $0.validFrom < $1.validFrom })
    }

    func lprTable() async throws -> LPRTable {
        var fixings: [LPRFixing] = []
        let rows = try await client.query(
            """
            SELECT published::text,
                   CASE WHEN one_year_pct = round(one_year_pct, 2) THEN round(one_year_pct, 2)::text ELSE trim_scale(one_year_pct)::text END,
                   CASE WHEN five_year_pct = round(five_year_pct, 2) THEN round(five_year_pct, 2)::text ELSE trim_scale(five_year_pct)::text END
            FROM lpr_fixings ORDER BY published
            """, logger: logger)
        for try await (published, oneYear, fiveYear) in rows.decode((String, String, String).self) {
            fixings.append(LPRFixing(published: try Self.date(published), oneYear: try Self.rate(oneYear), fiveYearPlus: try Self.rate(fiveYear)))
        }
        guard !fixings.isEmpty else { throw BatchError.invalidInput(InputError(field: "lpr_fixings", message: "no LPR fixings loaded")) }
        return LPRTable(fixings: fixings)
    }

    /// `loadFirms(ids)`, or nil for no list (a scope read whole).
    func firmsIfNamed(_ ids: [String]?) async throws -> [String: Firm]? {
        guard let ids else { return nil }
        return try await loadFirms(ids)
    }

    /// The firms and their qualifications, in one query: a firm's row once per qualification (or
    /// once, without one). Two queries sent and looked up the chunk's 5,000 firms twice.
    /// Each firm is looked up by its key, joined from the list: asked as `f.uscc = ANY(list)`,
    /// the planner read the whole of `firms_name` (every firm, sql/044) with two parallel
    /// workers and tested each against the list — a province 新易贷 chunk's 2,500 firms 19–28 ms
    /// and three processes' CPU, against 13–15 ms in one this way (`psql`, eight runs each), and
    /// at nation every chunk read 600,000 firms. The list is made distinct here: each of its
    /// entries is a row of the join.
    func loadFirms(_ ids: [String]) async throws -> [String: Firm] {
        let distinct = Array(Set(ids))
        var firms: [String: Firm] = [:]
        firms.reserveCapacity(distinct.count)
        let rows = try await client.query(
            """
            SELECT f.uscc::text, f.name, q.level, q.valid_from, q.valid_to
            FROM unnest(\(distinct)::char(18)[]) AS u(uscc)
            JOIN firms f ON f.uscc = u.uscc
            LEFT JOIN qualifications q ON q.firm_uscc = f.uscc
            """, logger: logger)
        for try await row in rows {
            var cells = RowCells(row)
            let (uscc, name, level) = (try cells.next(String.self), try cells.next(String.self), try cells.next(String?.self))
            let (from, to) = (try cells.next(CivilDate?.self), try cells.next(CivilDate?.self))
            if firms[uscc] == nil { firms[uscc] = Firm(uscc: uscc, name: name, qualifications: []) }
            guard let level = level.flatMap(QualificationLevel.init(rawValue:)), let from, let to else { continue }
            firms[uscc]?.qualifications.append(Qualification(level: level, from: from, to: to))
        }
        return firms
    }

    func loadLoans(
        program: Program, year: Int, yearStart: CivilDate, nextYear: CivilDate, district: String?, only: [String]?
    ) async throws -> (loans: [Loan], ids: [String: Int64]) {
        // Loans with records paid in the year and those records, what each loan received in
        // earlier years (新易贷's lifetime cap) and other-level awards on it this year: three set
        // queries.
        var loans: [Loan] = []
        var ids: [Int64] = []
        var before: [String: Money] = [:]
        var others: [Int64: [OtherSubsidy]] = [:]
        // A row a loan with its year's records packed by the server into one `bytea`, each
        // record as its columns' binary forms (`int8send`, `date_send`: big-endian, fixed
        // width). Read as rows, a province batch's 1.6 million records were a row message, a
        // state-machine step and seven cells each: a quarter of the command's CPU. Packed in
        // the order the server finds them (the index's: by period), sorted here if not: an
        // `ORDER BY` inside the aggregate sorted every loan's records, 200 against 134 ms of a
        // chunk's query.
        // Each loan's records aggregated by itself (a lateral subquery), through the index of
        // accepted records that carries their columns (sql/035: an index-only scan): joined and
        // grouped, the chunk's records were hashed by loan, spilling to disk, then sorted. A
        // province zhuangda chunk took 71-79 against 137-141 ms (EXPLAIN ANALYZE), 110-148 ms
        // with the lateral form alone, 97-100 ms with the index alone.
        // Without parallel workers: a chunk's reading runs beside the previous chunk's writes
        // and the engine, and on two cores the workers only took CPU from them (a province
        // zhuangda batch 15.3–16.0 s with them, 14.5–15.0 s without).
        // The firm is read only for a district batch: a join to every loan's firm, for a batch of
        // the whole province or country, cost 45 of a nation chunk's 344 ms and filtered nothing
        // (a loan's firm exists: a foreign key).
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SET LOCAL max_parallel_workers_per_gather = 0", logger: logger)
            let loanRows = try await connection.query(
                """
                SELECT l.id, l.bank_code || '/' || l.loan_no, l.firm_uscc::text, coalesce(l.tier, ''), l.principal_fen,
                       l.start_date, l.maturity_date, r.packed, r.n
                FROM loans l
                CROSS JOIN LATERAL (
                    SELECT string_agg(int8send(r.id) || date_send(r.period_from) || date_send(r.period_to) || int8send(r.balance_fen)
                                      || int8send(r.paid_fen) || date_send(r.paid_on), ''::bytea) AS packed,
                           count(*) AS n
                    FROM interest_records r
                    WHERE r.loan_id = l.id AND r.status = 'accepted' AND r.paid_on >= \(yearStart)::date AND r.paid_on < \(nextYear)::date) r
                WHERE l.program = \(program.rawValue) AND r.n > 0
                  AND (\(district)::text IS NULL OR EXISTS (SELECT 1 FROM firms f WHERE f.uscc = l.firm_uscc AND f.district = \(district)))
                  AND (\(only)::char(18)[] IS NULL OR l.firm_uscc = ANY(\(only)::char(18)[]))
                ORDER BY l.id
                """, logger: logger)
            for try await row in loanRows {
                var cells = RowCells(row)
                let (id, ref, firm, tier) = (try cells.next(Int64.self), try cells.next(String.self), try cells.next(String.self), try cells.next(String.self))
                let (principal, start, maturity) = (try cells.next(Int64.self), try cells.next(CivilDate.self), try cells.next(CivilDate.self))
                let (packed, count) = (try cells.next(ByteBuffer.self), try cells.next(Int64.self))
                let product: LoanProduct = program == .zhuangda ? .zhuangda : .xinyidai(XinyidaiTier(rawValue: tier) ?? .huiye)
                loans.append(Loan(
                    id: ref, firm: firm, product: product, principal: Money(fen: principal), start: start,
                    maturity: maturity, interest: try PackedRecords.unpack(packed, count: count, loan: ref), field: "loan \(ref)"))
                ids.append(id)
            }
            // What each loan was granted under its lifetime cap in other years (RULES §4.3). Later
            // years count too: approved first, they consumed the cap first. The `EXISTS` is a
            // one-time filter (an InitPlan): when no batch of the program for another year is
            // approved (the first year on the platform), the server skips the lookup, which probes
            // an index once per loan of the chunk — 4.5–6.7 s of a nation 新易贷 batch that found
            // nothing. Read in this transaction, without parallel workers: once the items table
            // is large the planner gathered two workers for it every chunk, though the filter
            // then skipped it (a province recomputation's 18 chunks: 520 ms for no rows).
            for try await (key, amount) in try await connection.query(
                """
                SELECT cap_key, sum(amount_fen)::bigint FROM granted_items
                WHERE cap_key = ANY(\(loans.map { ComputationPlanner.capKey(loan: $0.id) })::text[]) AND program = \(program.rawValue) AND year <> \(year)
                  AND EXISTS (SELECT 1 FROM granted_batches WHERE program = \(program.rawValue) AND year <> \(year))
                GROUP BY cap_key
                """, logger: logger
            ).decode((String, Int64).self) {
                before[String(key.dropFirst("loan:".count))] = Money(fen: amount)
            }
            for try await (loanID, level, amount) in try await connection.query(
                "SELECT loan_id, level, amount_fen FROM other_subsidies WHERE loan_id = ANY(\(ids)::bigint[]) AND year = \(year)", logger: logger
            ).decode((Int64, String, Int64).self) {
                others[loanID, default: []].append(OtherSubsidy(level: SubsidyLevel(rawValue: level)!, amount: Money(fen: amount)))
            }
        }
        let refs = loans.map(\.id)
        for (index, id) in ids.enumerated() {
            loans[index].awardedBefore = before[loans[index].id] ?? .zero
            loans[index].otherSubsidies = others[id] ?? []
        }
        return (loans, Dictionary(uniqueKeysWithValues: zip(refs, ids)))
    }

    func loadInvestments(program: Program, year: Int, yearStart: CivilDate, nextYear: CivilDate, district: String?, only: [String]?) async throws -> [Investment] {
        // Equity rewards belong to the investment's year, fund rewards to the recognition's year.
        // The batch's district is the recipient's: the investor (or fund manager). A pair's
        // history is what it was granted in other years, under its cap key.
        let dateColumn = program == .equity ? "i.invest_date" : "i.recognition_date"
        let rows = try await client.query(
            """
            SELECT i.id, i.ref, i.investor_uscc::text, i.investee_uscc::text, i.kind, i.amount_fen, i.invest_date::text, i.stage,
                   i.registered_in_city, i.recognition_level, i.recognition_date::text,
                   coalesce((SELECT sum(g.amount_fen) FROM granted_items g
                             WHERE g.cap_key = i.kind || ':' || i.investor_uscc || ':' || i.investee_uscc
                               AND g.program = \(program.rawValue) AND g.year <> \(year)), 0)::bigint
            FROM investments i JOIN firms f ON f.uscc = i.investor_uscc
            WHERE i.kind = \(program.rawValue) AND \(unescaped: dateColumn) >= \(yearStart)::date AND \(unescaped: dateColumn) < \(nextYear)::date
              AND (\(district)::text IS NULL OR f.district = \(district))
              AND (\(only)::char(18)[] IS NULL OR i.investor_uscc = ANY(\(only)::char(18)[]))
            ORDER BY i.id
            """, logger: logger)
        var result: [Investment] = []
        var ids: [Int64] = []
        for try await (id, ref, investor, investee, kind, amount, date, stage, registered, level, recognised, before) in rows.decode(
            (Int64, String, String, String, String, Int64, String, String?, Bool, String?, String?, Int64).self)
        {
            var recognition: Recognition?
            if let level = level.flatMap(QualificationLevel.init(rawValue:)), let recognised {
                recognition = Recognition(level: level, date: try Self.date(recognised))
            }
            result.append(Investment(
                id: ref, investor: investor, investee: investee, kind: InvestmentKind(rawValue: kind)!, amount: Money(fen: amount),
                date: try Self.date(date), stage: stage.flatMap(InvestmentStage.init(rawValue:)), investeeQualifications: [],
                registeredInCity: registered, recognition: recognition, awardedBefore: Money(fen: before)))
            ids.append(id)
        }
        var others: [Int64: [OtherSubsidy]] = [:]
        for try await (investmentID, level, amount) in try await client.query(
            "SELECT investment_id, level, amount_fen FROM other_subsidies WHERE investment_id = ANY(\(ids)::bigint[]) AND year = \(year)",
            logger: logger
        ).decode((Int64, String, Int64).self) {
            others[investmentID, default: []].append(OtherSubsidy(level: SubsidyLevel(rawValue: level)!, amount: Money(fen: amount)))
        }
        for (index, id) in ids.enumerated() { result[index].otherSubsidies = others[id] ?? [] }
        return result
    }

    func loadGuarantees(yearStart: CivilDate, nextYear: CivilDate, district: String?, payee: GuaranteePayee) async throws -> [Guarantee] {
        // The batch's district is the payee's: the firm, or the guarantor when it is paid.
        let byGuarantor = payee == .guarantor
        let rows = try await client.query(
            """
            SELECT g.ref, g.firm_uscc::text, g.guarantor_uscc::text, g.principal_fen, g.period_from::text, g.period_to::text,
                   g.fee_fen, g.paid_on::text
            FROM guarantees g JOIN firms f ON f.uscc = CASE WHEN \(byGuarantor) THEN g.guarantor_uscc ELSE g.firm_uscc END
            WHERE g.paid_on >= \(yearStart)::date AND g.paid_on < \(nextYear)::date AND (\(district)::text IS NULL OR f.district = \(district))
            ORDER BY g.id
            """, logger: logger)
        var result: [Guarantee] = []
        for try await (ref, firm, guarantor, principal, from, to, fee, paidOn) in rows.decode(
            (String, String, String, Int64, String, String, Int64, String).self)
        {
            result.append(Guarantee(
                id: ref, firm: firm, loan: nil, guarantor: guarantor, principal: Money(fen: principal), from: try Self.date(from),
                to: try Self.date(to), fee: Money(fen: fee), paidOn: try Self.date(paidOn)))
        }
        return result
    }

    /// What approved batches (other than `excluding`, in any district) granted each recipient for
    /// the program-year, with the recipient's district.
    func granted(program: Program, year: Int, excluding: Int64) async throws -> [String: GrantedToRecipient] {
        var result: [String: GrantedToRecipient] = [:]
        for try await (recipient, amount, district) in try await client.query(
            """
            SELECT g.recipient_uscc::text, sum(g.amount_fen)::bigint, min(f.district)
            FROM granted_lines g LEFT JOIN firms f ON f.uscc = g.recipient_uscc
            WHERE g.program = \(program.rawValue) AND g.year = \(year) AND g.batch_id <> \(excluding)
            GROUP BY g.recipient_uscc
            """, logger: logger
        ).decode((String, Int64, String?).self) {
            if amount != 0 { result[recipient] = GrantedToRecipient(amount: Money(fen: amount), district: district) }
        }
        return result
    }

    func calendar() async throws -> WorkingCalendar {
        var holidays: Set<CivilDate> = []
        var workdays: Set<CivilDate> = []
        for try await (day, kind) in try await client.query("SELECT day::text, kind FROM calendar_days", logger: logger).decode((String, String).self) {
            if kind == "holiday" { holidays.insert(try Self.date(day)) } else { workdays.insert(try Self.date(day)) }
        }
        return WorkingCalendar(holidays: holidays, workingWeekends: workdays)
    }
}

/// A chunk's request for the engine, and the database id of each of its loans by the loan's id
/// ("BANK/LOAN_NO"), so that the records a line used are stored without looking the loans up again.
struct BatchInput: Sendable {
    var request: CalculationRequest
    var loanIDs: [String: Int64]
}

/// A loan's interest records as `loadLoans` has the server pack them: per record, in order, the
/// id (8 bytes), period from and to (4 each: days since 2000-01-01), balance and paid (8 each,
/// 分) and paid on (4), big-endian as PostgreSQL's binary send functions write them.
enum PackedRecords {
    static let width = 36

    /// `count` is how many records the server aggregated: a record with a NULL column would
    /// drop out of `string_agg` without a trace (the columns are NOT NULL; this says so at
    /// every read), and a record that goes missing is an award short.
    static func unpack(_ bytes: ByteBuffer, count: Int64, loan: String) throws -> [InterestRecord] {
        var buffer = bytes
        guard buffer.readableBytes % width == 0, Int64(buffer.readableBytes / width) == count else {
            throw BatchError.invalidInput(InputError(
                field: "loan \(loan)", message: "packed interest records of \(buffer.readableBytes) bytes, not \(count) records of \(width) bytes"))
        }
        var packed: [(id: Int64, record: InterestRecord)] = []
        packed.reserveCapacity(buffer.readableBytes / width)
        while let id = buffer.readInteger(as: Int64.self), let from = buffer.readInteger(as: Int32.self),
              let to = buffer.readInteger(as: Int32.self), let balance = buffer.readInteger(as: Int64.self),
              let paid = buffer.readInteger(as: Int64.self), let paidOn = buffer.readInteger(as: Int32.self)
        {
            packed.append((id, InterestRecord(
                id: "R\(id)", from: CivilDate(postgresDays: from), to: CivilDate(postgresDays: to), balance: Money(fen: balance),
                paid: Money(fen: paid), paidOn: CivilDate(postgresDays: paidOn))))
        }
        // By period start, then id: the same request whatever order the server packed them in.
        func before(_ a: (id: Int64, record: InterestRecord), _ b: (id: Int64, record: InterestRecord)) -> Bool {
            a.record.from == b.record.from ? a.id < b.id : a.record.from < b.record.from
        }
        if !zip(packed, packed.dropFirst()).allSatisfy({ before($0, $1) }) { packed.sort(by: before) }
        return packed.map(\.record)
    }
}
