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
        guard clock.now < deadline else { throw EventuallyFailure(what: what, limit: limit) }
        if let pause { try await Task.sleep(for: pause) } else { await Task.yield() }
    }
}

/// What a test waited for and did not see within its limit.
public struct EventuallyFailure: Error, CustomStringConvertible {
    public let what: String
    public let limit: Duration
    public var description: String { "\(what): not within \(limit)" }
}
