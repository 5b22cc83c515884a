import Crypto
import Foundation
public import Logging
public import PostgresNIO

/// One migration file: `NNN_name.sql` in the `sql/` folder.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
    public var checksum: String
    /// Checksums of earlier texts of this file that it stands in for: each named on a comment line
    /// `-- replaces <64 hex digits>: why`. A database that applied one of them is not refused.
    public var replaces: Set<String>

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
        self.replaces = Migration.replacedChecksums(sql)
    }

    /// Whether a database that recorded `recorded` for this version has applied this file.
    public func accepts(_ recorded: String) -> Bool {
        recorded == checksum || replaces.contains(recorded)
    }

    /// The checksums named by `-- replaces <hex>:` lines. An applied migration is never edited,
    /// with one exception: a statement that cannot run on some servers (so no database where it
    /// failed has applied it) may be mended, and the mended file names the text it replaces, so the
    /// replacement is written in the file and reviewed with it, not granted by the Migrator.
    static func replacedChecksums(_ sql: String) -> Set<String> {
        var found: Set<String> = []
        for line in sql.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("-- replaces ") {
            let digits = line.dropFirst("-- replaces ".count).prefix { $0 != ":" }
            if digits.count == 64, digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) { found.insert(String(digits)) }
        }
        return found
    }
}

public enum MigrationError: Error, CustomStringConvertible, Sendable {
    case badFileName(String)
    case duplicateVersion(Int, String, String)
    case changedAfterApply(name: String, recorded: String, current: String)
    case missingFile(version: Int, name: String)
    case failed(name: String, statement: Int, message: String)
    case folderUnreadable(String)

    public var description: String {
        switch self {
        case .badFileName(let name):
            "migration file \(name) must be named NNN_description.sql"
        case .duplicateVersion(let version, let first, let second):
            "migration version \(version) is used by both \(first) and \(second)"
        case .changedAfterApply(let name, let recorded, let current):
            "migration \(name) was changed after it was applied (checksum \(recorded.prefix(12))… recorded, \(current.prefix(12))… now); write a new migration instead of editing an applied one"
        case .missingFile(let version, let name):
            "migration \(version) (\(name)) is recorded as applied but its file is missing"
        case .failed(let name, let statement, let message):
            "migration \(name) failed at statement \(statement): \(message); nothing of it was applied"
        case .folderUnreadable(let path):
            "cannot read the migrations folder \(path)"
        }
    }
}

/// Applies the numbered SQL files in order, each inside its own transaction, and records each in
/// `schema_migrations` with its SHA-256 checksum. An applied file that has changed is refused;
/// running again applies nothing new. A session-level advisory lock keeps two migrators (two
/// service instances starting at once) from interleaving.
public struct Migrator: Sendable {
    public var migrations: [Migration]

    public init(migrations: [Migration]) throws(MigrationError) {
        var seen: [Int: String] = [:]
        for migration in migrations {
            if let first = seen[migration.version] {
                throw .duplicateVersion(migration.version, first, migration.name)
            }
            seen[migration.version] = migration.name
        }
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Reads `NNN_description.sql` files from `folder`.
    public init(folder: String) throws(MigrationError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }
        } catch {
            throw .folderUnreadable(folder)
        }
        var migrations: [Migration] = []
        for name in names {
            guard let underscore = name.firstIndex(of: "_"), let version = Int(name[..<underscore]) else {
                throw .badFileName(name)
            }
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { throw .folderUnreadable(folder + "/" + name) }
            migrations.append(Migration(version: version, name: name, sql: String(decoding: data, as: UTF8.self)))
        }
        try self.init(migrations: migrations)
    }

    /// The migrations folder: `$SUBSIDY_SQL_DIR`, else `sql/` in the working directory or above it.
    public static func defaultFolder() -> String {
        if let configured = ProcessInfo.processInfo.environment["SUBSIDY_SQL_DIR"], !configured.isEmpty { return configured }
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("sql").path
            if FileManager.default.fileExists(atPath: candidate + "/001_foundation.sql") { return candidate }
            directory.deleteLastPathComponent()
        }
        return "sql"
    }

    static let lockKey: Int64 = 0x5355_4253_4944_59  // "SUBSIDY"

    /// Applies what is not applied yet; returns the names applied now.
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Migrator.lockKey))", logger: logger)
            do {
                let applied = try await apply(on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(Migrator.lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Migrator.lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// The migrations not applied yet, read with any role (the service's role cannot apply them).
    public func pending(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        var applied: Set<Int> = []
        for try await exists in try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger).decode(Bool.self) where exists {
            for try await version in try await client.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
        }
        return migrations.filter { !applied.contains($0.version) }.map(\.name)
    }

    func apply(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var recorded: [Int: (name: String, checksum: String)] = [:]
        for try await (version, name, checksum) in try await connection.query(
            "SELECT version, name, checksum FROM schema_migrations", logger: logger
        ).decode((Int, String, String).self) {
            recorded[version] = (name, checksum)
        }
        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, entry) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = byVersion[version] else { throw MigrationError.missingFile(version: version, name: entry.name) }
            guard migration.accepts(entry.checksum) else {
                throw MigrationError.changedAfterApply(name: migration.name, recorded: entry.checksum, current: migration.checksum)
            }
        }
        var appliedNow: [String] = []
        for migration in migrations where recorded[migration.version] == nil {
            let statements = SQLScript.statements(migration.sql)
            do {
                try await connection.withTransaction(logger: logger) { connection in
                    for (index, statement) in statements.enumerated() {
                        do {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        } catch let error as PSQLError {
                            throw MigrationError.failed(
                                name: migration.name, statement: index + 1,
                                message: error.serverInfo?[.message] ?? String(reflecting: error))
                        }
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                        logger: logger)
                }
            } catch let error as PostgresTransactionError {
                throw (error.closureError ?? error.commitError ?? error)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.name)", "statements": "\(statements.count)"])
            appliedNow.append(migration.name)
        }
        return appliedNow
    }
}
