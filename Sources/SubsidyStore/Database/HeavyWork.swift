import CAllocator

/// One at a time, in the order they came: the actions of a server process that hold a whole
/// batch's or statement's worth of memory — a computation, an approval, a statement import
/// (the web's and the daemon's), a bank's statement upload checked. Each stays under 400 MB at
/// nation (`docs/SCALE.md`); the server keeps under its 500 MB only if they do not add up. Other
/// requests never wait for it. As a turn passes, the memory the action freed is given back to
/// the system.
///
/// `permits` above 1 makes it a bound on how many run together rather than a turn: statement
/// files uploaded by banks (the API) and by clerks (the web) are read two at a time
/// (`statementReads()`, given to both by `AppConfig`).
///
/// Not in the stores: a store's callers (tests racing approvals, commands) decide themselves
/// what runs together; the server gives its web application, its bank API and its daemon one
/// `HeavyWork`.
public actor HeavyWork {
    /// How many may run at once.
    public nonisolated let permits: Int
    /// Whether `subsidy_heavy_work_running` and `_waiting` report this one (the server's turn).
    nonisolated let reportsMetrics: Bool
    /// How many run now.
    public private(set) var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(permits: Int = 1, reportsMetrics: Bool = true) {
        precondition(permits >= 1, "at least one permit")
        self.permits = permits
        self.reportsMetrics = reportsMetrics
    }

    /// The bound on statement files read at once, a bank's or a clerk's (each up to 64 MiB, held
    /// until it is checked or imported): two, outside the turn, so that a slow sender delays other
    /// statement uploads, never a computation or an import. Not reported as the turn is.
    public static func statementReads() -> HeavyWork { HeavyWork(permits: 2, reportsMetrics: false) }

    /// Whether one is running now.
    public var busy: Bool { running > 0 }

    /// How many are waiting for their turn now (not counting those running).
    public var queued: Int { waiting.count }

    /// Runs `body` once fewer than `permits` other `run`s of this instance are running; the turn
    /// passes on when it returns or throws. `whenWaiting` is called first if it must wait (a
    /// computation's page says so).
    public nonisolated func run<T: Sendable>(
        whenWaiting: @Sendable () -> Void = {}, _ body: @Sendable () async throws -> T
    ) async throws -> T {
        await acquire(whenWaiting)
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire(_ whenWaiting: @Sendable () -> Void) async {
        guard running >= permits else {
            running += 1
            report()
            return
        }
        whenWaiting()
        await withCheckedContinuation {
            waiting.append($0)
            report()
        }
    }

    private func release() {
        Self.returnFreedMemory()
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()  // the turn passes directly: `running` stays
        }
        report()
    }

    private func report() {
        if reportsMetrics { StoreMetrics.heavyWork(running: running > 0, waiting: waiting.count) }
    }

    /// Gives the pages the finished action freed back to the system (glibc keeps them in the
    /// arena of the thread that freed them, where the next action, on another thread, cannot reuse them).
    static func returnFreedMemory() {
        _ = subsidy_release_free_memory()
    }
}
