import Foundation
import SubsidyReconciliation
import SubsidyRules
import Testing

/// Files built to crash, exhaust or mislead the reader: each is refused with a message naming
/// where and what, and nothing traps (issue 9, item 6).
@Suite("Hostile statement files")
struct HostileFileTests {
    func refusal(_ data: Data, format: StatementFormat? = nil) -> StatementError? {
        do {
            _ = try StatementParser.parse(data, format: format)
            return nil
        } catch {
            return error
        }
    }

    @Test("93 lines of 999,999,999,999,999.99 in an MT940: refused, no overflow trap")
    func hugeAmounts() throws {
        var lines = [":20:EVIL", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY0,00"]
        for _ in 0..<93 { lines += [":61:2510131013C999999999999999,99NTRFNONREF", ":86:x"] }
        lines += [":62F:C251013CNY0,00", "-"]
        let error = try #require(refusal(Data(lines.joined(separator: "\r\n").utf8)))
        #expect(error.message.contains("too large"), "\(error)")
        #expect(error.location == "line 5")
        // At the bound: 13 integer digits parse; a million entries of them still sum within Int64.
        let atBound = [":20:OK", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY0,00",
                       ":61:2510131013C9999999999999,99NTRFNONREF", ":86:x", ":62F:C251013CNY9999999999999,99", "-"].joined(separator: "\r\n")
        let parsed = try StatementParser.parse(Data(atBound.utf8))
        #expect(parsed.statements[0].balanceDifference == .zero)
        // A hand-built statement whose sum does not fit reports no balance instead of trapping.
        let entry = StatementEntry(amount: Money(fen: .max / 2 + 1), currency: "CNY", valueDate: nil, bookingDate: nil, reference: nil,
                                   bankReference: nil, description: "", counterparty: Counterparty(), origin: "x")
        let statement = BankStatement(account: "1", currency: "CNY", statementNumber: "1",
                                      openingBalance: StatementBalance(type: "OPBD", amount: .zero, currency: "CNY", date: nil),
                                      closingBalance: StatementBalance(type: "CLBD", amount: .zero, currency: "CNY", date: nil),
                                      entries: [entry, entry], origin: "x")
        #expect(statement.entriesTotal == nil)
        #expect(statement.balanceDifference == nil)
    }

    @Test("a 266 KB CSV line of commas (millions of empty fields): refused at the field bound")
    func fieldBomb() throws {
        let header = "交易日期,借方发生额,贷方发生额,余额,对方户名,摘要\n"
        let bomb = header + String(repeating: ",", count: 266_000) + "\n"
        let error = try #require(refusal(Data(bomb.utf8), format: .csv))
        #expect(error.message.contains("more than 256 fields"), "\(error)")
        #expect(error.location.contains("line 2"), "\(error)")
    }

    @Test("a billion-laughs XML and a DTD with external entities: refused before anything expands")
    func billionLaughs() throws {
        var dtd = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        for level in 1...9 {
            dtd += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level == 1 ? "" : String(level - 1));", count: 10) + "\">\n"
        }
        dtd += "]>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt>&lol9;</Stmt></BkToCstmrStmt></Document>\n"
        let error = try #require(refusal(Data(dtd.utf8), format: .camt053))
        #expect(error.message.contains("DTD"), "\(error)")
        let external = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Document>&x;</Document>"
        #expect(refusal(Data(external.utf8), format: .camt053)?.message.contains("DTD") == true)
    }

