import Foundation
import Logging
import NIOCore
import PostgresNIO

extension ByteBuffer {
    /// One row of COPY's text format: cells separated by tabs, nil as `\N`, and backslash, tab,
    /// line feed and carriage return escaped.
    mutating func writeCopyRow(_ cells: [String?]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { writeInteger(UInt8(ascii: "\t")) }
            guard let cell else {
                writeString("\\N")
                continue
            }
            if cell.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
                writeString(cell.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
                    .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r"))
            } else {
                writeString(cell)
            }
        }
        writeInteger(UInt8(ascii: "\n"))
    }
}

extension PostgresConnection {
    /// COPY text-format rows into `table`, sent in 256 KiB slices so that the server reads while
    /// the rest is sent; nothing when there are no rows.
    func copy(_ text: ByteBuffer, into table: String, columns: [String], logger: Logger) async throws {
        guard text.readableBytes > 0 else { return }
        try await copyFrom(table: table, columns: columns, logger: logger) { writer in
            var rest = text
            while rest.readableBytes > 0, let slice = rest.readSlice(length: min(rest.readableBytes, 256 * 1024)) {
                try await writer.write(slice)
            }
        }
    }
}
