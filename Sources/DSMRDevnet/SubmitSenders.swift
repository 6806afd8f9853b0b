import DSMRNode
import Synchronization

/// One sender per validator for the load's batches: each validator's
/// batches go out in the order they were made (a lane's transactions carry
/// consecutive places, DemoVM's nonces), one at a time, and a validator
/// that does not answer holds up only its own batches.
final class SubmitSenders: Sendable {
    /// Batches a validator may have waiting or in flight before it gets no more.
    static let maxWaiting = 4

    private let queues: [AsyncStream<[LoadTransaction]>.Continuation]
    private let counts: Mutex<[Int]>

    /// Starts a sender for each of `validators` validators; each batch is
    /// handed to `send` with its validator's index.
    init(validators: Int, send: @escaping @Sendable (Int, [LoadTransaction]) async -> Void) {
        counts = Mutex(Array(repeating: 0, count: validators))
        let streams = (0..<validators).map { _ in AsyncStream.makeStream(of: [LoadTransaction].self) }
        queues = streams.map(\.continuation)
        for (index, queue) in streams.enumerated() {
            Task { [self] in
                for await batch in queue.stream {
                    await send(index, batch)
                    counts.withLock { $0[index] -= 1 }
                }
            }
        }
    }

    /// Batches waiting or in flight for validator `index`.
    func waiting(_ index: Int) -> Int { counts.withLock { $0[index] } }

    /// Queues `batch` for validator `index`.
    func send(_ batch: [LoadTransaction], to index: Int) {
        counts.withLock { $0[index] += 1 }
        queues[index].yield(batch)
    }

    /// Lets each sender end once its queue is sent.
    func finish() {
        for queue in queues { queue.finish() }
    }
}
