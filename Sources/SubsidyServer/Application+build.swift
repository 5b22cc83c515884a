public import Hummingbird
public import Logging
public import PostgresNIO
import NIOCore
import OpenAPIHummingbird
import ServiceLifecycle
import SubsidyBankAPI
import SubsidyRules
public import SubsidyStore
public import SubsidyWeb

/// The service's configuration, read once at the edge (environment and flags).
public struct AppConfig: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseURL?
    public var logLevel: Logger.Level
    /// When set, a scrape of /metrics must present it as a bearer token.
    public var metricsToken: String?
    /// The turn the web application's computations, approvals and statement imports take, one at
    /// a time, and the bank API's statement uploads; `subsidy serve` gives its daemon the same.
    public var heavyWork: HeavyWork
    /// The statement files, a bank's or a clerk's, read at once (`HeavyWork.statementReads`).
    public var statementReads: HeavyWork

    public init(
        host: String = "127.0.0.1", port: Int = 8080, database: DatabaseURL?, logLevel: Logger.Level = .info, metricsToken: String? = nil,
        heavyWork: HeavyWork = HeavyWork(), statementReads: HeavyWork = HeavyWork.statementReads()
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.logLevel = logLevel
        self.metricsToken = metricsToken
        self.heavyWork = heavyWork
        self.statementReads = statementReads
    }
}

/// The server's request context: Hummingbird's basics and the peer's address (sign-in throttling).
public typealias AppRequestContext = WebRequestContext

/// The composition root: the HTTP application with the database client running as a service.
/// Tests call it too.
public func buildApplication(config: AppConfig) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "subsidy.server")
    logger.logLevel = config.logLevel
    var services: [any Service] = []
    var health: (any HealthChecking)?
    var bank: BankServices?
    var web: WebApp?
    if let database = config.database {
        let client = PostgresClient(configuration: database.clientConfiguration(), backgroundLogger: logger)
        services.append(client)
        health = PostgresHealth(client: client, logger: logger)
        bank = BankServices(client: client, logger: logger, heavyWork: config.heavyWork, statementReads: config.statementReads)
        web = try await WebApp(client: client, logger: logger, heavyWork: config.heavyWork, statementReads: config.statementReads)
    }
    let router = try buildRouter(health: health, bank: bank, web: web, metricsToken: config.metricsToken)
    return Application(
        router: router,
        server: .subsidyHTTP1,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "SubsidyLedger"),
        services: services,
        logger: logger)
}

/// What the bank API needs: the database client for tokens and data, and the server's turn for
/// the actions that hold a whole file (a statement upload is read and checked whole).
public struct BankServices: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// 64 MiB: a 100,000-record CSV is about 9 MB; the limit bounds what one upload may take.
    public var maxBodyBytes = 64 * 1024 * 1024
    public let heavyWork: HeavyWork
    /// The statement uploads reading their bodies at once (`HeavyWork.statementReads`).
    public let statementReads: HeavyWork

    public init(
        client: PostgresClient, logger: Logger, maxBodyBytes: Int = 64 * 1024 * 1024, heavyWork: HeavyWork = HeavyWork(),
        statementReads: HeavyWork = HeavyWork.statementReads()
    ) {
        self.client = client
        self.logger = logger
        self.maxBodyBytes = maxBodyBytes
        self.heavyWork = heavyWork
        self.statementReads = statementReads
    }
}

/// The routes. Domain errors choose their own responses (`APIError`); the bank API's come from
/// the OpenAPI document and answer RFC 9457 problems.
public func buildRouter(
    health: (any HealthChecking)?, bank: BankServices? = nil, web: WebApp? = nil, metricsToken: String? = nil
) throws -> Router<AppRequestContext> {
    _ = ServerMetrics.registry
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.info))
    router.add(middleware: MethodNotAllowedMiddleware())
    HealthController(health: health).addRoutes(to: router)
    MetricsController(
        client: bank?.client, logger: Logger(label: "subsidy.metrics"),
        token: metricsToken
    ).addRoutes(to: router)
    CalculatorController().addRoutes(to: router)
    router.get("openapi.yaml") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: BankAPIDocument.yaml)))
    }
    if let bank {
        let controller = BankAPIController(data: BankData(client: bank.client, logger: bank.logger), logger: bank.logger, heavyWork: bank.heavyWork, statementReads: bank.statementReads)
        try controller.registerHandlers(
            on: router,
            middlewares: [BankAPIMiddleware(tokens: BankTokens(client: bank.client, logger: bank.logger), logger: bank.logger, maxBodyBytes: bank.maxBodyBytes)])
    }
    // The bureau's web application: sign-in, batches, reconciliation, administration, audit.
    web?.addRoutes(to: router)
    return router
}
