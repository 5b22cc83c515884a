import ArgumentParser
import Foundation
import SubsidyStore

struct BankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank", abstract: "Partner banks and their API tokens.", subcommands: [Add.self, Token.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register (or rename) a partner bank.")
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "Short code, e.g. ICBC.") var code: String
        @Option var name: String

        func run() async throws {
            guard code.range(of: "^[A-Z0-9]{2,16}$", options: .regularExpression) != nil else {
                throw ValidationError("a bank code is 2 to 16 capital letters or digits")
            }
            let (code, name) = (self.code, self.name)
            try await options.withClient("subsidy.bank") { client, logger in
                try await BankTokens(client: client, logger: logger).addBank(code: code, name: name)
            }
            print("bank \(code) (\(name)) registered")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or revoke API tokens.", subcommands: [Create.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token; it is shown once and stored only as a hash.")
            @OptionGroup var options: DatabaseOptions
            @Argument var bank: String
            @Option(help: "What the token is for, e.g. the bank's system name.") var label: String

            func run() async throws {
                let (bank, label) = (self.bank, self.label)
                let created = try await options.withClient("subsidy.bank") { client, logger in
                    try await BankTokens(client: client, logger: logger).create(bank: bank, label: label)
                }
                print("token \(created.id) for \(bank) (shown once, keep it secret):")
                print(created.token)
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id; requests with it get 401 at once.")
            @OptionGroup var options: DatabaseOptions
            @Argument var id: Int64

            func run() async throws {
                let id = self.id
                let revoked = try await options.withClient("subsidy.bank") { client, logger in
                    try await BankTokens(client: client, logger: logger).revoke(id: id)
                }
                print(revoked ? "token \(id) revoked" : "token \(id) was not active")
                if !revoked { throw ExitCode(1) }
            }
        }
    }
}
