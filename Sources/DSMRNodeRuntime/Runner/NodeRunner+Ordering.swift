import DSMR
import DSMRNode
import Synchronization

extension NodeRunner: OrderedChain {
    /// The chain's rules.
    public var rules: Rules { node.rules }
    /// This validator's node id.
    public var nodeID: NodeID { node.nodeID }
    /// This validator's place in the configured validator list.
    public var validatorIndex: Int {
        configuration.validators.firstIndex { Hex.decode($0.publicKey).map(NodeID.init(publicKey:)) == node.nodeID }
            ?? 0
    }
    /// The last accepted block.
    public var lastAccepted: Block { node.lastAccepted }

    /// The accepted block at `height`, if held.
    public func acceptedBlock(at height: UInt64) throws -> Block? { try node.acceptedBlock(at: height) }

    /// Builds on the last accepted block as the control socket's `buildBlock` does, within `maxBytes`.
    public func buildOrdered(timestamp: Int64, maxBytes: Int) throws -> Block? {
        do {
            var block = try node.buildBlock(
                parent: node.lastAccepted, timestamp: timestamp, verifier: ByteBudget(maxBytes))
            if let alter = customization.alterBuiltBlock { block = alter(block) }
            metrics.blocksBuilt.increment()
            return block
        } catch let error as NodeError where error.code == .noAvailableCertificates {
            return nil
        }
    }

    /// Verifies and accepts `block` in turn with the node's other work, as
    /// the control socket's accept does: it returns once the block is
    /// recorded, and the block executes on the execution lane meanwhile.
    public func acceptOrdered(_ block: Block) async throws -> OrderedOutcome {
        await awaitExecutionBacklog()
        return try await serial.run {
            guard !isStopping else { throw ControlError(.stopping, "the node is stopping") }
            do {
                _ = try await accept(block, misplacedIsTrouble: false)
                return .accepted
            } catch let error as ControlError where error.code == .invalidBlock || error.code == .notNext {
                return .invalid(error.message)
            }
        }
    }
}

/// Stops a block's certificates before their encodings pass a byte budget
/// (the ordering log's largest value).
final class ByteBudget: BuildChunkVerifier {
    let remaining: Mutex<Int>

    init(_ maxBytes: Int) {
        // The block's own fields: version, parent, height, timestamp, count.
        remaining = Mutex(maxBytes - (1 + BlockID.byteCount + 8 + 8 + 4))
    }

    func verifyChunk(_ certificate: ChunkCertificate, timestamp: Int64) throws -> Bool {
        let size = certificate.encoded().count
        return remaining.withLock { left in
            guard size <= left else { return false }
            left -= size
            return true
        }
    }
}
