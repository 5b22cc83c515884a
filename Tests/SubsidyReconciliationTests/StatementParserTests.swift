import Foundation
import SubsidyReconciliation
import SubsidyRules
import Testing

/// `shared/data/statements/` beside the repository.
let statementsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/statements")

func sampleFiles(_ subfolder: String, suffix: String) -> [String] {
    let root = statementsFolder.appendingPathComponent(subfolder)
    guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
    return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(suffix) && !$0.contains("wrong") }.sorted()
        .map { root.appendingPathComponent($0).path }
}

func money(_ text: String) -> Money { try! Money.parse(text, field: "test", allowNegative: true) }

@Suite("Statement parsers on the public sample files", .enabled(if: FileManager.default.fileExists(atPath: statementsFolder.path)))
struct SampleStatementTests {
    /// What an MT940 file states, read with plain text matching (independent of the parser):
    /// statements (:20:), entries (:61:), and each opening and closing balance.
    struct Stated {
        var statements = 0
        var entries = 0
        var openings: [Money] = []
        var closings: [Money] = []
    }

    static func stated(mt940 text: String) -> Stated {
        var stated = Stated()
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix(":20:") { stated.statements += 1 }
            if line.hasPrefix(":61:") { stated.entries += 1 }
            for (prefixes, isOpening) in [([":60F:", ":60M:"], true), ([":62F:", ":62M:"], false)] where prefixes.contains(where: line.hasPrefix) {
                let body = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
                let sign = body.first == "D" ? "-" : ""
                let amount = String(body.dropFirst(10)).replacingOccurrences(of: ",", with: ".")
                let normalised = amount.hasSuffix(".") ? amount + "00" : amount
                let value = money(sign + (normalised.split(separator: ".").count == 2
                    ? "\(Int(normalised.split(separator: ".")[0])!).\(normalised.split(separator: ".")[1].prefix(2))" : "\(Int(normalised)!)"))
                if isOpening { stated.openings.append(value) } else { stated.closings.append(value) }
            }
        }
        return stated
    }

    @Test("every MT940 sample parses with the statements, entries and balances it states", arguments: sampleFiles("mt940", suffix: ".sta"))
    func mt940(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let text = String(decoding: data, as: UTF8.self)
        let parsed = try StatementParser.parse(data)
        #expect(parsed.format == .mt940)
        let stated = Self.stated(mt940: text)
        #expect(parsed.statements.count == stated.statements)
        #expect(parsed.statements.map(\.entries.count).reduce(0, +) == stated.entries)
        #expect(parsed.statements.compactMap(\.openingBalance?.amount) == stated.openings)
        #expect(parsed.statements.compactMap(\.closingBalance?.amount) == stated.closings)
        #expect(parsed.statements.allSatisfy { !$0.account.isEmpty && !$0.currency.isEmpty })
    }

    @Test("every camt.053 sample parses with its statements, entries and OPBD/CLBD balances", arguments: sampleFiles("camt053", suffix: ".xml"))
    func camt053(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let text = String(decoding: data, as: UTF8.self)
        let parsed = try StatementParser.parse(data)
        #expect(parsed.format == .camt053)
        #expect(parsed.statements.count == text.components(separatedBy: "<Stmt>").count - 1)
        #expect(parsed.statements.map(\.entries.count).reduce(0, +) == text.components(separatedBy: "<Ntry>").count - 1)
        #expect(parsed.statements.map(\.balances.count).reduce(0, +) == text.components(separatedBy: "<Bal>").count - 1)
        for statement in parsed.statements {
            #expect(!statement.account.isEmpty)
        }
    }

    @Test("worked details: signs, dates, structured :86:, reversals, balance types and the balance check")
    func details() throws {
        // abnamro.sta: :60F:C110522EUR3236,28, first entry 1105240524D9,N192 → −9.00 on 2011-05-24.
        let abnamro = try StatementParser.parse(try Data(contentsOf: statementsFolder.appendingPathComponent("mt940/jejik/abnamro.sta"))).statements
        #expect(abnamro[0].account == "517852257")
        #expect(abnamro[0].openingBalance == StatementBalance(type: "60F", amount: money("3236.28"), currency: "EUR", date: CivilDate(year: 2011, month: 5, day: 22)))
        #expect(abnamro[0].entries[0].amount == money("-9.00"))
        #expect(abnamro[0].entries[0].valueDate == CivilDate(year: 2011, month: 5, day: 24))
        // The file's own figures do not add up: 3,236.28 − 321.44 = 2,914.84, not the stated 876.84.
        #expect(abnamro[0].balanceDifference == money("2038.00"))

        // cmxl: ?32 name and ?31 account from German subfields; :60F: D is a negative opening.
        let cmxl = try StatementParser.parse(try Data(contentsOf: statementsFolder.appendingPathComponent("mt940/cmxl/mt940.sta"))).statements
        #expect(cmxl[1].entries[0].counterparty == Counterparty(name: "MUELLER", account: "234567"))
        #expect(cmxl[1].entries[0].description.contains("Miete November"))
        #expect(cmxl[1].balanceDifference == .zero)  // 2,187.95 − 800.00 + 3,000.00 = 4,387.95
        let betterplace = try StatementParser.parse(try Data(contentsOf: statementsFolder.appendingPathComponent("mt940/betterplace/sepa_mt9401.sta"))).statements
        #expect(betterplace[0].openingBalance?.amount == money("-1234718.36"))
        // 0709040904RCR204,88: RC reverses a credit, so money goes out.
        #expect(betterplace[0].entries.contains { $0.amount == money("-204.88") })

        // camt.053 v2 with all balance types: OPBD/CLBD chosen, the other eight kept.
        let camt = try StatementParser.parse(try Data(contentsOf: statementsFolder.appendingPathComponent("camt053/camt053.v2.all-balance-types.xml"))).statements[0]
        #expect(camt.balances.map(\.type).sorted() == ["CLAV", "CLBD", "FWAV", "INFO", "ITAV", "ITBD", "OPAV", "OPBD", "PRCD", "XPCD"])
        #expect(camt.entries[0].amount == money("8.85"))  // <Amt>8.850</Amt>
        let v8 = try StatementParser.parse(try Data(contentsOf: statementsFolder.appendingPathComponent("camt053/camt053.v8.xml"))).statements[0]
        #expect(v8.entries[0].bookingDate == CivilDate(year: 2014, month: 12, day: 31))  // <DtTm>2014-12-31T13:15:00+01:00</DtTm>
    }

    @Test("the deliberately invalid camt.053 file is refused, naming the XML path")
    func wrongCamt() throws {
        let data = try Data(contentsOf: statementsFolder.appendingPathComponent("camt053/camt053.v2.wrong.xml"))
        #expect(throws: StatementError(location: "Document/BkToCstmrStmt (line 3)", message: "no <Stmt>: the message holds no statement")) {
            try StatementParser.parse(data)
        }
    }
}

