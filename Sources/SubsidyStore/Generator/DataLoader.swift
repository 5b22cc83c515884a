public import Foundation
public import Logging
import NIOCore
public import PostgresNIO
public import SubsidyRules

/// What a generation wrote.
public struct GenerationSummary: Sendable, Equatable {
    public var firms = 0
    public var qualifications = 0
    public var loans = 0
    public var records = 0
    public var recordFiles = 0
    public var investments = 0
    public var guarantees = 0
    public var otherSubsidies = 0
}

/// Writes a `DataGenerator`'s data set into a rehearsal database with COPY, firms in chunks (the
/// memory held is one chunk's rows), in one transaction acting for an administrator: all of it
/// or none. With `recordsFolder`, the interest records are written there instead, as the CSV
/// files the banks upload (`<BANK>-<YYYY-MM>-<part>.csv`, at most 100,000 records each).
public struct DataLoader: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public static let recordsPerFile = 100_000
    public static let disbursementAccount = "6222020000009999"

    public func load(
        _ generator: DataGenerator, by user: User, recordsFolder: URL? = nil, chunk: Int = 10_000,
        progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> GenerationSummary {
        try UserStore.require(user, .admin)
        let users = UserStore(client: client, logger: logger)
        // Made-up firms never enter a real database.
        guard try await users.isRehearsal() else { throw BatchError.notRehearsal }
        let files = try recordsFolder.map { try RecordFiles(folder: $0) }
        let clock = ContinuousClock()
        let started = clock.now
        let scale = generator.scale
        return try await users.actingAs(user) { connection in
            for try await count in try await connection.query("SELECT count(*) FROM firms", logger: logger).decode(Int64.self) where count > 0 {
                throw BatchError.invalidInput(InputError(field: "firms", message: "the database already holds \(count) firms: generate into a new rehearsal database"))
            }
            try await connection.query(
                """
                INSERT INTO banks (code, name) SELECT c, n FROM unnest(\(DataGenerator.banks.map(\.code))::text[], \(DataGenerator.banks.map(\.name))::text[]) AS t(c, n)
                ON CONFLICT (code) DO NOTHING
                """, logger: logger)
            // The bureau's disbursement account the generated statements are for.
            try await connection.query(
                """
                INSERT INTO disbursement_accounts (account_no, bank_code, name) VALUES (\(DataLoader.disbursementAccount), 'ICBC', '专项资金代发户 (generated)')
                ON CONFLICT (account_no) DO NOTHING
                """, logger: logger)
            // The loans' ids, reserved at once: records refer to them without a round trip.
            var first: Int64 = 0
            for try await (low, high) in try await connection.query(
                "SELECT min(v), max(v) FROM (SELECT nextval('loans_id_seq') AS v FROM generate_series(1, \(scale.loans))) t", logger: logger
            ).decode((Int64, Int64).self) {
                guard high - low + 1 == Int64(scale.loans) else {
                    throw BatchError.invalidInput(InputError(field: "loans", message: "another session is creating loans: generate alone"))
                }
                first = low
            }
            var summary = GenerationSummary()
            var investments: [GeneratedInvestment] = []
            var guarantees: [GeneratedGuarantee] = []
            var start = 0
            while start < scale.firms {
                let end = min(scale.firms, start + chunk)
                var out = ChunkBuffers()
                for index in start..<end {
                    let firm = generator.firm(index)
                    out.firm(firm)
                    for loan in generator.loans(firm: index, uscc: firm.uscc) {
                        let id = first + Int64(loan.index)
                        out.loan(loan, id: id)
                        if let files {
                            try files.write(loan, firmName: firm.name)
                        } else {
                            out.records(loan, id: id)
                        }
                        summary.records += loan.records.count
                        summary.loans += 1
                        if loan.provincialFen != nil { summary.otherSubsidies += 1 }
                    }
                    investments += generator.investments(firm: index, uscc: firm.uscc)
                    guarantees += generator.guarantees(firm: index, uscc: firm.uscc)
                    summary.firms += 1
                    if firm.qualification != nil { summary.qualifications += 1 }
                }
                try await connection.copy(out.firms, into: "firms", columns: ["uscc", "name", "district", "account_name", "account_no", "account_bank"], logger: logger)
                try await connection.copy(out.qualifications, into: "qualifications", columns: ["firm_uscc", "level", "valid_from", "valid_to", "source"], logger: logger)
                try await connection.copy(out.loans, into: "loans", columns: [
                    "id", "bank_code", "loan_no", "firm_uscc", "program", "tier", "principal_fen", "start_date", "maturity_date", "contract_rate_pct",
                ], logger: logger)
                try await connection.copy(out.records, into: "interest_records", columns: [
                    "loan_id", "period_from", "period_to", "balance_fen", "paid_fen", "paid_on", "bank_reference",
                ], logger: logger)
                try await connection.copy(out.others, into: "other_subsidies", columns: ["loan_id", "year", "level", "amount_fen", "source"], logger: logger)
                start = end
                let seconds = (clock.now - started).components.seconds
                progress("firms \(end)/\(scale.firms), loans \(summary.loans), interest records \(summary.records)\(files == nil ? "" : " (to files)"), \(seconds) s")
            }
            var out = ChunkBuffers()
            investments.forEach { out.investment($0) }
            guarantees.forEach { out.guarantee($0) }
            try await connection.copy(out.investments, into: "investments", columns: [
                "ref", "investor_uscc", "investee_uscc", "kind", "amount_fen", "invest_date", "stage", "registered_in_city", "recognition_level",
                "recognition_date",
            ], logger: logger)
            try await connection.copy(out.guarantees, into: "guarantees", columns: ["ref", "firm_uscc", "guarantor_uscc", "principal_fen", "period_from", "period_to", "fee_fen", "paid_on"], logger: logger)
            summary.investments = investments.count
            summary.guarantees = guarantees.count
            summary.recordFiles = try files?.close() ?? 0
            // Budgets ample for a year's batches: 50万 a firm for each loan program, less for the rest.
            let firms = Int64(scale.firms)
            let budgets: [(String, Int64)] = [
                ("zhuangda", firms * 50_000_000), ("xinyidai", firms * 50_000_000), ("equity", firms * 5_000_000), ("fund", firms * 5_000_000),
                ("guarantee", firms * 5_000_000),
            ]
            try await connection.query(
                """
                INSERT INTO budgets (program, year, amount_fen, source)
                SELECT p, y, a, 'generated (' || \(scale.name) || ')' FROM unnest(\(budgets.map(\.0))::text[], \(budgets.map(\.1))::bigint[]) AS t(p, a),
                     (VALUES (2025), (2026)) AS years(y)
                ON CONFLICT (program, year) DO NOTHING
                """, logger: logger)
            try await UserStore.audit(
                actor: user.id, action: "data.generate", subject: "scale:\(scale.name)",
                detail: [
                    "seed": String(generator.seed), "firms": String(summary.firms), "loans": String(summary.loans), "records": String(summary.records),
                    "recordFiles": String(summary.recordFiles),
                ], on: connection, logger: logger)
            return summary
        }
    }

}

