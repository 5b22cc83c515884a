/// Waits until `condition` holds, asking again after each `Task.yield()` (or each `pause`). A test
/// waits this way for another task to reach a point — a gate taken, a body queued. Should that
/// task fail instead, the condition never comes, and an unbounded loop spins for ever: a test
/// bundle whose run had been stopped was found still spinning at 130 % CPU fifteen minutes later,
/// halving a benchmark's speed. After `limit` this throws, naming `what`; a cancelled test (a
/// suite's time limit) ends it too.
public func eventually(
    _ what: String, within limit: Duration = .seconds(60), pause: Duration? = nil, _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while try await !condition() {
        try Task.checkCancellation()
        guard clock.now < deadline else { throw StepFailure(description: "\(what): not within \(limit)") }
        if let pause { try await Task.sleep(for: pause) } else { await Task.yield() }
    }
}

/// A step of a test that did not happen: a condition not seen within its limit, a pg.sh call
/// that failed or ran too long, a query that did not answer in time.
public struct StepFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
