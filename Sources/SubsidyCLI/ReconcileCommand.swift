import ArgumentParser
import Foundation
import SubsidyStore

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Reconciliation decisions a clerk makes.", subcommands: [Confirm.self])

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm a suggested match (name and amount, or one of several lines): posts the payment and marks the line paid.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Option(help: "The statement entry id (from the report).") var entry: Int64
        @Option(help: "The batch line id it pays.") var line: Int64

        func run() async throws {
            let (entry, line) = (self.entry, self.line)
            do {
                try await options.withClient("subsidy.reconcile") { client, logger in
                    let user = try await who.authenticate(client, logger)
                    try await ReconciliationStore(client: client, logger: logger).confirmSuggestion(entryID: entry, lineID: line, by: user)
                }
            } catch let error as ReconciliationError {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
            print("entry \(entry) confirmed as payment of line \(line)")
        }
    }
}
