import Crypto
import Foundation
import Logging
import PostgresNIO
import SubsidyStore

/// A signed-in browser: its user, the CSRF token every form of the session carries, and the
/// user's language.
struct WebSession: Sendable {
    var user: User
    var csrf: String
    var language: Language
    var tokenHash: [UInt8]
}

enum Language: String, Sendable {
    case zh, en
}

/// Sessions and sign-in in PostgreSQL: a session survives a restart of the server, ends on
/// sign-out or after `idleMinutes` without a request. Only the SHA-256 of the cookie is stored.
/// Sign-in is throttled per login and per address, counting failed attempts in a window.
struct SessionStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    static let idleMinutes = 30
    static let throttleWindowMinutes = 15
    static let maxFailuresPerLogin = 5
    static let maxFailuresPerAddress = 20

    enum SignInError: Error, Equatable {
        case wrongCredentials
        case throttled(minutes: Int)
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Signs in: refused while the login or the address has too many recent failures (whether or
    /// not the password is right, so throttling cannot be used to guess); every attempt is kept.
    func signIn(login: String, password: String, address: String) async throws -> (token: String, user: User) {
        let window = Self.throttleWindowMinutes
        var failures: (login: Int64, address: Int64) = (0, 0)
        for try await row in try await client.query(
            """
            SELECT count(*) FILTER (WHERE login = \(login)
                                      AND at > coalesce((SELECT max(at) FROM login_attempts WHERE login = \(login) AND succeeded), '-infinity')),
                   count(*) FILTER (WHERE address = \(address))
            FROM login_attempts WHERE NOT succeeded AND at > now() - make_interval(mins => \(window)::int)
            """, logger: logger
        ).decode((Int64, Int64).self) {
            failures = row
        }
        if failures.login >= Self.maxFailuresPerLogin || failures.address >= Self.maxFailuresPerAddress {
            try await record(login: login, address: address, succeeded: false)
            throw SignInError.throttled(minutes: window)
        }
        let user: User
        do {
            user = try await UserStore(client: client, logger: logger).user(login, password: password)
        } catch is BatchError {
            try await record(login: login, address: address, succeeded: false)
            throw SignInError.wrongCredentials
        }
        try await record(login: login, address: address, succeeded: true)
        let token = Self.newToken()
        let csrf = Self.newToken()
        try await client.transaction(logger: logger) { connection in
            // Sessions idle for a day are gone for good.
            try await connection.query("DELETE FROM web_sessions WHERE last_seen < now() - interval '1 day'", logger: logger)
            try await connection.query(
                "INSERT INTO web_sessions (token_hash, user_id, csrf_token, address) VALUES (\(Data(Self.hash(token))), \(user.id), \(csrf), \(address))",
                logger: logger)
            try await UserStore.audit(
                actor: user.id, action: "session.signin", subject: "user:\(user.login)", detail: ["address": address], on: connection, logger: logger)
        }
        return (token, user)
    }

    func record(login: String, address: String, succeeded: Bool) async throws {
        try await client.query(
            "INSERT INTO login_attempts (login, address, succeeded) VALUES (\(String(login.prefix(64))), \(address), \(succeeded))", logger: logger)
    }

    /// The live session of a cookie, touched (its idle clock restarts); nil when there is none,
    /// it has been idle too long, or its user is no longer active.
    func session(token: String) async throws -> WebSession? {
        let tokenHash = Self.hash(token)
        for try await (id, login, name, roles, language, csrf) in try await client.query(
            """
            UPDATE web_sessions s SET last_seen = now() FROM users u
            WHERE s.token_hash = \(Data(tokenHash)) AND s.last_seen > now() - make_interval(mins => \(Self.idleMinutes)::int) AND u.id = s.user_id AND u.active
            RETURNING u.id, u.login, u.display_name, u.roles, u.language, s.csrf_token
            """, logger: logger
        ).decode((Int64, String, String, [String], String, String).self) {
            return WebSession(
                user: User(id: id, login: login, displayName: name, roles: Set(roles.compactMap(Role.init(rawValue:)))),
                csrf: csrf, language: Language(rawValue: language) ?? .zh, tokenHash: tokenHash)
        }
        return nil
    }

    func signOut(_ session: WebSession) async throws {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("DELETE FROM web_sessions WHERE token_hash = \(Data(session.tokenHash))", logger: logger)
            try await UserStore.audit(
                actor: session.user.id, action: "session.signout", subject: "user:\(session.user.login)", detail: [:], on: connection, logger: logger)
        }
    }

    func setLanguage(_ language: Language, for user: User) async throws {
        _ = try await UserStore(client: client, logger: logger).actingAs(user) { connection in
            try await connection.query("UPDATE users SET language = \(language.rawValue) WHERE id = \(user.id)", logger: logger)
        }
    }

    /// Constant-time comparison of a submitted CSRF token with the session's.
    static func tokensMatch(_ submitted: String, _ expected: String) -> Bool {
        let a = Array(submitted.utf8), b = Array(expected.utf8)
        guard a.count == b.count, !a.isEmpty else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
