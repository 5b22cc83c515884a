import CAllocator

/// One at a time, in the order they came: the actions of a server process that hold a whole
/// batch's or statement's worth of memory — a computation, an approval, a statement import
/// (the web's and the daemon's), a bank's statement upload read and checked. Each stays under
/// 400 MB at nation (`docs/SCALE.md`); the server keeps under its 500 MB only if they do not add
/// up. Other requests never wait for it. As a turn passes, the memory the action freed is given
/// back to the system.
///
/// Not in the stores: a store's callers (tests racing approvals, commands) decide themselves
/// what runs together; the server gives its web application, its bank API and its daemon one
/// `HeavyWork`.
public actor HeavyWork {
    /// Whether one is running now.
    public private(set) var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init() {}

    /// How many are waiting for their turn now (not counting the one running).
    public var queued: Int { waiting.count }

    /// Runs `body` once no other `run` of this instance is running; the turn passes on when it
    /// returns or throws. `whenWaiting` is called first if it must wait (a computation's page
    /// says so).
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
        guard busy else {
            busy = true
            StoreMetrics.heavyWork(running: true, waiting: waiting.count)
            return
        }
        whenWaiting()
        await withCheckedContinuation {
            waiting.append($0)
            StoreMetrics.heavyWork(running: true, waiting: waiting.count)
        }
    }

    private func release() {
        Self.returnFreedMemory()
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()  // the turn passes directly: `busy` stays set
        }
        StoreMetrics.heavyWork(running: busy, waiting: waiting.count)
    }

    /// Gives the pages the finished action freed back to the system (glibc keeps them in the
    /// arena of the thread that freed them, where the next action, on another thread, cannot reuse them).
    static func returnFreedMemory() {
        _ = subsidy_release_free_memory()
    }
}
