public import Logging
public import PostgresNIO
import SubsidyReconciliation
public import SubsidyRules

/// The bureau's own disbursement accounts (专户), each held at one partner bank. A statement is
/// reconciled only when it is for one of them, and through the API only when the bank holding
/// it sent it: no other bank can mark the bureau's payments paid or returned.
public struct DisbursementAccounts: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Account numbers as banks print them, with spaces or dashes: compared as the matcher
    /// compares payee accounts, by letters and digits.
    public static func normalise(_ account: String) -> String { Matcher.normaliseAccount(account) }

    /// Registers an account (admin; audited by the database too).
    public func add(account: String, bank: String, name: String, by admin: User) async throws {
        try UserStore.require(admin, .admin)
        let number = Self.normalise(account)
        guard (6...34).contains(number.count) else {
            throw BatchError.invalidInput(InputError(field: "account", message: "\"\(account)\" is not an account number (6 to 34 letters or digits)"))
        }
        try await UserStore(client: client, logger: logger).actingAs(admin) { connection in
            try await connection.query(
                """
                INSERT INTO disbursement_accounts (account_no, bank_code, name) VALUES (\(number), \(bank), \(name))
                ON CONFLICT (account_no) DO UPDATE SET bank_code = excluded.bank_code, name = excluded.name, active = true
                """, logger: logger)
            try await UserStore.audit(
                actor: admin.id, action: "account.add", subject: "account:\(number)", detail: ["bank": bank, "name": name], on: connection, logger: logger)
        }
    }

    /// Active accounts: normalised number → the bank holding it.
    func all(on connection: PostgresConnection) async throws -> [String: String] {
        var accounts: [String: String] = [:]
        for try await (number, bank) in try await connection.query(
            "SELECT account_no, bank_code FROM disbursement_accounts WHERE active", logger: logger
        ).decode((String, String).self) {
            accounts[number] = bank
        }
        return accounts
    }
}
