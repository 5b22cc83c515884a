import ArgumentParser
import Foundation
import SubsidyRules
import SubsidyStore

/// `subsidy generate`: a deterministic data set for a rehearsal database (benchmarks, training,
/// demos), or the statements that pay an exported batch.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a realistic data set into a rehearsal database (admin).",
        discussion: """
            city ≈ 15,000 firms / 30,000 loans / 360,000 interest records; province ≈ 100,000 / 300,000 / 3.6 million; \
            nation ≈ 600,000 / 2 million / 24 million. The same seed gives the same data. With --files, the interest records \
            are written there as the banks' CSV uploads instead of into the database. With --statements BATCH, writes the \
            MT940 statements (one per payment day) paying every line of that exported batch into --files.
            """)

    @OptionGroup var options: DatabaseOptions
    @OptionGroup var who: UserOptions

    @Option(help: "city, province or nation.") var scale: String?
    @Option(help: "Firms, for a custom size (loans are twice as many).") var firms: Int?
    @Option(help: "The seed: the same seed gives the same data.") var seed: UInt64 = 1
    @Option(help: "A folder for the banks' CSV uploads (or, with --statements, the statements).") var files: String?
    @Option(help: "Firms generated and written at a time.") var chunk = 10_000
    @Option(help: "Write the statements paying this exported batch (into --files).") var statements: Int64?
    @Option(help: "Payment days the statements are spread over.") var days = 3
    @Option(help: "The first payment day is the working day after this one (YYYY-MM-DD; default: today in Beijing).") var paidAfter: String?

    func run() async throws {
        if let batch = statements {
            guard let files else { throw ValidationError("--statements needs --files DIR") }
            var after = CivilDate.todayInBeijing()
            if let paidAfter {
                do { after = try CivilDate.parse(paidAfter, field: "--paid-after") } catch { throw ValidationError(error.description) }
            }
            let from = after
            let urls = try await actAsUser(options, who, label: "subsidy.generate") { client, logger, _ in
                try await DataLoader(client: client, logger: logger).statements(
                    batch: batch, account: DataLoader.disbursementAccount, from: from, days: max(1, days), folder: URL(fileURLWithPath: files))
            }
            urls.forEach { print($0.path) }
            return
        }
        let size: GeneratorScale
        if let firms {
            guard firms > 0, firms <= 10_000_000 else { throw ValidationError("--firms must be 1 to 10,000,000") }
            size = GeneratorScale(name: "custom", firms: firms, loans: firms * 2)
        } else {
            guard let name = scale, let named = GeneratorScale.named(name) else { throw ValidationError("give --scale city, province or nation (or --firms N)") }
            size = named
        }
        guard (100...200_000).contains(chunk) else { throw ValidationError("--chunk must be 100 to 200,000") }
        let generator = DataGenerator(scale: size, seed: seed)
        let folder = files.map { URL(fileURLWithPath: $0) }
        let started = ContinuousClock.now
        let summary = try await actAsUser(options, who, label: "subsidy.generate") { client, logger, user in
            try await DataLoader(client: client, logger: logger).load(generator, by: user, recordsFolder: folder, chunk: chunk) { line in
                FileHandle.standardError.write(Data("  \(line)\n".utf8))
            }
        }
        let seconds = (ContinuousClock.now - started).components.seconds
        print("generated \(size.name) seed \(seed) in \(seconds) s: \(summary.firms) firms, \(summary.qualifications) qualifications, \(summary.loans) loans, \(summary.records) interest records\(summary.recordFiles > 0 ? " in \(summary.recordFiles) CSV files" : ""), \(summary.investments) investments, \(summary.guarantees) guarantees, \(summary.otherSubsidies) other-level awards")
    }
}
