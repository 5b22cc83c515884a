import PostgresNIO
import SubsidyTestSupport
import Testing

// Asking the database directly, for the suites that check what it accepts and refuses.

/// What the database answers to a statement: "accepted", or the message it was refused with.
@Sendable func refusal(_ client: PostgresClient, _ sql: String) async -> String {
    do {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        return "accepted"
    } catch let error as PSQLError {
        return error.serverInfo?[.message] ?? "\(error)"
    } catch {
        return "\(error)"
    }
}

/// Expects the database to refuse `sql` with a message containing `text`.
func expectRefused(_ client: PostgresClient, _ sql: String, containing text: String) async {
    let message = await refusal(client, sql)
    #expect(message.contains(text), "\(sql): \(message)")
}

func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
    var value = 0
    for try await result in try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self) { value = result }
    return value
}
