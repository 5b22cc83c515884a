public import Logging

/// Where an operation's time goes, phase by phase, for one debug log line (profiling; the
/// figures behind BENCHMARKS.md). A phase marked again adds to its time.
struct Laps {
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    private var phases: [String: Duration] = [:]

    init() { last = clock.now }

    /// Ends `phase`: the time since the previous mark (or the start) counts for it.
    mutating func mark(_ phase: String) {
        let now = clock.now
        phases[phase, default: .zero] += now - last
        last = now
    }

    /// The phases and their times, with `extra` fields, as log metadata.
    func metadata(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        extra.merging(phases.mapValues { .stringConvertible($0) }) { field, _ in field }
    }
}
