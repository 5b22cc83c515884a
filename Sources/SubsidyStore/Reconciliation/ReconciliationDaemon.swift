public import Foundation
public import Logging
public import PostgresNIO
public import ServiceLifecycle
import SubsidyReconciliation
import SubsidyRules

/// The reconciliation daemon: takes statement files dropped into an inbox folder and statements
/// uploaded over HTTP, imports each exactly once, and keeps a heartbeat with counts.
///
/// Exactly once: a file's import is one transaction; the file moves to `processed/` only after
/// it commits (or to `rejected/` with an `.error.txt` beside it). Killed between the commit and
/// the move, the daemon finds the file again at start, imports nothing new (every statement's
/// fingerprint is known) and moves it. Uploads are claimed with `FOR UPDATE SKIP LOCKED` and
/// marked processed in the import's own transaction.
public struct ReconciliationDaemon: Service {
    public let client: PostgresClient
    /// For the LISTEN connection, which lives apart from the pool.
    public let database: DatabaseURL
    public let inbox: URL
    public let logger: Logger
    public var pollInterval: Duration = .seconds(2)
    /// Each file's and upload's import takes its turn here: in `subsidy serve`, the web
    /// application's `HeavyWork`.
    public let heavyWork: HeavyWork

    public init(
        client: PostgresClient, database: DatabaseURL, inbox: URL, logger: Logger, pollInterval: Duration = .seconds(2), heavyWork: HeavyWork = HeavyWork()
    ) {
        self.client = client
        self.database = database
        self.inbox = inbox
        self.logger = logger
        self.pollInterval = pollInterval
        self.heavyWork = heavyWork
    }

    var processed: URL { inbox.appendingPathComponent("processed") }
    var rejected: URL { inbox.appendingPathComponent("rejected") }

    public func run() async throws {
        for folder in [inbox, processed, rejected] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        logger.info("reconciliation daemon started", metadata: ["inbox": "\(inbox.path)"])
        await withDiscardingTaskGroup { group in
            group.addTask { await listen(wake) }
            group.addTask {
                // The periodic poll: the fallback when a notification is missed.
                while !Task.isCancelled {
                    wake.yield()
                    try? await Task.sleep(for: pollInterval)
                }
            }
            // The worker runs here; when graceful shutdown ends it, the listener and poll stop too.
            var started = false
            for await _ in wakeups.cancelOnGracefulShutdown() {
                if !started { started = await heartbeat(starting: true) }
                await processAll()
                _ = await heartbeat(starting: false)
            }
            group.cancelAll()
        }
        logger.info("reconciliation daemon stopped")
    }

