import Synchronization
import SubsidyStore
import SubsidyTestSupport
import Testing

@Suite("withDeadline: an answer within the time, whatever the operation does")
struct DeadlineTests {
    /// A continuation the test holds, so that an operation can wait on it without heeding
    /// cancellation — as a lease from a pool whose server is gone does.
    final class Gate: Sendable {
        let waiting = Mutex<CheckedContinuation<Int, Never>?>(nil)
        func wait() async -> Int { await withCheckedContinuation { continuation in waiting.withLock { $0 = continuation } } }
        func open(_ value: Int) -> Bool {
            guard let continuation = waiting.withLock({ state -> CheckedContinuation<Int, Never>? in defer { state = nil }; return state }) else { return false }
            continuation.resume(returning: value)
            return true
        }
        /// Opens the gate once the operation waits at it (within a second); false if it never did.
        func release(_ value: Int) async throws -> Bool {
            for _ in 0..<50 {
                if open(value) { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
    }

    @Test("an operation that ignores cancellation: nil at the limit, not when it ends")
    func ignoresCancellation() async throws {
        let gate = Gate()
        let clock = ContinuousClock()
        let started = clock.now
        let answer = try await withDeadline(.milliseconds(300)) { await gate.wait() }
        let waited = clock.now - started
        #expect(answer == nil)
        // Returned at the limit (300 ms; later on a loaded machine), and before the operation
        // ended: it is still waiting at the gate.
        #expect(waited >= .milliseconds(300), "\(waited)")
        #expect(try await gate.release(7), "the operation was still waiting after the deadline")
    }

    @Test("an operation that ends in time gives its value or its error")
    func endsInTime() async throws {
        #expect(try await withDeadline(.seconds(30)) { 42 } == 42)
        struct Refused: Error, Equatable {}
        await #expect(throws: Refused.self) { _ = try await withDeadline(.seconds(30)) { () async throws -> Int in throw Refused() } }
    }

    @Test("cancelling the caller ends the wait with CancellationError")
    func callerCancelled() async throws {
        let gate = Gate()
        let waiter = Task { try await withDeadline(.seconds(60)) { await gate.wait() } }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(try await gate.release(0))
    }

    @Test("eventually: returns once the condition holds, and a condition that never comes fails naming what, at the limit")
    func eventuallyBounded() async throws {
        let counter = Mutex(0)
        // Holds on the third asking: two yields, then done.
        try await eventually("the third asking") { counter.withLock { $0 += 1; return $0 >= 3 } }
        #expect(counter.withLock { $0 } == 3)
        let started = ContinuousClock.now
        await #expect {
            try await eventually("a gate nobody opens", within: .milliseconds(200), pause: .milliseconds(10)) { false }
        } throws: { error in
            (error as? StepFailure)?.description == "a gate nobody opens: not within 0.2 seconds"
        }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }
}
