import ArgumentParser
import Foundation
import SubsidyRules
import SubsidyStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports.", subcommands: [Reconciliation.self])

    struct Reconciliation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reconciliation report for a statement or a batch: summary and balance checks, then every line by category.")
        @OptionGroup var options: DatabaseOptions
        @Option var statement: Int64?
        @Option var batch: Int64?
        @Option(help: "html (prints on A4) or csv (UTF-8 with BOM).") var format = "html"
        @Option(help: "File to write (default: standard output).") var out: String?

        func run() async throws {
            guard (statement == nil) != (batch == nil) else { throw ValidationError("give exactly one of --statement N or --batch N") }
            guard format == "html" || format == "csv" else { throw ValidationError("--format is html or csv") }
            let scope: ReconciliationReport.Scope = statement.map { .statement($0) } ?? .batch(batch!)
            let report = try await options.withClient("subsidy.report") { client, logger in
                try await ReconciliationReport.load(scope, client: client, logger: logger, today: .todayInBeijing())
            }
            let text = format == "html" ? report.html : report.csv
            if let out {
                try Data(text.utf8).write(to: URL(fileURLWithPath: out))
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }
}
