import DSMR
import DSMRNode
import LMDB
import Synchronization

extension DemoVM {
    /// The format of a DemoVM snapshot piece: a run of accounts in key
    /// order, each `account (32) || balance (u64) || nonce (u64)`, with a
    /// `SnapshotTree` proof against the state root.
    public static let snapshotFormat: UInt16 = 2
    /// The most accounts one snapshot piece carries.
    public static let accountsPerPiece = 1_024
    static let accountEntryBytes = Transfer.accountByteCount + 16

    /// A snapshot of the state at `height`, which must be the executed
    /// height: DemoVM keeps only its latest state. Every account is read in
    /// one read transaction, so the snapshot is consistent whatever executes
    /// afterwards.
    public func snapshot(at height: UInt64) throws -> any StateSnapshot {
        try environment.read { txn in
            let executed = try txn.get(Self.heightKey, in: meta).map { Self.uint64($0[...]) }
            guard executed == height || (executed == nil && height == 0) else {
                throw StateMachineError.heightUnavailable(requested: height, executed: executed)
            }
            let root = try Self.storedRoot(executed == nil ? Self.genesisKey : Self.rootKey, txn, meta)
            var pieces: [[UInt8]] = []
            var current: [UInt8] = []
            var inPiece = 0
            try txn.scan(accounts) { entry in
                current.append(contentsOf: entry.key)
                current.append(contentsOf: entry.value)
                inPiece += 1
                if inPiece == Self.accountsPerPiece {
                    pieces.append(current)
                    current = []
                    inPiece = 0
                }
                return .next
            }
            if inPiece > 0 || pieces.isEmpty { pieces.append(current) }
            let leaves = pieces.map { SnapshotTree.leaf($0) }
            guard SnapshotTree.root(leaves: leaves) == root else {
                throw StateMachineError.state(
                    "the accounts do not hash to the stored root \(root): the state is damaged")
            }
            return DemoSnapshot(
                manifest: SnapshotManifest(
                    height: height, root: root, pieceCount: UInt32(pieces.count), format: Self.snapshotFormat),
                pieces: pieces, leaves: leaves)
        }
    }

    /// Starts replacing the state with a DemoVM snapshot.
    public func beginImport(_ manifest: SnapshotManifest) throws -> any SnapshotImport {
        guard manifest.format == Self.snapshotFormat else {
            throw StateMachineError.badSnapshot("format \(manifest.format) is not DemoVM's \(Self.snapshotFormat)")
        }
        guard manifest.pieceCount >= 1 else { throw StateMachineError.badSnapshot("a snapshot has at least one piece") }
        return DemoSnapshotImport(vm: self, manifest: manifest)
    }

    /// Replaces every account and the executed height and root in one write transaction.
    func install(_ entries: [UInt8], manifest: SnapshotManifest) throws {
        try environment.write { txn in
            try txn.clear(accounts)
            var offset = 0
            while offset < entries.count {
                let key = entries[offset..<(offset + Transfer.accountByteCount)]
                let value = entries[(offset + Transfer.accountByteCount)..<(offset + Self.accountEntryBytes)]
                try txn.put(Array(value), forKey: Array(key), in: accounts)
                offset += Self.accountEntryBytes
            }
            try txn.put(Self.bytes(manifest.height), forKey: Self.heightKey, in: meta)
            try txn.put(manifest.root.bytes, forKey: Self.rootKey, in: meta)
        }
    }
}

/// A DemoVM snapshot held in memory.
struct DemoSnapshot: StateSnapshot {
    let manifest: SnapshotManifest
    let pieces: [[UInt8]]
    let leaves: [[UInt8]]

    func piece(_ index: UInt32) throws -> SnapshotPiece {
        guard Int(index) < pieces.count else {
            throw StateMachineError.badSnapshot("piece \(index) of \(pieces.count)")
        }
        return SnapshotPiece(
            index: index, payload: pieces[Int(index)], proof: SnapshotTree.proof(index: Int(index), leaves: leaves))
    }
}

