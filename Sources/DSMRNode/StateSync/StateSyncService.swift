import DSMR

/// What answers state sync on a node: it takes peers' attestations and
/// serves the snapshots kept at certified heights.
///
/// The chunk server hands it the state-sync messages once one is set
/// (``Node/serveStateSync(_:)``); until then those requests are answered
/// ``ErrorReply/Code/notAvailable``.
public protocol StateSyncService: Sendable {
    /// A peer's attestation, not yet checked.
    func receive(_ attestation: StateAttestation, from peer: NodeID) async

    /// The newest snapshot served, with the certificate of its root.
    ///
    /// - Throws: ``ErrorReply`` (``ErrorReply/Code/notAvailable``) when none is kept.
    func offer() async throws(ErrorReply) -> (StateCertificate, SnapshotManifest)

    /// Piece `index` of the snapshot kept at `height`.
    ///
    /// - Throws: ``ErrorReply`` when that snapshot or piece is not kept.
    func piece(height: UInt64, index: UInt32) async throws(ErrorReply) -> SnapshotPiece
}
