import ArgumentParser
import Foundation
import SubsidyRules
import SubsidyStore
import SubsidyWeb

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports.", subcommands: [Reconciliation.self])

    struct Reconciliation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reconciliation report for a statement or a batch: summary and balance checks, then every line by category.")
        @OptionGroup var options: DatabaseOptions
        @Option var statement: Int64?
        @Option var batch: Int64?
        @Option(help: "html (prints on A4), csv (UTF-8 with BOM) or xlsx (amounts as numbers, account numbers as text).") var format = "html"
        @Option(help: "File to write (default: standard output).") var out: String?

        func run() async throws {
            guard (statement == nil) != (batch == nil) else { throw ValidationError("give exactly one of --statement N or --batch N") }
            guard ReportFile.types[format] != nil else { throw ValidationError("--format is html, csv or xlsx") }
            let scope: ReconciliationReport.Scope = statement.map { .statement($0) } ?? .batch(batch!)
            // Written as it is read (a nation batch's report is hundreds of thousands of rows) into
            // a folder of its own, then moved to --out or copied to the standard output a chunk at
            // a time: a report that fails midway leaves no file behind.
            let (out, format) = (out, format)
            try await options.withClient("subsidy.report") { client, logger in
                let directory = try BufferedFile.temporaryDirectory()
                defer { try? FileManager.default.removeItem(at: directory) }
                let written = try await ReportFile.write(scope, format: format, client: client, logger: logger, today: .todayInBeijing(), in: directory)
                if let out {
                    let target = URL(fileURLWithPath: out)
                    try? FileManager.default.removeItem(at: target)
                    try FileManager.default.moveItem(at: written, to: target)
                } else {
                    let reader = try FileHandle(forReadingFrom: written)
                    defer { try? reader.close() }
                    while let chunk = try reader.read(upToCount: 1 << 18), !chunk.isEmpty { FileHandle.standardOutput.write(chunk) }
                }
            }
        }
    }
}
