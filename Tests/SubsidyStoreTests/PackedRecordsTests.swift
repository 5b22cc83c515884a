import NIOCore
import PostgresNIO
import SubsidyRules
@testable import SubsidyStore
import SubsidyTestSupport
import Testing

/// The batch loader reads a loan's records packed by the server (`int8send`, `date_send`):
/// what PostgreSQL packs must unpack to the same values, for dates before and after its epoch
/// and amounts beyond 32 bits, in the order of their periods whatever the order packed. Also
/// the loader's other reads of a chunk: its firms, by key.
@Suite("The batch loader's reads: packed interest records, firms by key")
struct PackedRecordsTests {
    @Test("PostgreSQL's binary forms unpack to the records they came from")
    func roundTrip() async throws {
        try await TestDatabase.withFresh { client, _ in
            var packed: ByteBuffer?
            for try await bytes in try await client.query(
                """
                SELECT string_agg(int8send(id) || date_send(f) || date_send(t) || int8send(b) || int8send(p) || date_send(o), ''::bytea
                                  ORDER BY id DESC)
                FROM (VALUES (7::bigint, DATE '2025-01-10', DATE '2025-03-21', 500000000::bigint, 3694444::bigint, DATE '2025-03-21'),
                             (9000000000, DATE '1999-12-31', DATE '2000-01-01', 999999999999, 0, DATE '1970-01-01'),
                             (8, DATE '2025-01-10', DATE '2025-02-10', 1, 2, DATE '2099-12-31')) AS v(id, f, t, b, p, o)
                """, logger: TestDatabase.logger
            ).decode(ByteBuffer.self) {
                packed = bytes
            }
            let records = try PackedRecords.unpack(try #require(packed), count: 3, loan: "ICBC/L-1")
            // Packed in descending ids, unpacked by period start, then id: 1999-12-31 (id
            // 9000000000), then ids 7 and 8 of 2025-01-10.
            #expect(records.map(\.id) == ["R9000000000", "R7", "R8"])
            #expect(records[0].from == day("1999-12-31") && records[0].to == day("2000-01-01") && records[0].paidOn == day("1970-01-01"))
            #expect(records[0].balance == Money(fen: 999_999_999_999) && records[0].paid == .zero)
            #expect(records[1].from == day("2025-01-10") && records[1].to == day("2025-03-21") && records[1].paidOn == day("2025-03-21"))
            #expect(records[1].balance == Money(fen: 500_000_000) && records[1].paid == Money(fen: 3_694_444))
            #expect(records[2].to == day("2025-02-10") && records[2].paidOn == day("2099-12-31"))
        }
    }

    @Test("a date sent as a parameter is the day PostgreSQL reads, before and after its epoch, and one year's bounds")
    func dateParameters() async throws {
        try await TestDatabase.withFresh { client, _ in
            // Days from 2000-01-01: -1 (1999-12-31), 0, 9,497 (2026-01-01), 36,524 (2099-12-31); -10,957 is 1970-01-01.
            let days = ["1970-01-01", "1999-12-31", "2000-01-01", "2024-02-29", "2026-01-01", "2099-12-31"].map(day)
            for date in days {
                let row = try await client.query(
                    "SELECT \(date)::text, pg_typeof(\(date))::text, \(date) - DATE '2000-01-01'", logger: TestDatabase.logger
                ).collect().first
                let (text, type, offset) = try #require(row).decode((String, String, Int).self)
                #expect(text == date.description && type == "date" && offset == date.dayNumber - CivilDate.postgresEpochDay)
            }
            let (start, next) = try BatchInputLoader.yearBounds(2025)
            #expect(start == day("2025-01-01") && next == day("2026-01-01"))
        }
    }

    @Test("bytes that are not whole records, or fewer records than the server counted, are refused, naming the loan")
    func malformed() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int64(1))
        do {
            _ = try PackedRecords.unpack(buffer, count: 1, loan: "ICBC/L-1")
            Issue.record("8 bytes unpacked")
        } catch let BatchError.invalidInput(error) {
            #expect(error.field == "loan ICBC/L-1")
        }
        // One whole record where the server counted two: one dropped out of the aggregate.
        var one = ByteBuffer()
        one.writeInteger(Int64(7))
        one.writeInteger(Int32(9_141))
        one.writeInteger(Int32(9_211))
        one.writeInteger(Int64(500_000_000))
        one.writeInteger(Int64(3_694_444))
        one.writeInteger(Int32(9_211))
        #expect(try PackedRecords.unpack(one, count: 1, loan: "ICBC/L-1").map(\.id) == ["R7"])
        do {
            _ = try PackedRecords.unpack(one, count: 2, loan: "ICBC/L-1")
            Issue.record("one record unpacked where two were counted")
        } catch let BatchError.invalidInput(error) {
            #expect(error.field == "loan ICBC/L-1")
        }
        #expect(try PackedRecords.unpack(ByteBuffer(), count: 0, loan: "ICBC/L-1").isEmpty)
    }

    @Test("a plan naming a loan the read did not return is refused, and nothing of it is stored")
    func unknownLoanRefused() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BatchFixture.make(client)
            let id = try await fixture.draftBatch()
            let line = PlannedLine(
                lineNo: 1, recipient: firmA, recipientName: "", computed: Money(fen: 100), previously: .zero, paymentRef: "ZD25-T-1",
                itemsJSON: "[]", explanationJSON: "[]")
            let plan = ComputationPlan(lines: [line], items: [], usedRecords: [UsedRecords(bank: "ICBC", loanNo: "L-1", records: [1])])
            do {
                try await client.transaction(logger: TestDatabase.logger) { connection in
                    try await fixture.store.store(plan, exclusions: [], loanIDs: ["CMBC/L-2": 2], batch: id, on: connection)
                }
                Issue.record("a plan with an unknown loan was stored")
            } catch let BatchError.invalidInput(error) {
                #expect(error.field == "loan ICBC/L-1")
            }
            #expect(try await count(client, "SELECT count(*)::int FROM batch_lines WHERE batch_id = \(id)") == 0)
        }
    }

    @Test("a chunk's firms are read by key: each once with every qualification, whatever the list repeats or names that is not there")
    func firmsByKey() async throws {
        try await TestDatabase.withFresh { client, _ in
            _ = try await BatchFixture.make(client)
            // A second qualification for A (the fixture gives each firm one).
            try await client.query(
                """
                INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
                VALUES ('91350200776049653A', 'innovative', '2022-05-01', '2025-04-30', '川经信〔2022〕3号')
                """, logger: TestDatabase.logger)
            let loader = BatchInputLoader(client: client, logger: TestDatabase.logger)
            // A twice, B once, and a valid code of a firm that is not registered.
            let firms = try await loader.loadFirms([firmA, firmB, firmA, "91440101MA5CJQ4N59"])
            #expect(firms.keys.sorted() == [firmA, firmB].sorted())
            let levels = firms[firmA]?.qualifications.map { "\($0.level.rawValue) \($0.from)…\($0.to)" }.sorted()
            #expect(levels == ["innovative 2022-05-01…2025-04-30", "specialized 2024-03-01…2027-02-28"])
            #expect(firms[firmA]?.name == "成都甲科技有限公司")
            #expect(firms[firmB]?.qualifications.map(\.level) == [.littleGiant])
            #expect(try await loader.loadFirms([]).isEmpty)
        }
    }
}
