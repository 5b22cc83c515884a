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

extension PostgresConnection {
    /// Plans this transaction's statements once for any parameters (`plan_cache_mode`, until the
    /// commit). PostgreSQL otherwise plans each extended-protocol statement for its values: it
    /// copies every array parameter into the plan as a constant, megabytes for a chunk's lines
    /// sent as arrays, and the server's time went to copying them and faulting in fresh pages.
    /// Only for transactions whose statements do not need their values to be planned well (bulk
    /// writes by key); a read that filters on an optional parameter must not run under it.
    func planGenerically(logger: Logger) async throws {
        try await query("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)", logger: logger)
    }
}
