public import Foundation
public import SubsidyRules

/// The payment file and the 公示 list: CSV in UTF-8 with a BOM (Excel and WPS open them as
/// Chinese text).
public enum BatchExport {
    /// A line the payment file carries: money still owed (active, or returned for re-issue).
    public static func isPayable(_ line: BatchLine) -> Bool {
        (line.status == "active" || line.status == "returned") && line.amount > .zero
    }

    /// A cell as text. One that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a
    /// tab or carriage return first) is prefixed with an apostrophe, so that a firm name from an
    /// upload can never run as a formula — unless it is a plain decimal number (a recovery's
    /// `-2663.89`), which no spreadsheet runs. Quoting follows RFC 4180.
    /// The delimiters are looked for in the UTF-8 bytes (ASCII bytes occur in UTF-8 only as
    /// themselves). Looked for among the `Character`s, a cell holding "\r\n" was not quoted —
    /// "\r\n" is one `Character`, equal to neither "\r" nor "\n" — and a payee name from a
    /// registry file's cell split the payment file's row in two.
    public static func csvField(_ text: String) -> String {
        var cell = text
        if let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isPlainNumber(cell) { cell = "'" + cell }
        guard cell.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `-?digits[.digits]`: what `Money.plain` writes.
    static func isPlainNumber(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// A cell of an exported table: text stays text (19-digit account numbers, USCCs), amounts
    /// are numbers with two decimals, counts are whole numbers.
    public enum Cell: Sendable, Equatable {
        case text(String)
        case amount(Money)
        case count(Int)

        public var csvText: String {
            switch self {
            case .text(let text): text
            case .amount(let money): money.plain
            case .count(let count): String(count)
            }
        }
    }

    public struct Tables: Sendable {
        public var payment: [[Cell]]
        public var publicity: [[Cell]]
    }

    /// The two exported tables.
    public enum Kind: String, Sendable, CaseIterable {
        /// 支付文件: the lines still waiting for money, with their frozen payee, and their total.
        case payment
        /// 公示名单: every line with an award, and the ledger's head when the list was made.
        case publicity
    }

    /// One table written a line at a time, so that a batch of any size is exported with one line in
    /// memory (a nation batch's 486,521 lines as `[BatchLine]` and rows took the server past 1 GB):
    /// its header, the row of each line it carries, in line order, and its closing row.
    public struct TableWriter: Sendable {
        public let kind: Kind
        let program: Program
        let year: Int
        let ledgerHead: LedgerHead?
        public private(set) var count = 0
        public private(set) var total = Money.zero

        public init(_ kind: Kind, batch: BatchSummary, ledgerHead: LedgerHead?) {
            (self.kind, program, year, self.ledgerHead) = (kind, batch.program, batch.year, ledgerHead)
        }

        public var header: [Cell] {
            switch kind {
            case .payment:
                ["序号 No.", "收款人名称 Payee", "收款账号 Account", "开户行 Bank", "金额 Amount (CNY)", "用途/附言 Reference", "统一社会信用代码 USCC"].map(Cell.text)
            case .publicity:
                ["序号 No.", "企业名称 Firm", "统一社会信用代码 USCC", "项目 Program", "年度 Year", "金额 Amount (CNY)"].map(Cell.text)
            }
        }

        /// Whether the table carries the line: payable for the payment file, an award for the 公示 list.
        public func carries(_ line: BatchLine) -> Bool {
            switch kind {
            case .payment: isPayable(line)
            case .publicity: line.status != "excluded" && line.computed > .zero
            }
        }

        /// The line's row, numbered after the rows before it; nil for a line the table does not carry.
        public mutating func row(_ line: BatchLine) -> [Cell]? {
            guard carries(line) else { return nil }
            count += 1
            switch kind {
            case .payment:
                total += line.amount
                return [
                    .count(count), .text(line.accountName ?? line.recipientName), .text(line.accountNo ?? ""), .text(line.accountBank ?? ""),
                    .amount(line.amount), .text(line.paymentRef), .text(line.recipient),
                ]
            case .publicity:
                total += line.computed
                return [.count(count), .text(line.recipientName), .text(line.recipient), .text("\(program.chineseName) \(program.rawValue)"), .count(year), .amount(line.computed)]
            }
        }

        public var closing: [Cell] {
            switch kind {
            case .payment:
                [.text("合计 Total"), .text(""), .text(""), .text(""), .amount(total), .text("\(count) 笔 payments"), .text("")]
            case .publicity:
                // The ledger's head when the list was made: `subsidy ledger verify --expect` checks
                // later that no entry up to it was removed or rewritten.
                [.text("账簿校验点 Ledger head"), .text(ledgerHead?.description ?? ""), .text(""), .text(""), .text(""), .text("")]
            }
        }
    }

    public static func tables(batch: BatchSummary, lines: [BatchLine], ledgerHead: LedgerHead?) -> Tables {
        func table(_ kind: Kind) -> [[Cell]] {
            var writer = TableWriter(kind, batch: batch, ledgerHead: ledgerHead)
            return [writer.header] + lines.compactMap { writer.row($0) } + [writer.closing]
        }
        return Tables(payment: table(.payment), publicity: table(.publicity))
    }

    /// A row of a CSV file, with its line break.
    public static func csvRow(_ row: [Cell]) -> String {
        row.map { csvField($0.csvText) }.joined(separator: ",") + "\r\n"
    }

    public static func csv(_ table: [[Cell]]) -> String {
        "\u{FEFF}" + table.map(csvRow).joined()
    }

    public static func files(batch: BatchSummary, lines: [BatchLine], ledgerHead: LedgerHead?) -> (payment: String, publicity: String) {
        let tables = tables(batch: batch, lines: lines, ledgerHead: ledgerHead)
        return (csv(tables.payment), csv(tables.publicity))
    }
}

extension BatchExport {
    /// A CSV file (UTF-8 with a BOM) written row by row.
    public final class CSVFile {
        let file: BufferedFile

        /// Creates (or empties) the file at `path`.
        public init(path: String) throws {
            file = try BufferedFile(path: path)
            try file.write([0xEF, 0xBB, 0xBF])
        }

        public func write(_ row: [Cell]) throws {
            try file.write(BatchExport.csvRow(row).utf8)
        }

        /// Writes what is buffered and closes the file.
        public func close() throws {
            try file.close()
        }
    }
}

/// A file written through a buffer of 64 kB: an export of any size is written with the buffer
/// and one row in memory.
public final class BufferedFile {
    let handle: FileHandle
    var buffer: [UInt8] = []

    /// Creates (or empties) the file at `path`.
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        buffer.reserveCapacity(1 << 17)
    }

    public func write(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and closes the file.
    public func close() throws {
        try flush()
        try handle.close()
    }

    /// A fresh folder of its own under the system's temporary folder, for files being written.
    public static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("subsidy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
