import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals
import SubsidyStore

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the reconciliation daemon: statements from the inbox folder and from uploads, each imported exactly once.")

    @OptionGroup var options: DatabaseOptions

    @Option(help: "Inbox folder (default: $SUBSIDY_INBOX or var/inbox); processed/ and rejected/ are made inside it.")
    var inbox: String?

    @Option(help: "Seconds between polls when no notification arrives.")
    var poll: Int = 2

    @Option(help: "Seconds a stop (SIGTERM, SIGINT) waits for the import under way before cancelling it; a cancelled import rolls back and is redone at the next start.")
    var stopWithin: Int = 30

    static func inboxURL(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? ProcessInfo.processInfo.environment["SUBSIDY_INBOX"] ?? "var/inbox")
    }

    func run() async throws {
        let database = try options.database()
        let logger = try options.logger("subsidy.daemon")
        let client = PostgresClient(configuration: database.clientConfiguration(), backgroundLogger: try options.poolLogger("subsidy.daemon"))
        let daemon = ReconciliationDaemon(
            client: client, database: database, inbox: Self.inboxURL(inbox), logger: logger, pollInterval: .seconds(max(1, poll)))
        try await ServiceGroup(configuration: .stopping([client, daemon], withinSeconds: stopWithin, logger: logger)).run()
    }
}

extension ServiceGroupConfiguration {
    /// SIGTERM or SIGINT stops `services` gracefully: the daemon finishes the import under way and
    /// the server its requests. A stop that has not ended `within` is escalated to cancellation:
    /// without that, a daemon waiting for a database that is down (a lease the pool never grants)
    /// never stopped (seen: still running minutes after SIGTERM). Cancelled mid-import, the
    /// import's transaction rolls back and the file is imported at the next start, as after kill -9.
    /// `daemon` and `serve` both stop this way (`--stop-within`, at least 1 s).
    static func stopping(_ services: [any Service], withinSeconds seconds: Int, logger: Logger) -> ServiceGroupConfiguration {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(max(1, seconds))
        return configuration
    }
}
