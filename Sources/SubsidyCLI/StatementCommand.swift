import ArgumentParser
import Foundation
import Logging
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore

struct StatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement", abstract: "Bank statements (MT940/MT942, camt.053, Chinese bank CSV).", subcommands: [Parse.self, Import.self])

    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a statement file as normalized JSON; exit 2 with {\"error\", \"location\"} when it cannot be read.")
        @Argument var file: String
        @Option(help: "mt940, camt053 or csv (default: detected).") var format: String?
        @Option(help: "CSV column profile: generic, icbc, cmbc, bocd.") var profile: String?
        @Flag var pretty = false

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            var chosen: StatementFormat?
            if let format {
                guard let parsed = StatementFormat(rawValue: format) else { throw ValidationError("unknown format \(format): mt940, camt053 or csv") }
                chosen = parsed
            }
            do {
                let parsed = try StatementParser.parse(data, format: chosen, profile: profile)
                FileHandle.standardOutput.write(Data(parsed.json.utf8(pretty: pretty) + [UInt8(ascii: "\n")]))
            } catch {
                let json = JSONValue.object([("error", .string(error.message)), ("location", .string(error.location))])
                FileHandle.standardError.write(Data(json.utf8() + [UInt8(ascii: "\n")]))
                throw ExitCode(2)
            }
        }
    }
}

extension StatementCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a statement file now (the daemon does this for its inbox): match, post, mark paid.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var file: String
        @Option var format: String?
        @Option var profile: String?

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            // The file is parsed while the user signs in: checking the password (bcrypt, about
            // 0.27 s of CPU) and parsing a province statement (26,379 entries, about 0.24 s) each
            // take a core, one after the other before. Nothing is read or written for the user
            // before both are done, and a file that does not parse is reported as such (exit 2)
            // whether or not the sign-in succeeded, as when it was parsed first.
            let format = format.flatMap(StatementFormat.init(rawValue:))
            let parsing = Task { [profile] () throws -> (ParsedStatements, Duration) in
                let started = ContinuousClock.now
                let parsed = try StatementParser.parse(data, format: format, profile: profile)
                return (parsed, ContinuousClock.now - started)
            }
            let source = "cli:" + URL(fileURLWithPath: file).lastPathComponent
            let summary: ImportSummary
            do {
                summary = try await actAsUser(options, who, label: "subsidy.statement") { client, logger, user in
                    let (parsed, duration) = try await parsing.value
                    logger.debug("statement parsed", metadata: ["bytes": "\(data.count)", "duration": "\(duration)"])
                    return try await ReconciliationStore(client: client, logger: logger).importStatements(parsed, source: source, by: user)
                }
            } catch {
                if case .failure(let unreadable as StatementError) = await parsing.result {
                    FileHandle.standardError.write(Data("error: \(unreadable.description)\n".utf8))
                    throw ExitCode(2)
                }
                if let error = error as? ReconciliationError {
                    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                    throw ExitCode(1)
                }
                throw error
            }
            print("导入 Imported \(summary.statementIDs.count) statement(s) \(summary.statementIDs), \(summary.alreadyImported) already imported; \(summary.entries) entries")
            for (category, count) in summary.categories.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                print("  \(category.rawValue): \(count)")
            }
        }
    }
}
