import SubsidyStore
import SubsidyTestSupport
import Testing

/// The server's computations, approvals and statement imports take turns (`HeavyWork`).
@Suite("Heavy work, one at a time")
struct HeavyWorkTests {
    /// Counts how many bodies run at once, and in which order they started.
    actor Probe {
        var running = 0
        var most = 0
        var started: [Int] = []
        func enter(_ index: Int) {
            running += 1
            most = max(most, running)
            started.append(index)
        }
        func leave() { running -= 1 }
    }

    @Test("12 racing bodies run one at a time, in the order they queued; a throwing body passes the turn on")
    func oneAtATime() async throws {
        let gate = HeavyWork()
        let probe = Probe()
        // The first holds the turn until the other eleven are queued behind it.
        let first = Task {
            try await gate.run {
                await probe.enter(0)
                try await eventually("the other eleven queued") { await gate.queued >= 11 }
                await probe.leave()
            }
        }
        try await eventually("the first holds the turn") { await gate.busy }
        var others: [Task<Void, any Error>] = []
        for index in 1...11 {
            // Queued one after the other: each waits until the one before it is waiting.
            others.append(Task {
                try await gate.run {
                    await probe.enter(index)
                    for _ in 0..<20 { await Task.yield() }
                    await probe.leave()
                    if index == 5 { throw CancellationError() }
                }
            })
            try await eventually("body \(index) queued") { await gate.queued >= index }
        }
        try await first.value
        var thrown = 0
        for task in others {
            do { try await task.value } catch { thrown += 1 }
        }
        #expect(await probe.most == 1)
        #expect(await probe.started == Array(0...11))
        #expect(thrown == 1)
        let (busy, queued) = (await gate.busy, await gate.queued)
        #expect(!busy && queued == 0)
        // Free again: the next body runs at once.
        #expect(try await gate.run { 42 } == 42)
    }

    @Test("with two permits, two bodies run together and a third waits for one of them")
    func twoPermits() async throws {
        let slots = HeavyWork(permits: 2, reportsMetrics: false)
        let probe = Probe()
        // Each holder runs until its stream ends (one iterator a stream).
        let streams = (0..<2).map { _ in AsyncStream<Void>.makeStream() }
        let holders = (0..<2).map { index in
            let hold = streams[index].stream
            return Task { try await slots.run { await probe.enter(index); for await _ in hold {}; await probe.leave() } }
        }
        try await eventually("two bodies running") { await slots.running >= 2 }
        let third = Task { try await slots.run { await probe.enter(2); await probe.leave() } }
        try await eventually("the third queued") { await slots.queued >= 1 }
        #expect(await probe.started.count == 2)
        streams.forEach { $0.continuation.finish() }
        for holder in holders { try await holder.value }
        try await third.value
        #expect(await probe.most == 2)
        #expect(await probe.started.sorted() == [0, 1, 2])
        #expect(await probe.started.last == 2)
        #expect(await slots.running == 0)
        #expect(await slots.queued == 0)
    }
}
