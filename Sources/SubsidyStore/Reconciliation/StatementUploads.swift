public import Foundation
import NIOCore
import PostgresNIO

/// A statement uploaded over the API and what became of it.
public struct StatementUploadView: Sendable {
    public var id: Int64
    public var status: String
    public var statementIDs: [Int64]
    public var error: String?
}

extension BankData {
    /// Queues a statement for the daemon (the insert NOTIFYs it).
    public func queueStatement(bank: String, name: String, format: String?, profile: String?, content: Data) async throws -> Int64 {
        var id: Int64 = 0
        for try await value in try await client.query(
            """
            INSERT INTO statement_uploads (bank_code, name, format, profile, content)
            VALUES (\(bank), \(name), \(format), \(profile), \(ByteBuffer(bytes: content))) RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            id = value
        }
        return id
    }

    public func statementUpload(bank: String, id: Int64) async throws -> StatementUploadView? {
        for try await (status, statements, error) in try await client.query(
            "SELECT status, statement_ids, error FROM statement_uploads WHERE id = \(id) AND bank_code = \(bank)", logger: logger
        ).decode((String, [Int64], String?).self) {
            return StatementUploadView(id: id, status: status, statementIDs: statements, error: error)
        }
        return nil
    }
}

