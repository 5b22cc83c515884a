import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SubsidyServer
import SubsidyStore
import SubsidyTestSupport
import Testing

@Suite("Prometheus metrics", .enabled(if: TestDatabase.isConfigured))
struct MetricsTests {
    /// The value of the sample `name{labels}` in a Prometheus text exposition, 0 when absent.
    static func sample(_ text: String, _ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? .nan
        }
        return 0
    }

    func scrape(_ fixture: BankAPIFixture) async throws -> String {
        let app = Application(responder: fixture.responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.router) { http in
            try await http.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
        }
    }

    @Test("uploads and their rows, requests by route and status, the daemon's queue and the pool")
    func counts() async throws {
        try await TestDatabase.withFresh { client, _ in
            let fixture = try await BankAPIFixture.make(client)
            #expect(try await fixture.registerLoan() == 200)
            let stored = #"subsidy_uploads_total{kind="interest_records",outcome="stored"}"#
            let rejected = #"subsidy_uploads_total{kind="interest_records",outcome="rejected"}"#
            let rows = #"subsidy_upload_rows_total{kind="interest_records"}"#
            let requests = #"hb_requests{http_route="/v1/interest-records",http_request_method="POST",http_response_status_code="200"}"#
            // Other tests in this process count too: compare before and after.
            let before = try await scrape(fixture)
            let good = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv", body: Data(dailyCSV(lines: 250).utf8))
            #expect(good.status == 200)
            let bad = try await fixture.send(.post, "/v1/interest-records", token: fixture.icbc, contentType: "text/csv",
                                             body: Data(dailyCSV(lines: 3) { line, cells in if line == 2 { cells[4] = "x" } }.utf8))
            #expect(bad.status == 422)
            let after = try await scrape(fixture)
            #expect(Self.sample(after, stored) - Self.sample(before, stored) >= 1)
            #expect(Self.sample(after, rejected) - Self.sample(before, rejected) >= 1)
            #expect(Self.sample(after, rows) - Self.sample(before, rows) >= 250)
            #expect(Self.sample(after, requests) - Self.sample(before, requests) >= 1)
            #expect(after.contains("http_server_request_duration_bucket{"), "latency histograms")
            // Read from the database at the scrape: nothing waits for the daemon; a connection is in use.
            #expect(after.contains("subsidy_daemon_queue_length 0.0"))
            #expect(after.contains("subsidy_daemon_lag_seconds 0.0"))
            #expect(Self.sample(after, #"subsidy_db_connections{state="active"}"#) >= 1)
            // The heavy actions' turn is reported once one has taken it (its value depends on the
            // other tests running in this process: only its presence is checked).
            #expect(try await HeavyWork().run { 7 } == 7)
            let turned = try await scrape(fixture)
            #expect(turned.contains("\nsubsidy_heavy_work_running ") && turned.contains("\nsubsidy_heavy_work_waiting "))
        }
    }
}
