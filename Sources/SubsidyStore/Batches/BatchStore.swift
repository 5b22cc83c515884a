import Foundation
public import Logging
public import PostgresNIO
public import SubsidyRules

/// Subsidy batches in PostgreSQL: compute with the rules engine, 公示, approve with four eyes,
/// export. Every batch computes its recipients' program-year whole, with the same engine as the
/// calculator, and each line pays the difference from what approved batches already granted —
/// so a supplementary batch pays only the difference, and a lower award becomes a recovery line.
///
/// Every action locks the batch row, asks `BatchLifecycle` whether it may happen, and writes with
/// `WHERE state = ANY(allowed)` in the same transaction; the decisions themselves are made by the
/// pure planners in `BatchPlanning.swift`.
public struct BatchStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    let ledger: Ledger
    /// How many lines approval accrues at a time: the lines are read again in `line_no` order,
    /// this many at a time, and each chunk's entries (an accrual and a recovery, with a journal
    /// line per batch line) are posted before the next is read (`Ledger.post` carries the chain
    /// from one call to the next in the transaction).
    /// A province batch's 78,680 accruals planned at once took the command to 178 MB; a
    /// nation batch's 486,521 past 1.1 GB.
    public var accrualChunk = 20_000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.ledger = Ledger(logger: logger)
    }

    public var users: UserStore { UserStore(client: client, logger: logger) }

    /// The batch row, locked for the rest of the transaction.
    struct LockedBatch {
        var id: Int64
        var program: Program
        var year: Int
        var district: String?
        var state: BatchState
        var computedBy: Int64?
        var publicityUntil: CivilDate?
    }

    func lock(_ id: Int64, on connection: PostgresConnection) async throws -> LockedBatch {
        for try await (program, year, district, state, computedBy, until) in try await connection.query(
            "SELECT program, year, district, state, computed_by, publicity_until::text FROM batches WHERE id = \(id) FOR UPDATE", logger: logger
        ).decode((String, Int, String?, String, Int64?, String?).self) {
            return LockedBatch(
                id: id, program: Program(rawValue: program)!, year: year, district: district, state: BatchState(rawValue: state)!,
                computedBy: computedBy, publicityUntil: try until.map(BatchInputLoader.date))
        }
        throw BatchError.notFound(id)
    }

    /// Applies a guarded write that must touch the batch: after `lock` and the lifecycle's
    /// decision it always does; if it did not, the transaction is abandoned.
    func expectWritten(_ rows: PostgresRowSequence, batch: Int64, action: BatchAction) async throws {
        var written = false
        for try await _ in rows { written = true }
        guard written else { throw BatchError.transitionLost(batch: batch, action: action.rawValue) }
    }

    func audit(_ user: User, _ action: String, batch: Int64, _ detail: [String: String], on connection: PostgresConnection) async throws {
        try await UserStore.audit(actor: user.id, action: action, subject: "batch:\(batch)", detail: detail, on: connection, logger: logger)
    }

    // MARK: Lifecycle

    public func create(program: Program, year: Int, district: String?, by user: User) async throws -> Int64 {
        try UserStore.require(user, .clerk)
        return try await users.actingAs(user) { connection in
            var id: Int64 = 0
            for try await value in try await connection.query(
                "INSERT INTO batches (program, year, district, created_by) VALUES (\(program.rawValue), \(year), \(district), \(user.id)) RETURNING id",
                logger: logger
            ).decode(Int64.self) {
                id = value
            }
            try await audit(user, "batch.create", batch: id, ["program": program.rawValue, "year": String(year), "district": district ?? ""], on: connection)
            return id
        }
    }

    public func summary(_ id: Int64) async throws -> BatchSummary {
        let rows = try await client.query(
            """
            SELECT b.program, b.year, b.district, b.state, b.total_fen, b.publicity_from::text, b.publicity_until::text,
                   b.computed_by, b.approved_by, b.line_count,
                   (SELECT coalesce(sum(cardinality(item_ids)), 0) FROM batch_exclusion_sets WHERE batch_id = b.id)::int
            FROM batches b WHERE b.id = \(id)
            """, logger: logger)
        for try await (program, year, district, state, total, from, until, computedBy, approvedBy, lines, excluded) in rows.decode(
            (String, Int, String?, String, Int64, String?, String?, Int64?, Int64?, Int, Int).self)
        {
            return BatchSummary(
                id: id, program: Program(rawValue: program)!, year: year, district: district, state: BatchState(rawValue: state)!,
                totalFen: total, lines: lines, excludedItems: excluded,
                publicityFrom: try from.map(BatchInputLoader.date), publicityUntil: try until.map(BatchInputLoader.date),
                computedBy: computedBy, approvedBy: approvedBy)
        }
        throw BatchError.notFound(id)
    }

    /// Recipients computed at a time: the engine's rules are independent per recipient (every cap
    /// is per firm, per investor, per loan or per pair), so a batch computed in chunks of
    /// recipients, in the engine's order, has exactly the lines of one computed whole, and the
    /// memory held is one chunk's inputs and lines. The web's computations run in the server,
    /// which stays under 500 MB: at province, on copies of one database, alternating, 2,500
    /// recipients took zhuangda 4.95–5.62 s at 212–219 MB and xinyidai 4.58–5.16 s at 134–140 MB,
    /// against 4.88–7.49 s at 374–379 MB and 4.85–4.96 s at 206–212 MB with 5,000.
    public static let defaultChunk = 2_500

    /// Runs the engine over the batch's scope and program-year and stores its lines, items and
    /// exclusions, replacing an earlier computation: in one transaction holding the batch's row,
    /// chunk by chunk of recipients, so the lines are stored only if the batch may be computed.
    public func compute(
        _ id: Int64, by user: User, chunk: Int = BatchStore.defaultChunk, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> BatchSummary {
        try await compute(id, signingIn: Task { user }, chunk: chunk, progress: progress)
    }

    /// `compute` for a user who is still signing in. Checking a password is bcrypt, about 0.27 s
    /// of CPU; meanwhile the computation reads what it needs no user for (the batch, its
    /// recipients, the policy, the LPR table, earlier grants, the first chunk's inputs) on the
    /// other core. Nothing is written and nothing about the batch is reported — no progress, no
    /// error of its own — before the user is signed in and holds the clerk's role: a failed
    /// sign-in is the only error an unknown user sees.
    public func compute(
        _ id: Int64, signingIn: Task<User, any Error>, chunk: Int = BatchStore.defaultChunk, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> BatchSummary {
        let clock = ContinuousClock()
        let started = clock.now
        var program: String?
        do {
            return try await withPrepared(id, signingIn: signingIn, chunk: chunk, stateChecked: true, progress: progress) { user, prepared in
                program = prepared.batch.program.rawValue
                let summary = try await compute(id, prepared, by: user, progress: progress)
                StoreMetrics.batchComputed(program: prepared.batch.program.rawValue, outcome: "stored", duration: clock.now - started, lines: summary.lines)
                return summary
            }
        } catch {
            if let program {
                StoreMetrics.batchComputed(program: program, outcome: "failed", duration: clock.now - started, lines: 0)
            }
            throw error
        }
    }

    /// 试算: what computing the batch now would give — its lines, total and exclusions, by the
    /// same reading, rules and planning as `compute` — with nothing written: the batch, its
    /// stored lines and the audit log stay as they are, in whatever state the batch is (a clerk
    /// may check an approved batch against today's data). A clerk's work, as computing is. It
    /// also measures what a computation costs before its stores (`scripts/bench.sh`).
    public func trial(
        _ id: Int64, signingIn: Task<User, any Error>, chunk: Int = BatchStore.defaultChunk, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> BatchTrial {
        try await withPrepared(id, signingIn: signingIn, chunk: chunk, stateChecked: false, progress: progress) { _, prepared in
            let tally = try await computeChunks(id, prepared, storingOn: nil, progress: progress)
            let recoveries = prepared.recoveries(after: tally)
            return BatchTrial(
                batch: prepared.batch, lines: tally.lines + recoveries.count, total: tally.total + recoveries.map(\.amount).sum(),
                excludedItems: tally.excluded, interestRecords: tally.records, recipients: tally.recipients)
        }
    }

    /// Runs `body` for the signed-in clerk with the computation prepared. The preparation (the
    /// batch, its recipients, the policy, the LPR table, earlier grants, the first chunk's
    /// inputs) needs no user and runs while the password is checked. Nothing about the batch is
    /// reported before the user is signed in and holds the clerk's role: a failed sign-in is the
    /// only error an unknown user sees; then `progress` says what is being loaded.
    /// `stateChecked`: the batch's state must allow computing.
    func withPrepared<T>(
        _ id: Int64, signingIn: Task<User, any Error>, chunk: Int, stateChecked: Bool, progress: @Sendable (String) -> Void,
        _ body: (User, PreparedComputation) async throws -> T
    ) async throws -> T {
        let preparing = Task { try await prepare(id, chunk: max(1, chunk), stateChecked: stateChecked) }
        do {
            let user = try await signingIn.value
            try UserStore.require(user, .clerk)
            let prepared = try await preparing.value
            let batch = prepared.batch
            progress("读取数据 loading \(batch.program.rawValue) \(batch.year)\(batch.district.map { " \($0)" } ?? "")…")
            return try await body(user, prepared)
        } catch {
            // No read of the first chunk outlives a failure: a failed sign-in, a missing role, or
            // a failure before the chunks began.
            preparing.cancel()
            if let first = (try? await preparing.value)?.firstRead {
                first.cancel()
                _ = try? await first.value
            }
            throw error
        }
    }

    /// Fresh statistics for the lines and items (sql/016): without them the planner takes a batch
    /// just computed for one line, and approving a province batch right after computing it ran
    /// for minutes instead of seconds. Gathered when an approval begins, before its transaction so
    /// that no lock is held meanwhile: the approval (and then the reconciliation) is what joins
    /// lines and items, and nothing between a computation and its approval does — the batch's
    /// pages and its 公示 read them by batch and number. Gathered after every computation, they
    /// were 0.2–0.6 s of a province batch's time. Only for a batch that may be approved at all
    /// (the approval's transaction checks its state again under the lock). A failure only leaves
    /// them to autovacuum.
    func refreshStatistics(beforeApproving id: Int64) async {
        do {
            try await client.query(
                "SELECT refresh_batch_statistics() FROM batches WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.approve)))",
                logger: logger)
        } catch {
            logger.warning("batch statistics not refreshed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// What a computation reads before it needs its user: the chunks of recipients, and the
    /// first chunk's inputs already being read.
    struct PreparedComputation: Sendable {
        var batch: BatchSummary
        var loader: BatchInputLoader
        /// `nil` when the batch's scope is read whole, in one chunk.
        var recipientCount: Int?
        var chunks: [[String]?]
        var document: PolicyDocument
        var lpr: LPRTable
        var granted: [String: GrantedToRecipient]
        var firstRead: Task<BatchInput, any Error>?

        /// Reads a chunk's inputs through the pool.
        func read(_ index: Int) -> Task<BatchInput, any Error>? {
            guard index < chunks.count else { return nil }
            let (only, batch, loader, document, lpr) = (chunks[index], batch, loader, document, lpr)
            return Task {
                try await loader.request(
                    program: batch.program, year: batch.year, district: batch.district, policy: document, only: only, lpr: lpr)
            }
        }

        /// The recovery lines after the chunks' lines: recipients granted before whom this
        /// computation no longer awards.
        func recoveries(after tally: ChunkTally) -> [PlannedLine] {
            ComputationPlanner.recoveries(
                batch: batch.id, program: batch.program, year: batch.year, district: batch.district, granted: granted,
                awarded: tally.awarded, firstLine: tally.lines + 1)
        }
    }

    func prepare(_ id: Int64, chunk: Int, stateChecked: Bool = true) async throws -> PreparedComputation {
        let batch = try await summary(id)
        if stateChecked { _ = try BatchLifecycle.next(from: batch.state, .compute, batch: id) }
        let loader = BatchInputLoader(client: client, logger: logger)
        let recipients = try await loader.recipients(program: batch.program, year: batch.year, district: batch.district)
        let chunks: [[String]?] = recipients.map { all in
            stride(from: 0, to: all.count, by: chunk).map { Array(all[$0..<min(all.count, $0 + chunk)]) }
        } ?? [nil]
        var prepared = PreparedComputation(
            batch: batch, loader: loader, recipientCount: recipients?.count, chunks: chunks, document: try await loader.policyDocument(),
            lpr: try await loader.lprTable(), granted: try await loader.granted(program: batch.program, year: batch.year, excluding: id))
        prepared.firstRead = prepared.read(0)
        return prepared
    }

    func compute(
        _ id: Int64, _ prepared: PreparedComputation, by user: User, progress: @Sendable (String) -> Void
    ) async throws -> BatchSummary {
        let (batch, document) = (prepared.batch, prepared.document)
        try await users.actingAs(user) { connection in
            let locked = try await lock(id, on: connection)
            _ = try BatchLifecycle.next(from: locked.state, .compute, batch: id)
            try await clear(batch: id, on: connection)
            // The stores below send a chunk's lines, items and used records as arrays; this
            // connection runs nothing else that a generic plan would slow (the reads use the pool).
            try await connection.planGenerically(logger: logger)
            var tally = try await computeChunks(id, prepared, storingOn: connection, progress: progress)
            let recoveries = prepared.recoveries(after: tally)
            if !recoveries.isEmpty {
                try await store(ComputationPlan(lines: recoveries, items: [], usedRecords: []), exclusions: [], loanIDs: [:], batch: id, on: connection)
                tally.lines += recoveries.count
                tally.total += recoveries.map(\.amount).sum()
            }
            let policyVersion = tally.policyVersion.isEmpty ? try document.version(forYear: batch.year).id : tally.policyVersion
            let total = tally.total
            try await expectWritten(try await connection.query(
                """
                UPDATE batches SET state = 'computed', computed_by = \(user.id), computed_at = now(), total_fen = \(total.fen),
                       line_count = \(tally.lines),
                       policy_version = \(policyVersion), publicity_from = NULL, publicity_until = NULL
                WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.compute))) RETURNING id
                """, logger: logger), batch: id, action: .compute)
            try await audit(user, "batch.compute", batch: id, [
                "lines": String(tally.lines), "total": total.plain, "excluded": String(tally.excluded), "chunks": String(prepared.chunks.count),
            ], on: connection)
        }
        return try await summary(id)
    }

    /// What a computation's chunks came to: counts and the total, before recoveries.
    struct ChunkTally {
        var lines = 0, excluded = 0, records = 0, recipients = 0
        var total = Money.zero
        var policyVersion = ""
        /// Recipients granted before (other batches of the year) that this computation awards again.
        var awarded: Set<String> = []
    }

    /// Reads, computes and plans the batch chunk by chunk. With a connection, each chunk's plan
    /// is stored on it (in its transaction) while the next chunk is computed and the one after
    /// is read through the pool; without one (a trial), nothing is written anywhere.
    func computeChunks(
        _ id: Int64, _ prepared: PreparedComputation, storingOn connection: PostgresConnection?, progress: @Sendable (String) -> Void
    ) async throws -> ChunkTally {
        let (chunks, granted) = (prepared.chunks, prepared.granted)
        let (doing, kept) = connection == nil ? ("试算 trial", "(nothing stored)") : ("测算 computing", "stored")
        var tally = ChunkTally()
        // Three things at once: a chunk's lines are stored on the transaction's connection,
        // the next chunk is computed, and the one after is read through the pool. At most two
        // chunks' inputs are held.
        var storing: Task<Void, any Error>?
        var reading = prepared.firstRead
        do {
            for (index, only) in chunks.enumerated() {
                var laps = Laps()
                guard let current = reading else { break }
                let input = try await current.value
                reading = prepared.read(index + 1)
                let request = input.request
                laps.mark("load")
                let result = try Self.engine(request)
                laps.mark("engine")
                let plan = ComputationPlanner.awards(batch: id, request: request, result: result, granted: granted, firstLine: tally.lines + 1)
                laps.mark("plan")
                if let connection {
                    try await storing?.value
                    laps.mark("waitedForStore")
                    storing = Task { try await store(plan, exclusions: result.excluded, loanIDs: input.loanIDs, batch: id, on: connection) }
                }
                logger.debug("batch chunk", metadata: laps.metadata(["batch": "\(id)"]))
                for award in result.awards where granted[award.recipient] != nil { tally.awarded.insert(award.recipient) }
                tally.lines += plan.lines.count
                tally.excluded += result.excluded.count
                tally.records += request.loans.reduce(0) { $0 + $1.interest.count }
                tally.total += plan.total
                tally.policyVersion = result.policyVersion
                tally.recipients += only?.count ?? request.firms.count
                let (done, records, lines, excluded) = (tally.recipients, tally.records, tally.lines, tally.excluded)
                progress(
                    "\(doing): \(done)/\(prepared.recipientCount ?? done) recipients, \(records) interest records, "
                        + "\(request.investments.count) investments, \(request.guarantees.count) guarantees; \(lines) lines, \(excluded) exclusions \(kept)…")
            }
            try await storing?.value
        } catch {
            // Never leave a write running on the connection past the transaction, nor a read.
            storing?.cancel()
            reading?.cancel()
            _ = try? await storing?.value
            _ = try? await reading?.value
            throw error
        }
        return tally
    }

    /// The rules engine over a chunk; its refusal as the batch's.
    static func engine(_ request: CalculationRequest) throws(BatchError) -> CalculationResult {
        do {
            return try SubsidyEngine.compute(request)
        } catch {
            throw BatchError.invalidInput(error)
        }
    }

    /// Removes an earlier computation's lines, items, exclusions and used records.
    func clear(batch id: Int64, on connection: PostgresConnection) async throws {
        try await connection.query(
            "DELETE FROM batch_line_items WHERE batch_line_id IN (SELECT id FROM batch_lines WHERE batch_id = \(id))", logger: logger)
        try await connection.query("DELETE FROM batch_lines WHERE batch_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM batch_exclusion_sets WHERE batch_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM batch_loan_records WHERE batch_id = \(id)", logger: logger)
    }

    /// Appends a plan's lines, items, exclusions and used records (a recovery line's name is
    /// the firm's). `loanIDs` holds the database id of every loan the plan's records belong to.
    func store(
        _ plan: ComputationPlan, exclusions: [Exclusion], loanIDs: [String: Int64], batch id: Int64, on connection: PostgresConnection
    ) async throws {
        if !plan.usedRecords.isEmpty {
            // A row a loan, its records as an array (sql/018): a row and two index entries a
            // record took 1.1 s of every 5,000-firm chunk at province, this 0.1 s. The loans'
            // ids come from the read: looking them up again by bank and number was half of it.
            // The chunk's record ids go as one binary array, each loan's row taking its slice:
            // sent as a text array per loan, each was written out here and parsed by `array_in`
            // there (12 against 5 ms of a chunk's 7,500 loans on the server).
            let used = plan.usedRecords
            // Each loan's slice of the chunk's ids, 1-based and inclusive as PostgreSQL's.
            var loans: [Int64] = [], starts: [Int32] = [], ends: [Int32] = [], records: [Int64] = []
            loans.reserveCapacity(used.count)
            starts.reserveCapacity(used.count)
            ends.reserveCapacity(used.count)
            for loan in used {
                guard let loanID = loanIDs[loan.loan] else {
                    throw BatchError.invalidInput(InputError(field: "loan \(loan.loan)", message: "not among the loans read for the computation"))
                }
                let start = records.count + 1
                records.append(contentsOf: loan.records)
                guard let first = Int32(exactly: start), let last = Int32(exactly: records.count) else {
                    throw BatchError.invalidInput(InputError(field: "loan \(loan.loan)", message: "too many interest records in one chunk"))
                }
                loans.append(loanID)
                starts.append(first)
                ends.append(last)
            }
            try await connection.query(
                """
                INSERT INTO batch_loan_records (batch_id, loan_id, record_ids)
                SELECT \(id), t.l, (\(records)::bigint[])[t.s : t.e]
                FROM unnest(\(loans)::bigint[], \(starts)::int[], \(ends)::int[]) AS t(l, s, e)
                """, logger: logger)
        }
        let lines = plan.lines
        // The new lines' ids by number, for their items: joining the batch's lines by number
        // again was a hash of every line stored so far, each chunk. The items and explanation
        // go in as the text written here (sql/039): a json column parsed each to check it.
        var lineIDs: [Int: Int64] = [:]
        lineIDs.reserveCapacity(lines.count)
        let inserted = try await connection.query(
            """
            INSERT INTO batch_lines (batch_id, line_no, recipient_uscc, recipient_name, computed_fen, previously_fen, amount_fen,
                                     payment_ref, items, explanation)
            SELECT \(id), n, r, coalesce(nullif(nm, ''), (SELECT f.name FROM firms f WHERE f.uscc = r), ''), c, p, c - p, ref, i, e
            FROM unnest(\(lines.map(\.lineNo))::int[], \(lines.map(\.recipient))::text[], \(lines.map(\.recipientName))::text[],
                        \(lines.map(\.computed.fen))::bigint[], \(lines.map(\.previously.fen))::bigint[], \(lines.map(\.paymentRef))::text[],
                        \(lines.map(\.itemsJSON))::text[], \(lines.map(\.explanationJSON))::text[])
                 AS t(n, r, nm, c, p, ref, i, e)
            RETURNING line_no, id
            """, logger: logger)
        for try await row in inserted {
            var cells = RowCells(row)
            lineIDs[try cells.next(Int.self)] = try cells.next(Int64.self)
        }
        let items = plan.items
        let itemLines = try items.map { item in
            guard let line = lineIDs[item.lineNo] else {
                throw BatchError.invalidInput(InputError(field: "item \(item.id)", message: "its line \(item.lineNo) is not among the lines just stored"))
            }
            return line
        }
        if !items.isEmpty {
            try await connection.query(
                """
                INSERT INTO batch_line_items (batch_line_id, item_id, kind, amount_fen, cap_key, awarded_before_fen)
                SELECT t.line, t.item, t.kind, t.amount, t.cap, t.before
                FROM unnest(\(itemLines)::bigint[], \(items.map(\.id))::text[], \(items.map(\.kind.rawValue))::text[], \(items.map(\.amount.fen))::bigint[],
                            \(items.map(\.capKey))::text[], \(items.map(\.awardedBefore.fen))::bigint[])
                     AS t(line, item, kind, amount, cap, before)
                """, logger: logger)
        }
        // A row per recipient, kind and reason code, with its items and reasons in the engine's
        // order (sql/032): 216,052 rows a province zhuangda batch were 15,403 firms' records.
        // "Firm not qualified on <day>", nearly all of them, goes as its days, worded when read
        // (sql/037); the engine words them only when asked. The rows are formed here: the
        // server groups the items by row number, not by recipient, kind and code sent with every
        // item (in psql, a province batch's 216,052 items 371-456 → 229-248 ms). Slices of one
        // `text[]` instead took longer still: a text array is walked to reach an element.
        let sets = ExclusionSets(exclusions)
        if !sets.dated.recipients.isEmpty {
            let dated = sets.dated
            try await connection.query(
                """
                INSERT INTO batch_exclusion_sets (batch_id, recipient_uscc, kind, code, item_ids, days)
                SELECT \(id), g.u, g.k, g.c, x.i, x.d
                FROM unnest(\(dated.recipients)::text[], \(dated.kinds)::text[], \(dated.codes)::text[]) WITH ORDINALITY AS g(u, k, c, s)
                JOIN (SELECT t.s, array_agg(t.i ORDER BY t.n) AS i, array_agg(t.d ORDER BY t.n) AS d
                      FROM unnest(\(dated.items.map(\.id))::text[], \(dated.items.map { $0.notQualifiedOn! })::date[], \(dated.rowOfItem)::int[])
                           WITH ORDINALITY AS t(i, d, s, n)
                      GROUP BY t.s) x ON x.s = g.s
                """, logger: logger)
        }
        if !sets.worded.recipients.isEmpty {
            let worded = sets.worded
            try await connection.query(
                """
                INSERT INTO batch_exclusion_sets (batch_id, recipient_uscc, kind, code, item_ids, reasons, reasons_zh)
                SELECT \(id), g.u, g.k, g.c, x.i, x.r, x.z
                FROM unnest(\(worded.recipients)::text[], \(worded.kinds)::text[], \(worded.codes)::text[]) WITH ORDINALITY AS g(u, k, c, s)
                JOIN (SELECT t.s, array_agg(t.i ORDER BY t.n) AS i, array_agg(t.r ORDER BY t.n) AS r, array_agg(t.z ORDER BY t.n) AS z
                      FROM unnest(\(worded.items.map(\.id))::text[], \(worded.items.map(\.reason))::text[], \(worded.items.map(\.reasonZh))::text[],
                                  \(worded.rowOfItem)::int[]) WITH ORDINALITY AS t(i, r, z, s, n)
                      GROUP BY t.s) x ON x.s = g.s
                """, logger: logger)
        }
    }

    /// A clerk leaves a line out, with a written reason (kept in the audit log). A line already
    /// left out is refused: its amount is subtracted from the total once.
    public func exclude(_ id: Int64, recipient: String, reason: String, by user: User) async throws {
        try UserStore.require(user, .clerk)
        let trimmed = try writtenReason(reason)
        try await users.actingAs(user) { connection in
            let locked = try await lock(id, on: connection)
            _ = try BatchLifecycle.next(from: locked.state, .exclude, batch: id)
            var amount: Int64?
            for try await value in try await connection.query(
                """
                UPDATE batch_lines SET status = 'excluded', excluded_reason = \(trimmed)
                WHERE batch_id = \(id) AND recipient_uscc = \(recipient) AND status = 'active' RETURNING amount_fen
                """, logger: logger
            ).decode(Int64.self) {
                amount = value
            }
            guard let amount else {
                for try await _ in try await connection.query(
                    "SELECT 1 FROM batch_lines WHERE batch_id = \(id) AND recipient_uscc = \(recipient)", logger: logger)
                {
                    throw BatchError.alreadyExcluded(recipient)
                }
                throw BatchError.unknownRecipient(recipient)
            }
            try await expectWritten(try await connection.query(
                "UPDATE batches SET total_fen = total_fen - \(amount) WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.exclude))) RETURNING id",
                logger: logger), batch: id, action: .exclude)
            try await audit(user, "batch.exclude", batch: id, ["recipient": recipient, "reason": trimmed], on: connection)
        }
    }

    /// Starts 公示: five working days from the first working day after the business day.
    public func submit(_ id: Int64, by user: User, today: CivilDate? = nil, workingDays: Int = 5) async throws -> BatchSummary {
        try UserStore.require(user, .clerk)
        let day = try await users.businessDay(today)
        let calendar = try await BatchInputLoader(client: client, logger: logger).calendar()
        let from = calendar.lastOfWorkingDays(1, after: day)
        let until = calendar.lastOfWorkingDays(workingDays, after: day)
        try await users.actingAs(user) { connection in
            let locked = try await lock(id, on: connection)
            _ = try BatchLifecycle.next(from: locked.state, .submit, batch: id)
            try await expectWritten(try await connection.query(
                """
                UPDATE batches SET state = 'publicity', publicity_from = \(from.description)::date, publicity_until = \(until.description)::date
                WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.submit))) RETURNING id
                """, logger: logger), batch: id, action: .submit)
            try await audit(user, "batch.submit", batch: id, ["from": from.description, "until": until.description, "today": day.description], on: connection)
        }
        return try await summary(id)
    }

    /// Approves: four eyes, after 公示. In one transaction, under the program's lock (caps span
    /// years), it re-checks every line and every cross-year cap against what is approved now and
    /// the budget (`ApprovalPlanner`), freezes each line's payee, and posts the accruals.
    public func approve(_ id: Int64, by user: User, today: CivilDate? = nil) async throws -> BatchSummary {
        try UserStore.require(user, .approver)
        let day = try await users.businessDay(today)
        await refreshStatistics(beforeApproving: id)
        let head = try await users.actingAs(user) { connection in
            let lockKey = "approve:\(try await lock(id, on: connection).program.rawValue)"
            // The program lock is taken after the row lock of this batch only; every approval
            // takes them in that order, so two approvals cannot deadlock.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(lockKey)))", logger: logger)
            let batch = try await lock(id, on: connection)
            _ = try BatchLifecycle.next(from: batch.state, .approve, batch: id)
            guard batch.computedBy != user.id else { throw BatchError.sameUser(login: user.login) }
            guard let until = batch.publicityUntil, day > until else {
                throw BatchError.publicityNotOver(until: batch.publicityUntil ?? day)
            }
            let decided = try await decideApproval(batch, on: connection)
            try await freezePayees(id, on: connection)
            let entries = try await postAccruals(batch, decided, approver: user.id, on: connection)
            try await expectWritten(try await connection.query(
                """
                UPDATE batches SET state = 'approved', approved_by = \(user.id), approved_at = now()
                WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.approve))) RETURNING id
                """, logger: logger), batch: id, action: .approve)
            let head = try await ledger.head(on: connection)
            try await audit(user, "batch.approve", batch: id, [
                "total": decided.total.plain, "lines": String(decided.postings), "entries": String(entries), "today": day.description,
                "ledgerHead": head?.description ?? "",
            ], on: connection)
            return head
        }
        logger.info("batch approved", metadata: ["batch": "\(id)", "ledgerHead": "\(head?.description ?? "")"])
        return try await summary(id)
    }

    /// What approval decides on, read under the locks and checked as it is read
    /// (`ApprovalCheck`), so that no line is held: each active line with what other batches grant
    /// its recipient now, each cross-year cap item with what other years grant now, the
    /// per-recipient cap of the policy in force, and the budget with what it has spent.
    /// The grants are summed once per recipient and per cap key and joined, not looked up per
    /// line: a subquery per row made approval's time depend on the planner's guess of the
    /// batch's size (minutes with a stale guess at province scale).
    func decideApproval(_ batch: LockedBatch, on connection: PostgresConnection) async throws -> ApprovalCheck {
        let program = batch.program.rawValue
        let policy = try await BatchInputLoader(client: client, logger: logger).policyDocument().version(forYear: batch.year)
        let resolved = try ResolvedPolicy(version: policy, program: batch.program, overrides: [:])
        let firmCap: Money? = switch batch.program {
        case .zhuangda: resolved.zhuangdaFirmCap
        case .xinyidai: resolved.xinyidaiFirmCap
        case .equity: resolved.equityInvestorCap
        case .guarantee: resolved.guaranteeFirmCap
        case .fund: nil
        }
        var check = ApprovalCheck(program: batch.program, year: batch.year, firmCap: firmCap)
        // The rows are read to their end even after a refusal, which is thrown once the
        // connection is free again; the first refusal in line order is the one reported.
        var refusal: (any Error)?
        func noting(_ step: () throws -> Void) {
            guard refusal == nil else { return }
            do { try step() } catch { refusal = error }
        }
        for try await (recipient, previously, amount, granted) in try await connection.query(
            """
            SELECT bl.recipient_uscc::text, bl.previously_fen, bl.amount_fen, coalesce(o.fen, 0)::bigint
            FROM batch_lines bl
            LEFT JOIN (SELECT g.recipient_uscc, sum(g.amount_fen) AS fen FROM granted_lines g
                       WHERE g.program = \(program) AND g.year = \(batch.year) AND g.batch_id <> \(batch.id)
                       GROUP BY g.recipient_uscc) o ON o.recipient_uscc = bl.recipient_uscc
            WHERE bl.batch_id = \(batch.id) AND bl.status = 'active' ORDER BY bl.line_no
            """, logger: logger
        ).decode((String, Int64, Int64, Int64).self) {
            noting { try check.add(ApprovalLine(recipient: recipient, previously: Money(fen: previously), amount: Money(fen: amount), grantedNow: Money(fen: granted))) }
        }
        if let refusal { throw refusal }
        for try await (key, before, granted) in try await connection.query(
            """
            SELECT i.cap_key, i.awarded_before_fen, coalesce(o.fen, 0)::bigint
            FROM batch_line_items i JOIN batch_lines bl ON bl.id = i.batch_line_id
            LEFT JOIN (SELECT g.cap_key, sum(g.amount_fen) AS fen FROM granted_items g
                       WHERE g.program = \(program) AND g.year <> \(batch.year) AND g.cap_key IS NOT NULL
                       GROUP BY g.cap_key) o ON o.cap_key = i.cap_key
            WHERE bl.batch_id = \(batch.id) AND bl.status = 'active' AND i.cap_key IS NOT NULL
            ORDER BY bl.line_no, i.item_id
            """, logger: logger
        ).decode((String, Int64, Int64).self) {
            noting { try ApprovalCheck.check(ApprovalCapItem(capKey: key, computedWith: Money(fen: before), grantedNow: Money(fen: granted))) }
        }
        if let refusal { throw refusal }
        var budget: Money?
        var budgetUsed = Money.zero
        for try await (amount, used) in try await connection.query(
            """
            SELECT b.amount_fen, coalesce((SELECT sum(g.amount_fen) FROM granted_lines g WHERE g.program = b.program AND g.year = b.year), 0)::bigint
            FROM budgets b WHERE b.program = \(program) AND b.year = \(batch.year)
            """, logger: logger
        ).decode((Int64, Int64).self) {
            budget = Money(fen: amount)
            budgetUsed = Money(fen: used)
        }
        try check.finish(budget: budget, budgetUsed: budgetUsed)
        return check
    }

    /// Posts the accruals (and recoveries) of the active lines whose amount is not zero, in line
    /// order, `accrualChunk` lines at a time: an accrual entry and a recovery entry per chunk with
    /// a journal line per batch line (`ApprovalPlanner.accruals`). What it posts must be what
    /// `decided` checked: the batch row is locked, so its lines cannot change between the two
    /// reads, and a difference is refused. Returns how many entries it posted.
    func postAccruals(_ batch: LockedBatch, _ decided: ApprovalCheck, approver: Int64, on connection: PostgresConnection) async throws -> Int {
        var after = Int.min
        var (entries, posted, total) = (0, 0, Money.zero)
        while true {
            var chunk: [ApprovalPlanner.Accrued] = []
            for try await (lineNo, recipient, amount) in try await connection.query(
                """
                SELECT line_no, recipient_uscc::text, amount_fen FROM batch_lines
                WHERE batch_id = \(batch.id) AND status = 'active' AND amount_fen <> 0 AND line_no > \(after)
                ORDER BY line_no LIMIT \(max(1, accrualChunk))
                """, logger: logger
            ).decode((Int, String, Int64).self) {
                after = lineNo
                total += Money(fen: amount)
                chunk.append(ApprovalPlanner.Accrued(lineNo: lineNo, recipient: recipient, amount: Money(fen: amount)))
            }
            guard !chunk.isEmpty else { break }
            let accruals = try ApprovalPlanner.accruals(batch: batch.id, program: batch.program, year: batch.year, approver: approver, lines: chunk)
            try await ledger.post(accruals, on: connection)
            entries += accruals.count
            posted += chunk.count
        }
        guard posted == decided.postings, total == decided.total else {
            throw BatchError.transitionLost(batch: batch.id, action: BatchAction.approve.rawValue)
        }
        return entries
    }

    /// Copies each active line's payee (name, account, bank) from the firm as it is now onto the
    /// line: from here on the payment file and the matcher read only the line. A line that pays
    /// money needs an account on file.
    func freezePayees(_ id: Int64, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE batch_lines bl SET payee_name = coalesce(f.account_name, bl.recipient_name), payee_account = f.account_no, payee_bank = f.account_bank
            FROM firms f WHERE f.uscc = bl.recipient_uscc AND bl.batch_id = \(id) AND bl.status = 'active'
            """, logger: logger)
        var missing: [String] = []
        for try await recipient in try await connection.query(
            """
            SELECT recipient_uscc::text FROM batch_lines
            WHERE batch_id = \(id) AND status = 'active' AND amount_fen > 0 AND coalesce(payee_account, '') = '' ORDER BY line_no
            """, logger: logger
        ).decode(String.self) {
            missing.append(recipient)
        }
        guard missing.isEmpty else { throw BatchError.missingAccount(missing) }
    }

    /// Closes a batch whose lines reconciliation has all found paid: the end of its lifecycle.
    public func close(_ id: Int64, by user: User) async throws -> BatchSummary {
        try UserStore.require(user, .approver)
        try await simpleTransition(id, .close, by: user, detail: [:])
        return try await summary(id)
    }

    /// 退回: an approver returns a batch in 公示 to the clerk with a written reason; never the
    /// user who computed it (the same four eyes as approval). 公示 ends; the clerk recomputes or
    /// excludes and submits again.
    public func sendBack(_ id: Int64, by user: User, reason: String) async throws {
        try UserStore.require(user, .approver)
        let trimmed = try writtenReason(reason)
        try await users.actingAs(user) { connection in
            let locked = try await lock(id, on: connection)
            _ = try BatchLifecycle.next(from: locked.state, .sendBack, batch: id)
            guard locked.computedBy != user.id else { throw BatchError.sameUser(login: user.login) }
            try await expectWritten(try await connection.query(
                """
                UPDATE batches SET state = 'computed', publicity_from = NULL, publicity_until = NULL
                WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.sendBack))) RETURNING id
                """, logger: logger), batch: id, action: .sendBack)
            try await audit(user, "batch.send_back", batch: id, ["reason": trimmed], on: connection)
        }
    }

    /// Cancels a batch before approval, with a written reason.
    public func cancel(_ id: Int64, by user: User, reason: String) async throws {
        try UserStore.require(user, .clerk)
        try await simpleTransition(id, .cancel, by: user, detail: ["reason": try writtenReason(reason)])
    }

    func simpleTransition(_ id: Int64, _ action: BatchAction, by user: User, detail: [String: String]) async throws {
        try await users.actingAs(user) { connection in
            let locked = try await lock(id, on: connection)
            let next = try BatchLifecycle.next(from: locked.state, action, batch: id)
            try await expectWritten(try await connection.query(
                "UPDATE batches SET state = \(next.rawValue) WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(action))) RETURNING id",
                logger: logger), batch: id, action: action)
            try await audit(user, "batch.\(action.rawValue)", batch: id, detail, on: connection)
        }
    }

    /// The batch's lines. Before approval the payee shown is the firm's current account (what
    /// approval will freeze); from approval on, the frozen one.
    public func lines(_ id: Int64, explanations: Bool = true) async throws -> [BatchLine] {
        try await lines(id, explanations: explanations, on: nil)
    }

    /// Line `number` of the batch, read alone (a page or voucher for one line of a large batch).
    public func line(_ id: Int64, number: Int) async throws -> BatchLine? {
        try await lines(id, number: number, on: nil).first
    }

    /// Without `explanations` (exports, vouchers of a whole batch) the lines leave their
    /// explanations, a few kB each, in the database: a nation-scale batch's would not fit in memory.
    func lines(_ id: Int64, number: Int? = nil, explanations: Bool = true, on connection: PostgresConnection?) async throws -> [BatchLine] {
        var result: [BatchLine] = []
        try await eachLine(id, number: number, explanations: explanations, on: connection) { result.append($0) }
        return result
    }

    /// Which of a batch's lines a read wants.
    enum LineSelection: String {
        case all
        /// The lines an exported table carries (`BatchExport.TableWriter.carries` decides; the
        /// query's condition only spares reading the others).
        case payment, publicity
        /// The lines a voucher is printed for: not excluded, paying money.
        case voucher
    }

    /// The batch's lines one at a time, in line order, as the database streams them: those of
    /// `selection`, from the `offset`-th on, at most `limit` of them.
    func eachLine(
        _ id: Int64, number: Int? = nil, explanations: Bool, selection: LineSelection = .all, limit: Int? = nil, offset: Int = 0,
        on connection: PostgresConnection?, _ body: (BatchLine) async throws -> Void
    ) async throws {
        let query: PostgresQuery = """
            SELECT bl.line_no, bl.recipient_uscc, bl.recipient_name, bl.computed_fen, bl.previously_fen, bl.amount_fen, bl.status,
                   bl.excluded_reason, bl.payment_ref,
                   CASE WHEN bl.payee_name IS NOT NULL THEN bl.payee_name ELSE f.account_name END,
                   CASE WHEN bl.payee_name IS NOT NULL THEN bl.payee_account ELSE f.account_no END,
                   CASE WHEN bl.payee_name IS NOT NULL THEN bl.payee_bank ELSE f.account_bank END,
                   bl.payee_name IS NOT NULL, CASE WHEN \(explanations) THEN bl.explanation::text ELSE '[]' END
            FROM batch_lines bl LEFT JOIN firms f ON f.uscc = bl.recipient_uscc
            WHERE bl.batch_id = \(id) AND (\(number)::int IS NULL OR bl.line_no = \(number))
              AND CASE \(selection.rawValue)::text WHEN 'payment' THEN bl.status IN ('active', 'returned') AND bl.amount_fen > 0
                                                   WHEN 'publicity' THEN bl.status <> 'excluded' AND bl.computed_fen > 0
                                                   WHEN 'voucher' THEN bl.status <> 'excluded' AND bl.amount_fen > 0 ELSE true END
            ORDER BY bl.line_no LIMIT \(limit) OFFSET \(offset)
            """
        let rows = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        for try await (no, recipient, name, computed, previously, amount, status, reason, ref, accountName, accountNo, bank, frozen, explanation) in rows.decode(
            (Int, String, String, Int64, Int64, Int64, String, String?, String, String?, String?, String?, Bool, String).self)
        {
            try await body(BatchLine(
                lineNo: no, recipient: recipient, recipientName: name, computed: Money(fen: computed), previously: Money(fen: previously),
                amount: Money(fen: amount), status: status, excludedReason: reason, paymentRef: ref, accountName: accountName,
                accountNo: accountNo, accountBank: bank, payeeFrozen: frozen,
                explanation: try ExplanationStep.readableJSON(stored: explanation)))
        }
    }

    /// One page of the batch's vouchers: the lines that pay money and are not excluded, in line
    /// order from the `offset`-th, at most `limit`; and the count and total of all of them. A
    /// province batch printed whole was 87,475 vouchers in one page of 80 MB, and took the server
    /// past 500 MB to render.
    public func voucherLines(_ id: Int64, limit: Int, offset: Int) async throws -> (lines: [BatchLine], count: Int, total: Money) {
        var lines: [BatchLine] = []
        try await eachLine(id, explanations: false, selection: .voucher, limit: limit, offset: offset, on: nil) { lines.append($0) }
        var (count, total) = (0, Money.zero)
        for try await (rows, fen) in try await client.query(
            "SELECT count(*)::int, coalesce(sum(amount_fen), 0)::bigint FROM batch_lines WHERE batch_id = \(id) AND status <> 'excluded' AND amount_fen > 0",
            logger: logger
        ).decode((Int, Int64).self) {
            (count, total) = (rows, Money(fen: fen))
        }
        return (lines, count, total)
    }

    /// Marks the batch exported: from here on its payment file can be downloaded. Every line
    /// still waiting for money must have its payee frozen at approval, with an account. Reads no
    /// line into memory: the files are written afterwards by `exportTable`.
    @discardableResult
    public func markExported(_ id: Int64, by user: User) async throws -> BatchSummary {
        try UserStore.require(user, .clerk)
        try await users.actingAs(user) { connection in
            let locked = try await lock(id, on: connection)
            _ = try BatchLifecycle.next(from: locked.state, .export, batch: id)
            var payable = 0
            var unpayable: [String] = []
            // The lines `BatchExport.isPayable` carries (as `eachLine`'s payment selection), two
            // columns each: reading them as whole lines added 0.4 s to a province export.
            for try await (recipient, frozenWithAccount) in try await connection.query(
                """
                SELECT recipient_uscc::text, payee_name IS NOT NULL AND coalesce(payee_account, '') <> '' FROM batch_lines
                WHERE batch_id = \(id) AND status IN ('active', 'returned') AND amount_fen > 0 ORDER BY line_no
                """, logger: logger
            ).decode((String, Bool).self) {
                payable += 1
                if !frozenWithAccount { unpayable.append(recipient) }
            }
            guard unpayable.isEmpty else { throw BatchError.missingAccount(unpayable) }
            try await expectWritten(try await connection.query(
                """
                UPDATE batches SET state = 'exported', exported_at = coalesce(exported_at, now())
                WHERE id = \(id) AND state = ANY(\(BatchLifecycle.allowedNames(.export))) RETURNING id
                """, logger: logger), batch: id, action: .export)
            let head = try await ledger.head(on: connection)
            try await audit(user, "batch.export", batch: id, ["lines": String(payable), "ledgerHead": head?.description ?? ""], on: connection)
        }
        return try await summary(id)
    }

    /// Writes one exported table of the batch row by row into `write`: its header, each line it
    /// carries in line order, and its closing row (the payment file's total; the 公示 list's ledger
    /// head, read now). A batch of any size is written with one line in memory.
    public func exportTable(_ kind: BatchExport.Kind, batch: BatchSummary, write: ([BatchExport.Cell]) async throws -> Void) async throws {
        var table = BatchExport.TableWriter(kind, batch: batch, ledgerHead: kind == .publicity ? try await ledger.head(client) : nil)
        try await write(table.header)
        try await eachLine(batch.id, explanations: false, selection: kind == .payment ? .payment : .publicity, on: nil) { line in
            if let row = table.row(line) { try await write(row) }
        }
        try await write(table.closing)
    }

    /// `exportTable` into a CSV file at `path` (`BatchExport.CSVFile`: UTF-8 with its BOM), created
    /// or emptied: the command's files and the web's CSV downloads.
    public func exportCSV(_ kind: BatchExport.Kind, batch: BatchSummary, to path: String) async throws {
        let file = try BatchExport.CSVFile(path: path)
        try await exportTable(kind, batch: batch) { try file.write($0) }
        try file.close()
    }

    /// Marks the batch exported and returns the payment file for the agent bank and the 公示
    /// list as CSV text. The payment file holds the lines still waiting for money (never a paid
    /// one; a returned one again, for re-issue), with the payee frozen at approval. For a batch of
    /// any size, `markExported` and `exportCSV`.
    public func export(_ id: Int64, by user: User) async throws -> (payment: String, publicity: String) {
        let batch = try await markExported(id, by: user)
        var files: [BatchExport.Kind: String] = [:]
        for kind in BatchExport.Kind.allCases {
            var table: [[BatchExport.Cell]] = []
            try await exportTable(kind, batch: batch) { table.append($0) }
            files[kind] = BatchExport.csv(table)
        }
        return (files[.payment] ?? "", files[.publicity] ?? "")
    }

    /// Sets the budget (专项资金) of a program-year (admin; the change is audited).
    public func setBudget(program: Program, year: Int, amount: Money, source: String, by user: User) async throws {
        try UserStore.require(user, .admin)
        try await users.actingAs(user) { connection in
            try await connection.query(
                """
                INSERT INTO budgets (program, year, amount_fen, source) VALUES (\(program.rawValue), \(year), \(amount.fen), \(source))
                ON CONFLICT (program, year) DO UPDATE SET amount_fen = excluded.amount_fen, source = excluded.source
                """, logger: logger)
            try await UserStore.audit(
                actor: user.id, action: "budget.set", subject: "budget:\(program.rawValue):\(year)", detail: ["amount": amount.plain, "source": source],
                on: connection, logger: logger)
        }
    }
}
