import DSMR
import DSMRNode
import Synchronization

extension KeyValueMachine {
    /// The format of a key-value snapshot piece's payload (integers big-endian):
    /// `kind (u8: 1 entries, 2 writers) || count (u32) || records`, an entry
    /// being `key (u32 length, 1...64) || value (u32 length, 0...256)` and a
    /// writer `writer (32) || next sequence (u64, at least 1)`.
    ///
    /// Pieces carry at most ``recordsPerPiece`` records each: first the
    /// entries in key order, then the writers in order. The snapshot of an
    /// empty state is one piece of no entries; no other piece is empty.
    public static let snapshotFormat: UInt16 = 1
    /// The most entries or writers one snapshot piece carries.
    public static let recordsPerPiece = 256

    /// A snapshot of the state at `height`, which must be the executed
    /// height (or 0 before the first block): the machine keeps only its
    /// latest state. The snapshot holds its own copy of the state, so it
    /// stays consistent whatever executes afterwards.
    ///
    /// - Throws: ``StateMachineError/heightUnavailable(requested:executed:)``
    ///   for any other height.
    public func snapshot(at height: UInt64) throws -> any StateSnapshot {
        let file = self.file.withLock { $0 }
        let executed = file.executed?.height
        guard executed == height || (executed == nil && height == 0) else {
            throw StateMachineError.heightUnavailable(requested: height, executed: executed)
        }
        return KeyValueSnapshot(height: height, root: file.currentRoot, state: file.state)
    }

    /// Starts replacing the state with a key-value snapshot.
    ///
    /// - Throws: ``StateMachineError/badSnapshot(_:)`` for a manifest of
    ///   another format or with no piece.
    public func beginImport(_ manifest: SnapshotManifest) throws -> any SnapshotImport {
        guard manifest.format == Self.snapshotFormat else {
            throw StateMachineError.badSnapshot(
                "format \(manifest.format) is not the key-value machine's \(Self.snapshotFormat)")
        }
        guard manifest.pieceCount >= 1 else { throw StateMachineError.badSnapshot("a snapshot has at least one piece") }
        return KeyValueSnapshotImport(machine: self, manifest: manifest)
    }
}

/// The records one snapshot piece carries.
enum KeyValueSnapshotRecords: Sendable {
    case entries([(key: [UInt8], value: [UInt8])])
    case writers([(writer: [UInt8], next: UInt64)])

    static let entriesKind: UInt8 = 1
    static let writersKind: UInt8 = 2

    /// The payload, in ``KeyValueMachine/snapshotFormat``.
    func encoded() -> [UInt8] {
        var writer = CanonicalWriter()
        switch self {
        case .entries(let entries):
            writer.write(Self.entriesKind)
            writer.writeCount(entries.count)
            for (key, value) in entries {
                writer.writeLengthPrefixed(key)
                writer.writeLengthPrefixed(value)
            }
        case .writers(let writers):
            writer.write(Self.writersKind)
            writer.writeCount(writers.count)
            for (account, next) in writers {
                writer.writeRaw(account)
                writer.write(next)
            }
        }
        return writer.bytes
    }

    /// Decodes a payload strictly: a known kind, at most
    /// ``KeyValueMachine/recordsPerPiece`` records in bounds and strictly
    /// increasing, nothing after them.
    init(decoding payload: [UInt8]) throws(StateMachineError) {
        var reader = CanonicalReader(payload, root: "key-value snapshot piece")
        do {
            let kind = try reader.readUInt8("kind")
            switch kind {
            case Self.entriesKind:
                let count = try reader.readCount(
                    "entries", limit: KeyValueMachine.recordsPerPiece,
                    minimumElementSize: KeyValueState.minimumEntryBytes)
                var entries: [(key: [UInt8], value: [UInt8])] = []
                for index in 0..<count {
                    let entry = try reader.element(index) { reader throws(CodecError) in
                        try KeyValueState.readEntry(&reader)
                    }
                    if let last = entries.last, !last.key.lexicographicallyPrecedes(entry.key) {
                        throw StateMachineError.badSnapshot("entry \(index) is not after the one before it")
                    }
                    entries.append(entry)
                }
                self = .entries(entries)
            case Self.writersKind:
                let count = try reader.readCount(
                    "writers", limit: KeyValueMachine.recordsPerPiece, minimumElementSize: KeyValueState.writerBytes)
                var writers: [(writer: [UInt8], next: UInt64)] = []
                for index in 0..<count {
                    let writer = try reader.element(index) { reader throws(CodecError) in
                        try KeyValueState.readWriter(&reader)
                    }
                    if let last = writers.last, !last.writer.lexicographicallyPrecedes(writer.writer) {
                        throw StateMachineError.badSnapshot("writer \(index) is not after the one before it")
                    }
                    writers.append(writer)
                }
                self = .writers(writers)
            default:
                throw StateMachineError.badSnapshot("piece kind \(kind) is neither entries (1) nor writers (2)")
            }
            try reader.finish()
        } catch let error as StateMachineError {
            throw error
        } catch {
            throw .badSnapshot("\(error)")
        }
    }

