public import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
public import Logging
public import PostgresNIO
public import SubsidyRules
public import SubsidyStore
import ZIPFoundation

/// The few SpreadsheetML parts an `.xlsx` needs, written and read over ZIPFoundation (no `.xlsx`
/// library is in the package mirror). Written: one sheet, text as inline strings with the text
/// format (`@`), so 19-digit account numbers and USCCs stay text in Excel and WPS; amounts as
/// numbers shown `#,##0.00`. Read: the first sheet's cells as text, shared strings resolved.
enum XLSX {
    static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    // MARK: Writing

    static func workbook(sheet name: String, rows: [[BatchExport.Cell]]) throws -> [UInt8] {
        let directory = try BufferedFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try SheetWriter(directory: directory, sheet: name)
        for row in rows { try writer.add(row) }
        return Array(try Data(contentsOf: try writer.finish()))
    }

    /// Writes a one-sheet workbook row by row: the sheet's XML goes to a file in `directory` as
    /// the rows come, and `finish` packs it, deflated from that file, into `workbook.xlsx` there.
    /// Memory holds the first 200 rows (they set the columns' widths) and the file's buffer, however
    /// many rows follow: a nation batch's payment file is written as a province one.
    final class SheetWriter {
        static let widthRows = 200
        let directory: URL
        let name: String
        let sheetURL: URL
        let file: BufferedFile
        var first: [[BatchExport.Cell]] = []
        var started = false
        var rowCount = 0

        init(directory: URL, sheet name: String) throws {
            self.directory = directory
            self.name = name
            sheetURL = directory.appendingPathComponent("sheet1.xml")
            file = try BufferedFile(path: sheetURL.path)
        }

        func add(_ row: [BatchExport.Cell]) throws {
            if !started {
                if first.count < Self.widthRows {
                    first.append(row)
                    return
                }
                try start()
            }
            try write(row)
        }

        /// The sheet's opening and columns, then the rows held back for the widths.
        func start() throws {
            started = true
            var opening = header + "<worksheet xmlns=\"\(mainNamespace)\">"
            let columns = first.map(\.count).max() ?? 0
            if columns > 0 {
                opening += "<cols>"
                for column in 0..<columns {
                    let width = min(60, max(8, first.map { column < $0.count ? displayWidth($0[column]) : 0 }.max() ?? 8) + 2)
                    opening += "<col min=\"\(column + 1)\" max=\"\(column + 1)\" width=\"\(width)\" customWidth=\"1\"/>"
                }
                opening += "</cols>"
            }
            opening += "<sheetData>"
            try file.write(opening.utf8)
            let held = first
            first = []
            for row in held { try write(row) }
        }

        func write(_ row: [BatchExport.Cell]) throws {
            let rowIndex = rowCount
            rowCount += 1
            var xml = "<row r=\"\(rowIndex + 1)\">"
            for (columnIndex, cell) in row.enumerated() {
                let reference = columnName(columnIndex) + String(rowIndex + 1)
                switch cell {
                case .text(let text):
                    let style = rowIndex == 0 ? 3 : 2
                    xml += "<c r=\"\(reference)\" s=\"\(style)\" t=\"inlineStr\"><is><t xml:space=\"preserve\">\(escape(text))</t></is></c>"
                case .amount(let money):
                    xml += "<c r=\"\(reference)\" s=\"1\"><v>\(money.plain)</v></c>"
                case .count(let count):
                    xml += "<c r=\"\(reference)\"><v>\(count)</v></c>"
                }
            }
            xml += "</row>"
            try file.write(xml.utf8)
        }

