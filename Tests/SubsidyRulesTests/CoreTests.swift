import Foundation
@testable import SubsidyRules
import PropertyBased
import Testing

@Suite("Money, rates, dates and codes")
struct CoreTests {
    @Test("amounts parse strictly and format with two decimals", arguments: [
        ("1234.56", 123_456 as Int64), ("1234.5", 123_450), ("0", 0), ("0.01", 1), ("007.10", 710), ("9999999999.99", 999_999_999_999),
    ])
    func parsesAmounts(text: String, fen: Int64) throws {
        #expect(try Money.parse(text, field: "f").fen == fen)
    }

    @Test("malformed amounts are refused, naming the field", arguments: [
        "1,234", "1e3", "12.345", "abc", "12abc", "", " 12", "12 ", "+1", ".5", "5.", "1.2.3", "-1", "10000000000.00", "１２",
    ])
    func refusesAmounts(text: String) {
        #expect(throws: InputError.self) { try Money.parse(text, field: "loans[0].principal") }
        do {
            _ = try Money.parse(text, field: "loans[0].principal")
        } catch {
            #expect(error.field == "loans[0].principal")
        }
    }

    @Test func negativeOnlyWhereAllowed() throws {
        #expect(try Money.parse("-5.00", field: "f", allowNegative: true).fen == -500)
        #expect(throws: InputError.self) { try Money.parse("-5.00", field: "f") }
        #expect(throws: InputError.self) { try Money.parse("-", field: "f", allowNegative: true) }
    }

    @Test func formats() {
        #expect(Money(fen: 123_456_789).plain == "1234567.89")
        #expect(Money(fen: 123_456_789).grouped == "1,234,567.89")
        #expect(Money(fen: 5).grouped == "0.05")
        #expect(Money(fen: -100_050).grouped == "-1,000.50")
        #expect(Money(fen: 100_000).grouped == "1,000.00")
        #expect(Money(fen: 99_999).grouped == "999.99")
        #expect(Money(fen: 0).plain == "0.00")
        #expect(Money(fen: -7).plain == "-0.07")
        // The extremes fill the formatting buffer: 19 digits, 6 separators, a point and a sign.
        #expect(Money(fen: .max).grouped == "92,233,720,368,547,758.07")
        #expect(Money(fen: .min).grouped == "-92,233,720,368,547,758.08")
        #expect(Money(fen: .min).plain == "-92233720368547758.08")
        // 15 bytes (stored inline) and 16 (on the heap) read the same way.
        #expect(Money(fen: 99_999_999_999).grouped == "999,999,999.99")
        #expect(Money(fen: 100_000_000_000).grouped == "1,000,000,000.00")
    }

