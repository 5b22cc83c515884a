import Crypto
import Foundation
import Logging
import OpenAPIRuntime
import SubsidyBankAPI
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore

/// The bank API, implementing the protocol generated from `openapi.yaml`. Every operation is
/// scoped to the bank the middleware authenticated; another bank's loan answers as a missing one.
struct BankAPIController: APIProtocol {
    let data: BankData
    let logger: Logger
    /// The server's one-at-a-time turn, which a statement upload takes to check its file.
    let heavyWork: HeavyWork
    /// The few statement uploads reading their bodies at once.
    let statementReads: HeavyWork

    var info: BankRequestInfo {
        guard let info = BankRequestInfo.current else { preconditionFailure("bank operations run behind BankAPIMiddleware") }
        return info
    }

    func problem(_ status: Int, _ title: String, _ detail: String, errors: [FieldProblem] = []) -> Components.Schemas.Problem {
        Components.Schemas.Problem(
            _type: "about:blank", title: title, status: status, detail: detail, requestId: info.requestID,
            errors: errors.isEmpty ? nil : errors.map { problem in
                var index: Int?
                var line: Int?
                switch problem.position {
                case .index(let value): index = value
                case .line(let value): line = value
                case nil: break
                }
                return Components.Schemas.FieldError(index: index, line: line, field: problem.field, message: problem.message)
            })
    }

    func invalid(_ problems: [FieldProblem], total: Int? = nil) -> Components.Responses.Invalid {
        let count = total ?? problems.count
        let detail = count > problems.count
            ? "\(count) problems found (the first \(problems.count) are listed); nothing was stored"
            : "\(count) problem\(count == 1 ? "" : "s") found; nothing was stored"
        return .init(body: .applicationProblemJson(problem(422, "Invalid upload", detail, errors: problems)))
    }

    func notFound(_ what: String) -> Components.Responses.NotFound {
        .init(body: .applicationProblemJson(problem(404, "Not Found", "\(what) does not exist for this bank")))
    }

    /// Cursors are the last id of the previous page, as text.
    func page(_ cursor: String?, _ limit: Int?) -> (after: Int64, limit: Int)? {
        let limit = limit ?? 100
        guard (1...1000).contains(limit) else { return nil }
        guard let cursor else { return (0, limit) }
        guard let after = Int64(cursor), after >= 0 else { return nil }
        return (after, limit)
    }

    /// A page from `limit + 1` rows: the first `limit`, and the cursor of the next page when the
    /// extra row shows there is one.
    static func paged<Row>(_ rows: [Row], limit: Int, id: (Row) -> Int64) -> ([Row], String?) {
        (Array(rows.prefix(limit)), rows.count > limit ? String(id(rows[limit - 1])) : nil)
    }

    // MARK: Loans

    func registerLoans(_ input: Operations.RegisterLoans.Input) async throws -> Operations.RegisterLoans.Output {
        guard case .json(let upload) = input.body else { preconditionFailure("only JSON is declared") }
        let submissions = upload.loans.map {
            LoanSubmission(
                loanNo: $0.loanNo, firm: $0.firm, program: $0.program.rawValue, tier: $0.tier?.rawValue, principal: $0.principal,
                start: $0.start, maturity: $0.maturity, contractRate: $0.contractRate)
        }
        switch try await data.registerLoans(bank: info.bank, submissions) {
        case .stored(let created, let updated):
            return .ok(.init(body: .json(.init(created: created, updated: updated))))
        case .rejected(let problems):
            return .unprocessableContent(invalid(problems))
        }
    }

    func listLoans(_ input: Operations.ListLoans.Input) async throws -> Operations.ListLoans.Output {
        guard let page = page(input.query.cursor, input.query.limit) else {
            return .unprocessableContent(invalid([FieldProblem(position: nil, field: "cursor", message: "cursor must come from nextCursor; limit is 1 to 1000")]))
        }
        let (items, next) = Self.paged(try await data.loans(bank: info.bank, after: page.after, limit: page.limit + 1), limit: page.limit, id: \.id)
        return .ok(.init(body: .json(.init(items: items.map(Self.loan), nextCursor: next))))
    }

