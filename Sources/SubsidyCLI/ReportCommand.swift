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
            guard let format = ReconciliationReport.Format(rawValue: format) else { throw ValidationError("--format is html or csv") }
            let scope: ReconciliationReport.Scope = statement.map { .statement($0) } ?? .batch(batch!)
            // Written as it is read: a nation batch's report is hundreds of thousands of rows. A
            // report that fails midway leaves no file behind.
            let out = out
            try await options.withClient("subsidy.report") { client, logger in
                let file = try out.map { try BufferedFile(path: $0) } ?? .standardOutput()
                do {
                    try await ReconciliationReport.write(scope, format: format, client: client, logger: logger, today: .todayInBeijing(), to: file)
                } catch {
                    if let out { try? FileManager.default.removeItem(atPath: out) }
                    throw error
                }
            }
        }
    }
}
