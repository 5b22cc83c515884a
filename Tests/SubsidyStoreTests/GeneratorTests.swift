import Foundation
import PostgresNIO
import PropertyBased
import SubsidyRules
import SubsidyStore
import SubsidyTestSupport
import Testing

@Suite("The data generator")
struct GeneratorTests {
    static let tiny = GeneratorScale(name: "custom", firms: 400, loans: 800)

    @Test("valid, unique USCCs; records inside their loans and consistent with the contract rate")
    func invariants() {
        let generator = DataGenerator(scale: Self.tiny, seed: 42)
        var usccs: Set<String> = []
        var positions: [Int] = []
        var records = 0
        for index in 0..<Self.tiny.firms {
            let firm = generator.firm(index)
            #expect(USCC.isValid(firm.uscc), "firm \(index): \(firm.uscc)")
            #expect(firm.uscc.hasPrefix("91"))
            usccs.insert(firm.uscc)
            #expect(firm.accountNo.count == 19 && firm.accountNo.allSatisfy(\.isNumber))
            if let q = firm.qualification { #expect(q.from <= q.to) }
            for loan in generator.loans(firm: index, uscc: firm.uscc) {
                positions.append(loan.index)
                #expect(loan.firm == firm.uscc)
                #expect(loan.start < loan.maturity)
                #expect((loan.program == "xinyidai") == (loan.tier != nil))
                var previousEnd: CivilDate?
                for record in loan.records {
                    records += 1
                    #expect(record.from < record.to)
                    #expect(record.from >= loan.start && record.to <= loan.maturity, "loan \(loan.loanNo): \(record.from)…\(record.to)")
                    #expect(record.paidOn == record.to)
                    #expect(record.balanceFen > 0 && record.balanceFen <= loan.principalFen)
                    if let previousEnd { #expect(record.from >= previousEnd, "periods of \(loan.loanNo) overlap") }
                    previousEnd = record.to
                    // paid = round(balance × rate × days / 360), rate in 1/100 %: within half a 分.
                    let exact = record.balanceFen * loan.rateBasis * Int64(record.to - record.from)
                    #expect(abs(record.paidFen * 3_600_000 - exact) <= 1_800_000)
                }
            }
        }
        #expect(usccs.count == Self.tiny.firms, "USCCs are unique")
        // The loans' positions are 0..<loans, each once: the ids the loader reserves fit exactly.
        #expect(positions == Array(0..<Self.tiny.loans))
        // About 12 records a loan (monthly, a tenth quarterly, some loans starting late).
        #expect(records > Self.tiny.loans * 9 && records < Self.tiny.loans * 14, "\(records) records")
    }

    @Test("the same seed gives the same data; another seed other data")
    func deterministic() {
        let one = DataGenerator(scale: Self.tiny, seed: 7), again = DataGenerator(scale: Self.tiny, seed: 7)
        let other = DataGenerator(scale: Self.tiny, seed: 8)
        var differences = 0
        for index in stride(from: 0, to: Self.tiny.firms, by: 7) {
            let firm = one.firm(index)
            #expect(firm == again.firm(index))
            #expect(one.loans(firm: index, uscc: firm.uscc) == again.loans(firm: index, uscc: firm.uscc))
            #expect(one.investments(firm: index, uscc: firm.uscc) == again.investments(firm: index, uscc: firm.uscc))
            #expect(one.guarantees(firm: index, uscc: firm.uscc) == again.guarantees(firm: index, uscc: firm.uscc))
            if other.firm(index) != firm { differences += 1 }
        }
        #expect(differences > 50)
        // The scales of the issue.
        #expect(GeneratorScale.named("province") == GeneratorScale(name: "province", firms: 100_000, loans: 300_000))
        #expect(GeneratorScale.named("nation")?.loans == 2_000_000)
    }
}

@Suite("The generator in PostgreSQL", .enabled(if: TestDatabase.isConfigured))
struct GeneratorDatabaseTests {
    @Test("loads all of it with COPY, in chunks, for an administrator; refuses a database that holds firms")
    func load() async throws {
        try await TestDatabase.withFresh { client, _ in
            let loader = DataLoader(client: client, logger: TestDatabase.logger)
            let generator = DataGenerator(scale: GeneratorScale(name: "custom", firms: 150, loans: 300), seed: 3)
            let summary = try await loader.load(generator, by: TestDatabase.admin, chunk: 40)
            #expect(summary.firms == 150 && summary.loans == 300)
            for try await (firms, loans, records, outside) in try await client.query(
                """
                SELECT (SELECT count(*) FROM firms)::int, (SELECT count(*) FROM loans)::int, (SELECT count(*) FROM interest_records)::int,
                       (SELECT count(*) FROM interest_records r JOIN loans l ON l.id = r.loan_id
                        WHERE r.period_from < l.start_date OR r.period_to > l.maturity_date OR r.balance_fen > l.principal_fen)::int
                """, logger: TestDatabase.logger
            ).decode((Int, Int, Int, Int).self) {
                #expect(firms == 150 && loans == 300 && records == summary.records && records > 2_500)
                #expect(outside == 0)
            }
            // Generating twice, or for someone who is not an administrator, is refused.
            await #expect(throws: BatchError.self) { try await loader.load(generator, by: TestDatabase.admin) }
            let clerk = try await UserStore(client: client, logger: TestDatabase.logger).add(
                login: "clerk", displayName: "clerk", password: "clerk-pass-1", roles: [.clerk], by: TestDatabase.admin, cost: 4)
            await #expect(throws: BatchError.self) { try await loader.load(generator, by: clerk) }
        }
    }

    @Test("with a folder, the records become the banks' CSV uploads")
    func files() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestDatabase.withFresh { client, _ in
            let generator = DataGenerator(scale: GeneratorScale(name: "custom", firms: 60, loans: 120), seed: 5)
            let summary = try await DataLoader(client: client, logger: TestDatabase.logger).load(generator, by: TestDatabase.admin, recordsFolder: folder)
            var rows = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                #expect(name.hasSuffix(".csv"))
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                let lines = text.split(separator: "\r\n")
                #expect(lines.first == "loan_no,period_from,period_to,balance,paid,paid_on,firm_name,bank_reference")
                rows += lines.count - 1
            }
            #expect(rows == summary.records && summary.recordFiles > 0)
            for try await count in try await client.query("SELECT count(*)::int FROM interest_records", logger: TestDatabase.logger).decode(Int.self) {
                #expect(count == 0)
            }
        }
    }