        /// Closes the sheet and packs the workbook; returns its file.
        func finish() throws -> URL {
            if !started { try start() }
            try file.write("</sheetData><pageSetup paperSize=\"9\" orientation=\"landscape\"/></worksheet>".utf8)
            try file.close()
            let workbookURL = directory.appendingPathComponent("workbook.xlsx")
            let archive = try Archive(url: workbookURL, accessMode: .create)
            let modified = Date(timeIntervalSince1970: 1_600_000_000)
            for (path, text) in parts(sheet: name) {
                let data = Data(text.utf8)
                try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), modificationDate: modified,
                                     compressionMethod: .deflate) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            let sheetSize = try FileManager.default.attributesOfItem(atPath: sheetURL.path)[.size] as? Int64 ?? 0
            let reader = try FileHandle(forReadingFrom: sheetURL)
            defer { try? reader.close() }
            // ZIPFoundation asks for the sheet in order, a chunk at a time.
            try archive.addEntry(with: "xl/worksheets/sheet1.xml", type: .file, uncompressedSize: sheetSize, modificationDate: modified,
                                 compressionMethod: .deflate) { position, size in
                try reader.seek(toOffset: UInt64(position))
                return try reader.read(upToCount: size) ?? Data()
            }
            try FileManager.default.removeItem(at: sheetURL)
            return workbookURL
        }
    }

    static let header = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"

    /// The workbook's parts other than the sheet.
    static func parts(sheet name: String) -> [(String, String)] {
        [
            ("[Content_Types].xml", header + """
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
                <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
                <Default Extension="xml" ContentType="application/xml"/>\
                <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
                <Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
                <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
                </Types>
                """),
            ("_rels/.rels", header + """
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
                </Relationships>
                """),
            ("xl/workbook.xml", header + """
                <workbook xmlns="\(mainNamespace)" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
                <sheets><sheet name="\(escape(String(name.prefix(31))))" sheetId="1" r:id="rId1"/></sheets></workbook>
                """),
            ("xl/_rels/workbook.xml.rels", header + """
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>\
                <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
                </Relationships>
                """),
            // Styles: 0 default, 1 amount (#,##0.00, built-in 4), 2 text (@, built-in 49), 3 bold text.
            ("xl/styles.xml", header + """
                <styleSheet xmlns="\(mainNamespace)">\
                <fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
                <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
                <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
                <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
                <cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
                <xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
                <xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
                <xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/></cellXfs>\
                <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>
                """),
        ]
    }

    static func displayWidth(_ cell: BatchExport.Cell) -> Int {
        switch cell {
        case .text(let text): text.unicodeScalars.reduce(0) { $0 + ($1.value > 0x2E80 ? 2 : 1) }
        case .amount(let money): money.grouped.count
        case .count(let count): String(count).count
        }
    }

    /// A, B, …, Z, AA, AB, …
    static func columnName(_ index: Int) -> String {
        var name = ""
        var value = index + 1
        while value > 0 {
            let remainder = (value - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + remainder))) + name
            value = (value - 1) / 26
        }
        return name
    }

    /// Text as XML character data; characters XML 1.0 cannot carry are dropped.
    static func escape(_ text: String) -> String { Markup.escape(text, forXML: true) }

    // MARK: Reading

    struct Limits {
        var maxEntryBytes = 64 << 20
        var maxRows = 50_000
        var maxColumns = 64
    }

    /// The first sheet as rows of text (row numbers as in the sheet, 1-based), or a refusal that
    /// says why the file is not a workbook this reader takes.
    static func readFirstSheet(_ bytes: [UInt8], limits: Limits = Limits()) throws -> [(row: Int, cells: [String])] {
        let archive: Archive
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw SpreadsheetError("the file is not an .xlsx workbook (not a ZIP archive)")
        }
        func read(_ path: String) throws -> Data? {
            guard let entry = archive[path] else { return nil }
            guard entry.uncompressedSize <= UInt64(limits.maxEntryBytes) else {
                throw SpreadsheetError("\(path) is larger than \(limits.maxEntryBytes >> 20) MiB uncompressed")
            }
            var data = Data()
            _ = try archive.extract(entry) { chunk in
                data.append(chunk)
                // The declared size can lie: count what is actually inflated.
                if data.count > limits.maxEntryBytes { throw SpreadsheetError("\(path) inflates past \(limits.maxEntryBytes >> 20) MiB") }
            }
            return data
        }
        guard let workbook = try read("xl/workbook.xml") else { throw SpreadsheetError("the file is not an .xlsx workbook (no xl/workbook.xml)") }
        let sheets = try XMLCollector.collect(workbook, elements: ["sheet"], attributes: ["r:id", "name"])
        guard let firstSheet = sheets.first?["r:id"] else { throw SpreadsheetError("the workbook has no sheet") }
        var target = "worksheets/sheet1.xml"
        if let rels = try read("xl/_rels/workbook.xml.rels") {
            for relation in try XMLCollector.collect(rels, elements: ["Relationship"], attributes: ["Id", "Target"]) where relation["Id"] == firstSheet {
                target = relation["Target"] ?? target
            }
        }
        let sheetPath = target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
        guard let sheetData = try read(sheetPath) else { throw SpreadsheetError("the workbook's first sheet (\(sheetPath)) is missing") }
        let shared = try read("xl/sharedStrings.xml").map(SharedStrings.parse) ?? []
        return try SheetReader.parse(sheetData, shared: shared, limits: limits)
    }
}

