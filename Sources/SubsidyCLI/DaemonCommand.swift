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

    static func inboxURL(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? ProcessInfo.processInfo.environment["SUBSIDY_INBOX"] ?? "var/inbox")
    }

    func run() async throws {
        let database = try options.database()
        let logger = try options.logger("subsidy.daemon")
        let client = PostgresClient(configuration: database.clientConfiguration(), backgroundLogger: try options.poolLogger("subsidy.daemon"))
        let daemon = ReconciliationDaemon(
            client: client, database: database, inbox: Self.inboxURL(inbox), logger: logger, pollInterval: .seconds(max(1, poll)))
        let group = ServiceGroup(
            services: [client, daemon], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
    }
}