    func getLoan(_ input: Operations.GetLoan.Input) async throws -> Operations.GetLoan.Output {
        guard let loan = try await data.loan(bank: info.bank, loanNo: input.path.loanNo) else {
            return .notFound(notFound("loan \(input.path.loanNo)"))
        }
        return .ok(.init(body: .json(Self.loan(loan))))
    }

    static func loan(_ loan: LoanView) -> Components.Schemas.Loan {
        Components.Schemas.Loan(
            loanNo: loan.loanNo, firm: loan.firm, firmName: loan.firmName, program: loan.program, tier: loan.tier,
            principal: loan.principal.plain, start: loan.start, maturity: loan.maturity, contractRate: loan.contractRate,
            createdAt: loan.createdAt)
    }

    // MARK: Interest records

    func uploadInterestRecords(_ input: Operations.UploadInterestRecords.Input) async throws -> Operations.UploadInterestRecords.Output {
        let info = self.info
        if let key = input.headers.idempotencyKey, key.isEmpty || key.utf8.count > 128 {
            return .unprocessableContent(invalid([FieldProblem(position: nil, field: "Idempotency-Key", message: "must be 1 to 128 bytes")]))
        }
        let outcome: UploadOutcome
        switch input.body {
        case .json(let upload):
            outcome = try await data.upload(
                bank: info.bank, contentType: "application/json", idempotencyKey: input.headers.idempotencyKey, today: .todayInBeijing()
            ) { sink in
                for (index, record) in upload.records.enumerated() {
                    try await sink.add(RecordSubmission(
                        position: .index(index), loanNo: record.loanNo, periodFrom: record.periodFrom, periodTo: record.periodTo,
                        balance: record.balance, paid: record.paid, paidOn: record.paidOn, firm: record.firm, firmName: record.firmName,
                        bankReference: record.bankReference))
                }
                // The idempotency hash of a JSON upload is over its canonical encoding.
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return Array(SHA256.hash(data: try encoder.encode(upload)))
            }
        case .csv(let body):
            outcome = try await data.upload(
                bank: info.bank, contentType: info.contentType ?? "text/csv", idempotencyKey: input.headers.idempotencyKey, today: .todayInBeijing()
            ) { sink in
                try await CSVUpload.read(body, encoding: CSVEncoding.from(contentType: info.contentType), into: sink)
            }
        }
        switch outcome {
        case .stored(let result), .replayed(let result):
            return .ok(.init(body: .json(.init(
                uploadId: result.uploadId, accepted: result.accepted, replaced: result.replaced, corrections: result.corrections))))
        case .rejected(let problems, let total):
            return .unprocessableContent(invalid(problems, total: total))
        case .keyReused:
            return .unprocessableContent(invalid([FieldProblem(
                position: nil, field: "Idempotency-Key",
                message: "this key was already used for an upload with a different body: use a new key for new data")]))
        }
    }

    func listInterestRecords(_ input: Operations.ListInterestRecords.Input) async throws -> Operations.ListInterestRecords.Output {
        guard let page = page(input.query.cursor, input.query.limit) else {
            return .unprocessableContent(invalid([FieldProblem(position: nil, field: "cursor", message: "cursor must come from nextCursor; limit is 1 to 1000")]))
        }
        let (items, next) = Self.paged(
            try await data.records(bank: info.bank, loanNo: input.query.loanNo, after: page.after, limit: page.limit + 1), limit: page.limit, id: \.id)
        return .ok(.init(body: .json(.init(items: items.map(Self.record), nextCursor: next))))
    }