struct SpreadsheetError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Refuses DTDs and entities in a package part: a workbook has none, and they are how XML
/// bombs work.
class BoundedXMLDelegate: NSObject, XMLParserDelegate {
    var failure: (any Error)?
    func parser(_ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String) { refuse(parser) }
    func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) { refuse(parser) }
    func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) { refuse(parser) }
    func parser(_ parser: XMLParser, foundUnparsedEntityDeclarationWithName name: String, publicID: String?, systemID: String?, notationName: String?) {
        refuse(parser)
    }
    // The callbacks the readers use, declared here so that the subclasses' overrides are what
    // the protocol calls (a subclass's own method would not be: the conformance is this class's).
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes attributeDict: [String: String] = [:]) {}
    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {}
    func parser(_ parser: XMLParser, foundCharacters string: String) {}

    /// "x:row" → "row": some writers prefix the main namespace.
    static func local(_ name: String) -> String { name.split(separator: ":").last.map(String.init) ?? name }

    func refuse(_ parser: XMLParser) {
        failure = SpreadsheetError("the workbook declares XML entities or a DTD, which no spreadsheet needs")
        parser.abortParsing()
    }

    func run(_ data: Data) throws {
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.delegate = self
        let ok = parser.parse()
        if let failure { throw failure }
        guard ok else { throw SpreadsheetError("the workbook's XML is malformed: \(parser.parserError.map { "\($0)" } ?? "unknown error")") }
    }
}

/// Attributes of the named elements of a small part (workbook.xml, its relationships).
final class XMLCollector: BoundedXMLDelegate {
    var elements: Set<String> = []
    var attributes: [String] = []
    var found: [[String: String]] = []

    static func collect(_ data: Data, elements: Set<String>, attributes: [String]) throws -> [[String: String]] {
        let collector = XMLCollector()
        collector.elements = elements
        collector.attributes = attributes
        try collector.run(data)
        return collector.found
    }

    override func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes attributeDict: [String: String] = [:]) {
        guard elements.contains(BoundedXMLDelegate.local(elementName)) else { return }
        var values: [String: String] = [:]
        for name in attributes {
            // `r:id` may come with another prefix for the same namespace.
            let localName = BoundedXMLDelegate.local(name)
            values[name] = attributeDict[name] ?? attributeDict.first(where: { $0.key.hasSuffix(":" + localName) || $0.key == localName })?.value
        }
        found.append(values)
    }
}

/// xl/sharedStrings.xml: each `<si>`'s text, runs (`<r><t>`) joined, phonetic runs (`<rPh>`) left out.
final class SharedStrings: BoundedXMLDelegate {
    var strings: [String] = []
    var current = ""
    var inText = false
    var inPhonetic = false

    static func parse(_ data: Data) throws -> [String] {
        let reader = SharedStrings()
        try reader.run(data)
        return reader.strings
    }

    override func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes attributeDict: [String: String] = [:]) {
        switch BoundedXMLDelegate.local(elementName) {
        case "si": current = ""
        case "t": inText = !inPhonetic
        case "rPh": inPhonetic = true
        default: break
        }
    }

    override func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        switch BoundedXMLDelegate.local(elementName) {
        case "si": strings.append(current)
        case "t": inText = false
        case "rPh": inPhonetic = false
        default: break
        }
    }

    override func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { current += string }
    }
}