/// One chunk's rows as COPY text, a buffer per table.
struct ChunkBuffers {
    var firms = ByteBuffer()
    var qualifications = ByteBuffer()
    var loans = ByteBuffer()
    var records = ByteBuffer()
    var others = ByteBuffer()
    var investments = ByteBuffer()
    var guarantees = ByteBuffer()

    mutating func firm(_ firm: GeneratedFirm) {
        firms.writeCopyRow([firm.uscc, firm.name, firm.district, firm.name, firm.accountNo, firm.accountBank])
        if let q = firm.qualification {
            qualifications.writeCopyRow([firm.uscc, q.level, q.from.description, q.to.description, "generated 认定公告"])
        }
    }

    mutating func loan(_ loan: GeneratedLoan, id: Int64) {
        loans.writeCopyRow([
            String(id), loan.bank, loan.loanNo, loan.firm, loan.program, loan.tier, String(loan.principalFen), loan.start.description,
            loan.maturity.description, loan.ratePercent,
        ])
        if let provincial = loan.provincialFen {
            others.writeCopyRow([String(id), "2025", "provincial", String(provincial), "generated 省级贴息"])
        }
    }

    mutating func records(_ loan: GeneratedLoan, id: Int64) {
        let loanID = String(id)
        for record in loan.records {
            records.writeCopyRow([
                loanID, record.from.description, record.to.description, String(record.balanceFen), String(record.paidFen), record.paidOn.description,
                record.reference,
            ])
        }
    }

    mutating func investment(_ i: GeneratedInvestment) {
        investments.writeCopyRow([
            i.ref, i.investor, i.investee, i.kind, String(i.amountFen), i.date.description, i.stage, i.registeredInCity ? "t" : "f",
            i.recognition?.level, i.recognition?.date.description,
        ])
    }

    mutating func guarantee(_ g: GeneratedGuarantee) {
        guarantees.writeCopyRow([
            g.ref, g.firm, g.guarantor, String(g.principalFen), g.from.description, g.to.description, String(g.feeFen), g.paidOn.description,
        ])
    }
}

