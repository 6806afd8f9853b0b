import Crypto
import DSMR
import DSMRNode
import Synchronization

/// A load of key-value writes: each writer is a lane that writes key
/// `k<lane>-<sequence mod 16>` to `v<sequence>`, sequence after sequence.
///
/// A lane whose write can never execute (lost with a validator that died,
/// or expired uncertified) blocks every later sequence of its writer;
/// ``lost(among:chainTime:query:)`` reads the executed next sequences and
/// restarts such a writer there.
public final class KeyValueSource: TransactionSource {
    /// The writers, one lane each.
    public let writers: [[UInt8]]
    /// How long a write stays valid after it is made (ms).
    public let lifetime: Int64
    private let nextSequence: Mutex<[UInt64]>

    /// A source over `writers` (32 bytes each), every lane starting at sequence 0.
    public init(writers: [[UInt8]], lifetime: Int64) {
        precondition(writers.allSatisfy { $0.count == KeyValueWrite.writerByteCount }, "a writer is 32 bytes")
        self.writers = writers
        self.lifetime = lifetime
        nextSequence = Mutex([UInt64](repeating: 0, count: writers.count))
    }

    public var laneCount: Int { writers.count }

    public func sponsor(ofLane lane: Int) -> [UInt8] { writers[lane] }

    /// The sequence each lane's next write takes.
    public var nextSequences: [UInt64] { nextSequence.withLock { $0 } }

    /// The lane's write at its next sequence, valid until `now` + ``lifetime``.
    public func next(lane: Int, now: Int64) -> LoadTransaction? {
        let sequence = nextSequence.withLock { next in
            defer { next[lane] += 1 }
            return next[lane]
        }
        return write(lane: lane, sequence: sequence, expiry: now + lifetime)
    }

    /// The write lane `lane` makes at `sequence`, valid until `expiry`.
    public func write(lane: Int, sequence: UInt64, expiry: Int64) -> LoadTransaction {
        let write = KeyValueWrite(
            writer: writers[lane], sequence: sequence, expiry: expiry, key: Array("k\(lane)-\(sequence % 16)".utf8),
            value: Array("v\(sequence)".utf8))
        let bytes = write.encoded()
        return LoadTransaction(
            digest: Array(SHA256.hash(data: bytes)), bytes: bytes, sponsor: write.writer, expiry: expiry, lane: lane,
            position: sequence)
    }

    /// Starts each lane at its writer's executed next sequence (or later,
    /// where the lane is past it already).
    public func synchronize(query: StateQuery) async throws {
        let sequences = try await executedNextSequences(of: Array(writers.indices), query: query)
        startSequences(sequences)
    }

    /// Starts each lane (in ``writers`` order) at `sequences`, or later.
    public func startSequences(_ sequences: [UInt64]) {
        nextSequence.withLock { next in
            for (lane, sequence) in sequences.enumerated() where lane < next.count {
                next[lane] = max(next[lane], sequence)
            }
        }
    }

    /// Reads the executed next sequence of each lane with a pending write:
    /// a write below it that never applied lost its sequence to another; a
    /// lane whose next write expired before `chainTime` without executing
    /// lost it and everything after, and starts again at the executed next
    /// sequence. Nothing is lost when the query fails.
    public func lost(among pending: [LoadTransaction], chainTime: Int64, query: StateQuery) async -> Set<[UInt8]> {
        let lanes = Array(Set(pending.map(\.lane))).sorted()
        guard let sequences = try? await executedNextSequences(of: lanes, query: query) else { return [] }
        return resolve(
            pending: pending, executed: Dictionary(uniqueKeysWithValues: zip(lanes, sequences)), chainTime: chainTime)
    }

    /// ``lost(among:chainTime:query:)`` given the executed next sequences by lane.
    public func resolve(pending: [LoadTransaction], executed: [Int: UInt64], chainTime: Int64) -> Set<[UInt8]> {
        var lost: Set<[UInt8]> = []
        let byLane = Dictionary(grouping: pending, by: \.lane)
        nextSequence.withLock { next in
            for (lane, executedNext) in executed {
                let mine = byLane[lane] ?? []
                // Below the executed next sequence but never seen applied: another write took that sequence.
                for write in mine where write.position < executedNext { lost.insert(write.digest) }
                let waiting = mine.filter { $0.position >= executedNext }
                let blocked =
                    waiting.first { $0.position == executedNext }.map { $0.expiry < chainTime } ?? !waiting.isEmpty
                guard blocked else { continue }
                for write in waiting { lost.insert(write.digest) }
                next[lane] = executedNext
            }
        }
        return lost
    }

    /// Restarts each lane at its lowest abandoned sequence.
    public func abandon(_ abandoned: [LoadTransaction]) {
        nextSequence.withLock { next in
            for write in abandoned { next[write.lane] = min(next[write.lane], write.position) }
        }
    }

    private func executedNextSequences(of lanes: [Int], query: StateQuery) async throws -> [UInt64] {
        let answer = try await query(KeyValueQuery.nextSequences(lanes.map { writers[$0] }).encoded())
        return try KeyValueQuery.decodeNextSequences(answer, count: lanes.count)
    }
}
