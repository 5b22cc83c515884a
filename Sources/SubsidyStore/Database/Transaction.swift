public import Logging
public import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, with the closure's own error thrown as itself rather than wrapped in
    /// `PostgresTransactionError`, so that domain errors (a refused approval, a rejected upload)
    /// reach the caller as what they are.
    public func transaction<T>(logger: Logger, _ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        do {
            return try await withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw inner }
            throw error
        }
    }
}
