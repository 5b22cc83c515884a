import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SubsidyStore

struct BankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank", abstract: "Partner banks, their API tokens, and the bureau's disbursement accounts (admin).", subcommands: [Add.self, Token.self, Account.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register (or rename) a partner bank.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument(help: "Short code, e.g. ICBC.") var code: String
        @Option var name: String

        func run() async throws {
            guard code.range(of: "^[A-Z0-9]{2,16}$", options: .regularExpression) != nil else {
                throw ValidationError("a bank code is 2 to 16 capital letters or digits")
            }
            let (code, name) = (self.code, self.name)
            try await actAsUser(options, who, label: "subsidy.bank") { client, logger, admin in
                try await BankTokens(client: client, logger: logger).addBank(code: code, name: name, by: admin)
            }
            print("bank \(code) (\(name)) registered")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or revoke API tokens.", subcommands: [Create.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token; it is shown once and stored only as a hash.")
            @OptionGroup var options: DatabaseOptions
            @OptionGroup var who: UserOptions
            @Argument var bank: String
            @Option(help: "What the token is for, e.g. the bank's system name.") var label: String

            func run() async throws {
                let (bank, label) = (self.bank, self.label)
                let created = try await actAsUser(options, who, label: "subsidy.bank") { client, logger, admin in
                    try await BankTokens(client: client, logger: logger).create(bank: bank, label: label, by: admin)
                }
                print("token \(created.id) for \(bank) (shown once, keep it secret):")
                print(created.token)
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id; requests with it get 401 at once.")
            @OptionGroup var options: DatabaseOptions
            @OptionGroup var who: UserOptions
            @Argument var id: Int64

            func run() async throws {
                let id = self.id
                let revoked = try await actAsUser(options, who, label: "subsidy.bank") { client, logger, admin in
                    try await BankTokens(client: client, logger: logger).revoke(id: id, by: admin)
                }
                print(revoked ? "token \(id) revoked" : "token \(id) was not active")
                if !revoked { throw ExitCode(1) }
            }
        }
    }

    struct Account: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register one of the bureau's disbursement accounts (专户) and the bank holding it (admin).",
            discussion: "Statements are reconciled only for these accounts, and through the API only when sent by the bank that holds the account.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Option(help: "The account number.") var account: String
        @Option(help: "The code of the bank holding it.") var bank: String
        @Option(help: "The account's name, e.g. 成都市财政局专精特新资金专户.") var name: String

        func run() async throws {
            let (account, bank, name) = (self.account, self.bank, self.name)
            try await actAsUser(options, who, label: "subsidy.bank") { client, logger, admin in
                try await DisbursementAccounts(client: client, logger: logger).add(account: account, bank: bank, name: name, by: admin)
            }
            print("disbursement account \(DisbursementAccounts.normalise(account)) at \(bank) registered")
        }
    }
}
