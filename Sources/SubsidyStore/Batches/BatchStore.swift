import Foundation
import HummingbirdBcrypt
public import Logging
public import PostgresNIO
public import SubsidyRules

/// Subsidy batches in PostgreSQL: compute with the rules engine, 公示, approve with four eyes,
/// export. Every batch computes its program-year (and district) whole, with the same engine as the
/// calculator, and each line pays the difference from what approved batches already granted the
/// recipient — so a supplementary batch pays only the difference, and a lower award becomes a
/// recovery (应收) line.
public struct BatchStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    let ledger: Ledger

    /// Batch states whose lines count as granted.
    static let grantedStates = "('approved', 'exported', 'paid', 'closed')"

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.ledger = Ledger(logger: logger)
    }


    // MARK: Users

    /// Adds a user with a bcrypt-hashed password; returns its id.
    @discardableResult
    public func addUser(login: String, displayName: String, password: String, roles: Set<Role>, cost: UInt8 = 12) async throws -> Int64 {
        let hash = Bcrypt.hash(password, cost: cost)
        let roleNames = roles.map(\.rawValue).sorted()
        var id: Int64 = 0
        for try await value in try await client.query(
            "INSERT INTO users (login, display_name, password_hash, roles) VALUES (\(login), \(displayName), \(hash), \(roleNames)) RETURNING id",
            logger: logger
        ).decode(Int64.self) {
            id = value
        }
        try await audit(actor: id, action: "user.add", subject: "user:\(login)", detail: ["roles": roleNames.joined(separator: ",")])
        return id
    }

    /// The active user `login`, checking `password` when given.
    public func user(_ login: String, password: String? = nil) async throws -> User {
        let rows = try await client.query(
            "SELECT id, login, display_name, roles, password_hash FROM users WHERE login = \(login) AND active", logger: logger)
        for try await (id, login, name, roles, hash) in rows.decode((Int64, String, String, [String], String).self) {
            if let password, !Bcrypt.verify(password, hash: hash) { throw BatchError.badPassword(login) }
            return User(id: id, login: login, displayName: name, roles: Set(roles.compactMap(Role.init(rawValue:))))
        }
        throw BatchError.unknownUser(login)
    }

    func require(_ user: User, _ role: Role) throws {
        guard user.roles.contains(role) || user.roles.contains(.admin) else { throw BatchError.missingRole(login: user.login, role: role) }
    }

    func audit(actor: Int64?, action: String, subject: String, detail: [String: String], on connection: PostgresConnection? = nil) async throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]), as: UTF8.self)
        let query: PostgresQuery = "INSERT INTO audit_log (actor, action, subject, detail) VALUES (\(actor), \(action), \(subject), \(json)::jsonb)"
        if let connection {
            try await connection.query(query, logger: logger)
        } else {
            try await client.query(query, logger: logger)
        }
    }

    // MARK: Lifecycle

    public func create(program: Program, year: Int, district: String?, by user: User) async throws -> Int64 {
        try require(user, .clerk)
        var id: Int64 = 0
        for try await value in try await client.query(
            "INSERT INTO batches (program, year, district, created_by) VALUES (\(program.rawValue), \(year), \(district), \(user.id)) RETURNING id",
            logger: logger
        ).decode(Int64.self) {
            id = value
        }
        try await audit(actor: user.id, action: "batch.create", subject: "batch:\(id)", detail: ["program": program.rawValue, "year": String(year)])
        return id
    }

    public func summary(_ id: Int64) async throws -> BatchSummary {
        let rows = try await client.query(
            """
            SELECT b.program, b.year, b.district, b.state, b.total_fen, b.publicity_from::text, b.publicity_until::text,
                   b.computed_by, b.approved_by,
                   (SELECT count(*) FROM batch_lines WHERE batch_id = b.id)::int,
                   (SELECT count(*) FROM batch_exclusions WHERE batch_id = b.id)::int
            FROM batches b WHERE b.id = \(id)
            """, logger: logger)
        for try await (program, year, district, state, total, from, until, computedBy, approvedBy, lines, excluded) in rows.decode(
            (String, Int, String?, String, Int64, String?, String?, Int64?, Int64?, Int, Int).self)
        {
            return BatchSummary(
                id: id, program: Program(rawValue: program)!, year: year, district: district, state: BatchState(rawValue: state)!,
                totalFen: total, lines: lines, excludedItems: excluded,
                publicityFrom: from.flatMap { try? CivilDate.parse($0, field: "") },
                publicityUntil: until.flatMap { try? CivilDate.parse($0, field: "") },
                computedBy: computedBy, approvedBy: approvedBy)
        }
        throw BatchError.notFound(id)
    }

    func expectState(_ summary: BatchSummary, _ allowed: Set<BatchState>, action: String) throws {
        guard allowed.contains(summary.state) else { throw BatchError.wrongState(batch: summary.id, state: summary.state, action: action) }
    }

    /// Runs the engine over the batch's program-year and stores its lines, items and exclusions,
    /// replacing an earlier computation. Allowed until approval.
    public func compute(
        _ id: Int64, by user: User, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> BatchSummary {
        try require(user, .clerk)
        let batch = try await summary(id)
        try expectState(batch, [.draft, .computed, .publicity], action: "compute")
        let loader = BatchInputLoader(client: client, logger: logger)
        let policyDocument = try await loader.policyDocument()
        progress("读取数据 loading \(batch.program.rawValue) \(batch.year)\(batch.district.map { " \($0)" } ?? "")…")
        let request = try await loader.request(program: batch.program, year: batch.year, district: batch.district, policy: policyDocument)
        let records = request.loans.reduce(0) { $0 + $1.interest.count }
        progress("测算 computing: \(request.firms.count) firms, \(request.loans.count) loans, \(records) interest records, \(request.investments.count) investments, \(request.guarantees.count) guarantees…")
        let result: CalculationResult
        do {
            result = try SubsidyEngine.compute(request)
        } catch {
            throw BatchError.invalidInput(error)
        }
        let previously = try await loader.granted(program: batch.program, year: batch.year, excluding: id)

        var lines = (no: [Int](), recipient: [String](), name: [String](), computed: [Int64](), previously: [Int64](),
                     ref: [String](), items: [String](), explanation: [String]())
        var itemRows = (line: [Int](), id: [String](), kind: [String](), amount: [Int64]())
        var recipients = result.awards.map(\.recipient)
        // A recipient granted earlier but owed nothing now still gets a line: its recovery.
        for recipient in previously.keys.sorted() where !recipients.contains(recipient) { recipients.append(recipient) }
        let awards = Dictionary(uniqueKeysWithValues: result.awards.map { ($0.recipient, $0) })
        for (index, recipient) in recipients.enumerated() {
            let award = awards[recipient]
            let lineNo = index + 1
            lines.no.append(lineNo)
            lines.recipient.append(recipient)
            lines.name.append(request.firms[recipient]?.name ?? award?.recipientName ?? "")
            lines.computed.append(award?.amount.fen ?? 0)
            lines.previously.append(previously[recipient]?.fen ?? 0)
            lines.ref.append(PaymentReference.make(program: batch.program, year: batch.year, batch: id, line: lineNo))
            lines.items.append(JSONValue.array((award?.items ?? []).map {
                .object([("id", .string($0.id)), ("kind", .string($0.kind.rawValue)), ("amount", .string($0.amount.plain))])
            }).serialized())
            let explanation = award.map { JSONValue.array($0.explanationJSON) } ?? .array([])
            lines.explanation.append(explanation.serialized())
            for item in award?.items ?? [] {
                itemRows.line.append(lineNo)
                itemRows.id.append(item.id)
                itemRows.kind.append(item.kind.rawValue)
                itemRows.amount.append(item.amount.fen)
            }
        }
        // The interest records the award rests on ("R<id>"), so that a later re-sent version is
        // recognised as a correction of a paid record.
        let usedRecords = result.awards.flatMap { $0.items.flatMap(\.records) }.compactMap { Int64($0.dropFirst()) }
        let total = zip(lines.computed, lines.previously).reduce(Int64(0)) { $0 + $1.0 - $1.1 }
        let exclusions = result.excluded
        progress("保存 storing \(recipients.count) lines, \(itemRows.id.count) items, \(exclusions.count) exclusions…")
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT id FROM batches WHERE id = \(id) FOR UPDATE", logger: logger)
            try await connection.query(
                "DELETE FROM batch_line_items WHERE batch_line_id IN (SELECT id FROM batch_lines WHERE batch_id = \(id))", logger: logger)
            try await connection.query("DELETE FROM batch_lines WHERE batch_id = \(id)", logger: logger)
            try await connection.query("DELETE FROM batch_exclusions WHERE batch_id = \(id)", logger: logger)
            try await connection.query("DELETE FROM batch_records WHERE batch_id = \(id)", logger: logger)
            try await connection.query(
                "INSERT INTO batch_records (batch_id, record_id) SELECT \(id), r FROM unnest(\(usedRecords)::bigint[]) AS t(r)", logger: logger)
            try await connection.query(
                """
                INSERT INTO batch_lines (batch_id, line_no, recipient_uscc, recipient_name, computed_fen, previously_fen, amount_fen,
                                         payment_ref, items, explanation)
                SELECT \(id), n, r, nm, c, p, c - p, ref, i::jsonb, e::jsonb
                FROM unnest(\(lines.no)::int[], \(lines.recipient)::text[], \(lines.name)::text[], \(lines.computed)::bigint[],
                            \(lines.previously)::bigint[], \(lines.ref)::text[], \(lines.items)::text[], \(lines.explanation)::text[])
                     AS t(n, r, nm, c, p, ref, i, e)
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO batch_line_items (batch_line_id, item_id, kind, amount_fen)
                SELECT bl.id, t.item, t.kind, t.amount
                FROM unnest(\(itemRows.line)::int[], \(itemRows.id)::text[], \(itemRows.kind)::text[], \(itemRows.amount)::bigint[])
                     AS t(n, item, kind, amount)
                JOIN batch_lines bl ON bl.batch_id = \(id) AND bl.line_no = t.n
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO batch_exclusions (batch_id, item_id, kind, code, reason, reason_zh, recipient_uscc)
                SELECT \(id), i, k, c, r, z, u
                FROM unnest(\(exclusions.map(\.id))::text[], \(exclusions.map(\.kind.rawValue))::text[], \(exclusions.map(\.code))::text[],
                            \(exclusions.map(\.reason))::text[], \(exclusions.map(\.reasonZh))::text[], \(exclusions.map(\.recipient))::text[])
                     AS t(i, k, c, r, z, u)
                """, logger: logger)
            try await connection.query(
                """
                UPDATE batches SET state = 'computed', computed_by = \(user.id), computed_at = now(), total_fen = \(total),
                       policy_version = \(result.policyVersion), publicity_from = NULL, publicity_until = NULL
                WHERE id = \(id)
                """, logger: logger)
            try await audit(
                actor: user.id, action: "batch.compute", subject: "batch:\(id)",
                detail: ["lines": String(recipients.count), "total": Money(fen: total).plain, "excluded": String(exclusions.count)],
                on: connection)
        }
        return try await summary(id)
    }

    /// A clerk leaves a line out, with a written reason (kept in the audit log).
    public func exclude(_ id: Int64, recipient: String, reason: String, by user: User) async throws {
        try require(user, .clerk)
        let batch = try await summary(id)
        try expectState(batch, [.computed, .publicity], action: "exclude a line")
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw BatchError.invalidInput(InputError(field: "reason", message: "a written reason is required")) }
        try await client.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                "UPDATE batch_lines SET status = 'excluded', excluded_reason = \(trimmed) WHERE batch_id = \(id) AND recipient_uscc = \(recipient) RETURNING amount_fen",
                logger: logger)
            var amount: Int64?
            for try await value in rows.decode(Int64.self) { amount = value }
            guard let amount else { throw BatchError.unknownRecipient(recipient) }
            try await connection.query("UPDATE batches SET total_fen = total_fen - \(amount) WHERE id = \(id)", logger: logger)
            try await audit(actor: user.id, action: "batch.exclude", subject: "batch:\(id)", detail: ["recipient": recipient, "reason": trimmed], on: connection)
        }
    }

    /// Starts 公示: five working days from the first working day after `today`.
    public func submit(_ id: Int64, by user: User, today: CivilDate, workingDays: Int = 5) async throws -> BatchSummary {
        try require(user, .clerk)
        let batch = try await summary(id)
        try expectState(batch, [.computed], action: "submit for publicity")
        let calendar = try await BatchInputLoader(client: client, logger: logger).calendar()
        let from = calendar.lastOfWorkingDays(1, after: today)
        let until = calendar.lastOfWorkingDays(workingDays, after: today)
        try await client.query(
            "UPDATE batches SET state = 'publicity', publicity_from = \(from.description)::date, publicity_until = \(until.description)::date WHERE id = \(id)",
            logger: logger)
        try await audit(actor: user.id, action: "batch.submit", subject: "batch:\(id)", detail: ["from": from.description, "until": until.description])
        return try await summary(id)
    }

    /// Approves: four eyes, after 公示; in one transaction, serialised per program-year, it re-checks
    /// every line against what is approved now (stale lines and caps), checks the budget, and posts
    /// the accrual entries (expense ↔ payable; receivable for recoveries).
    public func approve(_ id: Int64, by user: User, today: CivilDate) async throws -> BatchSummary {
        try require(user, .approver)
        let batch = try await summary(id)
        try expectState(batch, [.publicity], action: "approve")
        guard batch.computedBy != user.id else { throw BatchError.sameUser(login: user.login) }
        if let until = batch.publicityUntil, today <= until { throw BatchError.publicityNotOver(until: until) }
        let policy = try await BatchInputLoader(client: client, logger: logger).policyDocument().version(forYear: batch.year)
        let resolved = try ResolvedPolicy(version: policy, program: batch.program, overrides: [:])
        let cap: Money? = switch batch.program {
        case .zhuangda: resolved.zhuangdaFirmCap
        case .xinyidai: resolved.xinyidaiFirmCap
        case .equity: resolved.equityInvestorCap
        case .guarantee: resolved.guaranteeFirmCap
        case .fund: nil
        }
        let lockKey = "approve:\(batch.program.rawValue):\(batch.year)"
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(lockKey)))", logger: logger)
            // Re-read the state under the lock: a concurrent approval of this very batch loses here.
            var state = ""
            for try await value in try await connection.query("SELECT state FROM batches WHERE id = \(id) FOR UPDATE", logger: logger).decode(String.self) {
                state = value
            }
            guard state == BatchState.publicity.rawValue else {
                throw BatchError.wrongState(batch: id, state: BatchState(rawValue: state) ?? .cancelled, action: "approve")
            }
            let rows = try await connection.query(
                """
                SELECT bl.recipient_uscc, bl.previously_fen, bl.amount_fen,
                       coalesce((SELECT sum(o.amount_fen) FROM batch_lines o JOIN batches ob ON ob.id = o.batch_id
                                 WHERE ob.program = \(batch.program.rawValue) AND ob.year = \(batch.year) AND ob.id <> \(id)
                                   AND ob.state IN \(unescaped: BatchStore.grantedStates) AND o.status <> 'excluded'
                                   AND o.recipient_uscc = bl.recipient_uscc), 0)::bigint
                FROM batch_lines bl WHERE bl.batch_id = \(id) AND bl.status = 'active' ORDER BY bl.line_no
                """, logger: logger)
            var entries: [NewJournalEntry] = []
            var batchTotal = Money.zero
            for try await (recipient, previouslyFen, amountFen, grantedFen) in rows.decode((String, Int64, Int64, Int64).self) {
                let amount = Money(fen: amountFen)
                let granted = Money(fen: grantedFen)
                if let cap, amount > .zero, granted + amount > cap {
                    throw BatchError.capExceeded(recipient: recipient, approved: granted, line: amount, cap: cap)
                }
                guard granted.fen == previouslyFen else {
                    throw BatchError.stale(recipient: recipient, computedWith: Money(fen: previouslyFen), nowApproved: granted)
                }
                batchTotal += amount
                if amount > .zero {
                    entries.append(NewJournalEntry(kind: .accrual, memo: "batch \(id) \(batch.program.rawValue) \(batch.year) \(recipient)", batchID: id, createdBy: user.id, lines: [
                        LedgerLine(.expense(batch.program, batch.year), amount), LedgerLine(.payable(recipient), Money(fen: -amount.fen)),
                    ]))
                } else if amount < .zero {
                    entries.append(NewJournalEntry(kind: .recovery, memo: "batch \(id) recovery \(batch.program.rawValue) \(batch.year) \(recipient)", batchID: id, createdBy: user.id, lines: [
                        LedgerLine(.receivable(recipient), Money(fen: -amount.fen)), LedgerLine(.expense(batch.program, batch.year), amount),
                    ]))
                }
            }
            var budget: Money?
            var approvedTotal = Money.zero
            for try await (amount, approved) in try await connection.query(
                """
                SELECT b.amount_fen,
                       coalesce((SELECT sum(o.amount_fen) FROM batch_lines o JOIN batches ob ON ob.id = o.batch_id
                                 WHERE ob.program = b.program AND ob.year = b.year AND ob.state IN \(unescaped: BatchStore.grantedStates)
                                   AND o.status <> 'excluded'), 0)::bigint
                FROM budgets b WHERE b.program = \(batch.program.rawValue) AND b.year = \(batch.year)
                """, logger: logger
            ).decode((Int64, Int64).self) {
                budget = Money(fen: amount)
                approvedTotal = Money(fen: approved)
            }
            guard let budget else { throw BatchError.noBudget(program: batch.program, year: batch.year) }
            guard approvedTotal + batchTotal <= budget else {
                throw BatchError.budgetExceeded(approved: approvedTotal, batch: batchTotal, budget: budget)
            }
            try await ledger.post(entries, on: connection)
            try await connection.query(
                "UPDATE batches SET state = 'approved', approved_by = \(user.id), approved_at = now() WHERE id = \(id)", logger: logger)
            try await audit(
                actor: user.id, action: "batch.approve", subject: "batch:\(id)",
                detail: ["total": batchTotal.plain, "entries": String(entries.count)], on: connection)
        }
        return try await summary(id)
    }

    /// Closes a batch whose lines reconciliation has all found paid: the end of its lifecycle.
    public func close(_ id: Int64, by user: User) async throws -> BatchSummary {
        try require(user, .approver)
        let batch = try await summary(id)
        try expectState(batch, [.paid], action: "close (every payable line must be paid first)")
        try await client.query("UPDATE batches SET state = 'closed' WHERE id = \(id) AND state = 'paid'", logger: logger)
        try await audit(actor: user.id, action: "batch.close", subject: "batch:\(id)", detail: [:])
        return try await summary(id)
    }

    public func cancel(_ id: Int64, by user: User, reason: String) async throws {
        try require(user, .clerk)
        let batch = try await summary(id)
        try expectState(batch, [.draft, .computed, .publicity], action: "cancel (only before approval)")
        try await client.query("UPDATE batches SET state = 'cancelled' WHERE id = \(id)", logger: logger)
        try await audit(actor: user.id, action: "batch.cancel", subject: "batch:\(id)", detail: ["reason": reason])
    }

    public func lines(_ id: Int64) async throws -> [BatchLine] {
        let rows = try await client.query(
            """
            SELECT bl.line_no, bl.recipient_uscc, bl.recipient_name, bl.computed_fen, bl.previously_fen, bl.amount_fen, bl.status,
                   bl.excluded_reason, bl.payment_ref, f.account_name, f.account_no, f.account_bank, bl.explanation::text
            FROM batch_lines bl LEFT JOIN firms f ON f.uscc = bl.recipient_uscc
            WHERE bl.batch_id = \(id) ORDER BY bl.line_no
            """, logger: logger)
        var result: [BatchLine] = []
        for try await (no, recipient, name, computed, previously, amount, status, reason, ref, accountName, accountNo, bank, explanation) in rows.decode(
            (Int, String, String, Int64, Int64, Int64, String, String?, String, String?, String?, String?, String).self)
        {
            result.append(BatchLine(
                lineNo: no, recipient: recipient, recipientName: name, computed: Money(fen: computed), previously: Money(fen: previously),
                amount: Money(fen: amount), status: status, excludedReason: reason, paymentRef: ref, accountName: accountName,
                accountNo: accountNo, accountBank: bank, explanation: explanation))
        }
        return result
    }

    /// Marks the batch exported and returns the payment file for the agent bank and the 公示 list,
    /// both CSV in UTF-8 with a BOM (Excel and WPS open them as Chinese text).
    public func export(_ id: Int64, by user: User) async throws -> (payment: String, publicity: String) {
        try require(user, .clerk)
        let batch = try await summary(id)
        try expectState(batch, [.approved, .exported], action: "export")
        let lines = try await lines(id)
        let unpayable = lines.filter { $0.status == "active" && $0.amount > .zero && ($0.accountNo ?? "").isEmpty }.map(\.recipient)
        guard unpayable.isEmpty else { throw BatchError.missingAccount(unpayable) }
        let files = BatchExport.files(batch: batch, lines: lines)
        try await client.query("UPDATE batches SET state = 'exported', exported_at = coalesce(exported_at, now()) WHERE id = \(id)", logger: logger)
        try await audit(actor: user.id, action: "batch.export", subject: "batch:\(id)", detail: ["lines": String(lines.count)])
        return files
    }

    /// Sets the budget (专项资金) of a program-year.
    public func setBudget(program: Program, year: Int, amount: Money, source: String, by user: User) async throws {
        try require(user, .admin)
        try await client.query(
            """
            INSERT INTO budgets (program, year, amount_fen, source) VALUES (\(program.rawValue), \(year), \(amount.fen), \(source))
            ON CONFLICT (program, year) DO UPDATE SET amount_fen = excluded.amount_fen, source = excluded.source
            """, logger: logger)
        try await audit(actor: user.id, action: "budget.set", subject: "budget:\(program.rawValue):\(year)", detail: ["amount": amount.plain, "source": source])
    }
}

