import DSMR
import DSMRNode
import DSMRTestSupport
import Foundation
import KeyValueMachine
import Testing

@Suite struct KeyValueSnapshotTests {
    typealias F = KeyValueFixtures

    /// 300 genesis entries, then a block of 300 writes by 300 writers: 600
    /// entries (3 pieces) and 300 writers (2 pieces).
    static let genesis = F.genesis((0..<300).map { ("g\($0)", "value \($0)") })
    static let writers = KeyValueProvider.writers(seed: [1], count: 300)
    static let block = writers.indices.map { index in
        KeyValueWrite(
            writer: writers[index], sequence: 0, expiry: 10_000, key: Array("w\(index)".utf8),
            value: Array("\(index)".utf8)
        ).encoded()
    }

    static func write(_ writer: Int, sequence: UInt64, _ key: String, _ value: String) -> [UInt8] {
        KeyValueWrite(
            writer: writers[writer], sequence: sequence, expiry: 10_000, key: Array(key.utf8), value: Array(value.utf8)
        ).encoded()
    }

    /// Calls `body` with a machine that executed ``block`` at height 1, its
    /// snapshot, and a fresh machine (another genesis) in a directory of its own.
    func withSourceAndTarget(
        _ body: (KeyValueMachine, any StateSnapshot, String, KeyValueMachine) async throws -> Void
    ) async throws {
        try await F.withMachine(genesis: Self.genesis) { _, source in
            let report = try await F.executeNext(source, Self.block)
            #expect(report.applied == Array(repeating: true, count: 300))
            let snapshot = try source.snapshot(at: 1)
            try await withTemporaryDirectory("kv-import") { path in
                let target = try KeyValueMachine(directory: path, genesis: F.genesis([("t", "target")]))
                try await body(source, snapshot, path, target)
            }
        }
    }

    @Test func exportThenImportGivesTheSameRootAndLaterBlocksExecuteAlike() async throws {
        try await withSourceAndTarget { source, snapshot, path, target in
            let sourceState = try #require(try source.executedState())
            #expect(snapshot.manifest == SnapshotManifest(height: 1, root: sourceState.root, pieceCount: 5, format: 1))
            let importer = try target.beginImport(snapshot.manifest)
            for index in (0..<snapshot.manifest.pieceCount).reversed() { try importer.add(try snapshot.piece(index)) }
            #expect(try importer.finish() == sourceState)
            #expect(try target.executedState() == sourceState)
            // The import is durable: the directory opened anew holds it.
            let installed = try KeyValueMachine(directory: path, genesis: F.genesis([]))
            #expect(try installed.executedState() == sourceState)
            #expect(installed.value(forKey: Array("w299".utf8)) == Array("299".utf8))
            #expect(target.value(forKey: Array("t".utf8)) == nil)
            #expect(target.value(forKey: Array("g299".utf8)) == Array("value 299".utf8))
            #expect(target.nextSequence(of: Self.writers[3]) == 1)

            let next = [Self.write(3, sequence: 1, "g0", "changed"), Self.write(3, sequence: 1, "g1", "replayed")]
            let onSource = try await F.executeNext(source, timestamp: 2_000, next)
            let onTarget = try await F.executeNext(target, timestamp: 2_000, next)
            #expect(onTarget == onSource)
            #expect(onSource.applied == [true, false])

            // Reopened after a block, the target is where the block left it.
            let reopened = try KeyValueMachine(directory: path, genesis: F.genesis([]))
            #expect(try reopened.executedState() == ExecutedState(height: 2, root: onSource.root))
        }
    }

    @Test func anEmptyStateSnapshotsAsOnePieceAndImports() async throws {
        try await F.withMachine(genesis: F.genesis([])) { _, source in
            let snapshot = try source.snapshot(at: 0)
            #expect(snapshot.manifest.pieceCount == 1)
            #expect(snapshot.manifest.root == F.expectedRoot(entries: [:]))
            try await F.withMachine { _, target in
                let importer = try target.beginImport(snapshot.manifest)
                try importer.add(try snapshot.piece(0))
                #expect(try importer.finish() == ExecutedState(height: 0, root: F.expectedRoot(entries: [:])))
                #expect(target.value(forKey: Array("a".utf8)) == nil)
            }
        }
    }

