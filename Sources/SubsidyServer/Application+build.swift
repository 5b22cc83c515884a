public import Hummingbird
public import Logging
import PostgresNIO
import ServiceLifecycle
import SubsidyRules
public import SubsidyStore

/// The service's configuration, read once at the edge (environment and flags).
public struct AppConfig: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseURL?
    public var logLevel: Logger.Level

    public init(host: String = "127.0.0.1", port: Int = 8080, database: DatabaseURL?, logLevel: Logger.Level = .info) {
        self.host = host
        self.port = port
        self.database = database
        self.logLevel = logLevel
    }
}

public typealias AppRequestContext = BasicRequestContext

/// The composition root: the HTTP application with the database client running as a service.
/// Tests call it too.
public func buildApplication(config: AppConfig) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "subsidy.server")
    logger.logLevel = config.logLevel
    var services: [any Service] = []
    var health: (any HealthChecking)?
    if let database = config.database {
        let client = PostgresClient(configuration: database.clientConfiguration(), backgroundLogger: logger)
        services.append(client)
        health = PostgresHealth(client: client, logger: logger)
    }
    let router = buildRouter(health: health)
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "SubsidyLedger"),
        services: services,
        logger: logger)
}

/// The routes. Domain errors choose their own responses (`APIError`).
public func buildRouter(health: (any HealthChecking)?) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.info))
    HealthController(health: health).addRoutes(to: router)
    CalculatorController().addRoutes(to: router)
    return router
}
