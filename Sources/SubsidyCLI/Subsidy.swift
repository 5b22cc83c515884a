import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals
import SubsidyRules
import SubsidyServer
import SubsidyStore

@main
struct Subsidy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subsidy",
        abstract: "SubsidyLedger: SME loan-interest subsidies and investment rewards (专精特新企业贴息与奖励).",
        subcommands: [Serve.self, Migrate.self, InitCommand.self, Calc.self, LedgerCommand.self, BatchCommand.self, BudgetCommand.self, UserCommand.self, BankCommand.self, StatementCommand.self, DaemonCommand.self, ReportCommand.self, ReconcileCommand.self, GenerateCommand.self])
}

/// Settings shared by the commands that reach the database, read once from the environment.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("owner-url"), help: "The schema owner's PostgreSQL URL, for migrations (default: $DATABASE_OWNER_URL).")
    var ownerURL: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default: $LOG_LEVEL or info).")
    var logLevel: String?

    func database() throws -> DatabaseURL {
        guard let text = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else {
            throw ValidationError("no database configured: set DATABASE_URL (scripts/pg.sh start prints one)")
        }
        do {
            return try DatabaseURL(text)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The schema owner's URL, for migrations: `--owner-url`, else $DATABASE_OWNER_URL, else nil.
    func ownerDatabase() throws -> DatabaseURL? {
        guard let text = ownerURL ?? ProcessInfo.processInfo.environment["DATABASE_OWNER_URL"], !text.isEmpty else { return nil }
        do {
            return try DatabaseURL(text)
        } catch {
            throw ValidationError("DATABASE_OWNER_URL: \(error.description)")
        }
    }

    func level() throws -> Logger.Level {
        let text = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text) else { throw ValidationError("unknown log level \"\(text)\"") }
        return level
    }

    func logger(_ label: String) throws -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = try level()
        return logger
    }

    /// The pool's own logger: errors only, unless debug or trace was asked for. Its start-up
    /// notices ("run() hasn't been called yet") are noise for a clerk at a terminal.
    func poolLogger(_ label: String) throws -> Logger {
        var logger = Logger(label: label + ".pool")
        let level = try level()
        logger.logLevel = level <= .debug ? level : .error
        return logger
    }

    /// Runs `body` with a pooled client of the configured database (or `url`), for one command.
    func withClient<T: Sendable>(_ label: String, url: DatabaseURL? = nil, _ body: @Sendable (PostgresClient, Logger) async throws -> T) async throws -> T {
        let logger = try logger(label)
        let client = PostgresClient(configuration: try (url ?? database()).clientConfiguration(), backgroundLogger: try poolLogger(label))
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                defer { group.cancelAll() }
                return try await body(client, logger)
            }
        } catch let error as PSQLError {
            // PostgresNIO hides the server's words from `description`; a person needs them.
            throw DatabaseFailure(error)
        } catch let error as PostgresTransactionError {
            if let inner = (error.closureError ?? error.commitError) as? PSQLError { throw DatabaseFailure(inner) }
            throw error
        }
    }
}

/// A database error as the server stated it (message, detail, SQLSTATE), or the connection
/// failure, for the terminal.
struct DatabaseFailure: Error, CustomStringConvertible {
    let description: String