    func getInterestRecord(_ input: Operations.GetInterestRecord.Input) async throws -> Operations.GetInterestRecord.Output {
        guard let record = try await data.record(bank: info.bank, id: input.path.id) else {
            return .notFound(notFound("interest record \(input.path.id)"))
        }
        return .ok(.init(body: .json(Self.record(record))))
    }

    // MARK: Statements

    func uploadStatement(_ input: Operations.UploadStatement.Input) async throws -> Operations.UploadStatement.Output {
        let body: HTTPBody
        switch input.body {
        case .binary(let value), .xml(let value), .plainText(let value), .csv(let value): body = value
        }
        // What the contract states of the name, checked here too: PostgreSQL text holds no NUL.
        if let name = input.query.name,
            name.isEmpty || name.count > 200 || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            return .unprocessableContent(invalid([FieldProblem(
                position: nil, field: "name", message: "a name is 1 to 200 characters without control characters")]))
        }
        let name = input.query.name ?? "upload-\(info.requestID)"
        let (bank, format, profile) = (info.bank, input.query.format, input.query.profile)
        // The file is read whole and parsed here, so that a malformed one is refused to the bank
        // now, with the line or XML path, rather than queued; the daemon does the matching and
        // posting. The body is read while holding one of `statementReads`, outside the server's
        // turn (a slow sender must not hold up a computation); the check, which keeps no entry
        // but takes a core, takes the turn, as the web's and the daemon's imports do. Uploads
        // that come together wait, their bodies unread, and do not add up.
        let outcome = try await statementReads.run { () async throws -> QueuedStatement in
            let file = try await Self.read(body)
            guard !file.isEmpty else { return .refused(FieldProblem(position: nil, field: "body", message: "the statement is empty")) }
            return try await heavyWork.run { () async throws -> QueuedStatement in
                try await checkAndQueue(file, bank: bank, name: name, format: format?.rawValue, profile: profile?.rawValue)
            }
        }
        switch outcome {
        case .queued(let id): return .accepted(.init(body: .json(.init(uploadId: id, status: .pending))))
        case .refused(let problem): return .unprocessableContent(invalid([problem]))
        }
    }

    /// Parses a statement upload's file, refusing it with where and what is wrong, and queues it
    /// for the daemon. Its entries are checked, counted and summed as they are read, not kept:
    /// the daemon parses the file again when it imports it.
    func checkAndQueue(_ file: Data, bank: String, name: String, format: String?, profile: String?) async throws -> QueuedStatement {
        do {
            _ = try StatementParser.parse(file, format: format.flatMap(StatementFormat.init(rawValue:)), profile: profile, keepingEntries: false)
        } catch {
            return .refused(FieldProblem(position: nil, field: "body", message: "\(error.location): \(error.message)"))
        }
        return .queued(try await data.queueStatement(bank: bank, name: name, format: format, profile: profile, content: file))
    }

    /// The whole body, read into the `Data` the parser takes (read as bytes, it was copied again
    /// for the parse: two copies of the file held while it is checked). The middleware has
    /// already bounded its size.
    static func read(_ body: HTTPBody) async throws -> Data {
        var file = Data()
        for try await chunk in body { file.append(contentsOf: chunk) }
        return file
    }

    /// What a statement upload's turn ends with.
    enum QueuedStatement: Sendable {
        case queued(Int64)
        case refused(FieldProblem)
    }

    func getStatementUpload(_ input: Operations.GetStatementUpload.Input) async throws -> Operations.GetStatementUpload.Output {
        guard let upload = try await data.statementUpload(bank: info.bank, id: input.path.uploadId) else {
            return .notFound(notFound("statement upload \(input.path.uploadId)"))
        }
        return .ok(.init(body: .json(.init(
            uploadId: upload.id, status: .init(rawValue: upload.status) ?? .pending,
            statementIds: upload.statementIDs.isEmpty ? nil : upload.statementIDs, error: upload.error))))
    }

    static func record(_ record: RecordView) -> Components.Schemas.InterestRecord {
        Components.Schemas.InterestRecord(
            id: record.id, loanNo: record.loanNo, periodFrom: record.periodFrom, periodTo: record.periodTo, balance: record.balance.plain,
            paid: record.paid.plain, paidOn: record.paidOn, firmName: record.firmName, bankReference: record.bankReference,
            version: record.version, status: .init(rawValue: record.status) ?? .accepted, usedInBatch: record.usedInBatch,
            correction: record.correction)
    }
}

