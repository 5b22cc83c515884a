import Foundation
public import Logging
public import PostgresNIO
public import SubsidyStore

/// Fresh databases for tests that reach PostgreSQL for real. The migrations run once per test
/// process into a template database; each test then gets its own copy (`CREATE DATABASE …
/// TEMPLATE …`, a file copy taking milliseconds) and it is dropped afterwards, so tests never
/// see each other's rows and may run in parallel.
public enum TestDatabase {
    /// The server `scripts/test.sh` started, from `DATABASE_URL`.
    public static let adminURL: DatabaseURL? = {
        guard let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else { return nil }
        return try? DatabaseURL(text)
    }()

    /// Whether database tests can run. Under `scripts/test.sh` (which sets
    /// `SUBSIDY_TEST_REQUIRE_DB=1`) a missing database is a failure, never a silent skip.
    public static var isConfigured: Bool {
        adminURL != nil || ProcessInfo.processInfo.environment["SUBSIDY_TEST_REQUIRE_DB"] == "1"
    }

    public static let logger: Logger = {
        var logger = Logger(label: "subsidy.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The repository's `sql/` folder, found from this source file's path.
    public static let migrationsFolder: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("sql").path
    }()

    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String { "DATABASE_URL is not set: run the suite with scripts/test.sh" }
    }

    private static let templates = TemplateRegistry()

    /// Runs `body` with a client of a new database: migrated (the default) or empty.
    public static func withFresh<T: Sendable>(
        migrated: Bool = true,
        _ body: @Sendable (PostgresClient, DatabaseURL) async throws -> T
    ) async throws -> T {
        guard let admin = adminURL else { throw NotConfigured() }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let template = migrated ? try await templates.migratedTemplate(admin: admin) : "template0"
        try await templates.createDatabase(admin: admin, name: String(name), template: template)
        let url = admin.with(database: String(name))
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger)
        do {
            let result = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                let result = try await body(client, url)
                group.cancelAll()
                return result
            }
            try await dropDatabase(admin: admin, name: String(name))
            return result
        } catch {
            try? await dropDatabase(admin: admin, name: String(name))
            throw error
        }
    }

    static func dropDatabase(admin: DatabaseURL, name: String) async throws {
        try await admin.withConnection(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)"), logger: logger)
        }
    }
}

/// Creates the migrated template once per process and serialises `CREATE DATABASE` (PostgreSQL
/// refuses to copy a template while another session copies it).
actor TemplateRegistry {
    /// One creation for the whole process. The actor is reentrant across `await`, so callers
    /// share the task instead of each seeing "no template yet" and starting another.
    private var template: Task<String, any Error>?

    func migratedTemplate(admin: DatabaseURL) async throws -> String {
        if let template { return try await template.value }
        let task = Task { try await self.makeTemplate(admin: admin) }
        template = task
        return try await task.value
    }

    private func makeTemplate(admin: DatabaseURL) async throws -> String {
        let name = "tpl_\(ProcessInfo.processInfo.processIdentifier)_\(UUID().uuidString.prefix(8).lowercased())"
        try await createDatabase(admin: admin, name: name, template: "template0")
        let url = admin.with(database: name)
        let migrator = try Migrator(folder: TestDatabase.migrationsFolder)
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await migrator.migrate(client, logger: TestDatabase.logger)
            group.cancelAll()
        }
        return name
    }

    func createDatabase(admin: DatabaseURL, name: String, template: String) async throws {
        // Identifiers are generated here, never from input: `unsafeSQL` is safe for them.
        try await admin.withConnection(logger: TestDatabase.logger) { connection in
            for attempt in 1...100 {
                do {
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\" TEMPLATE \"\(template)\""), logger: TestDatabase.logger)
                    return
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55006" && attempt < 100 {
                    // The template's last client is still disconnecting; try again shortly.
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }
}
