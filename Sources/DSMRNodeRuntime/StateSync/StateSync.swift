import ChunkStore
import DSMR
import DSMRNode
import Foundation
import Logging

/// Brings a validator whose store is new or holds only the genesis block
/// (lost, moved aside as damaged, or a validator joining late) to a
/// certified state without the blocks it missed.
///
/// 1. Every peer is asked for its newest certified snapshot
///    (`NodeMessage.requestStateOffer`); each offer's `StateCertificate`
///    must verify against its epoch's validator set, with a quorum of stake.
/// 2. The highest certified height is taken. Its pieces are fetched from the
///    peers that offered it, each checked by the state machine as it arrives
///    (DemoVM: against the certified root by its Merkle proof); a peer that
///    sends a bad piece is penalized and not asked again, and the piece is
///    asked of another.
/// 3. The certified block, then its ancestors back past the validity window
///    (what verifying the next block needs), are fetched from peers and
///    checked by id: the certified block id, then each block's parent.
/// 4. The signing floor is raised past every slot this validator could have
///    signed before it lost its store, so it never signs twice.
/// 5. The state is installed, then the blocks are recorded and the certified
///    height marked executed with its root, in one store transaction.
///
/// A crash before the end leaves a store with no blocks (the signing floor
/// already raised), and the next start syncs again.
package struct StateSync: Sendable {
    /// What a sync did.
    package struct Outcome: Sendable, Hashable {
        /// The certified height now executed.
        package var height: UInt64
        /// Its root.
        package var root: StateRoot
        /// How many pieces were installed.
        package var pieces: Int
        /// How many blocks were recorded (the certified one and its ancestors).
        package var blocks: Int
        /// The first slot this validator may sign.
        package var signingFloor: UInt64
        /// Peers that sent something that did not verify.
        package var offenders: [NodeID]
    }

    let local: NodeID
    let transport: any Transport
    let validators: any ValidatorSetProvider
    let rules: Rules
    let domain: SigningDomain
    let store: ChunkStore
    let stateMachine: any StateMachine
    let logger: Logger
    /// How long one request may take.
    var requestTimeout: Duration = .seconds(2)
    /// The most ancestors fetched behind the certified block.
    var maxAncestors = 100_000

    var limits: DecodingLimits { DecodingLimits(rules: rules) }

    /// Runs the sync when a peer offers a certified height; nil when none
    /// does (a new chain, or no peer reachable).
    ///
    /// - Throws: `StateSyncError` when offers were made but no snapshot or
    ///   block could be had whole from the peers that made them.
    package func run(now: Int64) async throws -> Outcome? {
        let set = try validators.validators(epoch: rules.epoch(at: now))
        let peers = set.validators.map(\.nodeID).filter { $0 != local }
        var offenders: [NodeID] = []
        let offers = await gatherOffers(from: peers, offenders: &offenders)
        // Distinct offers, highest certified height first, then the most peers behind one: a
        // manifest is not certified (only height, block and root are), so a peer may offer a
        // bad one beside a good certificate, and the next offer is tried when one fails.
        var candidates: [(certificate: StateCertificate, manifest: SnapshotManifest, peers: [NodeID])] = []
        for offer in offers where offer.certificate.height > 0 {
            if let index = candidates.firstIndex(where: {
                $0.certificate.height == offer.certificate.height && $0.certificate.root == offer.certificate.root
                    && $0.certificate.blockID == offer.certificate.blockID && $0.manifest == offer.manifest
            }) {
                candidates[index].peers.append(offer.peer)
            } else {
                candidates.append((offer.certificate, offer.manifest, [offer.peer]))
            }
        }
        candidates.sort {
            ($0.certificate.height, $0.peers.count) > ($1.certificate.height, $1.peers.count)
        }
        guard !candidates.isEmpty else { return nil }
        var failures: [String] = []
        for candidate in candidates {
            do {
                return try await install(
                    candidate.certificate, candidate.manifest, sources: candidate.peers, peers: peers, now: now,
                    offenders: &offenders)
            } catch {
                failures.append("height \(candidate.certificate.height) from \(candidate.peers): \(error)")
                logger.warning(
                    "state sync: an offered snapshot could not be had whole; trying the next",
                    metadata: ["height": "\(candidate.certificate.height)", "error": "\(error)"])
            }
        }
        throw StateSyncError(
            .unavailable, "no offered snapshot could be installed: \(failures.joined(separator: "; "))")
    }

    private func install(
        _ certificate: StateCertificate, _ manifest: SnapshotManifest, sources offered: [NodeID], peers: [NodeID],
        now: Int64, offenders: inout [NodeID]
    ) async throws -> Outcome {
        var sources = offered
        logger.notice(
            "state sync: installing a certified snapshot",
            metadata: [
                "height": "\(certificate.height)", "root": "\(certificate.root)", "pieces": "\(manifest.pieceCount)",
                "peers": "\(sources.count)",
            ])
        let importing = try stateMachine.beginImport(manifest)
        for index in 0..<manifest.pieceCount {
            try await fetchPiece(
                index, height: certificate.height, into: importing, sources: &sources, offenders: &offenders)
        }
        let blocks = try await fetchBlocks(
            certificate, sources: sources + peers.filter { !sources.contains($0) }, offenders: &offenders)
        let floor = Self.signingFloor(rules: rules, now: now, chainTime: blocks.last!.timestamp)
        try await store.raiseSigningFloor(to: floor)
        let installed = try importing.finish()
        guard installed.height == certificate.height, installed.root == certificate.root else {
            throw StateSyncError(
                .mismatch, "installed \(installed.root) at \(installed.height), not the certified state")
        }
        try await store.recordSynced(blocks, executedWith: certificate.root)
        logger.notice(
            "state sync: done",
            metadata: [
                "height": "\(certificate.height)", "root": "\(certificate.root)", "blocks": "\(blocks.count)",
                "signingFloor": "\(floor)", "offenders": "\(offenders.count)",
            ])
        return Outcome(
            height: certificate.height, root: certificate.root, pieces: Int(manifest.pieceCount),
            blocks: blocks.count, signingFloor: floor, offenders: offenders)
    }

    /// The first slot a validator that lost its store may sign: past every
    /// slot whose chunk it could have signed before, which is any slot whose
    /// expiry lies within the validity window of a chain time it may have
    /// seen. Chain time is taken as at most the later of the clock and the
    /// newest block known, plus one block's skew.
    package static func signingFloor(rules: Rules, now: Int64, chainTime: Int64) -> UInt64 {
        let (bound, overflow) = max(now, chainTime).addingReportingOverflow(rules.maxBlockSkew + rules.validityWindow)
        guard !overflow else { return .max }
        var slot = rules.slot(at: max(0, bound - rules.chunkLifetime))
        while rules.expiry(ofSlot: slot) <= bound, slot < .max { slot += 1 }
        return slot
    }

    struct Offer: Sendable {
        var peer: NodeID
        var certificate: StateCertificate
        var manifest: SnapshotManifest
    }

    /// The highest height a peer offers a certified snapshot of (each offer
    /// verified as ``run(now:)`` verifies it) whose block and ancestors
    /// through the validity window the peers still serve: a sync to it can
    /// be had, pieces permitting. Nil when there is none.
    package func newestReachableHeight(now: Int64) async -> UInt64? {
        guard let set = try? validators.validators(epoch: rules.epoch(at: now)) else { return nil }
        let peers = set.validators.map(\.nodeID).filter { $0 != local }
        var offenders: [NodeID] = []
        let offers = await gatherOffers(from: peers, offenders: &offenders)
        var tried: Set<BlockID> = []
        for offer in offers.sorted(by: { $0.certificate.height > $1.certificate.height })
        where tried.insert(offer.certificate.blockID).inserted {
            if (try? await fetchBlocks(offer.certificate, sources: peers, offenders: &offenders)) != nil {
                return offer.certificate.height
            }
        }
        return nil
    }

    private func gatherOffers(from peers: [NodeID], offenders: inout [NodeID]) async -> [Offer] {
        let replies = await withTaskGroup(of: (NodeID, NodeMessage?).self) { group in
            for peer in peers {
                group.addTask {
                    guard
                        let bytes = try? await transport.request(
                            NodeMessage.requestStateOffer.encoded(), to: peer, timeout: requestTimeout)
                    else { return (peer, nil) }
                    return (peer, try? NodeMessage(decoding: bytes, limits: limits))
                }
            }
            var replies: [(NodeID, NodeMessage?)] = []
            for await reply in group { replies.append(reply) }
            return replies
        }
        var offers: [Offer] = []
        for (peer, reply) in replies {
            guard case .stateOffer(let certificate, let manifest) = reply else { continue }
            do {
                let set = try validators.validators(epoch: certificate.epoch)
                try certificate.verify(validators: set, quorum: rules.quorum, domain: domain)
                guard manifest.height == certificate.height, manifest.root == certificate.root else {
                    throw StateSyncError(.mismatch, "the manifest is not of the certified height and root")
                }
                offers.append(Offer(peer: peer, certificate: certificate, manifest: manifest))
            } catch {
                offenders.append(peer)
                transport.penalize(peer, for: .invalidMessage)
                logger.warning(
                    "state sync: an offer does not verify", metadata: ["peer": "\(peer)", "error": "\(error)"])
            }
        }
        return offers
    }

    private func fetchPiece(
        _ index: UInt32, height: UInt64, into importing: any SnapshotImport, sources: inout [NodeID],
        offenders: inout [NodeID]
    ) async throws {
        var tried = 0
        while !sources.isEmpty, tried < sources.count * 2 {
            let peer = sources[(Int(index) + tried) % sources.count]
            tried += 1
            let request = NodeMessage.requestSnapshotPiece(height: height, index: index).encoded()
            guard let bytes = try? await transport.request(request, to: peer, timeout: requestTimeout),
                case .snapshotPiece(let piece)? = try? NodeMessage(decoding: bytes, limits: limits)
            else { continue }
            do {
                guard piece.index == index else {
                    throw StateSyncError(.mismatch, "piece \(piece.index) sent for piece \(index)")
                }
                try importing.add(piece)
                return
            } catch {
                offenders.append(peer)
                transport.penalize(peer, for: .invalidMessage)
                sources.removeAll { $0 == peer }
                logger.warning(
                    "state sync: a piece does not verify; asking another peer",
                    metadata: ["peer": "\(peer)", "piece": "\(index)", "error": "\(error)"])
            }
        }
        throw StateSyncError(.unavailable, "no peer served piece \(index) of the snapshot at height \(height) whole")
    }

    /// The certified block and its ancestors back to the first one older
    /// than the validity window before it (or genesis), lowest first.
    private func fetchBlocks(
        _ certificate: StateCertificate, sources: [NodeID], offenders: inout [NodeID]
    ) async throws -> [Block] {
        var blocks: [Block] = []
        var wanted = (height: certificate.height, id: certificate.blockID)
        var since: Int64?
        while true {
            let block = try await fetchBlock(
                height: wanted.height, id: wanted.id, sources: sources.filter { !offenders.contains($0) },
                offenders: &offenders)
            blocks.append(block)
            let oldest = since ?? (block.timestamp - rules.validityWindow)
            since = oldest
            guard block.height > 0, block.timestamp >= oldest, blocks.count <= maxAncestors else { break }
            wanted = (block.height - 1, block.parent)
        }
        return blocks.reversed()
    }

    private func fetchBlock(
        height: UInt64, id: BlockID, sources: [NodeID], offenders: inout [NodeID]
    ) async throws -> Block {
        for peer in sources {
            guard
                let bytes = try? await transport.request(
                    NodeMessage.requestBlock(height: height).encoded(), to: peer, timeout: requestTimeout),
                case .block(let blockBytes)? = try? NodeMessage(decoding: bytes, limits: limits)
            else { continue }
            guard let block = try? Block(decoding: blockBytes, limits: limits), block.id == id, block.height == height
            else {
                offenders.append(peer)
                transport.penalize(peer, for: .invalidMessage)
                logger.warning(
                    "state sync: a peer served another block than the one asked for",
                    metadata: ["peer": "\(peer)", "height": "\(height)"])
                continue
            }
            return block
        }
        throw StateSyncError(.unavailable, "no peer served block \(id) at height \(height)")
    }
}