/// A worksheet's cells as text per row.
final class SheetReader: BoundedXMLDelegate {
    var shared: [String] = []
    var limits = XLSX.Limits()
    var rows: [(row: Int, cells: [String])] = []
    var rowNumber = 0
    var cells: [String] = []
    var column = 0
    var type = ""
    var value = ""
    var capturing = false
    var inCell = false

    static func parse(_ data: Data, shared: [String], limits: XLSX.Limits) throws -> [(row: Int, cells: [String])] {
        let reader = SheetReader()
        reader.shared = shared
        reader.limits = limits
        try reader.run(data)
        return reader.rows
    }

    override func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes attributeDict: [String: String] = [:]) {
        switch BoundedXMLDelegate.local(elementName) {
        case "row":
            rowNumber = Int(attributeDict["r"] ?? "") ?? rowNumber + 1
            cells = []
            if rows.count >= limits.maxRows {
                failure = SpreadsheetError("the sheet has more than \(limits.maxRows) rows")
                parser.abortParsing()
            }
        case "c":
            inCell = true
            type = attributeDict["t"] ?? "n"
            value = ""
            if let reference = attributeDict["r"] {
                column = Self.columnIndex(reference) ?? cells.count
            } else {
                column = cells.count
            }
            if column >= limits.maxColumns {
                failure = SpreadsheetError("row \(rowNumber) has a cell beyond column \(limits.maxColumns)")
                parser.abortParsing()
            }
        case "v", "t":
            if inCell { capturing = true }
        default: break
        }
    }

    override func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        switch BoundedXMLDelegate.local(elementName) {
        case "v", "t": capturing = false
        case "c":
            inCell = false
            var text = value
            if type == "s" {
                guard let index = Int(value), shared.indices.contains(index) else {
                    failure = SpreadsheetError("row \(rowNumber): a cell refers to a shared string that does not exist")
                    parser.abortParsing()
                    return
                }
                text = shared[index]
            } else if type == "b" {
                text = value == "1" ? "TRUE" : "FALSE"
            }
            while cells.count <= column { cells.append("") }
            cells[column] = text
        case "row":
            if cells.contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) { rows.append((rowNumber, cells)) }
        default: break
        }
    }

    override func parser(_ parser: XMLParser, foundCharacters string: String) {
        if capturing {
            value += string
            if value.utf8.count > 32_768 {
                failure = SpreadsheetError("row \(rowNumber): a cell holds more than 32 KiB")
                parser.abortParsing()
            }
        }
    }

    /// "B12" → 1.
    static func columnIndex(_ reference: String) -> Int? {
        var index = 0
        var letters = 0
        for scalar in reference.unicodeScalars {
            guard (65...90).contains(scalar.value) else { break }
            index = index * 26 + Int(scalar.value - 64)
            letters += 1
        }
        return letters == 0 ? nil : index - 1
    }
}

/// A reconciliation report as a file, written as the report is read, in any of its formats: the
/// web's download and `subsidy report`.
public enum ReportFile {
    /// The formats and their content types: an `.xlsx` sheet (amounts as numbers, account
    /// numbers as text), CSV (UTF-8 with BOM), printable A4 HTML.
    public static let types = [
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8",
    ]

    /// Writes the whole report of `scope` in `format` (one of `types`) into a file in
    /// `directory`; returns the file.
    public static func write(
        _ scope: ReconciliationReport.Scope, format: String, client: PostgresClient, logger: Logger, today: CivilDate, in directory: URL
    ) async throws -> URL {
        if let text = ReconciliationReport.Format(rawValue: format) {
            let file = directory.appendingPathComponent("report." + format)
            try await ReconciliationReport.write(scope, format: text, client: client, logger: logger, today: today, to: BufferedFile(path: file.path))
            return file
        }
        precondition(format == "xlsx", "a report format is one of ReportFile.types")
        let sheet = try XLSX.SheetWriter(directory: directory, sheet: "对账报告 Reconciliation")
        try await ReconciliationReport.read(scope, client: client, logger: logger, today: today, rowsPerCategory: nil) { report in
            for cells in ReconciliationReport.openingCells(report) { try sheet.add(cells) }
        } row: { try sheet.add(ReconciliationReport.cells($0)) }
        return try sheet.finish()
    }
}