    /// Lines, items, exclusions and used records of a batch, as text to compare.
    static func snapshot(_ client: PostgresClient, batch: Int64) async throws -> [String] {
        var rows: [String] = []
        for try await row in try await client.query(
            """
            SELECT 'L|' || line_no || '|' || recipient_uscc || '|' || recipient_name || '|' || computed_fen || '|' || previously_fen || '|'
                   || payment_ref || '|' || items::text || '|' || explanation::text FROM batch_lines WHERE batch_id = \(batch)
            UNION ALL
            SELECT 'I|' || bl.line_no || '|' || i.item_id || '|' || i.amount_fen || '|' || coalesce(i.cap_key, '') FROM batch_line_items i
            JOIN batch_lines bl ON bl.id = i.batch_line_id WHERE bl.batch_id = \(batch)
            UNION ALL
            SELECT 'X|' || kind || '|' || item_id || '|' || code || '|' || reason FROM batch_exclusions WHERE batch_id = \(batch)
            UNION ALL
            SELECT 'R|' || loan_id || '|' || record_ids::text FROM batch_loan_records WHERE batch_id = \(batch)
            UNION ALL
            SELECT 'T|' || total_fen || '|' || policy_version FROM batches WHERE id = \(batch)
            ORDER BY 1
            """, logger: TestDatabase.logger
        ).decode(String.self) {
            rows.append(row)
        }
        return rows
    }

    @Test("a batch computed in chunks has exactly the lines of one computed whole")
    func chunked() async throws {
        await propertyCheck(count: 4, input: Gen.int(in: 0...1_000_000), Gen.int(in: 1...9)) { seed, chunk in
            do {
                try await TestDatabase.withFresh { client, _ in
                    let logger = TestDatabase.logger
                    _ = try await DataLoader(client: client, logger: logger).load(
                        DataGenerator(scale: GeneratorScale(name: "custom", firms: 90, loans: 180), seed: UInt64(seed)), by: TestDatabase.admin)
                    let store = BatchStore(client: client, logger: logger)
                    var paying = 0
                    // 2024 too: the chunks are cut from every firm holding a loan of the program,
                    // records or not, and the generator's records are all paid in 2025. So in 2024
                    // every chunk of a loan program is of firms without records: no line, no
                    // error, in pieces as whole.
                    for year in [2024, 2025] {
                        for program in Program.allCases {
                            let id = try await store.create(program: program, year: year, district: nil, by: TestDatabase.admin)
                            let whole = try await store.compute(id, by: TestDatabase.admin, chunk: Int.max)
                            let one = try await Self.snapshot(client, batch: id)
                            let pieces = try await store.compute(id, by: TestDatabase.admin, chunk: chunk)
                            let many = try await Self.snapshot(client, batch: id)
                            let what = "seed \(seed) \(program) \(year) chunk \(chunk)"
                            #expect(whole.totalFen == pieces.totalFen && whole.lines == pieces.lines, "\(what)")
                            #expect(one == many, "\(what): \(zip(one, many).first { $0 != $1 }.map { "\($0)\n≠ \($1)" } ?? "counts \(one.count) vs \(many.count)")")
                            if year == 2025 && whole.totalFen > 0 { paying += 1 }
                            if year == 2024 && (program == .zhuangda || program == .xinyidai) { #expect(whole.lines == 0, "\(what)") }
                        }
                    }
                    // The loan programs always pay someone in a data set of this size.
                    #expect(paying >= 2, "seed \(seed)")
                }
            } catch {
                Issue.record("seed \(seed) chunk \(chunk): \(error)")
            }
        }
    }
}
