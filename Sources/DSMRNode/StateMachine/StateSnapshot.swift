import DSMR

/// What a state snapshot holds: the height and root it was taken at, and
/// how many pieces carry it.
///
/// A validator that comes back without the blocks it missed installs a
/// snapshot at a certified height instead of re-executing. The pieces are
/// ordered; a state machine decides what one carries (DemoVM: a run of
/// accounts in key order) and how large it is.
public struct SnapshotManifest: Hashable, Sendable {
    /// The executed height the snapshot is of.
    public var height: UInt64
    /// The state root at that height.
    public var root: StateRoot
    /// How many pieces, numbered from 0.
    public var pieceCount: UInt32
    /// The state machine's format of a piece's payload.
    public var format: UInt16

    /// A manifest from its parts.
    public init(height: UInt64, root: StateRoot, pieceCount: UInt32, format: UInt16) {
        self.height = height
        self.root = root
        self.pieceCount = pieceCount
        self.format = format
    }
}

/// One piece of a snapshot.
public struct SnapshotPiece: Hashable, Sendable {
    /// Its number, below ``SnapshotManifest/pieceCount``.
    public var index: UInt32
    /// The state it carries, in the state machine's format.
    public var payload: [UInt8]
    /// What lets the receiver check the piece against the manifest's root
    /// on arrival (a Merkle proof of its first and last entries); empty when
    /// the state machine checks only the whole import.
    public var proof: [UInt8]

    /// A piece from its parts.
    public init(index: UInt32, payload: [UInt8], proof: [UInt8] = []) {
        self.index = index
        self.payload = payload
        self.proof = proof
    }
}

/// A snapshot being served: its manifest and its pieces.
public protocol StateSnapshot: Sendable {
    /// What the snapshot holds.
    var manifest: SnapshotManifest { get }
    /// Piece `index` (below the manifest's ``SnapshotManifest/pieceCount``).
    ///
    /// - Throws: ``StateMachineError`` for an index out of range or a state
    ///   that moved past the snapshot's height.
    func piece(_ index: UInt32) throws -> SnapshotPiece
}

/// A snapshot being installed, piece by piece.
///
/// Each piece is checked as it is added; ``finish()`` replaces the state
/// only if the whole snapshot's root is the manifest's, in one durable step.
/// Abandoning an import leaves the state as it was.
public protocol SnapshotImport: AnyObject, Sendable {
    /// Adds one piece (any order; each once).
    ///
    /// - Throws: ``StateMachineError/badSnapshot(_:)`` for a piece that does
    ///   not fit: out of range, repeated, malformed, or failing its proof.
    func add(_ piece: SnapshotPiece) throws

    /// Installs the snapshot once every piece is in and the root matches.
    ///
    /// - Throws: ``StateMachineError/badSnapshot(_:)`` when pieces are
    ///   missing or the root differs; the state is then unchanged.
    func finish() throws -> ExecutedState
}
