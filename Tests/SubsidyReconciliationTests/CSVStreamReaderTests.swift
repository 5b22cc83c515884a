import Foundation
import SubsidyReconciliation
import Testing

/// The streaming CSV reader under the bank upload and the CSV statements: RFC 4180 quoting, the
/// two encodings, and the same records however the bytes are cut into chunks.
@Suite("CSV stream reader")
struct CSVStreamReaderTests {
    /// Reads `bytes` fed in chunks of `size` bytes.
    func read(_ bytes: [UInt8], chunk size: Int, encoding: CSVEncoding? = nil) throws(CSVError) -> [CSVRecord] {
        var reader = CSVStreamReader(encoding: encoding)
        var records: [CSVRecord] = []
        var start = 0
        while start < bytes.count {
            records += try reader.feed(bytes[start..<min(bytes.count, start + size)])
            start += size
        }
        return records + (try reader.finish())
    }

    func fields(_ records: [CSVRecord]) -> [[String]] { records.map(\.fields) }

    @Test("quotes, doubled quotes, CRLF, a line break inside quotes and a blank line; the same records in any chunking")
    func quoting() throws {
        let text = "loan_no,firm_name,paid\r\nLN-1,\"成都, 某某\",\"1,234.50\"\r\n\r\nLN-2,\"say \"\"hi\"\"\nthere\",7\nLN-3,,\"\""
        let bytes = Array(text.utf8)
        let expected = [
            ["loan_no", "firm_name", "paid"],
            ["LN-1", "成都, 某某", "1,234.50"],
            ["LN-2", "say \"hi\"\nthere", "7"],
            ["LN-3", "", ""],
        ]
        for size in [1, 2, 3, 5, 7, 64, bytes.count] {
            let records = try read(bytes, chunk: size)
            #expect(fields(records) == expected, "chunk \(size)")
            // Lines: the header is 1, the blank line 3 is skipped, LN-2 spans lines 4 and 5.
            #expect(records.map(\.line) == [1, 2, 4, 6], "chunk \(size)")
        }
    }

    @Test("UTF-8 with Chinese text, a BOM, and GB18030 detected when the bytes are not UTF-8")
    func encodings() throws {
        let utf8 = [0xEF, 0xBB, 0xBF] + Array("贷款编号,企业名称\nLN-1,成都精工\n".utf8)
        #expect(try fields(read(utf8, chunk: 4)) == [["贷款编号", "企业名称"], ["LN-1", "成都精工"]])
        // "成都" in GB18030: B3 C9 B6 BC; an ASCII record first, then the Chinese one.
        let gb: [UInt8] = Array("loan_no,name\n".utf8) + Array("LN-1,".utf8) + [0xB3, 0xC9, 0xB6, 0xBC] + [0x0A]
        #expect(try fields(read(gb, chunk: 3, encoding: .gb18030)) == [["loan_no", "name"], ["LN-1", "成都"]])
        // Undeclared: the first record is ASCII (valid UTF-8), so UTF-8 is taken and the GB bytes refused, naming the line.
        #expect(throws: CSVError.self) { try read(gb, chunk: 3) }
        do {
            _ = try read(gb, chunk: 3)
        } catch {
            #expect(error.line == 2)
            #expect(error.message.contains("not valid UTF-8"))
        }
        // Undeclared with Chinese in the first record: GB18030 detected.
        let gbFirst: [UInt8] = [0xB3, 0xC9, 0xB6, 0xBC] + Array(",x\nLN-1,y\n".utf8)
        #expect(try fields(read(gbFirst, chunk: 2)) == [["成都", "x"], ["LN-1", "y"]])
    }

    @Test("one invalid UTF-8 field in a record of valid ones is refused with its line")
    func invalidField() {
        // A truncated 4-byte sequence (F0 9F 98) in the second field of line 3.
        let bytes = Array("a,b\nLN-1,成都\nLN-2,".utf8) + [0xF0, 0x9F, 0x98] + Array(",x\n".utf8)
        do {
            _ = try read(bytes, chunk: 5, encoding: .utf8)
            Issue.record("an invalid field was read")
        } catch {
            #expect(error.line == 3)
        }
    }

    @Test("a field over the byte limit and a record over the field limit are refused")
    func bounds() {
        let long = Array(repeating: UInt8(ascii: "x"), count: CSVStreamReader.maxFieldBytes + 1)
        #expect(throws: CSVError.self) { try read(Array("a\n".utf8) + long + [0x0A], chunk: 100) }
        // Exactly at the limit is read.
        let atLimit = Array(repeating: UInt8(ascii: "x"), count: CSVStreamReader.maxFieldBytes)
        #expect((try? read(Array("a\n".utf8) + atLimit + [0x0A], chunk: 100))?.last?.fields.first?.utf8.count == CSVStreamReader.maxFieldBytes)
        let commas = Array(repeating: UInt8(ascii: ","), count: CSVStreamReader.maxFields)
        #expect(throws: CSVError.self) { try read(commas + [0x0A], chunk: 100) }
        #expect(throws: CSVError.self) { try read(Array("a,\"b\"c\n".utf8), chunk: 1) }
        #expect(throws: CSVError.self) { try read(Array("a,b\"c\n".utf8), chunk: 1) }
        #expect(throws: CSVError.self) { try read(Array("a,\"open\n".utf8), chunk: 1) }
    }
}