    /// How many records.
    var count: Int {
        switch self {
        case .entries(let entries): entries.count
        case .writers(let writers): writers.count
        }
    }
}

/// A key-value snapshot: a copy of the state, cut into pieces on demand.
struct KeyValueSnapshot: StateSnapshot {
    let manifest: SnapshotManifest
    let state: KeyValueState
    private let entryPieces: Int

    init(height: UInt64, root: StateRoot, state: KeyValueState) {
        let perPiece = KeyValueMachine.recordsPerPiece
        entryPieces = (state.entries.count + perPiece - 1) / perPiece
        let writerPieces = (state.nextSequences.count + perPiece - 1) / perPiece
        manifest = SnapshotManifest(
            height: height, root: root, pieceCount: UInt32(max(1, entryPieces + writerPieces)),
            format: KeyValueMachine.snapshotFormat)
        self.state = state
    }

    func piece(_ index: UInt32) throws -> SnapshotPiece {
        guard index < manifest.pieceCount else {
            throw StateMachineError.badSnapshot("piece \(index) of \(manifest.pieceCount)")
        }
        let perPiece = KeyValueMachine.recordsPerPiece
        let records: KeyValueSnapshotRecords
        if Int(index) < entryPieces || (entryPieces == 0 && state.nextSequences.count == 0) {
            let range = Self.range(Int(index), perPiece, state.entries.count)
            records = .entries(range.map { (state.entries.keys[$0], state.entries.values[$0]) })
        } else {
            let range = Self.range(Int(index) - entryPieces, perPiece, state.nextSequences.count)
            records = .writers(range.map { (state.nextSequences.keys[$0], state.nextSequences.values[$0]) })
        }
        return SnapshotPiece(index: index, payload: records.encoded())
    }

    private static func range(_ piece: Int, _ perPiece: Int, _ total: Int) -> Range<Int> {
        (piece * perPiece)..<min(total, (piece + 1) * perPiece)
    }
}

/// A key-value snapshot being installed. Each piece is decoded and checked
/// as it is added (in range, not repeated, well formed, its records in
/// order, empty only as a snapshot's one piece); ``finish()`` checks the
/// pieces follow one another (entries before writers, keys and writers
/// increasing across pieces), recomputes the root, and only when it is the
/// manifest's replaces the state durably.
final class KeyValueSnapshotImport: SnapshotImport {
    let machine: KeyValueMachine
    let manifest: SnapshotManifest
    private let pieces = Mutex<[UInt32: KeyValueSnapshotRecords]>([:])

    init(machine: KeyValueMachine, manifest: SnapshotManifest) {
        self.machine = machine
        self.manifest = manifest
    }

    func add(_ piece: SnapshotPiece) throws {
        guard piece.index < manifest.pieceCount else {
            throw StateMachineError.badSnapshot("piece \(piece.index) is past the \(manifest.pieceCount) pieces")
        }
        let records: KeyValueSnapshotRecords
        do {
            records = try KeyValueSnapshotRecords(decoding: piece.payload)
        } catch {
            throw StateMachineError.badSnapshot("piece \(piece.index): \(error)")
        }
        guard records.count > 0 || manifest.pieceCount == 1 else {
            throw StateMachineError.badSnapshot("piece \(piece.index) is empty; only a snapshot's one piece may be")
        }
        try pieces.withLock { pieces throws(StateMachineError) in
            guard pieces[piece.index] == nil else {
                throw .badSnapshot("piece \(piece.index) was added already")
            }
            pieces[piece.index] = records
        }
    }

    func finish() throws -> ExecutedState {
        let held = pieces.withLock { $0 }
        guard held.count == Int(manifest.pieceCount) else {
            throw StateMachineError.badSnapshot("\(held.count) of \(manifest.pieceCount) pieces are in")
        }
        var state = KeyValueState()
        for index in 0..<manifest.pieceCount {
            switch held[index]! {
            case .entries(let entries):
                guard state.nextSequences.count == 0 else {
                    throw StateMachineError.badSnapshot("piece \(index) has entries after writers")
                }
                for (key, value) in entries {
                    guard state.entries.append(key, value) else {
                        throw StateMachineError.badSnapshot(
                            "piece \(index) does not follow the pieces before it in key order")
                    }
                }
            case .writers(let writers):
                for (writer, next) in writers {
                    guard state.nextSequences.append(writer, next) else {
                        throw StateMachineError.badSnapshot(
                            "piece \(index) does not follow the pieces before it in writer order")
                    }
                }
            }
        }
        let root = state.root()
        guard root == manifest.root else {
            throw StateMachineError.badSnapshot("the pieces' root \(root) is not the manifest's \(manifest.root)")
        }
        let executed = ExecutedState(height: manifest.height, root: root)
        try machine.install(state, at: executed)
        return executed
    }
}
