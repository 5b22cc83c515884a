import ArgumentParser
import Foundation
import SubsidyReconciliation
import SubsidyRules

struct StatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement", abstract: "Bank statements (MT940/MT942, camt.053, Chinese bank CSV).", subcommands: [Parse.self])

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
