/// One at a time, in the order they came: the actions of a server process that hold a whole
/// batch's or statement's worth of memory — a computation, an approval, a statement import
/// (the web's and the daemon's). Each stays under 400 MB at nation (`docs/SCALE.md`); the server
/// keeps under its 500 MB only if they do not add up, and on two cores two of them side by side
/// take as long as one after the other. Other requests never wait for it.
///
/// Not in the stores: a store's callers (tests racing approvals, commands) decide themselves
/// what runs together; the server gives its web application and its daemon one `HeavyWork`.
public actor HeavyWork {
    private var running = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init() {}

    /// Whether one is running now: a computation about to wait says so on its page.
    public var busy: Bool { running }
    /// How many are waiting for their turn now (not counting the one running).
    public var queued: Int { waiting.count }

    /// Runs `body` once no other `run` of this instance is running; the turn passes on when it
    /// returns or throws.
    public nonisolated func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        guard running else {
            running = true
            StoreMetrics.heavyWork(running: true, waiting: waiting.count)
            return
        }
        await withCheckedContinuation {
            waiting.append($0)
            StoreMetrics.heavyWork(running: true, waiting: waiting.count)
        }
    }

    private func release() {
        if waiting.isEmpty {
            running = false
        } else {
            waiting.removeFirst().resume()  // the turn passes directly: `running` stays set
        }
        StoreMetrics.heavyWork(running: running, waiting: waiting.count)
    }
}