    init(_ error: PSQLError) {
        if let message = error.serverInfo?[.message] {
            let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
            description = "the database refused: \(message)\(detail) [SQLSTATE \(error.serverInfo?[.sqlState] ?? "?")]"
        } else {
            description = "cannot reach the database: \(error.code)"
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service (migrating the database first).")

    @OptionGroup var options: DatabaseOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (default: $PORT or 8080).")
    var port: Int?

    @Flag(help: "Do not apply pending migrations at start.")
    var noMigrate = false

    @Flag(help: "Do not run the reconciliation daemon in this process.")
    var noDaemon = false

    @Option(help: "The daemon's inbox folder (default: $SUBSIDY_INBOX or var/inbox).")
    var inbox: String?

    @Option(help: "Seconds a stop (SIGTERM, SIGINT) waits for the requests and the import under way before cancelling them.")
    var stopWithin: Int = 60

    func run() async throws {
        let database = try options.database()
        let logger = try options.logger("subsidy.serve")
        // The service's role cannot change the schema: with the owner's URL it migrates first,
        // else it refuses to start on a schema that is not up to date.
        if !noMigrate, try options.ownerDatabase() != nil {
            try await Migrate.apply(options, folder: Migrator.defaultFolder(), label: "subsidy.serve")
        } else {
            let pending = try await options.withClient("subsidy.serve") { client, logger in
                try await Migrator(folder: Migrator.defaultFolder()).pending(client, logger: logger)
            }
            guard pending.isEmpty else {
                throw ValidationError("\(pending.count) migration(s) not applied (\(pending.joined(separator: ", "))): run `subsidy migrate` with the schema owner's URL (DATABASE_OWNER_URL)")
            }
        }
        let port = self.port ?? ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8080
        let metricsToken = ProcessInfo.processInfo.environment["SUBSIDY_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        // The web application and the daemon take turns at the actions that hold a whole batch
        // or statement (`HeavyWork`), so that together they stay within the server's memory.
        let heavyWork = HeavyWork()
        let app = try await buildApplication(config: AppConfig(
            host: host, port: port, database: database, logLevel: try options.level(), metricsToken: metricsToken, heavyWork: heavyWork))
        guard !noDaemon else {
            try await ServiceGroup(configuration: .stopping([app], withinSeconds: stopWithin, logger: logger)).run()
            return
        }
        // The HTTP service and the reconciliation daemon, one ServiceGroup: SIGTERM stops both.
        let client = PostgresClient(configuration: database.clientConfiguration(), backgroundLogger: try options.poolLogger("subsidy.daemon"))
        let daemon = ReconciliationDaemon(client: client, database: database, inbox: DaemonCommand.inboxURL(inbox), logger: logger, heavyWork: heavyWork)
        try await ServiceGroup(configuration: .stopping([client, daemon, app], withinSeconds: stopWithin, logger: logger)).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the numbered SQL migrations in sql/ that are not applied yet.")

    @OptionGroup var options: DatabaseOptions

    @Option(help: "Folder of NNN_name.sql files (default: $SUBSIDY_SQL_DIR or ./sql).")
    var dir: String?

    func run() async throws {
        let applied = try await Migrate.apply(options, folder: dir ?? Migrator.defaultFolder(), label: "subsidy.migrate")
        print(applied.isEmpty ? "schema is up to date" : "applied: " + applied.joined(separator: ", "))
    }

    /// Migrates as the schema's owner: `--owner-url` or $DATABASE_OWNER_URL, else the database
    /// URL itself (a single-role installation, or the owner's URL given as --database-url).
    @discardableResult
    static func apply(_ options: DatabaseOptions, folder: String, label: String) async throws -> [String] {
        let migrator = try Migrator(folder: folder)
        let url = try options.ownerDatabase() ?? options.database()
        return try await options.withClient(label, url: url) { client, logger in try await migrator.migrate(client, logger: logger) }
    }
}

struct Calc: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute awards from a calculator request (CALCULATOR.md); no database needed.",
        discussion: "Exit status 2 on invalid input, with {\"error\", \"field\"} on standard error.")

    @Argument(help: "The request JSON file, or - for standard input.")
    var file: String

    @Flag(help: "Indent the JSON output.")
    var pretty = false

    @Option(help: "json (the contract) or text (a readable report with the explanation).")
    var format: OutputFormat = .json

    @Flag(help: "Print decode, compute and encode times to standard error (for scripts/bench.sh).")
    var timing = false

    static func ms(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micro = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return "\(micro / 1000).\(String(micro % 1000 + 1000).dropFirst())"
    }

    enum OutputFormat: String, ExpressibleByArgument {
        case json, text
    }

    func run() throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data((InputError(field: "", message: "cannot read \(file)").json.serialized() + "\n").utf8))
                throw ExitCode(2)
            }
            data = contents
        }
        do {
            let clock = ContinuousClock()
            let started = clock.now
            let request = try CalculationRequest.decode(data)
            let decoded = clock.now
            let result = try SubsidyEngine.compute(request)
            let computed = clock.now
            var output = format == .text ? Array(result.textReport.utf8) : result.json.utf8(pretty: pretty)
            if format == .json { output.append(UInt8(ascii: "\n")) }
            let encoded = clock.now
            FileHandle.standardOutput.write(Data(output))
            if timing {
                let records = request.loans.reduce(0) { $0 + $1.interest.count }
                let line = "timing: records=\(records) decode_ms=\(Calc.ms(decoded - started)) compute_ms=\(Calc.ms(computed - decoded)) encode_ms=\(Calc.ms(encoded - computed))\n"
                FileHandle.standardError.write(Data(line.utf8))
            }
        } catch {
            FileHandle.standardError.write(Data((error.json.serialized(pretty: pretty) + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