    @Test("every amount formats and parses back, grouped or plain")
    func formatsRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let fen = Int64.random(in: -Money.maxInputFen...Money.maxInputFen, using: &rng)
            let money = Money(fen: fen)
            #expect(try Money.parse(money.plain, field: "f", allowNegative: true) == money)
            #expect(money.grouped.filter { $0 != "," } == money.plain)
        }
    }

    @Test("rates are exact percentages with at most six decimals")
    func rates() throws {
        #expect(try Rate.parse("3.45", field: "r").microPercent == 3_450_000)
        #expect(try Rate.parse("0.000001", field: "r").microPercent == 1)
        #expect(try Rate.parse("100", field: "r").microPercent == 100_000_000)
        for bad in ["3.45%", "-1", "abc", "1e2", "100.01", "0.0000001", "", "3,45"] {
            #expect(throws: InputError.self, "\(bad)") { try Rate.parse(bad, field: "r") }
        }
    }

    @Test("rounding is half away from zero, once")
    func rounding() {
        #expect(Exact.roundHalfAwayFromZero(15, over: 10) == 2)   // 1.5 → 2
        #expect(Exact.roundHalfAwayFromZero(25, over: 10) == 3)   // 2.5 → 3 (not banker's 2)
        #expect(Exact.roundHalfAwayFromZero(-25, over: 10) == -3) // −2.5 → −3
        #expect(Exact.roundHalfAwayFromZero(14, over: 10) == 1)
        #expect(Exact.roundHalfAwayFromZero(-14, over: 10) == -1)
        // 30,138.89 × 50 % = 15,069.445 → 15,069.45
        #expect(Exact.apply(try! Rate.parse("50", field: "r"), to: Money(fen: 3_013_889)) == Money(fen: 1_506_945))
    }

    @Test("the largest inputs cannot overflow the exact interest product")
    func noOverflowAtLimits() {
        // 10^12 分 × 100 % × 73,000 days (200 years): 10^12 × 10^8 × 7.3 × 10^4 = 7.3 × 10^24 < Int128.max.
        let interest = Exact.interest(on: Money(fen: 1_000_000_000_000), rate: Rate.percent(100), days: 73_000, basis: 360)
        // 10^12 × 73,000 / 360 = 202,777,777,777,777.77… → …778
        #expect(interest == Money(fen: 202_777_777_777_778))
    }

    @Test("dates parse strictly; day counts are算头不算尾")
    func dates() throws {
        let leap = try CivilDate.parse("2024-02-29", field: "d")
        #expect(leap.description == "2024-02-29")
        #expect(try CivilDate.parse("2024-03-01", field: "d") - leap == 1)
        #expect(try CivilDate.parse("2025-03-21", field: "d") - CivilDate.parse("2025-01-10", field: "d") == 70)
        for bad in ["2025-02-29", "2025/01/01", "2025-1-1", "20250101", "2025-13-01", "2025-00-10", "1899-12-31", ""] {
            #expect(throws: InputError.self, "\(bad)") { try CivilDate.parse(bad, field: "d") }
        }
        #expect(leap.adding(years: 1).description == "2025-02-28")
        #expect(leap.anniversary(years: 3).description == "2027-03-01")
        #expect(CivilDate(year: 2026, month: 2, day: 24)!.dayOfMonth(20, monthsLater: 1).description == "2026-03-20")
        #expect(CivilDate(year: 2025, month: 12, day: 22)!.dayOfMonth(20, monthsLater: 1).description == "2026-01-20")
    }

    @Test("USCC check characters (GB 32100-2015)")
    func uscc() {
        for valid in ["91350200776049653A", "913502000728319549", "91440101MA5CJQ4N59"] {
            #expect(USCC.isValid(valid), "\(valid)")
        }
        #expect(!USCC.isValid("91350200776049653B"))
        #expect(!USCC.isValid("91350200776049653"))
        #expect(!USCC.isValid("91440101ma5cjq4n59"))
        #expect(!USCC.isValid("9135020077604965IA"))
        #expect(throws: InputError.self) { try USCC.validate("91350200776049653B", field: "f", allowList: []) }
        // An administrator's allow-list admits a legacy code that fails the check.
        #expect(throws: Never.self) { try USCC.validate("91350200776049653B", field: "f", allowList: ["91350200776049653B"]) }
    }
}

/// `shared/` beside the repository, as CI and the work tree have it.
let sharedLPRFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/lpr.csv")

@Suite("LPR table (RULES.md §2)")
struct LPRTests {
    @Test("the built-in table is shared/data/lpr.csv verbatim", .enabled(if: FileManager.default.fileExists(atPath: sharedLPRFile.path)))
    func matchesSharedFile() throws {
        let shared = sharedLPRFile
        let text = try String(contentsOf: shared, encoding: .utf8)
        #expect(text.trimmingCharacters(in: .newlines) == builtInLPRCSV.trimmingCharacters(in: .newlines))
        #expect(LPRTable.builtIn.fixings.count == 79)
    }

    @Test("a fixing is in force from its publication until the next")
    func lookup() throws {
        let table = LPRTable.builtIn
        // 2025-05-19: the 2025-04-21 fixing (3.10); 2025-05-20: the new one (3.00).
        #expect(try table.fixing(on: CivilDate(year: 2025, month: 5, day: 19)!).oneYear.text == "3.10")
        #expect(try table.fixing(on: CivilDate(year: 2025, month: 5, day: 20)!).oneYear.text == "3.00")
        #expect(try table.fixing(on: CivilDate(year: 2019, month: 8, day: 20)!).fiveYearPlus.text == "4.85")
        // Coverage ends on the 20th of the month after the newest fixing (2026-02-24 → 2026-03-20).
        #expect(try table.fixing(on: CivilDate(year: 2026, month: 3, day: 19)!).oneYear.text == "3.00")
        #expect(throws: LPRCoverageError.self) { try table.fixing(on: CivilDate(year: 2026, month: 3, day: 20)!) }
        #expect(throws: LPRCoverageError.self) { try table.fixing(on: CivilDate(year: 2019, month: 8, day: 19)!) }
    }

