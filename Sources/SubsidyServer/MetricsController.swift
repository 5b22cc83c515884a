import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import PostgresNIO
import SubsidyStore

/// Prometheus at `/metrics`: swift-metrics bootstrapped once per process with a Prometheus
/// registry. HTTP requests by route, method and status with latency histograms (Hummingbird's
/// MetricsMiddleware), uploads and their rows, batch computations and their duration (the
/// stores), and, read at each scrape, the daemon's queue and lag and the database connections.
enum ServerMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Requests: 1 ms to 10 s; batch computations: 100 ms to 30 min.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        factory.durationHistogramBuckets["subsidy_batch_compute_duration_seconds"] = [
            .milliseconds(100), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(1800),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}

struct MetricsController {
    let client: PostgresClient?
    let logger: Logger
    /// When set ($SUBSIDY_METRICS_TOKEN), a scrape must present it as a bearer token.
    let token: String?

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("metrics") { request, _ -> Response in
            if let token, request.headers[.authorization] != "Bearer \(token)" {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"])
            }
            if let client {
                do { try await StoreMetrics.refreshGauges(client: client, logger: logger) } catch {
                    logger.warning("metrics: database gauges not read", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            var bytes: [UInt8] = []
            ServerMetrics.registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
