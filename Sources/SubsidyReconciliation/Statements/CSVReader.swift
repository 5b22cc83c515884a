public import Foundation

/// The text encodings Chinese bank exports use.
public enum CSVEncoding: Sendable, Equatable {
    case utf8
    /// GB18030, which also reads GBK and GB2312 (it is a superset of both).
    case gb18030

    /// `charset=` of a Content-Type, when it names one.
    public static func from(contentType: String?) -> CSVEncoding? {
        guard let contentType else { return nil }
        for parameter in contentType.lowercased().split(separator: ";").dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0] == "charset" else { continue }
            switch parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) {
            case "utf-8", "utf8": return .utf8
            case "gbk", "gb2312", "gb18030", "cp936": return .gb18030
            default: return nil
            }
        }
        return nil
    }

    /// GB18030 through Foundation's CFStringEncoding (`kCFStringEncodingGB_18030_2000`): the GBK
    /// constant and `String.Encoding(ianaName:)` return nil on Linux.
    static let gb18030Encoding = String.Encoding(rawValue: 0x8000_0632)

    func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        switch self {
        case .utf8: return String(validating: bytes, as: UTF8.self)
        case .gb18030: return String(bytes: bytes, encoding: CSVEncoding.gb18030Encoding)
        }
    }
}

/// One CSV record: its fields as text and the line it starts on (the header is line 1).
public struct CSVRecord: Sendable {
    public var line: Int
    public var fields: [String]
}

public struct CSVError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A streaming CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF or LF, line breaks
/// inside quotes) over byte chunks as they arrive, so that a 100,000-line upload is never held
/// whole in memory. Bytes are split first and each field decoded afterwards: a quote, comma or
/// line feed byte never occurs inside a GB18030 multi-byte character (its trailing bytes are
/// 0x30–0x39 or 0x40–0xFE), so splitting before decoding is safe for both encodings.
///
/// Written here rather than taken from the package mirror: SwiftCSV and CSV.swift read a whole
/// `String` or an `InputStream`, not an async sequence of chunks, and neither decodes GB18030.
public struct CSVStreamReader: Sendable {
    public private(set) var encoding: CSVEncoding?
    private var field: [UInt8] = []
    private var fields: [ArraySlice<UInt8>] = []
    private var inQuotes = false
    private var quoteSeen = false
    private var afterQuote = false
    private var line = 1
    private var recordLine = 1
    private var sawBOMCheck = false
    private var pendingCR = false
    /// The longest field accepted, so that one malformed quote cannot swallow the whole upload.
    public static let maxFieldBytes = 4096
    /// The most fields a record may have: bank exports and uploads have a few dozen columns, so
    /// a line of commas alone (millions of empty fields) is refused instead of filling memory.
    public static let maxFields = 256

    public init(encoding: CSVEncoding?) { self.encoding = encoding }

    /// Feeds a chunk; returns the records it completed.
    public mutating func feed<Bytes: Sequence>(_ chunk: Bytes) throws(CSVError) -> [CSVRecord] where Bytes.Element == UInt8 {
        var records: [CSVRecord] = []
        var bytes = Array(chunk)[...]
        if !sawBOMCheck {
            guard !bytes.isEmpty else { return [] }
            sawBOMCheck = true
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                bytes = bytes.dropFirst(3)
                if encoding == nil { encoding = .utf8 }
            }
        }
        for byte in bytes {
            if pendingCR {
                pendingCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                    afterQuote = true
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    try append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if afterQuote {
                    // A doubled quote inside a quoted field: one literal quote.
                    try append(byte)
                    afterQuote = false
                    inQuotes = true
                } else if field.isEmpty && !quoteSeen {
                    inQuotes = true
                    quoteSeen = true
                } else {
                    throw CSVError(line: line, message: "a quote inside an unquoted field (quote the whole field and double the quote)")
                }
            case UInt8(ascii: ","):
                try endField()
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                if byte == UInt8(ascii: "\r") { pendingCR = true }
                try endField()
                if let record = try endRecord() { records.append(record) }
                line += 1
                recordLine = line
            default:
                if afterQuote {
                    throw CSVError(line: line, message: "text after a closing quote (expected , or the end of the line)")
                }
                try append(byte)
            }
        }
        return records
    }

    /// Ends the input; returns the last record when the file does not end with a line break.
    public mutating func finish() throws(CSVError) -> [CSVRecord] {
        if inQuotes { throw CSVError(line: recordLine, message: "a quoted field is not closed before the end of the file") }
        guard !field.isEmpty || !fields.isEmpty || quoteSeen else { return [] }
        try endField()
        return try endRecord().map { [$0] } ?? []
    }

    private mutating func append(_ byte: UInt8) throws(CSVError) {
        guard field.count < Self.maxFieldBytes else {
            throw CSVError(line: line, message: "a field longer than \(Self.maxFieldBytes) bytes (an unclosed quote?)")
        }
        field.append(byte)
    }

    private mutating func endField() throws(CSVError) {
        guard fields.count < Self.maxFields else {
            throw CSVError(line: recordLine, message: "more than \(Self.maxFields) fields in one record")
        }
        // A copy of exactly the field's bytes: `field` keeps its one buffer for the next field.
        fields.append(ArraySlice(Array(field[...])))
        field.removeAll(keepingCapacity: true)
        quoteSeen = false
        afterQuote = false
    }

    private mutating func endRecord() throws(CSVError) -> CSVRecord? {
        defer { fields.removeAll(keepingCapacity: true) }
        // A blank line is skipped.
        if fields.count == 1, fields[0].isEmpty { return nil }
        if encoding == nil {
            // Not declared and no BOM: UTF-8 if the first record is valid UTF-8, else GB18030.
            let sample = fields.flatMap { $0 }
            encoding = String(validating: sample, as: UTF8.self) != nil ? .utf8 : .gb18030
        }
        var decoded: [String] = []
        decoded.reserveCapacity(fields.count)
        for bytes in fields {
            guard let text = encoding!.decode(bytes) else {
                throw CSVError(line: recordLine, message: "not valid \(encoding == .utf8 ? "UTF-8" : "GB18030/GBK") text (declare charset=GBK or charset=UTF-8)")
            }
            decoded.append(text)
        }
        return CSVRecord(line: recordLine, fields: decoded)
    }
}
