import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import SubsidyServer
import SubsidyStore
import SubsidyTestSupport
import Synchronization
import Testing

@Suite("GET /health")
struct HealthTests {
    @Test("reports the database up with its schema version, through the real database", .enabled(if: TestDatabase.isConfigured))
    func databaseUp() async throws {
        try await TestDatabase.withFresh { client, _ in
            // A generous limit: the test is about what is reported, and the suite loads the machine.
            let router = try buildRouter(health: PostgresHealth(client: client, logger: TestDatabase.logger, timeLimit: .seconds(60)))
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

    @Test("a database that does not answer: 'down' at the time limit, not when the query ends", .enabled(if: TestDatabase.isConfigured))
    func answersAtTheLimit() async throws {
        try await TestDatabase.withFresh { client, url in
            let health = PostgresHealth(client: client, logger: TestDatabase.logger, timeLimit: .seconds(1))
            // The schema's owner locks the table the check reads, in a task of its own, until the
            // test lets go (60 s at most): the check's query waits in the server, and a query under
            // way does not end when its task is cancelled. Were the check to wait for its query,
            // it would answer only once the holder gave up.
            try await TestDatabase.withOwnerClient(of: url) { owner in
                let (locked, lockedNow) = AsyncStream.makeStream(of: Void.self)
                let (release, releaseNow) = AsyncStream.makeStream(of: Void.self)
                let gaveUp = Atomic(false)
                let holder = Task {
                    try await owner.transaction(logger: TestDatabase.logger) { connection in
                        try await connection.query("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE", logger: TestDatabase.logger)
                        lockedNow.yield()
                        let released = try await withDeadline(.seconds(60)) { for await _ in release { return true }; return true }
                        if released == nil { gaveUp.store(true, ordering: .sequentiallyConsistent) }
                    }
                }
                for await _ in locked { break }
                let clock = ContinuousClock()
                let started = clock.now
                let answer = await health.check()
                let waited = clock.now - started
                #expect(!answer.up && answer.error == "timed out after 1 s", "\(answer)")
                #expect(waited >= .seconds(1), "\(waited)")
                let holderGaveUp = gaveUp.load(ordering: .sequentiallyConsistent)
                #expect(!holderGaveUp, "the check answered only when the lock went, after \(waited)")
                releaseNow.yield()
                try await holder.value
            }
            // The lock gone: the same check answers up.
            #expect(await health.check().up)
        }
    }
}
