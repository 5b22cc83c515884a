import Foundation
import HummingbirdBcrypt
public import Logging
public import PostgresNIO
public import SubsidyRules

/// Users, sign-in, the installation (real or rehearsal) and the audit log. Every change made for
/// a user runs in a transaction that first names the user (`subsidy.actor`), so the database's
/// audit triggers record who changed reference data and refuse changes made for nobody.
public struct UserStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the installation and its first administrator, once. `rehearsal` marks a database
    /// for demos, tests and training, where actions may be dated with `--today`; it cannot be
    /// changed later.
    @discardableResult
    public func initialise(admin login: String, displayName: String, password: String, rehearsal: Bool, cost: UInt8 = 12) async throws -> User {
        try Self.checkPassword(password)
        let hash = Bcrypt.hash(password, cost: cost)
        return try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('installation'))", logger: logger)
            var exists = false
            for try await count in try await connection.query(
                "SELECT (SELECT count(*) FROM installation) + (SELECT count(*) FROM users WHERE 'admin' = ANY(roles))", logger: logger
            ).decode(Int64.self) {
                exists = count > 0
            }
            guard !exists else { throw BatchError.alreadyInitialised }
            try await connection.query(
                "INSERT INTO installation (id, rehearsal, admin_login) VALUES (1, \(rehearsal), \(login))", logger: logger)
            var id: Int64 = 0
            for try await value in try await connection.query(
                "INSERT INTO users (login, display_name, password_hash, roles) VALUES (\(login), \(displayName), \(hash), \(["admin"])) RETURNING id",
                logger: logger
            ).decode(Int64.self) {
                id = value
            }
            try await Self.audit(
                actor: id, action: "installation.init", subject: "user:\(login)",
                detail: ["rehearsal": rehearsal ? "true" : "false"], on: connection, logger: logger)
            return User(id: id, login: login, displayName: displayName, roles: [.admin])
        }
    }

    /// Adds a user (admin only) with a bcrypt-hashed password.
    @discardableResult
    public func add(login: String, displayName: String, password: String, roles: Set<Role>, by admin: User, cost: UInt8 = 12) async throws -> User {
        try Self.require(admin, .admin)
        try Self.checkPassword(password)
        guard !roles.isEmpty else { throw BatchError.invalidInput(InputError(field: "role", message: "give at least one role")) }
        let hash = Bcrypt.hash(password, cost: cost)
        let roleNames = roles.map(\.rawValue).sorted()
        return try await actingAs(admin) { connection in
            var id: Int64 = 0
            for try await value in try await connection.query(
                "INSERT INTO users (login, display_name, password_hash, roles) VALUES (\(login), \(displayName), \(hash), \(roleNames)) RETURNING id",
                logger: logger
            ).decode(Int64.self) {
                id = value
            }
            try await Self.audit(actor: admin.id, action: "user.add", subject: "user:\(login)", detail: ["roles": roleNames.joined(separator: ",")],
                                 on: connection, logger: logger)
            return User(id: id, login: login, displayName: displayName, roles: roles)
        }
    }

    /// The active user `login`, checking `password` when given.
    public func user(_ login: String, password: String? = nil) async throws -> User {
        let rows = try await client.query(
            "SELECT id, login, display_name, roles, password_hash FROM users WHERE login = \(login) AND active", logger: logger)
        for try await (id, login, name, roles, hash) in rows.decode((Int64, String, String, [String], String).self) {
            if let password, !Bcrypt.verify(password, hash: hash) { throw BatchError.badPassword(login) }
            return User(id: id, login: login, displayName: name, roles: Set(roles.compactMap(Role.init(rawValue:))))
        }
        throw BatchError.unknownUser(login)
    }

    /// Whether this database was initialised as a rehearsal (demo, test, training) database.
    public func isRehearsal() async throws -> Bool {
        var rehearsal = false
        for try await value in try await client.query("SELECT rehearsal FROM installation WHERE id = 1", logger: logger).decode(Bool.self) {
            rehearsal = value
        }
        return rehearsal
    }

    /// The business day an action is dated: the server's clock (today in Beijing), or a date a
    /// rehearsal database was asked to use. A real database refuses a chosen date.
    public func businessDay(_ requested: CivilDate?) async throws -> CivilDate {
        guard let requested else { return .todayInBeijing() }
        guard try await isRehearsal() else { throw BatchError.notRehearsal }
        return requested
    }

    /// Runs `body` in a transaction acting for `user`: the audit triggers see who it is.
    public func actingAs<T: Sendable>(_ user: User, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.transaction(logger: logger) { connection in
            try await Self.act(as: user, on: connection, logger: logger)
            return try await body(connection)
        }
    }

    static func act(as user: User, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT set_config('subsidy.actor', \(String(user.id)), true)", logger: logger)
    }

    static func require(_ user: User, _ role: Role) throws(BatchError) {
        guard user.acts(as: role) else { throw .missingRole(login: user.login, role: role) }
    }

    static func checkPassword(_ password: String) throws(BatchError) {
        guard password.count >= 10 else { throw .invalidInput(InputError(field: "password", message: "the password must have at least 10 characters")) }
    }

    /// Records an action done for `user` that changes nothing else (a download, a verification).
    public func audit(_ user: User, action: String, subject: String, detail: [String: String] = [:]) async throws {
        try await actingAs(user) { connection in
            try await Self.audit(actor: user.id, action: action, subject: subject, detail: detail, on: connection, logger: logger)
        }
    }

    /// Writes an audit-log row in the caller's transaction.
    public static func audit(
        actor: Int64?, action: String, subject: String, detail: [String: String], on connection: PostgresConnection, logger: Logger
    ) async throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]), as: UTF8.self)
        try await connection.query(
            "INSERT INTO audit_log (actor, action, subject, detail) VALUES (\(actor), \(action), \(subject), \(json)::jsonb)", logger: logger)
    }
}
