import DSMR
import Synchronization

/// When this node's chunks were certified, kept until a block carries them,
/// for the ``LatencyStage/blockWait`` stage. Bounded: a certificate no block
/// carries (it expired, or blocks stopped) is forgotten once more than
/// `capacity` are held, oldest first.
final class CertifiedChunks: Sendable {
    private let held = Mutex<[ChunkID: ContinuousClock.Instant]>([:])
    let capacity: Int

    init(capacity: Int = 4_096) { self.capacity = capacity }

    /// Records that the chunk `id` was certified now.
    func certified(_ id: ChunkID, at instant: ContinuousClock.Instant = .now) {
        held.withLock { held in
            if held.count >= capacity, let oldest = held.min(by: { $0.value < $1.value }) {
                held.removeValue(forKey: oldest.key)
            }
            held[id] = instant
        }
    }

    /// How long each of this node's chunks in `block` waited from its
    /// certificate to `instant`; forgets them.
    func carried(by block: Block, at instant: ContinuousClock.Instant) -> [Duration] {
        held.withLock { held in
            block.certificates.compactMap { certificate in
                held.removeValue(forKey: certificate.reference.chunkID).map { $0.duration(to: instant) }
            }
        }
    }

    /// How many certificates are waiting for a block.
    var count: Int { held.withLock { $0.count } }
}
