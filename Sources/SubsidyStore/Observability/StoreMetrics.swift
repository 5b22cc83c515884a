import Metrics
public import PostgresNIO
public import Logging

/// What the stores count, through swift-metrics: whatever backend the process bootstraps (the
/// server: Prometheus at /metrics) receives them; a command that bootstraps none drops them.
public enum StoreMetrics {
    /// An upload ended: `kind` interest_records or statements; `outcome` stored, rejected or replayed.
    static func upload(kind: String, outcome: String, rows: Int) {
        Counter(label: "subsidy_uploads_total", dimensions: [("kind", kind), ("outcome", outcome)]).increment()
        if outcome == "stored" {
            Counter(label: "subsidy_upload_rows_total", dimensions: [("kind", kind)]).increment(by: rows)
        }
    }

    /// A batch computation ended, with its duration and the lines it stored.
    static func batchComputed(program: String, outcome: String, duration: Duration, lines: Int) {
        Counter(label: "subsidy_batch_computations_total", dimensions: [("program", program), ("outcome", outcome)]).increment()
        Timer(label: "subsidy_batch_compute_duration_seconds", dimensions: [("program", program)]).record(duration: duration)
        if outcome == "stored" {
            Counter(label: "subsidy_batch_lines_computed_total", dimensions: [("program", program)]).increment(by: lines)
        }
    }

    /// The server's heavy actions (`HeavyWork`): whether one runs, and how many wait their turn.
    static func heavyWork(running: Bool, waiting: Int) {
        Gauge(label: "subsidy_heavy_work_running").record(running ? 1 : 0)
        Gauge(label: "subsidy_heavy_work_waiting").record(waiting)
    }

    /// Read at each scrape: the reconciliation daemon's queue (statement uploads waiting) and lag
    /// (how long the oldest has waited), and the service's database connections by state.
    public static func refreshGauges(client: PostgresClient, logger: Logger) async throws {
        for try await (pending, lag) in try await client.query(
            """
            SELECT count(*)::bigint, coalesce(extract(epoch FROM now() - min(received_at)), 0)::float8
            FROM statement_uploads WHERE status = 'pending'
            """, logger: logger
        ).decode((Int64, Double).self) {
            Gauge(label: "subsidy_daemon_queue_length").record(pending)
            Gauge(label: "subsidy_daemon_lag_seconds").record(lag)
        }
        for try await (state, count) in try await client.query(
            """
            SELECT s.state, count(a.pid)::bigint
            FROM unnest(ARRAY['active', 'idle', 'idle in transaction']) AS s(state)
            LEFT JOIN pg_stat_activity a ON a.state = s.state AND a.datname = current_database() AND a.usename = current_user
            GROUP BY s.state
            """, logger: logger
        ).decode((String, Int64).self) {
            Gauge(label: "subsidy_db_connections", dimensions: [("state", state)]).record(count)
        }
    }
}
