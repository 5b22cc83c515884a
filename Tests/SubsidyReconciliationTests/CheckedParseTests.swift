import Foundation
import PropertyBased
@testable import SubsidyReconciliation
import SubsidyRules
import Testing

/// A bank's statement upload is checked without keeping its entries
/// (`StatementParser.parse(…, keepingEntries: false)`): the same file must be refused with the
/// same error, or read into the same statements, with their entries' count and sum in place of
/// the entries.
@Suite("A statement checked without its entries")
struct CheckedParseTests {
    /// Parses `data` both ways and compares: the same error, or the same statements but for the
    /// entries, whose count and checked sum the tally carries.
    static func sameBothWays(
        _ data: Data, format: StatementFormat? = nil, profile: String? = nil, maxEntries: Int = StatementLimits.maxEntries,
        _ comment: String = ""
    ) -> Bool {
        let kept = Result { () throws(StatementError) -> ParsedStatements in
            try StatementParser.parse(data, format: format, profile: profile, maxEntries: maxEntries)
        }
        let checked = Result { () throws(StatementError) -> ParsedStatements in
            try StatementParser.parse(data, format: format, profile: profile, maxEntries: maxEntries, keepingEntries: false)
        }
        switch (kept, checked) {
        case (.success(let kept), .success(let checked)):
            #expect(checked.format == kept.format, "\(comment)")
            #expect(checked.statements.count == kept.statements.count, "\(comment)")
            for (whole, counted) in zip(kept.statements, checked.statements) {
                #expect(whole.tally == nil && counted.entries.isEmpty, "\(comment)")
                #expect(counted.tally?.count == whole.entries.count, "\(comment)")
                // The sum of the entries kept, added up here without the parser's tally.
                let sum = whole.entries.reduce(Int64?.some(0)) { total, entry in
                    total.flatMap { let (next, overflow) = $0.addingReportingOverflow(entry.amount.fen); return overflow ? nil : next }
                }
                #expect(counted.tally?.total == sum.map { Money(fen: $0) }, "\(comment)")
                #expect(counted.entriesTotal == whole.entriesTotal && counted.balanceDifference == whole.balanceDifference, "\(comment)")
                var rest = whole
                rest.entries = []
                rest.tally = counted.tally
                #expect(counted == rest, "\(comment)")
            }
            return true
        case (.failure(let kept), .failure(let checked)):
            #expect(checked == kept, "\(comment)")
            return false
        case (.success, .failure(let error)):
            Issue.record("read with its entries, refused without them: \(error) \(comment)")
            return false
        case (.failure(let error), .success):
            Issue.record("refused with its entries (\(error)), read without them \(comment)")
            return false
        }
    }

