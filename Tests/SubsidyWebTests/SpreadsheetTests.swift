import Foundation
import SubsidyRules
import SubsidyStore
import Testing
import ZIPFoundation
@testable import SubsidyWeb

/// The .xlsx written for exports reads back cell for cell; hostile workbooks are refused with a
/// reason; a 认定名单 is checked whole, naming row and column.
@Suite struct SpreadsheetTests {
    @Test("an exported table reads back: text stays text (19 digits, USCC), amounts keep two decimals")
    func roundTrip() throws {
        let rows: [[BatchExport.Cell]] = [
            [.text("序号 No."), .text("收款账号 Account"), .text("金额 Amount (CNY)"), .text("统一社会信用代码 USCC")],
            [.count(1), .text("6222020000000000019"), .amount(Money(fen: 1_506_945)), .text("91350200776049653A")],
            [.count(2), .text("=HYPERLINK(\"x\") & <b>"), .amount(Money(fen: -266_389)), .text("")],
        ]
        let bytes = try XLSX.workbook(sheet: "支付文件 Payment", rows: rows)
        #expect(bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        let read = try XLSX.readFirstSheet(bytes)
        #expect(read.map(\.row) == [1, 2, 3])
        #expect(read[1].cells == ["1", "6222020000000000019", "15069.45", "91350200776049653A"])
        // Markup is escaped, not interpreted; a recovery stays negative.
        #expect(read[2].cells[1] == "=HYPERLINK(\"x\") & <b>")
        #expect(read[2].cells[2] == "-2663.89")
        #expect(XLSX.columnName(0) == "A" && XLSX.columnName(25) == "Z" && XLSX.columnName(26) == "AA" && XLSX.columnName(701) == "ZZ")
    }