/// The interest records as the banks' CSV uploads: one file per bank and payment month, split
/// every `DataLoader.recordsPerFile` records.
final class RecordFiles {
    /// A class, so that appending to its buffer in the dictionary never copies the buffer.
    final class File {
        let handle: FileHandle
        var rows = 0
        let part: Int
        var pending: [UInt8] = []

        init(handle: FileHandle, part: Int) {
            self.handle = handle
            self.part = part
            pending.reserveCapacity(1 << 20 + 4096)
        }
    }

    let folder: URL
    var open: [String: File] = [:]
    var count = 0
    static let header = "loan_no,period_from,period_to,balance,paid,paid_on,firm_name,bank_reference\r\n"

    init(folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func write(_ loan: GeneratedLoan, firmName: String) throws {
        for record in loan.records {
            let key = "\(loan.bank)-\(record.paidOn.monthText)"
            var file = try open[key] ?? newFile(key, part: 1)
            if file.rows == DataLoader.recordsPerFile {
                try finish(file)
                file = try newFile(key, part: file.part + 1)
            }
            file.pending.append(contentsOf: "\(loan.loanNo),\(record.from),\(record.to),\(Money(fen: record.balanceFen).plain),\(Money(fen: record.paidFen).plain),\(record.paidOn),\(firmName),\(record.reference)\r\n".utf8)
            file.rows += 1
            if file.pending.count > 1 << 20 {
                file.handle.write(Data(file.pending))
                file.pending.removeAll(keepingCapacity: true)
            }
        }
    }

    func newFile(_ key: String, part: Int) throws -> File {
        let url = folder.appendingPathComponent("\(key)-\(part).csv")
        guard FileManager.default.createFile(atPath: url.path, contents: Data(Self.header.utf8)) else {
            throw InputError(field: "--files", message: "cannot write \(url.path)")
        }
        let handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        count += 1
        let file = File(handle: handle, part: part)
        open[key] = file
        return file
    }

    func finish(_ file: File) throws {
        file.handle.write(Data(file.pending))
        try file.handle.close()
    }

    func close() throws -> Int {
        for file in open.values { try finish(file) }
        open = [:]
        return count
    }
}

extension DataLoader {
    /// The agent bank's side of an exported batch: MT940 statements of the bureau's disbursement
    /// account, one per payment day (`days` working days from the day after `from`), paying every
    /// payable line with its reference, each statement opening at the previous one's closing.
    /// Returns the files written.
    public func statements(batch id: Int64, account: String, from: CivilDate, days: Int, folder: URL) async throws -> [URL] {
        var lines: [(ref: String, fen: Int64)] = []
        for try await (ref, fen) in try await client.query(
            """
            SELECT payment_ref, amount_fen FROM batch_lines
            WHERE batch_id = \(id) AND status = 'active' AND amount_fen > 0 ORDER BY line_no
            """, logger: logger
        ).decode((String, Int64).self) {
            lines.append((ref, fen))
        }
        guard !lines.isEmpty else {
            throw BatchError.invalidInput(InputError(field: "batch", message: "batch \(id) has no line waiting for payment"))
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let calendar = try await BatchInputLoader(client: client, logger: logger).calendar()
        func mt940Date(_ day: CivilDate) -> String {
            let (y, m, d) = day.parts
            return String(format: "%02d%02d%02d", y % 100, m, d)
        }
        func amount(_ fen: Int64) -> String { "\(fen / 100),\(fen % 100 < 10 ? "0" : "")\(fen % 100)" }
        var balance = lines.reduce(Int64(0)) { $0 + $1.fen } + 100_000_000
        var urls: [URL] = []
        let perDay = (lines.count + days - 1) / days
        for (number, start) in stride(from: 0, to: lines.count, by: perDay).enumerated() {
            let day = calendar.lastOfWorkingDays(number + 1, after: from)
            let date = mt940Date(day)
            var text = ":20:GEN\(id)D\(number + 1)\r\n:25:\(account)\r\n:28C:\(number + 1)/1\r\n:60F:C\(date)CNY\(amount(balance))\r\n"
            for line in lines[start..<min(lines.count, start + perDay)] {
                text += ":61:\(date)\(date.suffix(4))D\(amount(line.fen))NTRFNONREF\r\n:86:/REMI/\(line.ref)\r\n"
                balance -= line.fen
            }
            text += ":62F:C\(date)CNY\(amount(balance))\r\n-\r\n"
            let url = folder.appendingPathComponent("batch\(id)-\(day).sta")
            try Data(text.utf8).write(to: url)
            urls.append(url)
        }
        return urls
    }
}
