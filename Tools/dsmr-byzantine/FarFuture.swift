import DSMR
import DSMRNode
import DSMRNodeRuntime
import Foundation

/// ``ByzantineBehaviour/farFuture``: extreme values wherever a peer may put them.
struct FarFuture: Sendable {
    let context: ByzantineContext?

    init(_ runner: NodeRunner) { context = ByzantineContext(runner) }

    /// The block this node built, changed in one of four ways (by height):
    /// the latest timestamp; certificates at the last slot, of the last
    /// epoch, or with the earliest expiry. Signatures are left as they are.
    @Sendable static func alter(_ block: Block) -> Block {
        let variant = block.height % 4
        if variant == 0 || block.certificates.isEmpty {
            return Block(parent: block.parent, height: block.height, timestamp: .max, certificates: block.certificates)
        }
        let certificates = block.certificates.compactMap { certificate -> ChunkCertificate? in
            var reference = certificate.reference
            var epoch = certificate.epoch
            switch variant {
            case 1: reference.slot = .max
            case 2: epoch = .max
            default: reference.expiry = .min
            }
            return try? ChunkCertificate(
                reference: reference, epoch: epoch, signers: certificate.signers, signatures: certificate.signatures)
        }
        return Block(parent: block.parent, height: block.height, timestamp: block.timestamp, certificates: certificates)
    }

    /// Asks every validator, over and over, to sign chunks at the last slots
    /// and for chunks with extreme expiries, and gossips certificates of extreme epochs.
    func run() async {
        guard let context else { return }
        let transport = context.runner.node.transport
        let slots: [UInt64] = [
            .max, .max - 1, UInt64(Int64.max), 1 << 62, context.rules.slot(at: context.now) + (1 << 40),
        ]
        while !Task.isCancelled, !context.runner.isStopping {
            var messages: [[UInt8]] = []
            for slot in slots {
                if let chunk = try? Chunk.sign(
                    producer: context.signer, beneficiary: context.signer.nodeID, slot: slot, transactions: [[7]],
                    domain: context.domain)
                {
                    messages.append(NodeMessage.requestChunkSignatureShare(chunk).encoded())
                }
            }
            let unknown = try! ChunkID(bytes: [UInt8](repeating: 9, count: 32))
            for expiry in [Int64.max, .min, -1, 0] {
                messages.append(NodeMessage.requestChunk(unknown, expiry: expiry).encoded())
            }
            let gossip =
                (try? ChunkCertificate(
                    reference: ChunkReference(
                        chunkID: unknown, producer: context.signer.nodeID, slot: .max, expiry: .max),
                    epoch: .max, signers: SignerBitSet(indices: [0]), signatures: [[UInt8](repeating: 1, count: 64)]))
                .map { NodeMessage.certificateGossip($0).encoded() }
            for peer in context.peers {
                for message in messages {
                    _ = try? await transport.request(message, to: peer.nodeID, timeout: .milliseconds(500))
                }
                if let gossip { await transport.gossip(gossip, to: peer.nodeID) }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
