import Synchronization

/// The result of `operation`, or `nil` once `limit` has passed — returned at the limit, without
/// waiting for the operation to notice that it was cancelled. A task group cannot do that: it
/// waits for every child, and a PostgresNIO query or a lease from a pool whose server is gone
/// does not end when cancelled. The operation runs in a task of its own, cancelled at the limit
/// and left to end whenever it does; cancelling the caller cancels it too and throws
/// `CancellationError`.
///
/// Used where an answer is owed within a time whatever the database does: `/health`, and the
/// tests' waits on a database they restart.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T? {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
            race.start(continuation, limit: limit, operation: operation)
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The two tasks of `withDeadline` and the continuation the first of them resumes, once.
final class DeadlineRace<T: Sendable>: Sendable {
    struct State {
        var continuation: CheckedContinuation<T?, any Error>?
        var finished: Result<T?, any Error>?
        var tasks: [Task<Void, Never>] = []
    }
    let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T?, any Error>, limit: Duration, operation: @escaping @Sendable () async throws -> T) {
        // Cancelled before it began: resume at once.
        if let early = state.withLock({ state -> Result<T?, any Error>? in
            if let finished = state.finished { return finished }
            state.continuation = continuation
            return nil
        }) {
            continuation.resume(with: early)
            return
        }
        let work = Task {
            do { self.finish(.success(try await operation())) } catch { self.finish(.failure(error)) }
        }
        let timer = Task {
            do { try await Task.sleep(for: limit) } catch { return }
            self.finish(.success(nil))
        }
        let late = state.withLock { state -> Bool in
            if state.finished != nil { return true }
            state.tasks = [work, timer]
            return false
        }
        if late { work.cancel(); timer.cancel() }
    }

    func finish(_ result: Result<T?, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T?, any Error>?, [Task<Void, Never>]) in
            guard state.finished == nil else { return (nil, []) }
            state.finished = result
            defer { state.continuation = nil; state.tasks = [] }
            return (state.continuation, state.tasks)
        }
        tasks.forEach { $0.cancel() }
        continuation?.resume(with: result)
    }
}