    /// LISTEN statements on a dedicated connection, reconnecting with backoff (1 s doubling to
    /// 30 s) when PostgreSQL goes away.
    func listen(_ wake: AsyncStream<Void>.Continuation) async {
        var backoff: Duration = .seconds(1)
        while !Task.isCancelled {
            do {
                try await database.withConnection(logger: logger) { connection in
                    let notifications = try await connection.listen("statements")
                    backoff = .seconds(1)
                    wake.yield()
                    for try await _ in notifications { wake.yield() }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; reconnecting", metadata: ["backoffSeconds": "\(backoff.components.seconds)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    /// Everything waiting: inbox files in name order, then pending uploads in arrival order.
    public func processAll() async {
        // Each file on its own: one that cannot be read or moved must not hold up the others.
        for file in (try? inboxFiles()) ?? [] {
            if Task.isCancelled { return }
            do {
                try await heavyWork.run { try await processFile(file) }
            } catch {
                await record(error, context: file.lastPathComponent)
            }
        }
        do {
            while !Task.isCancelled, try await heavyWork.run({ try await processNextUpload() }) {}
        } catch {
            await record(error, context: "uploads")
        }
    }

    /// PostgreSQL away, a file unreadable: logged, kept as the last error, tried again next time.
    func record(_ error: any Error, context: String) async {
        logger.warning("reconciliation step failed; will retry", metadata: ["context": "\(context)", "error": "\(String(reflecting: error))"])
        _ = try? await client.query("UPDATE daemon_status SET last_error = \("\(context): \(error)") WHERE id = 1", logger: logger)
    }

    /// Regular files in the inbox; names ending in .part or .tmp (still being written) and hidden
    /// files are left alone.
    func inboxFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: inbox, includingPropertiesForKeys: [.isRegularFileKey])
            .filter { url in
                let name = url.lastPathComponent
                let regular = (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) ?? false
                return regular && !name.hasPrefix(".") && !name.hasSuffix(".part") && !name.hasSuffix(".tmp")
            }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func processFile(_ file: URL) async throws {
        let data = try Data(contentsOf: file)
        let parsed: ParsedStatements
        do {
            parsed = try StatementParser.parse(data)
        } catch {
            try move(file, to: rejected)
            try Data("\(error.location): \(error.message)\n".utf8).write(to: rejected.appendingPathComponent(file.lastPathComponent + ".error.txt"))
            try await client.query("UPDATE daemon_status SET files_rejected = files_rejected + 1 WHERE id = 1", logger: logger)
            logger.warning("statement file rejected", metadata: ["file": "\(file.lastPathComponent)", "error": "\(error)"])
            return
        }
        // One transaction for the import. A file the import refuses (an account not the bureau's,
        // a constraint) is rejected with its reason instead of retried for ever; a passing fault
        // (PostgreSQL away) leaves it in the inbox for next time.
        let outcome = try await attempt {
            try await client.transaction(logger: logger) { connection in
                let summary = try await ReconciliationStore(client: client, logger: logger)
                    .importStatements(parsed, source: "file:" + file.lastPathComponent, sentBy: nil, on: connection)
                try await connection.query(
                    "UPDATE daemon_status SET files_processed = files_processed + 1, statements_imported = statements_imported + \(summary.statementIDs.count) WHERE id = 1",
                    logger: logger)
                return summary
            }
        }
        switch outcome {
        case .success(let summary):
            // Only now, after the commit, does the file leave the inbox.
            try move(file, to: processed)
            logger.info("statement file processed", metadata: [
                "file": "\(file.lastPathComponent)", "statements": "\(summary.statementIDs.count)", "alreadyImported": "\(summary.alreadyImported)",
                "entries": "\(summary.entries)",
            ])
        case .failure(let error):
            try move(file, to: rejected)
            try Data("\(Self.reason(error))\n".utf8).write(to: rejected.appendingPathComponent(file.lastPathComponent + ".error.txt"))
            try await client.query("UPDATE daemon_status SET files_rejected = files_rejected + 1 WHERE id = 1", logger: logger)
            logger.warning("statement file rejected", metadata: ["file": "\(file.lastPathComponent)", "error": "\(Self.reason(error))"])
        }
    }

    /// Claims and imports one pending upload; false when none waits. An upload the import
    /// refuses is marked rejected with the reason (in a second transaction: the import's rolled
    /// back), so the next one proceeds.
    func processNextUpload() async throws -> Bool {
        var claimedID: Int64?
        let outcome = try await attempt {
            try await client.transaction(logger: logger) { connection -> ImportSummary? in
                var claimed: (Int64, String, String?, String?, ByteBuffer, String?)?
                for try await row in try await connection.query(
                    """
                    SELECT id, name, format, profile, content, bank_code FROM statement_uploads WHERE status = 'pending'
                    ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
                    """, logger: logger
                ).decode((Int64, String, String?, String?, ByteBuffer, String?).self) {
                    claimed = row
                }
                guard let (id, name, format, profile, content, bank) = claimed else { return nil }
                claimedID = id
                let parsed = try StatementParser.parse(Data(content.readableBytesView), format: format.flatMap(StatementFormat.init(rawValue:)), profile: profile)
                let summary = try await ReconciliationStore(client: client, logger: logger)
                    .importStatements(parsed, source: "upload:\(id):\(name)", sentBy: bank, on: connection)
                try await connection.query(
                    "UPDATE statement_uploads SET status = 'processed', processed_at = now(), statement_ids = \(summary.statementIDs) WHERE id = \(id)",
                    logger: logger)
                try await connection.query(
                    "UPDATE daemon_status SET uploads_processed = uploads_processed + 1, statements_imported = statements_imported + \(summary.statementIDs.count) WHERE id = 1",
                    logger: logger)
                return summary
            }
        }
        switch outcome {
        case .success(let summary):
            return summary != nil
        case .failure(let error):
            guard let id = claimedID else { throw error }
            try await client.query(
                """
                UPDATE statement_uploads SET status = 'rejected', processed_at = now(), attempts = attempts + 1, error = \(Self.reason(error))
                WHERE id = \(id) AND status = 'pending'
                """, logger: logger)
            logger.warning("statement upload rejected", metadata: ["upload": "\(id)", "error": "\(Self.reason(error))"])
            return true
        }
    }

    /// Runs one import. A failure that trying again cannot cure is returned, to be rejected with
    /// its reason; a passing one (connection lost, serialization failure, deadlock, shutdown) is
    /// thrown, and the step runs again later.
    func attempt<T: Sendable>(_ body: () async throws -> T) async throws -> Result<T, any Error> {
        do {
            return .success(try await body())
        } catch {
            if Self.isPassing(error) { throw error }
            return .failure(error)
        }
    }

    static func isPassing(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        if let error = error as? PostgresTransactionError {
            return isPassing(error.closureError ?? error.commitError ?? error.beginError ?? CancellationError())
        }
        guard let error = error as? PSQLError else { return false }
        guard let state = error.serverInfo?[.sqlState] else { return true }  // no answer from the server: connection trouble
        return ["08", "40", "53", "57", "58"].contains(String(state.prefix(2)))
    }

    /// The words a clerk reads for a rejected file: the parser's or the import's own message, or
    /// the server's for a refused row.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.commitError { return reason(inner) }
        return switch error {
        case let error as StatementError: "\(error.location): \(error.message)"
        case let error as ReconciliationError: error.description
        case let error as PSQLError: "refused by the database: \(error.serverInfo?[.message] ?? "\(error.code)")"
        default: "\(error)"
        }
    }

    func move(_ file: URL, to folder: URL) throws {
        var target = folder.appendingPathComponent(file.lastPathComponent)
        var counter = 1
        while FileManager.default.fileExists(atPath: target.path) {
            target = folder.appendingPathComponent("\(counter)-" + file.lastPathComponent)
            counter += 1
        }
        try FileManager.default.moveItem(at: file, to: target)
    }

    /// Records that the daemon is alive; true when it could.
    func heartbeat(starting: Bool) async -> Bool {
        do {
            if starting {
                try await client.query(
                    """
                    INSERT INTO daemon_status (id, started_at, heartbeat_at) VALUES (1, now(), now())
                    ON CONFLICT (id) DO UPDATE SET started_at = now(), heartbeat_at = now()
                    """, logger: logger)
            } else {
                try await client.query("UPDATE daemon_status SET heartbeat_at = now() WHERE id = 1", logger: logger)
            }
            return true
        } catch {
            return false
        }
    }
}