    @Test("camt.053 nested past the depth bound, or one element's text past 64 KiB: refused")
    func deepAndLongXML() throws {
        let deep = "<Document>" + String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40) + "</Document>"
        #expect(refusal(Data(deep.utf8), format: .camt053)?.message.contains("nested deeper than 32") == true)
        let long = "<Document><BkToCstmrStmt><GrpHdr><MsgId>" + String(repeating: "x", count: 70_000) + "</MsgId></GrpHdr></BkToCstmrStmt></Document>"
        #expect(refusal(Data(long.utf8), format: .camt053)?.message.contains("64 KiB") == true)
    }

    @Test("a 90,000-entry camt.053 (over 10 MB) streams: entries kept, the element tree dropped as each closes")
    func streamsLargeCamt() throws {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>
            <Stmt><Id>S1</Id><Acct><Id><Othr><Id>6222020000009999</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
            <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">90000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-10-13</Dt></Dt></Bal>
            <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-10-13</Dt></Dt></Bal>

            """
        for index in 0..<90_000 {
            xml += "<Ntry><NtryRef>R\(index)</NtryRef><Amt Ccy=\"CNY\">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2025-10-13</Dt></BookgDt></Ntry>\n"
        }
        xml += "</Stmt></BkToCstmrStmt></Document>\n"
        let parsed = try StatementParser.parse(Data(xml.utf8))
        // 90,000.00 − 90,000 × 1.00 = 0.00: balanced.
        #expect(parsed.statements.count == 1)
        #expect(xml.utf8.count > 10_000_000)
        #expect(parsed.statements[0].entries.count == 90_000)
        #expect(parsed.statements[0].entries[89_999].reference == "R89999")
        #expect(parsed.statements[0].balanceDifference == .zero)
    }

    @Test("more entries than a file may hold (200,000; 2 here): refused in every format as they are read, naming the limit; at the limit, read")
    func entryLimit() throws {
        #expect(StatementLimits.maxEntries == 200_000)
        func mt940(_ count: Int) -> Data {
            let entries = (0..<count).flatMap { [":61:2510131013D1,00NTRFNONREF", ":86:/REMI/R\($0)"] }
            return Data(([":20:S", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY10,00"] + entries + [":62F:C251013CNY\(10 - count),00", "-"])
                .joined(separator: "\r\n").utf8)
        }
        func camt(_ count: Int) -> Data {
            let entries = (0..<count).map { _ in #"<Ntry><Amt Ccy="CNY">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2025-10-13</Dt></BookgDt></Ntry>"# }
            return Data(("""
                <?xml version="1.0" encoding="UTF-8"?>
                <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>
                <Stmt><Id>S1</Id><Acct><Id><Othr><Id>6222020000009999</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
                """ + entries.joined() + "</Stmt></BkToCstmrStmt></Document>\n").utf8)
        }
        func csv(_ count: Int) -> Data {
            Data((["交易日期,交易金额,对方户名,对方账号,附言"] + (0..<count).map { "20251013,-1.00,甲,1234567,R\($0)" }).joined(separator: "\n").utf8)
        }
        for (format, file) in [(StatementFormat.mt940, mt940), (.camt053, camt), (.csv, csv)] {
            #expect(try StatementParser.parse(file(2), format: format, maxEntries: 2).statements.map(\.entries.count) == [2], "\(format)")
            do {
                _ = try StatementParser.parse(file(3), format: format, maxEntries: 2)
                Issue.record("\(format): 3 entries read past a limit of 2")
            } catch {
                #expect(error.message == "more than 2 entries in one file: split the statement (by day or by statement number) and import the parts", "\(format)")
            }
        }
        // camt.053 counts the file's entries, not a statement's: two statements of 2, a limit of 3.
        let ntry = #"<Ntry><Amt Ccy="CNY">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2025-10-13</Dt></BookgDt></Ntry>"#
        let statement = "<Stmt><Id>S</Id><Acct><Id><Othr><Id>6222020000009999</Id></Othr></Id><Ccy>CNY</Ccy></Acct>\(ntry)\(ntry)</Stmt>"
        let twoStatements = Data(("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
            + "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>\(statement)\(statement)</BkToCstmrStmt></Document>\n").utf8)
        #expect(try StatementParser.parse(twoStatements, format: .camt053, maxEntries: 4).statements.map(\.entries.count) == [2, 2])
        #expect(throws: StatementLimits.tooManyEntries(3, location: "Document/BkToCstmrStmt/Stmt/Ntry")) {
            try StatementParser.parse(twoStatements, format: .camt053, maxEntries: 3)
        }
        // MT940 stops at the third :61: (line 9), before reading its text or the lines after it.
        #expect(throws: StatementLimits.tooManyEntries(2, location: "line 9")) { try StatementParser.parse(mt940(3), format: .mt940, maxEntries: 2) }
    }

    @Test("returns flagged by the bank: MT940 RD and RTI, camt RvslInd")
    func returnFlags() throws {
        let mt940 = [":20:R", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY0,00",
                     ":61:2510131013RD10,00NTRFNONREF", ":61:2510131013C10,00NRTINONREF", ":61:2510131013C10,00NTRFNONREF",
                     ":62F:C251013CNY30,00", "-"].joined(separator: "\r\n")
        let entries = try StatementParser.parse(Data(mt940.utf8)).statements[0].entries
        #expect(entries.map(\.flaggedReturn) == [true, true, false])
    }

    @Test("a repayment of a recovery: by its reference, or from the firm's account for the exact amount, once")
    func repayments() {
        let matcher = Matcher(calendar: WorkingCalendar(holidays: [], workingWeekends: []), windowWorkingDays: 10)
        let owed = [ExpectedRecovery(lineID: 9, reference: "SLZ2500002000020", payerAccount: "6226090000000002", amount: money("2663.89"))]
        let outcomes = matcher.match([
            credit("2663.89", text: "退回多领贴息 SLZ2500002000020"),
            credit("2663.89", account: "6226 0900 0000 0002"),  // the same again: nothing left owed
            credit("100.00", account: "6226090000000002"),  // another amount: not this recovery
        ], against: [], recoveries: owed)
        #expect(outcomes.map(\.category) == [.repayment, .other, .other])
        #expect(outcomes[0].lineIDs == [9])
        let byAccount = matcher.match([credit("2663.89", account: "6226-0900-0000-0002")], against: [], recoveries: owed)
        #expect(byAccount.map(\.category) == [.repayment])
        #expect(byAccount[0].rule == "repayment-account")
    }
}
