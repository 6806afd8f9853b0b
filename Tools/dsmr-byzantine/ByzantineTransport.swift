import Foundation
import DSMR
import DSMRNode
import Synchronization

/// A transport that hands the node core's peers bad answers: none at all
/// (``ByzantineBehaviour/withhold``) or ones with wrong signatures
/// (``ByzantineBehaviour/invalidSignatures``).
final class ByzantineTransport: Transport {
    let inner: any Transport
    let behaviour: ByzantineBehaviour

    /// How long share requests are dropped (``ByzantineBehaviour/isolatedStart``), from the first.
    let isolation: Duration
    /// When the first share request was dropped.
    let isolatedSince = Mutex<ContinuousClock.Instant?>(nil)

    init(wrapping inner: any Transport, behaviour: ByzantineBehaviour) {
        self.inner = inner
        self.behaviour = behaviour
        let seconds = ProcessInfo.processInfo.environment["DSMR_ISOLATED_SECONDS"].flatMap(Double.init) ?? 3
        isolation = .milliseconds(Int64(seconds * 1_000))
    }

    /// Whether a share request sent now is dropped: from the first one on, for ``isolation``
    /// (counted from the first, so a slow start does not use the isolation up).
    func isolated() -> Bool {
        let now = ContinuousClock.now
        return isolatedSince.withLock { since in
            if since == nil { since = now }
            return now < since! + isolation
        }
    }

    var local: NodeID { inner.local }

    func penalize(_ peer: NodeID, for offence: PeerOffence) { inner.penalize(peer, for: offence) }

    func request(_ request: [UInt8], to peer: NodeID, timeout: Duration) async throws(TransportError) -> [UInt8] {
        if behaviour == .isolatedStart, case .requestChunkSignatureShare? = try? NodeMessage(decoding: request),
            isolated()
        {
            try? await Task.sleep(for: timeout)
            throw TransportError(.timeout, peer: peer, "isolated: the share request was dropped")
        }
        return try await inner.request(request, to: peer, timeout: timeout)
    }

    func gossip(_ message: [UInt8], to peer: NodeID) async {
        switch behaviour {
        case .withhold:
            return
        case .invalidSignatures:
            guard case .certificateGossip(let certificate)? = try? NodeMessage(decoding: message),
                let damaged = try? ChunkCertificate(
                    reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
                    signatures: certificate.signatures.map(flipped))
            else { return await inner.gossip(message, to: peer) }
            await inner.gossip(NodeMessage.certificateGossip(damaged).encoded(), to: peer)
        default:
            await inner.gossip(message, to: peer)
        }
    }

    func register(_ handler: any MessageHandler) {
        inner.register(ByzantineHandler(inner: handler, behaviour: behaviour))
    }
}

/// The node core's handler, with its answers withheld or damaged.
struct ByzantineHandler: MessageHandler {
    let inner: any MessageHandler
    let behaviour: ByzantineBehaviour

    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        switch behaviour {
        case .withhold:
            try? await Task.sleep(for: .seconds(60))
            return NodeMessage.error(ErrorReply(.overloaded, "withheld")).encoded()
        case .invalidSignatures:
            let answer = await inner.handleRequest(request, from: peer)
            switch try? NodeMessage(decoding: answer) {
            case .chunkSignature(var share)?:
                share.signature = flipped(share.signature)
                return NodeMessage.chunkSignature(share).encoded()
            case .chunk(let bytes)? where !bytes.isEmpty:
                return NodeMessage.chunk(flipped(bytes)).encoded()
            default:
                return answer
            }
        case .badSnapshots:
            let answer = await inner.handleRequest(request, from: peer)
            switch try? NodeMessage(decoding: answer) {
            case .snapshotPiece(var piece)?:
                piece.payload = flipped(piece.payload)
                return NodeMessage.snapshotPiece(piece).encoded()
            case .block(let bytes)?:
                return NodeMessage.block(flipped(bytes)).encoded()
            default:
                return answer
            }
        default:
            return await inner.handleRequest(request, from: peer)
        }
    }

    func handleGossip(_ message: [UInt8], from peer: NodeID) async {
        guard behaviour != .withhold else { return }
        await inner.handleGossip(message, from: peer)
    }
}

/// `bytes` with its last byte changed.
func flipped(_ bytes: [UInt8]) -> [UInt8] {
    guard !bytes.isEmpty else { return [1] }
    var bytes = bytes
    bytes[bytes.count - 1] ^= 0x5A
    return bytes
}