    @Test("daily segments split a period at each fixing")
    func segments() throws {
        let pieces = try LPRTable.builtIn.segments(from: CivilDate(year: 2024, month: 9, day: 1)!, to: CivilDate(year: 2024, month: 12, day: 1)!)
        // 2024-09-01…09-19 (19 days, 3.35), 09-20…10-20 (31, 3.35), 10-21…11-19 (30, 3.10), 11-20…11-30 (11, 3.10)
        #expect(pieces.map(\.days) == [19, 31, 30, 11])
        #expect(pieces.map(\.fixing.oneYear.text) == ["3.35", "3.35", "3.10", "3.10"])
        #expect(pieces.map(\.days).reduce(0, +) == 91)
    }
}

@Suite("Response JSON")
struct JSONOutputTests {
    @Test("strings are escaped and UTF-8 passes through; round-trips through a JSON parser")
    func escaping() throws {
        let value = JSONValue.object([
            ("text", .string("a\"b\\c\nd\te\u{01}成都")), ("n", .int(-12)), ("ok", .bool(true)), ("none", .null), ("list", .array([])),
        ])
        #expect(value.serialized() == #"{"text":"a\"b\\c\nd\te\u0001成都","n":-12,"ok":true,"none":null,"list":[]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(value.serialized(pretty: true).utf8)) as? [String: Any]
        #expect(parsed?["text"] as? String == "a\"b\\c\nd\te\u{01}成都")
    }

    @Test("random strings, with and without characters to escape, round-trip through a JSON parser")
    func escapingRoundTrip() throws {
        let safe: [Unicode.Scalar] = ["a", "Z", "0", " ", "¥", "成", "都", "/", "😀"]
        let escaped: [Unicode.Scalar] = ["\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1F}"]
        var generator = SystemRandomNumberGenerator()
        func string(_ scalars: [Unicode.Scalar], _ length: Int) -> String {
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(scalars.randomElement(using: &generator)!) }
            return String(text)
        }
        for length in 0..<200 {
            let text = string(safe + escaped, length)
            let plain = string(safe, length)
            for candidate in [text, plain] {
                let document = JSONValue.array([.string(candidate)]).serialized()
                let parsed = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String]
                #expect(parsed == [candidate], "\(document)")
            }
            // Escape-free text is copied as it is, between quotes.
            #expect(JSONValue.string(plain).serialized() == "\"" + plain + "\"")
        }
    }

    @Test("a stored explanation's numbers are written as String(value) writes them: the edges, then 2,000 random ones")
    func explanationNumbers() async {
        func written(_ value: Int64, comma: Bool = false) -> String {
            var out: [UInt8] = Array("x".utf8)
            ExplanationStep.writeNumber(value, comma: comma, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        for value: Int64 in [0, 9, 10, -1, -10, 99, 100, 296_712, Int64.max, Int64.min, Int64.min + 1] {
            #expect(written(value) == "x" + String(value))
        }
        #expect(written(42, comma: true) == "x42,")
        await propertyCheck(count: 2_000, input: Gen.int64(in: Int64.min...Int64.max)) { value in
            #expect(written(value) == "x" + String(value))
        }
    }

    @Test("ids are ordered byte by byte, as lexicographicallyPrecedes over UTF-8 orders them: prefixes, empties, non-ASCII, long ids")
    func idOrder() async {
        let fixed: [(String, String, Bool)] = [
            ("", "", false), ("", "a", true), ("a", "", false), ("R10", "R9", true), ("R9", "R10", false), ("ab", "abc", true),
            ("Z", "a", true), ("é", "z", false), ("中", "é", false), ("ICBC/LN-1", "ICBC/LN-1", false),
            (String(repeating: "x", count: 40) + "a", String(repeating: "x", count: 40) + "b", true),
        ]
        for (lhs, rhs, expected) in fixed {
            #expect(textOrder(lhs, rhs) == expected, "\(lhs) < \(rhs)")
        }
        let alphabet: [Character] = ["A", "a", "0", "9", "/", "-", "é", "中", "\u{0}"]
        let letters = Gen.int(in: 0...(alphabet.count - 1)).array(of: 0...30)
        await propertyCheck(count: 2_000, input: letters, letters) { left, right in
            let (lhs, rhs) = (String(left.map { alphabet[$0] }), String(right.map { alphabet[$0] }))
            #expect(textOrder(lhs, rhs) == lhs.utf8.lexicographicallyPrecedes(rhs.utf8), "\(lhs.debugDescription) < \(rhs.debugDescription)")
        }
    }
}