@Suite("Statement parsers on malformed and constructed files")
struct StatementParserTests {
    func error(_ text: String, format: StatementFormat? = nil, profile: String? = nil) -> StatementError? {
        do {
            _ = try StatementParser.parse(Data(text.utf8), format: format, profile: profile)
            return nil
        } catch {
            return error
        }
    }

    @Test("malformed MT940 fields name their line and what was expected")
    func malformedMT940() {
        let base = ":20:X\n:25:123\n:28C:1\n:60F:C250101CNY100,00\n:61:250102D10,00NTRFNONREF\n:86:test\n:62F:C250102CNY90,00\n-"
        #expect(error(base) == nil)
        #expect(error(base.replacingOccurrences(of: ":60F:C250101CNY100,00", with: ":60F:X250101CNY100,00"))?.location == "line 4")
        #expect(error(base.replacingOccurrences(of: "D10,00NTRF", with: "D10,00XTRF"))?.message.contains("transaction type") == true)
        #expect(error(base.replacingOccurrences(of: "250102D10", with: "251302D10"))?.message.contains("not a date") == true)
        #expect(error(base.replacingOccurrences(of: ":62F:C250102CNY90,00\n", with: ""))?.message.contains("no :62F:") == true)
        #expect(error(base.replacingOccurrences(of: "100,00", with: "100,001"))?.location == "line 4")
        // The same statement in block format, CRLF: identical result.
        let block = "{1:F01ABCDCNBJAXXX0000000000}{2:O9401200250102ABCDCNBJAXXX00000000002501021200N}{4:\r\n"
            + base.replacingOccurrences(of: "\n-", with: "").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n-}"
        #expect(error(block) == nil)
        #expect((try? StatementParser.parse(Data(block.utf8)).statements[0].entries[0].amount) == money("-10.00"))
    }

    @Test("MT942 interim reports parse without opening and closing balances")
    func mt942() throws {
        let text = ":20:INTERIM\n:25:6222020000000001\n:28C:5/1\n:34F:CNY0,\n:13D:2510111030+0800\n:61:251011C15069,45NTRFSLZ2500001000022\n:86:/REMI/SLZ2500001000022\n:90C:1CNY15069,45\n-"
        let statement = try #require(try StatementParser.parse(Data(text.utf8)).statements.first)
        #expect(statement.openingBalance == nil)
        #expect(statement.entries[0].amount == money("15069.45"))
        #expect(statement.entries[0].description.contains("SLZ2500001000022"))
    }

    @Test("malformed XML names its line")
    func malformedXML() {
        let error = self.error("<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n<BkToCstmrStmt>\n</Document>")
        #expect(error?.location.hasPrefix("line ") == true)
    }

    @Test("a GB18030 ICBC-style export with a preamble, 借方/贷方 columns and 用途")
    func chineseCSV() throws {
        let text = """
            账号：6222020000000009,户名：成都市财政局专户\r
            交易时间,凭证号,对方单位名称,对方账号,借方发生额,贷方发生额,余额,摘要,用途\r
            2025-10-13 09:12:00,0001,成都甲科技有限公司,6222020000000001,"15,069.45",,"984,930.55",转账支出,SLZ2500001000022 壮大贷贴息\r
            2025-10-13 09:13:00,0002,成都乙制造有限公司,6226090000000002,7663.89,,977266.66,转账支出,SLZ250000100001\r
            2025-10-15 10:00:00,0003,成都乙制造有限公司,6226090000000002,,7663.89,984930.55,退汇,原路退回 SLZ2500001000014\r
            合计,,,,22733.34,7663.89,,,\r

            """
        let data = try #require(text.data(using: String.Encoding(rawValue: 0x8000_0632)))
        let statement = try #require(try StatementParser.parse(data, profile: "icbc").statements.first)
        #expect(statement.account == "6222020000000009")
        #expect(statement.entries.count == 3)
        #expect(statement.entries.map(\.amount) == [money("-15069.45"), money("-7663.89"), money("7663.89")])
        #expect(statement.entries[0].counterparty == Counterparty(name: "成都甲科技有限公司", account: "6222020000000001"))
        #expect(statement.entries[0].description == "转账支出 SLZ2500001000022 壮大贷贴息")
        // Opening = first balance − first amount: 984,930.55 + 15,069.45 = 1,000,000.00.
        #expect(statement.openingBalance?.amount == money("1000000.00"))
        #expect(statement.closingBalance?.amount == money("984930.55"))
        #expect(statement.balanceDifference == .zero)
        #expect(statement.entries[0].bookingDate == CivilDate(year: 2025, month: 10, day: 13))
    }

    @Test("the generic profile reads a UTF-8 export with a signed amount; bad cells name line and column")
    func genericCSV() throws {
        let text = "\u{FEFF}交易日期,交易金额,对方户名,对方账号,附言\n20251013,-100.00,甲,1234567,SLZ1\n20251014,50.00,乙,7654321,退回\n"
        let statement = try #require(try StatementParser.parse(Data(text.utf8), format: .csv).statements.first)
        #expect(statement.entries.map(\.amount) == [money("-100.00"), money("50.00")])
        #expect(statement.openingBalance == nil)  // no balance column
        let bad = error(text.replacingOccurrences(of: "-100.00", with: "-100.0x"), format: .csv)
        #expect(bad?.location == "line 2, column 交易金额")
        #expect(error(text.replacingOccurrences(of: "20251013", with: "2025-13-40"), format: .csv)?.location == "line 2, column 交易日期")
        #expect(error("a,b\n1,2\n", format: .csv)?.message.contains("no header row") == true)
        #expect(error(text, format: .csv, profile: "nosuchbank")?.location == "--profile")
    }
}