/// Reads a CSV upload as it streams: the header names the columns (English or Chinese), each
/// following line becomes a submission. Returns the SHA-256 of the bytes read.
enum CSVUpload {
    static let columns: [String: String] = [
        "loan_no": "loan_no", "贷款编号": "loan_no", "借据号": "loan_no",
        "period_from": "period_from", "计息起日": "period_from",
        "period_to": "period_to", "计息止日": "period_to",
        "balance": "balance", "贷款余额": "balance",
        "paid": "paid", "实付利息": "paid",
        "paid_on": "paid_on", "付息日": "paid_on",
        "firm_uscc": "firm_uscc", "统一社会信用代码": "firm_uscc",
        "firm_name": "firm_name", "企业名称": "firm_name",
        "bank_reference": "bank_reference", "银行流水号": "bank_reference",
    ]
    static let required = ["loan_no", "period_from", "period_to", "balance", "paid", "paid_on"]

    static func read(_ body: HTTPBody, encoding: CSVEncoding?, into sink: RecordSink) async throws -> [UInt8] {
        var reader = CSVStreamReader(encoding: encoding)
        var hasher = SHA256()
        var header: [String: Int]?
        var failed = false
        func handle(_ records: [CSVRecord]) async throws {
            for record in records {
                guard let columns = header else {
                    header = try mapHeader(record, sink: sink)
                    if header == nil { failed = true }
                    continue
                }
                func cell(_ name: String) -> String? {
                    guard let index = columns[name], index < record.fields.count else { return nil }
                    return record.fields[index]
                }
                try await sink.add(RecordSubmission(
                    position: .line(record.line), loanNo: cell("loan_no"), periodFrom: cell("period_from"), periodTo: cell("period_to"),
                    balance: cell("balance"), paid: cell("paid"), paidOn: cell("paid_on"), firm: cell("firm_uscc"),
                    firmName: cell("firm_name"), bankReference: cell("bank_reference")))
            }
        }
        for try await chunk in body {
            hasher.update(data: Array(chunk))
            guard !failed else { continue }
            do {
                try await handle(try reader.feed(chunk))
            } catch let error as CSVError {
                sink.problem(FieldProblem(position: .line(error.line), field: "", message: error.message))
                failed = true
            }
        }
        if !failed {
            do {
                try await handle(try reader.finish())
            } catch let error as CSVError {
                sink.problem(FieldProblem(position: .line(error.line), field: "", message: error.message))
            }
        }
        if header == nil, !failed {
            sink.problem(FieldProblem(position: .line(1), field: "header", message: "the file is empty: a header line is expected"))
        }
        return Array(hasher.finalize())
    }

    /// Column positions by canonical name; nil (with problems reported) when required ones are missing.
    static func mapHeader(_ record: CSVRecord, sink: RecordSink) throws -> [String: Int]? {
        var mapped: [String: Int] = [:]
        for (index, name) in record.fields.enumerated() {
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            if let canonical = columns[key] ?? columns[name.trimmingCharacters(in: .whitespaces)] { mapped[canonical] = index }
        }
        let missing = required.filter { mapped[$0] == nil }
        guard missing.isEmpty else {
            sink.problem(FieldProblem(
                position: .line(record.line), field: "header",
                message: "missing column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) (English or Chinese names, see /openapi.yaml)"))
            return nil
        }
        return mapped
    }
}
