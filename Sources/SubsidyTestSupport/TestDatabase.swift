import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HummingbirdBcrypt
public import Logging
public import PostgresNIO
public import SubsidyStore

/// Fresh databases for tests that reach PostgreSQL for real. The migrations run once per test
/// process into a template database, as the schema's owner; each test then gets its own copy
/// (`CREATE DATABASE … TEMPLATE …`, a file copy taking milliseconds) and it is dropped
/// afterwards, so tests never see each other's rows and may run in parallel. Tests act through
/// the service's own login, with exactly the privileges the service has.
public enum TestDatabase {
    /// The server `scripts/test.sh` started: the service's login, from `DATABASE_URL`.
    public static let serviceURL: DatabaseURL? = {
        guard let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else { return nil }
        return try? DatabaseURL(text)
    }()

    /// The schema owner's login (creates the test databases, migrates), from `DATABASE_OWNER_URL`.
    public static let adminURL: DatabaseURL? = {
        guard let text = ProcessInfo.processInfo.environment["DATABASE_OWNER_URL"], !text.isEmpty else { return serviceURL }
        return try? DatabaseURL(text)
    }()

    /// Whether database tests can run. Under `scripts/test.sh` (which sets
    /// `SUBSIDY_TEST_REQUIRE_DB=1`) a missing database is a failure, never a silent skip.
    public static var isConfigured: Bool {
        adminURL != nil || ProcessInfo.processInfo.environment["SUBSIDY_TEST_REQUIRE_DB"] == "1"
    }

    /// The administrator every installed test database has (a rehearsal database).
    public static let admin = User(id: 1, login: "admin", displayName: "管理员", roles: [.admin])
    public static let adminPassword = "admin-password"

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

    public struct DatabaseTestFailure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String { "DATABASE_URL is not set: run the suite with scripts/test.sh" }
    }

    private static let templates = TemplateRegistry()

    /// `url` with the schema owner's credentials: for tests that must act as the owner.
    public static func ownerURL(for url: DatabaseURL) -> DatabaseURL {
        guard let owner = adminURL else { return url }
        var result = url
        result.username = owner.username
        result.password = owner.password
        return result
    }

    /// Runs `body` with a client of `url`'s database logged in as the schema owner.
    public static func withOwnerClient<T: Sendable>(of url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await withClient(ownerURL(for: url), body)
    }

    static func withClient<T: Sendable>(_ url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs `body` with a client of a new database: migrated and installed as a rehearsal
    /// database with `admin` (the default), migrated only (`installed: false`), or empty
    /// (`migrated: false`, for migration tests: then client and URL are the schema owner's).
    /// Otherwise the client and the URL are the service's login.
    public static func withFresh<T: Sendable>(
        migrated: Bool = true, installed: Bool = true,
        _ body: @Sendable (PostgresClient, DatabaseURL) async throws -> T
    ) async throws -> T {
        guard let admin = adminURL else { throw NotConfigured() }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let template = migrated ? try await templates.migratedTemplate(admin: admin, installed: installed) : "template0"
        try await templates.createDatabase(admin: admin, name: String(name), template: template)
        var serviceLogin = admin.with(database: String(name))
        if migrated, let service = serviceURL {
            serviceLogin.username = service.username
            serviceLogin.password = service.password
        }
        let url = serviceLogin
        do {
            let result = try await withClient(url) { client in try await body(client, url) }
            try await dropDatabase(admin: admin, name: String(name))
            return result
        } catch let error as PSQLError {
            try? await dropDatabase(admin: admin, name: String(name))
            // PostgresNIO hides the server's words from `description`: a failing test shows them.
            throw DatabaseTestFailure(description: String(reflecting: error))
        } catch {
            try? await dropDatabase(admin: admin, name: String(name))
            throw error
        }
    }

    static func dropDatabase(admin: DatabaseURL, name: String) async throws {
        _ = try await admin.withConnection(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)"), logger: logger)
        }
    }
}

/// Creates the migrated templates once per process and serialises `CREATE DATABASE` (PostgreSQL
/// refuses to copy a template while another session copies it).
actor TemplateRegistry {
    /// One creation of each template for the whole process. The actor is reentrant across
    /// `await`, so callers share the task instead of each seeing "no template yet".
    private var templates: [Bool: Task<String, any Error>] = [:]

    func migratedTemplate(admin: DatabaseURL, installed: Bool) async throws -> String {
        if let template = templates[installed] { return try await template.value }
        let task = Task { try await self.makeTemplate(admin: admin, installed: installed) }
        templates[installed] = task
        return try await task.value
    }

    /// Migrated as the owner; `installed` adds the installation row (rehearsal) and its admin,
    /// as `subsidy init --rehearsal` would.
    private func makeTemplate(admin: DatabaseURL, installed: Bool) async throws -> String {
        try await dropOrphanedTemplates(admin: admin)
        let name = "tpl_\(ProcessInfo.processInfo.processIdentifier)_\(installed ? "i" : "m")_\(UUID().uuidString.prefix(8).lowercased())"
        try await createDatabase(admin: admin, name: name, template: "template0")
        let migrator = try Migrator(folder: TestDatabase.migrationsFolder)
        try await TestDatabase.withClient(admin.with(database: name)) { client in
            try await migrator.migrate(client, logger: TestDatabase.logger)
            guard installed else { return }
            let hash = Bcrypt.hash(TestDatabase.adminPassword, cost: 4)
            try await client.query("INSERT INTO installation (id, rehearsal, admin_login) VALUES (1, true, 'admin')", logger: TestDatabase.logger)
            try await client.query(
                "INSERT INTO users (id, login, display_name, password_hash, roles) VALUES (1, 'admin', '管理员', \(hash), '{admin}')",
                logger: TestDatabase.logger)
            try await client.query("SELECT setval(pg_get_serial_sequence('users', 'id'), 1)", logger: TestDatabase.logger)
        }
        return name
    }

    /// Templates are dropped by nobody when their test process ends (they outlive every test):
    /// those of processes no longer running on this machine are dropped here, once a process,
    /// so that a developer's cluster does not fill with them. A test database (`t_…`) is dropped
    /// by its own test.
    private var orphansDropped = false

    private func dropOrphanedTemplates(admin: DatabaseURL) async throws {
        guard !orphansDropped else { return }
        orphansDropped = true
        var orphans: [String] = []
        try await admin.withConnection(logger: TestDatabase.logger) { connection in
            for try await name in try await connection.query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'tpl\\_%\\_%\\_%'", logger: TestDatabase.logger
            ).decode(String.self) {
                let parts = name.split(separator: "_")
                guard parts.count == 4, let pid = Int32(parts[1]), pid != ProcessInfo.processInfo.processIdentifier else { continue }
                // kill(pid, 0) fails with ESRCH when no such process exists.
                if kill(pid, 0) != 0 && errno == ESRCH { orphans.append(name) }
            }
        }
        for name in orphans { try? await TestDatabase.dropDatabase(admin: admin, name: name) }
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