    @Test("escaping for HTML and XML: the four entities, text without them unchanged; XML drops what it cannot carry", arguments: 0..<3)
    func markupEscape(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        let pieces = ["&", "<", ">", "\"", "'", "a", "7", " ", "对账", "—", "\t", "\n", "\r", "\u{0}", "\u{1F}", "\u{7F}", "\u{FFFE}", "\u{FFFF}", "\u{F8FF}", "😀"]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            // The reference: Foundation's replacements, in this order (& first), as the report had them.
            let html = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            #expect(Markup.escape(text) == html, "\(Array(text.unicodeScalars))")
            let dropped = String(String.UnicodeScalarView(html.unicodeScalars.filter {
                $0 == "\t" || $0 == "\n" || $0 == "\r" || ($0.value >= 0x20 && $0.value != 0xFFFE && $0.value != 0xFFFF)
            }))
            #expect(Markup.escape(text, forXML: true) == dropped, "\(Array(text.unicodeScalars))")
        }
        #expect(Markup.escape("a \"b\" & <c>") == "a &quot;b&quot; &amp; &lt;c&gt;")
        #expect(Markup.escape("\u{1}x\u{FFFE}", forXML: true) == "x" && Markup.escape("\u{1}x") == "\u{1}x")
    }

    @Test("a sheet written row by row: 1,000 rows read back in order, past the 200 that set the widths and the 64 kB buffer")
    func streamedRows() throws {
        let directory = try BufferedFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try XLSX.SheetWriter(directory: directory, sheet: "公示名单 Publicity")
        try writer.add([.text("序号 No."), .text("企业名称 Firm"), .text("金额 Amount (CNY)")])
        for number in 1...999 {
            // Row 500's name is 70 characters wide: past the first 200 rows, it does not widen the column.
            let name = number == 500 ? String(repeating: "长", count: 35) : "企业\(number)"
            try writer.add([.count(number), .text(name), .amount(Money(fen: Int64(number) * 101))])
        }
        let url = try writer.finish()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["workbook.xlsx"])
        let bytes = Array(try Data(contentsOf: url))
        let read = try XLSX.readFirstSheet(bytes)
        #expect(read.count == 1_000 && read.map(\.row) == Array(1...1_000))
        // Row 1000 is line 999: 999 × 1.01 = 1,008.99.
        #expect(read[999].cells == ["999", "企业999", "1008.99"])
        #expect(read[500].cells[1] == String(repeating: "长", count: 35))
        // The second column's width: "企业200" is 4 + 3 = 7 wide, the header "企业名称 Firm" 4 × 2 + 5 = 13, plus 2.
        let sheet = try #require(String(data: try Self.entry("xl/worksheets/sheet1.xml", of: url), encoding: .utf8))
        #expect(sheet.contains(#"<col min="2" max="2" width="15" customWidth="1"/>"#))
    }

    static func entry(_ path: String, of url: URL) throws -> Data {
        let archive = try Archive(url: url, accessMode: .read)
        let entry = try #require(archive[path])
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return data
    }

    @Test("not a workbook, too many rows, a bomb that inflates past its bound: refused with a reason")
    func hostile() throws {
        #expect(throws: SpreadsheetError.self) { try XLSX.readFirstSheet(Array("not a zip".utf8)) }
        let many = try XLSX.workbook(sheet: "S", rows: (0..<20).map { [.count($0)] })
        #expect(throws: SpreadsheetError.self) { try XLSX.readFirstSheet(many, limits: XLSX.Limits(maxRows: 10)) }
        // About 4.5 MB of one repeated cell compresses to about 220 KB; a 1 MiB bound stops it
        // while inflating.
        let bomb = try XLSX.workbook(sheet: "S", rows: (0..<40_000).map { _ in [.text("0000000000000000000000000000000000")] })
        #expect(bomb.count < 400_000)
        do {
            _ = try XLSX.readFirstSheet(bomb, limits: XLSX.Limits(maxEntryBytes: 1 << 20, maxRows: 100_000))
            Issue.record("a workbook past its bound was read")
        } catch let error as SpreadsheetError {
            #expect(error.description.contains("MiB"))
        }
    }

    @Test("a 认定名单 in GB18030: a wrong check digit names row, column and the expected character")
    func qualificationList() throws {
        let text = """
            序号,企业名称,地区,统一社会信用代码\r
            1,成都甲精密制造有限公司,高新区,91350200776049653B\r
            2,成都乙智能科技有限公司,锦江区,913502000728319549\r
            3,成都丙创投,,\r
            4,,,\r
            5,成都丁科技有限公司,武侯区,9135020007283195\r
            6,成都乙智能科技有限公司（重复）,锦江区,913502000728319549\r

            """
        let bytes = Array(try #require(text.data(using: String.Encoding(rawValue: 0x8000_0632))))
        let (rows, problems) = QualificationList.read(UploadedFile(name: "list.csv", bytes: bytes))
        // Rows are the file's own line numbers (the heading is row 1).
        #expect(problems.map(\.row) == [2, 4, 5, 6, 7])
        #expect(problems[0].column == "统一社会信用代码 USCC" && problems[0].message.contains("should be A, not B"))
        #expect(problems[1].column == "地区 District")
        #expect(problems[2].message.contains("neither a USCC nor a firm name"))
        #expect(problems[3].message.contains("16 characters, not 18"))
        #expect(problems[4].message.contains("rows 3 and 7"))
        #expect(rows.map(\.row) == [3, 7])

        let good = "统一社会信用代码,企业名称,地区\n91350200776049653A,成都甲精密制造有限公司,高新区\n,成都乙智能科技有限公司,锦江区\n"
        let (okRows, none) = QualificationList.read(UploadedFile(name: "list.csv", bytes: Array(good.utf8)))
        #expect(none.isEmpty)
        #expect(okRows == [
            QualificationList.Row(row: 2, uscc: "91350200776049653A", name: "成都甲精密制造有限公司", district: "高新区"),
            QualificationList.Row(row: 3, uscc: "", name: "成都乙智能科技有限公司", district: "锦江区"),
        ])
        let headless = QualificationList.read(UploadedFile(name: "x.csv", bytes: Array("a,b\n1,2\n".utf8)))
        #expect(headless.problems.first?.message.contains("统一社会信用代码") == true)
    }

    @Test("every label a template uses exists in Chinese and English")
    func labels() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/SubsidyWeb/Templates")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }
        #expect(files.count >= 15)
        let pattern = try NSRegularExpression(pattern: #"\{\{t\.([A-Za-z_]+)\}\}"#)
        var used: Set<String> = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                used.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        #expect(used.count > 100)
        let zh = Strings.table(.zh), en = Strings.table(.en)
        #expect(used.subtracting(zh.keys).isEmpty, "missing: \(used.subtracting(zh.keys).sorted())")
        #expect(zh.keys.allSatisfy { !(zh[$0] ?? "").isEmpty && !(en[$0] ?? "").isEmpty })
    }
}
