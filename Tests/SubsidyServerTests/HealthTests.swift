import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import SubsidyServer
import SubsidyStore
import SubsidyTestSupport
import Testing

@Suite("GET /health")
struct HealthTests {
    @Test("reports the database up with its schema version, through the real database", .enabled(if: TestDatabase.isConfigured))
    func databaseUp() async throws {
        try await TestDatabase.withFresh { client, _ in
            let router = try buildRouter(health: PostgresHealth(client: client, logger: TestDatabase.logger))
            let app = Application(router: router)
            try await app.test(.router) { http in
                try await http.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    #expect(json?["status"] as? String == "ok")
                    let database = json?["database"] as? [String: Any]
                    #expect(database?["status"] as? String == "up")
                    // sql/ holds 001_foundation.sql and 002_lpr_history.sql at least.
                    #expect((database?["schemaVersion"] as? Int ?? 0) >= 2)
                }
            }
        }
    }

    @Test("answers 503 when the database cannot be reached")
    func databaseDown() async throws {
        // Nothing listens on port 1 of the loopback address.
        let url = try DatabaseURL("postgres://nobody:x@127.0.0.1:1/none?sslmode=disable")
        let app = try await buildApplication(config: AppConfig(host: "127.0.0.1", port: 0, database: url, logLevel: .critical))
        try await app.test(.router) { http in
            try await http.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect((json?["database"] as? [String: Any])?["status"] as? String == "down")
            }
        }
    }
}