/// A DemoVM snapshot being installed. Each piece is checked against the
/// manifest's root by its proof as it is added, and must be whole entries in
/// strictly increasing account order (a full run except the last); nothing
/// is written before every piece is in and the root over them all is the
/// manifest's.
final class DemoSnapshotImport: SnapshotImport {
    let vm: DemoVM
    let manifest: SnapshotManifest
    private let pieces = Mutex<[UInt32: [UInt8]]>([:])

    init(vm: DemoVM, manifest: SnapshotManifest) {
        self.vm = vm
        self.manifest = manifest
    }

    func add(_ piece: SnapshotPiece) throws {
        guard piece.index < manifest.pieceCount else {
            throw StateMachineError.badSnapshot("piece \(piece.index) is past the \(manifest.pieceCount) pieces")
        }
        let size = DemoVM.accountEntryBytes
        guard piece.payload.count % size == 0, piece.payload.count / size <= DemoVM.accountsPerPiece else {
            throw StateMachineError.badSnapshot(
                "piece \(piece.index) is \(piece.payload.count) bytes, not whole accounts (at most \(DemoVM.accountsPerPiece))"
            )
        }
        var previous: ArraySlice<UInt8>?
        for offset in stride(from: 0, to: piece.payload.count, by: size) {
            let key = piece.payload[offset..<(offset + Transfer.accountByteCount)]
            if let previous, !previous.lexicographicallyPrecedes(key) {
                throw StateMachineError.badSnapshot("piece \(piece.index) has accounts out of order")
            }
            previous = key
        }
        let isLast = piece.index == manifest.pieceCount - 1
        guard isLast || piece.payload.count == size * DemoVM.accountsPerPiece else {
            throw StateMachineError.badSnapshot(
                "piece \(piece.index) holds \(piece.payload.count / size) accounts; every piece but the last holds \(DemoVM.accountsPerPiece)"
            )
        }
        guard
            SnapshotTree.verify(
                payload: piece.payload, index: piece.index, count: manifest.pieceCount, proof: piece.proof,
                root: manifest.root)
        else {
            throw StateMachineError.badSnapshot(
                "piece \(piece.index)'s proof does not lead to the root \(manifest.root)")
        }
        try pieces.withLock { pieces in
            guard pieces[piece.index] == nil else {
                throw StateMachineError.badSnapshot("piece \(piece.index) was added already")
            }
            pieces[piece.index] = piece.payload
        }
    }

    func finish() throws -> ExecutedState {
        let held = pieces.withLock { $0 }
        guard held.count == Int(manifest.pieceCount) else {
            throw StateMachineError.badSnapshot("\(held.count) of \(manifest.pieceCount) pieces are in")
        }
        var entries: [UInt8] = []
        var leaves: [[UInt8]] = []
        var last: [UInt8]?
        for index in 0..<manifest.pieceCount {
            let payload = held[index]!
            if let first = payload.prefix(Transfer.accountByteCount).nilIfEmpty, let last,
                !last.lexicographicallyPrecedes(first)
            {
                throw StateMachineError.badSnapshot(
                    "piece \(index) does not follow piece \(index - 1) in account order")
            }
            if !payload.isEmpty {
                last = Array(payload.suffix(DemoVM.accountEntryBytes).prefix(Transfer.accountByteCount))
            }
            leaves.append(SnapshotTree.leaf(payload))
            entries.append(contentsOf: payload)
        }
        let root = SnapshotTree.root(leaves: leaves)
        guard root == manifest.root else {
            throw StateMachineError.badSnapshot("the pieces' root \(root) is not the manifest's \(manifest.root)")
        }
        try vm.install(entries, manifest: manifest)
        return ExecutedState(height: manifest.height, root: root)
    }
}

extension ArraySlice {
    fileprivate var nilIfEmpty: ArraySlice? { isEmpty ? nil : self }
}