    @Test("the public sample files, MT940 and camt.053 (the malformed one too): the same statements, entries counted and summed")
    func sampleFiles() throws {
        let root = statementsFolder
        let files = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".sta") || $0.hasSuffix(".xml") }.sorted()
        #expect(files.count >= 8, "\(files)")
        for file in files {
            let data = try Data(contentsOf: root.appendingPathComponent(file))
            #expect(Self.sameBothWays(data, file) == !file.contains("wrong"), "\(file)")
        }
        // One of them by hand: cmxl's mt940.sta has three statements; the tally of the first is
        // what its :61: lines state (see SampleStatementTests for how they are read).
        let cmxl = try Data(contentsOf: root.appendingPathComponent("mt940/cmxl/mt940.sta"))
        let counted = try StatementParser.parse(cmxl, keepingEntries: false)
        let whole = try StatementParser.parse(cmxl)
        #expect(counted.statements.map { $0.tally?.count } == whole.statements.map(\.entries.count))
        #expect(counted.statements.allSatisfy { $0.entries.isEmpty && $0.tally != nil })
    }

    @Test("an ICBC CSV export: three entries, −15,069.45 − 7,663.89 + 7,663.89 = −15,069.45; opening 1,000,000.00")
    func icbcCSV() throws {
        let text = """
            账号：6222020000000009,户名：成都市财政局专户\r
            交易时间,凭证号,对方单位名称,对方账号,借方发生额,贷方发生额,余额,摘要,用途\r
            2025-10-13 09:12:00,0001,成都甲科技有限公司,6222020000000001,"15,069.45",,"984,930.55",转账支出,SLZ2500001000022\r
            2025-10-15 10:00:00,0003,成都乙制造有限公司,6226090000000002,,7663.89,984930.55,退汇,原路退回 SLZ2500001000014\r
            2025-10-13 09:13:00,0002,成都乙制造有限公司,6226090000000002,7663.89,,977266.66,转账支出,SLZ250000100001\r

            """
        let counted = try #require(try StatementParser.parse(Data(text.utf8), profile: "icbc", keepingEntries: false).statements.first)
        #expect(counted.tally?.count == 3)
        #expect(counted.tally?.total == money("-15069.45"))
        // Opening = first balance − first amount: 984,930.55 + 15,069.45; closing = the last row's.
        #expect(counted.openingBalance?.amount == money("1000000.00"))
        #expect(counted.closingBalance?.amount == money("977266.66"))
        // The dates out of order: the number still runs from the first day to the last.
        #expect(counted.statementNumber == "2025-10-13…2025-10-15")
        #expect(Self.sameBothWays(Data(text.utf8), profile: "icbc"))
    }

    @Test("hostile files: amounts past the bound, sums past Int64, entries past the limit: the same refusals")
    func hostile() {
        var lines = [":20:EVIL", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY0,00"]
        for _ in 0..<3 { lines += [":61:2510131013C999999999999999,99NTRFNONREF", ":86:x"] }
        #expect(!Self.sameBothWays(Data((lines + [":62F:C251013CNY0,00", "-"]).joined(separator: "\r\n").utf8), "too large"))
        // 9,999,999,999,999.99 is 999,999,999,999,999 分 (about 1.0e15): 9,300 of them are
        // 9.3e18 分, past Int64's 9.22e18. Refused as "add up past what can be counted", both ways.
        let pastInt64 = [":20:S", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY0,00"]
            + Array(repeating: ":61:2510131013C9999999999999,99NTRFNONREF", count: 9_300) + [":62F:C251013CNY0,00", "-"]
        let sumError = #expect(throws: StatementError.self) {
            try StatementParser.parse(Data(pastInt64.joined(separator: "\n").utf8), keepingEntries: false)
        }
        #expect(sumError?.message.contains("add up past what can be counted") == true, "\(String(describing: sumError))")
        #expect(!Self.sameBothWays(Data(pastInt64.joined(separator: "\n").utf8), "past Int64"))
        let entries = (0..<3).flatMap { [":61:2510131013D1,00NTRFNONREF", ":86:/REMI/R\($0)"] }
        let three = Data(([":20:S", ":25:6222020000009999", ":28C:1/1", ":60F:C251013CNY10,00"] + entries + [":62F:C251013CNY7,00", "-"])
            .joined(separator: "\r\n").utf8)
        #expect(!Self.sameBothWays(three, maxEntries: 2, "limit"))
        #expect(Self.sameBothWays(three, maxEntries: 3, "at the limit"))
    }

    /// A small deterministic generator (an LCG) for the random files below, from PropertyBased's seed.
    struct Draw {
        var state: UInt64
        mutating func below(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func amount() -> String {
            // Mostly ordinary amounts; now and then the largest allowed, or one digit too many.
            let kind = below(100)
            let whole = kind < 30 ? below(10) : kind < 60 ? below(100_000) : kind < 90 ? below(1_000_000_000) : kind < 99 ? 9_999_999_999_999 : 99_999_999_999_999
            return "\(whole),\(String(format: "%02d", below(100)))"
        }
    }

    /// A random MT940 file of one to three statements and its entry limit: now and then a bad
    /// mark or date, an amount with a digit too many, a balance missing, too many entries.
    static func randomMT940(seed: Int) -> (Data, maxEntries: Int) {
        var draw = Draw(state: UInt64(seed))
        var lines: [String] = []
        for statement in 0..<(1 + draw.below(3)) {
            lines += [":20:ST\(statement)", ":25:62220200000\(draw.below(3))", ":28C:\(statement)/1"]
            if !draw.chance(3) { lines.append(":60F:\(draw.chance(50) ? "C" : "D")251013CNY\(draw.amount())") }
            for entry in 0..<draw.below(12) {
                let mark = ["C", "D", "RC", "RD", "X"][draw.chance(99) ? draw.below(4) : 4]
                let date = draw.chance(99) ? "2510131013" : "2513401013"
                lines.append(":61:\(date)\(mark)\(draw.amount())NTRF\(draw.chance(50) ? "NONREF" : "REF\(entry)//B\(entry)")")
                if draw.chance(70) { lines.append(":86:/REMI/SLZ25\(entry)/NAME/甲公司") }
                if draw.chance(20) { lines.append("continued text \(entry)") }
            }
            if !draw.chance(3) { lines.append(":62F:C251013CNY\(draw.amount())") }
            lines.append("-")
        }
        let separator = draw.chance(50) ? "\r\n" : "\n"
        return (Data(lines.joined(separator: separator).utf8), 20 + draw.below(10))
    }

    /// A random CSV export and camt.053 file of the same entries (the camt's entry limit with
    /// it): now and then a bad date or amount, a balance cell left empty, too many entries.
    static func randomCSVAndCamt(seed: Int) -> (csv: Data, camt: Data, camtMaxEntries: Int) {
        var draw = Draw(state: UInt64(seed))
        let withBalance = draw.chance(60)
        var rows = ["交易日期,交易金额,对方户名,对方账号,附言" + (withBalance ? ",账户余额" : "")]
        var entries: [String] = []
        for row in 0..<draw.below(15) {
            let day = draw.chance(99) ? 10 + draw.below(18) : 40
            let amount = (draw.chance(50) ? "-" : "") + draw.amount().replacingOccurrences(of: ",", with: draw.chance(99) ? "." : "x")
            let balance = withBalance && draw.chance(90) ? ",\(draw.amount().replacingOccurrences(of: ",", with: "."))" : (withBalance ? "," : "")
            rows.append("202510\(day),\(amount),甲,1234567,R\(row)\(balance)")
            let indicator = amount.hasPrefix("-") ? "DBIT" : "CRDT"
            let value = amount.hasPrefix("-") ? String(amount.dropFirst()) : amount
            entries.append(#"<Ntry><Amt Ccy="CNY">\#(value)</Amt><CdtDbtInd>\#(indicator)</CdtDbtInd><BookgDt><Dt>2025-10-\#(day)</Dt></BookgDt></Ntry>"#)
        }
        let camt = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>
            <Stmt><Id>S1</Id><Acct><Id><Othr><Id>6222020000009999</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
            <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">\(draw.amount().replacingOccurrences(of: ",", with: "."))</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-10-10</Dt></Dt></Bal>
            <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-10-31</Dt></Dt></Bal>
            \(entries.joined(separator: "\n"))
            </Stmt></BkToCstmrStmt></Document>
            """
        return (Data(rows.joined(separator: "\n").utf8), Data(camt.utf8), 5 + draw.below(15))
    }

    @Test("random MT940 files, some malformed: both ways read the same or refuse the same")
    func randomMT940() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            let (file, limit) = Self.randomMT940(seed: seed)
            _ = Self.sameBothWays(file, format: .mt940, maxEntries: limit, "seed \(seed)")
        }
    }

    @Test("random CSV and camt.053 files, some malformed: both ways read the same or refuse the same")
    func randomCSVAndCamt() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            let (csv, camt, limit) = Self.randomCSVAndCamt(seed: seed)
            _ = Self.sameBothWays(csv, format: .csv, "csv, seed \(seed)")
            _ = Self.sameBothWays(camt, format: .camt053, maxEntries: limit, "camt, seed \(seed)")
        }
    }

    @Test("the random files are a mix: of seeds 0–199, each format has files read and files refused")
    func randomFilesMix() {
        var read: [StatementFormat: Int] = [:]
        for seed in 0..<200 {
            let (mt940, limit) = Self.randomMT940(seed: seed)
            let (csv, camt, camtLimit) = Self.randomCSVAndCamt(seed: seed)
            if Self.sameBothWays(mt940, format: .mt940, maxEntries: limit) { read[.mt940, default: 0] += 1 }
            if Self.sameBothWays(csv, format: .csv) { read[.csv, default: 0] += 1 }
            if Self.sameBothWays(camt, format: .camt053, maxEntries: camtLimit) { read[.camt053, default: 0] += 1 }
        }
        for format in StatementFormat.allCases {
            #expect((40...160).contains(read[format, default: 0]), "\(format): \(read[format, default: 0]) of 200 read")
        }
    }
}
