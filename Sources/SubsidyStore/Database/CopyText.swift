import Logging
import NIOCore
import PostgresNIO

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