extension Award {
    var explanationJSON: [JSONValue] {
        explanation.map { step in
            var members: [(String, JSONValue)] = [("rule", .string(step.rule)), ("clause", .string(step.clause)), ("text", .string(step.text))]
            if let amount = step.amount { members.append(("amount", .string(amount.plain))) }
            if let item = step.item { members.append(("item", .string(item))) }
            return .object(members)
        }
    }
}

/// The payment file and the 公示 list.
public enum BatchExport {
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func csv(_ rows: [[String]]) -> String {
        "\u{FEFF}" + rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    public static func files(batch: BatchSummary, lines: [BatchLine]) -> (payment: String, publicity: String) {
        let payable = lines.filter { $0.status == "active" && $0.amount > .zero }
        var payment: [[String]] = [[
            "序号 No.", "收款人名称 Payee", "收款账号 Account", "开户行 Bank", "金额 Amount (CNY)", "用途/附言 Reference", "统一社会信用代码 USCC",
        ]]
        for (index, line) in payable.enumerated() {
            payment.append([
                String(index + 1), line.accountName ?? line.recipientName, line.accountNo ?? "", line.accountBank ?? "",
                line.amount.plain, line.paymentRef, line.recipient,
            ])
        }
        payment.append(["合计 Total", "", "", "", payable.map(\.amount).sum().plain, "\(payable.count) 笔 payments", ""])
        var publicity: [[String]] = [["序号 No.", "企业名称 Firm", "统一社会信用代码 USCC", "项目 Program", "年度 Year", "金额 Amount (CNY)"]]
        for (index, line) in lines.filter({ $0.status == "active" && $0.computed > .zero }).enumerated() {
            publicity.append([
                String(index + 1), line.recipientName, line.recipient, "\(batch.program.chineseName) \(batch.program.rawValue)",
                String(batch.year), line.computed.plain,
            ])
        }
        return (csv(payment), csv(publicity))
    }
}
