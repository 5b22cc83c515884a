import Hummingbird
public import Logging
public import PostgresNIO
public import SubsidyRules
import SubsidyStore

/// What `/health` reports about the database.
public struct DatabaseHealth: Sendable {
    public var up: Bool
    public var schemaVersion: Int?
    public var error: String?
    /// The reconciliation daemon's heartbeat and counts, when it has run.
    public var daemon: JSONValue?
}

public protocol HealthChecking: Sendable {
    func check() async -> DatabaseHealth
}

/// Asks PostgreSQL for the newest applied migration, with a time limit so that a hung database
/// makes `/health` answer "down" rather than hang.
public struct PostgresHealth: HealthChecking {
    let client: PostgresClient
    let logger: Logger
    let timeLimit: Duration

    /// `timeLimit`: how long the database may take before `/health` says it is down (3 s for a
    /// load balancer's probe; the answer comes at the limit, whatever the query then does).
    public init(client: PostgresClient, logger: Logger, timeLimit: Duration = .seconds(3)) {
        self.client = client
        self.logger = logger
        self.timeLimit = timeLimit
    }

    public func check() async -> DatabaseHealth {
        do {
            let answer = try await withDeadline(timeLimit) {
                let rows = try await client.query(
                    "SELECT coalesce(max(version), 0) FROM schema_migrations", logger: logger)
                var version = 0
                for try await (value) in rows.decode(Int.self) { version = value }
                var daemon: JSONValue?
                if version >= 8 {
                    for try await (age, files, rejected, uploads, statements, lastError) in try await client.query(
                        """
                        SELECT extract(epoch FROM now() - heartbeat_at)::int, files_processed, files_rejected, uploads_processed,
                               statements_imported, last_error FROM daemon_status WHERE id = 1
                        """, logger: logger
                    ).decode((Int, Int64, Int64, Int64, Int64, String?).self) {
                        daemon = .object([
                            ("status", .string(age < 60 ? "running" : "stale")), ("heartbeatSecondsAgo", .int(age)),
                            ("filesProcessed", .int(Int(files))), ("filesRejected", .int(Int(rejected))),
                            ("uploadsProcessed", .int(Int(uploads))), ("statementsImported", .int(Int(statements))),
                            ("lastError", lastError.map(JSONValue.string) ?? .null),
                        ])
                    }
                }
                return DatabaseHealth(up: true, schemaVersion: version, daemon: daemon)
            }
            return answer ?? DatabaseHealth(up: false, error: "timed out after \(timeLimit.components.seconds) s")
        } catch {
            logger.warning("health check failed", metadata: ["error": "\(String(reflecting: error))"])
            return DatabaseHealth(up: false, error: "unreachable")
        }
    }
}

struct HealthController {
    var health: (any HealthChecking)?

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("health") { _, _ -> Response in
            guard let health else {
                return .json(.object([("status", .string("degraded")), ("database", .object([("status", .string("not configured"))]))]), status: .serviceUnavailable)
            }
            let result = await health.check()
            var database: [(String, JSONValue)] = [("status", .string(result.up ? "up" : "down"))]
            if let version = result.schemaVersion { database.append(("schemaVersion", .int(version))) }
            if let error = result.error { database.append(("error", .string(error))) }
            var members: [(String, JSONValue)] = [("status", .string(result.up ? "ok" : "degraded")), ("database", .object(database))]
            if let daemon = result.daemon { members.append(("daemon", daemon)) }
            return .json(
                .object(members),
                status: result.up ? .ok : .serviceUnavailable)
        }
    }
}
