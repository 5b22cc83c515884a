import Hummingbird
public import Logging
public import PostgresNIO
import SubsidyRules

/// What `/health` reports about the database.
public struct DatabaseHealth: Sendable {
    public var up: Bool
    public var schemaVersion: Int?
    public var error: String?
}

public protocol HealthChecking: Sendable {
    func check() async -> DatabaseHealth
}

/// Asks PostgreSQL for the newest applied migration, with a time limit so that a hung database
/// makes `/health` answer "down" rather than hang.
public struct PostgresHealth: HealthChecking {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func check() async -> DatabaseHealth {
        do {
            return try await withThrowingTaskGroup(of: DatabaseHealth.self) { group in
                group.addTask {
                    let rows = try await client.query(
                        "SELECT coalesce(max(version), 0) FROM schema_migrations", logger: logger)
                    var version = 0
                    for try await (value) in rows.decode(Int.self) { version = value }
                    return DatabaseHealth(up: true, schemaVersion: version)
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(3))
                    return DatabaseHealth(up: false, error: "timed out after 3 s")
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
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
            return .json(
                .object([("status", .string(result.up ? "ok" : "degraded")), ("database", .object(database))]),
                status: result.up ? .ok : .serviceUnavailable)
        }
    }
}
