import Crypto
import Foundation
public import Logging
public import PostgresNIO
public import SubsidyRules

/// Bank API tokens: 256 random bits, shown once, stored only as their SHA-256. A token is
/// high-entropy, so a fast hash is enough for storage (no password stretching needed) and lets
/// each request find its token by an index lookup.
public struct BankTokens: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public static func sha256(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// `slb_` and 43 base64url characters (32 bytes from the system's secure generator).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "slb_" + base64
    }

    var users: UserStore { UserStore(client: client, logger: logger) }

    /// Registers (or renames) a partner bank (admin).
    public func addBank(code: String, name: String, by admin: User) async throws {
        try UserStore.require(admin, .admin)
        try await users.actingAs(admin) { connection in
            try await connection.query(
                "INSERT INTO banks (code, name) VALUES (\(code), \(name)) ON CONFLICT (code) DO UPDATE SET name = excluded.name", logger: logger)
            try await UserStore.audit(actor: admin.id, action: "bank.add", subject: "bank:\(code)", detail: ["name": name], on: connection, logger: logger)
        }
    }

    /// Creates a token for `bank` (admin); the token itself is returned once and never stored.
    public func create(bank: String, label: String, by admin: User) async throws -> (id: Int64, token: String) {
        try UserStore.require(admin, .admin)
        let token = Self.generate()
        let hash = Self.sha256(token).hex
        return try await users.actingAs(admin) { connection in
            var id: Int64 = 0
            for try await value in try await connection.query(
                "INSERT INTO bank_tokens (bank_code, token_sha256, label) VALUES (\(bank), decode(\(hash), 'hex'), \(label)) RETURNING id", logger: logger
            ).decode(Int64.self) {
                id = value
            }
            try await UserStore.audit(
                actor: admin.id, action: "bank.token.create", subject: "bank:\(bank)", detail: ["token_id": String(id), "label": label],
                on: connection, logger: logger)
            return (id, token)
        }
    }

    /// Revokes token `id` (admin); true when it was active.
    @discardableResult
    public func revoke(id: Int64, by admin: User) async throws -> Bool {
        try UserStore.require(admin, .admin)
        return try await users.actingAs(admin) { connection in
            var revoked = false
            for try await _ in try await connection.query(
                "UPDATE bank_tokens SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id", logger: logger
            ).decode(Int64.self) {
                revoked = true
            }
            if revoked {
                try await UserStore.audit(actor: admin.id, action: "bank.token.revoke", subject: "token:\(id)", detail: [:], on: connection, logger: logger)
            }
            return revoked
        }
    }

    /// The bank an active token belongs to, or nil.
    public func bank(for token: String) async throws -> String? {
        guard token.hasPrefix("slb_"), token.utf8.count < 100 else { return nil }
        let hash = Self.sha256(token).hex
        for try await bank in try await client.query(
            "SELECT bank_code FROM bank_tokens WHERE token_sha256 = decode(\(hash), 'hex') AND revoked_at IS NULL", logger: logger
        ).decode(String.self) {
            return bank
        }
        return nil
    }
}