    @Test func aSnapshotIsOnlyAtTheExecutedHeightAndKeepsItsCopy() async throws {
        try await F.withMachine { _, machine in
            try await F.executeNext(machine, [F.write(1, sequence: 0, "x", "1")])
            for height: UInt64 in [0, 2] {
                #expect(throws: StateMachineError.heightUnavailable(requested: height, executed: 1)) {
                    try machine.snapshot(at: height)
                }
            }
            let snapshot = try machine.snapshot(at: 1)
            let piece = try snapshot.piece(0)
            try await F.executeNext(machine, [F.write(1, sequence: 1, "x", "2")])
            #expect(try snapshot.piece(0) == piece)
            #expect(throws: StateMachineError.self) { try snapshot.piece(snapshot.manifest.pieceCount) }
        }
    }

    @Test func piecesThatDoNotFitAreRefusedOnAdd() async throws {
        try await withSourceAndTarget { _, snapshot, _, target in
            let importer = try target.beginImport(snapshot.manifest)
            let first = try snapshot.piece(0)
            // Out of range.
            #expect(throws: StateMachineError.self) {
                try importer.add(SnapshotPiece(index: snapshot.manifest.pieceCount, payload: first.payload))
            }
            // Truncated, trailing, unknown kind, empty in a snapshot of several pieces.
            let malformed: [[UInt8]] = [
                Array(first.payload.dropLast()), first.payload + [0], [3] + Array(first.payload.dropFirst()),
                [1, 0, 0, 0, 0],
            ]
            for payload in malformed {
                let error = #expect(throws: StateMachineError.self) {
                    try importer.add(SnapshotPiece(index: 0, payload: payload))
                }
                guard case .badSnapshot = error else {
                    Issue.record("\(String(describing: error)) is not badSnapshot")
                    continue
                }
            }
            // Entries out of order within the piece: swap the first two.
            var writer = CanonicalWriter()
            writer.write(UInt8(1))
            writer.writeCount(2)
            for key in ["b", "a"] {
                writer.writeLengthPrefixed(Array(key.utf8))
                writer.writeLengthPrefixed([UInt8]())
            }
            #expect(throws: StateMachineError.self) { try importer.add(SnapshotPiece(index: 0, payload: writer.bytes)) }
            // The real piece goes in once.
            try importer.add(first)
            #expect(throws: StateMachineError.self) { try importer.add(first) }
            // Missing pieces.
            #expect(throws: StateMachineError.self) { try importer.finish() }
            #expect(throws: StateMachineError.self) {
                try target.beginImport(
                    SnapshotManifest(height: 1, root: snapshot.manifest.root, pieceCount: 5, format: 2))
            }
        }
    }

    @Test func aTamperedPieceOrAWrongManifestRootIsRefusedAndTheStateIsUnchanged() async throws {
        try await withSourceAndTarget { _, snapshot, path, target in
            let before = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + "/state.kv")))
            let genesisRoot = try target.genesisRoot()

            // A value changed, still well formed: only the root can tell.
            var tampered = try snapshot.piece(1)
            tampered.payload[tampered.payload.count - 1] ^= 0x01
            // Pieces in the wrong places: each well formed, out of order together.
            let swapped = [
                SnapshotPiece(index: 0, payload: try snapshot.piece(1).payload),
                SnapshotPiece(index: 1, payload: try snapshot.piece(0).payload),
            ]
            var attempts: [(SnapshotManifest, [SnapshotPiece])] = []
            var pieces = try (0..<snapshot.manifest.pieceCount).map { try snapshot.piece($0) }
            var wrongRoot = snapshot.manifest
            wrongRoot.root = genesisRoot
            attempts.append((wrongRoot, pieces))
            pieces[1] = tampered
            attempts.append((snapshot.manifest, pieces))
            pieces[1] = try snapshot.piece(1)
            pieces.replaceSubrange(0..<2, with: swapped)
            attempts.append((snapshot.manifest, pieces))

            for (manifest, pieces) in attempts {
                let importer = try target.beginImport(manifest)
                for piece in pieces { try importer.add(piece) }
                let error = #expect(throws: StateMachineError.self) { try importer.finish() }
                guard case .badSnapshot = error else {
                    Issue.record("\(String(describing: error)) is not badSnapshot")
                    continue
                }
                #expect(try target.executedState() == nil)
                #expect(target.value(forKey: Array("t".utf8)) == Array("target".utf8))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + "/state.kv"))) == before)
            }
        }
    }
}
