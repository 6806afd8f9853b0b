import DSMR
import DSMRNode
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// DemoVM through the state-machine protocol: admission, queries and snapshots.
@Suite struct DemoVMStateMachineTests {
    static let domain = DemoVMTests.domain
    static let alice = DemoVMTests.alice
    static let bob = DemoVMTests.bob
    static let genesis = DemoVMTests.genesis
    static let rules = Rules.default

    func transfer(_ amount: UInt64, nonce: UInt64, from: Ed25519Signer = alice, expiry: Int64 = 10_000) -> [UInt8] {
        try! Transfer.sign(
            sender: from, recipient: Self.bob.publicKey, amount: amount, nonce: nonce, expiry: expiry,
            domain: Self.domain
        ).encoded()
    }

    func open(_ path: String, genesis: DemoGenesis) throws -> any StateMachine {
        try DemoProvider().open(
            StateMachineContext(
                directory: path, genesis: Array(try JSONEncoder().encode(genesis)), domain: Self.domain,
                rules: Self.rules))
    }

    /// `count` accounts, with balances `firstBalance` up, funded at genesis.
    func genesis(accounts count: Int, firstBalance: UInt64 = 1) -> DemoGenesis {
        DemoGenesis(
            accounts: (0..<count).map { index in
                var key = [UInt8](repeating: 0, count: 32)
                key[0] = UInt8(index >> 8)
                key[1] = UInt8(index & 0xFF)
                key[31] = 7
                return .init(account: Hex.encode(key), balance: UInt64(index) + firstBalance)
            } + [.init(account: Hex.encode(Self.alice.publicKey), balance: 100)])
    }

    @Test func admissionDecodesStrictlyRefusesTheExpiredAndRoutesBySender() async throws {
        try await withTemporaryDirectory("demo-admit") { path in
            let vm = try open(path, genesis: genesis(accounts: 1))
            defer { vm.close() }
            let limits = DecodingLimits(rules: Self.rules)
            let bytes = transfer(5, nonce: 0, expiry: 2_000)
            let pending = try vm.admit(bytes, now: 1_000, limits: limits)
            #expect(pending.bytes == bytes)
            #expect(pending.sponsor == Self.alice.publicKey)
            #expect(pending.expiry == 2_000)
            #expect(throws: AdmissionError.expired(expiry: 2_000, now: 2_001)) {
                try vm.admit(bytes, now: 2_001, limits: limits)
            }
            #expect {
                try vm.admit(bytes + [0], now: 1_000, limits: limits)
            } throws: { error in
                guard case .malformed = error as? AdmissionError else { return false }
                return true
            }
            #expect {
                try vm.admit([], now: 1_000, limits: limits)
            } throws: { error in
                guard case .malformed = error as? AdmissionError else { return false }
                return true
            }
        }
    }

    @Test func aNoncesQueryReadsTheExecutedStateAndABadQueryIsRefusedByName() async throws {
        try await withTemporaryDirectory("demo-query") { path in
            let vm = try open(path, genesis: genesis(accounts: 1))
            defer { vm.close() }
            _ = try await vm.execute(
                parentRoot: try vm.genesisRoot(), parent: Self.genesis, timestamp: 1, height: 1,
                transactions: [transfer(1, nonce: 0), transfer(1, nonce: 1)])
            let accounts = [Self.alice.publicKey, Self.bob.publicKey]
            let answer = try vm.query(DemoQuery.nonces(accounts).encoded())
            #expect(try DemoQuery.decodeNonces(answer, count: 2) == [2, 0])
            #expect(throws: StateMachineError.self) { try DemoQuery.decodeNonces(answer, count: 3) }
            #expect(throws: StateMachineError.self) { try vm.query([9]) }
            #expect(throws: StateMachineError.self) { try vm.query(DemoQuery.nonces(accounts).encoded() + [0]) }
            #expect(throws: StateMachineError.self) {
                try vm.query([1, 0, 0, 0, 1] + [UInt8](repeating: 1, count: 31))
            }
        }
    }

    /// Exports a snapshot of `vm` at its executed height, every piece.
    func export(_ vm: any StateMachine) throws -> (SnapshotManifest, [SnapshotPiece]) {
        let height = try vm.executedState()?.height ?? 0
        let snapshot = try vm.snapshot(at: height)
        let pieces = try (0..<snapshot.manifest.pieceCount).map { try snapshot.piece($0) }
        return (snapshot.manifest, pieces)
    }

    @Test func aSnapshotInPiecesInstallsTheSameStateAndExecutionGoesOnAlike() async throws {
        try await withTemporaryDirectory("demo-snapshot") { path in
            let source = try open(path + "/source", genesis: genesis(accounts: 1_500))
            let target = try open(path + "/target", genesis: genesis(accounts: 3))
            defer {
                source.close()
                target.close()
            }
            let root = try await source.execute(
                parentRoot: try source.genesisRoot(), parent: Self.genesis, timestamp: 1, height: 1,
                transactions: [transfer(10, nonce: 0)])
            #expect(throws: StateMachineError.heightUnavailable(requested: 2, executed: 1)) {
                try source.snapshot(at: 2)
            }
            let (manifest, pieces) = try export(source)
            #expect(manifest.height == 1 && manifest.root == root)
            #expect(pieces.count == 2, "1,502 accounts are two pieces of at most 1,024")
            let importing = try target.beginImport(manifest)
            // Any order.
            for piece in pieces.reversed() { try importing.add(piece) }
            #expect(throws: StateMachineError.self) { try importing.add(pieces[0]) }
            #expect(try importing.finish() == ExecutedState(height: 1, root: root))
            #expect(try target.executedState() == ExecutedState(height: 1, root: root))
            let next = [transfer(5, nonce: 1)]
            let sourceRoot = try await source.execute(
                parentRoot: root, parent: Self.genesis, timestamp: 2, height: 2, transactions: next)
            let targetRoot = try await target.execute(
                parentRoot: root, parent: Self.genesis, timestamp: 2, height: 2, transactions: next)
            #expect(sourceRoot == targetRoot)
            let alice = DemoQuery.nonces([Self.alice.publicKey]).encoded()
            #expect(try target.query(alice) == source.query(alice))
        }
    }

    @Test func aDamagedOrIncompleteSnapshotIsRefusedAndTheStateIsUnchanged() async throws {
        try await withTemporaryDirectory("demo-bad-snapshot") { path in
            let source = try open(path + "/source", genesis: genesis(accounts: 1_500))
            let target = try open(path + "/target", genesis: genesis(accounts: 3))
            defer {
                source.close()
                target.close()
            }
            let before = try target.genesisRoot()
            let (manifest, pieces) = try export(source)

            // A balance changed in transit, or a proof changed: refused on
            // arrival, and the honest piece is still taken afterwards.
            var tampered = pieces[1]
            tampered.payload[40] ^= 1
            var badProof = pieces[1]
            badProof.proof[3] ^= 1
            var wrongIndex = pieces[1]
            wrongIndex.index = 0
            let first = try target.beginImport(manifest)
            #expect(pieces[1].proof.count == SnapshotTree.hashBytes, "two pieces: one sibling each")
            #expect(throws: StateMachineError.self) { try first.add(tampered) }
            #expect(throws: StateMachineError.self) { try first.add(badProof) }
            #expect(throws: StateMachineError.self) { try first.add(wrongIndex) }
            // A piece of another state (one balance apart) fails against this root.
            let other = try open(path + "/other", genesis: genesis(accounts: 1_500, firstBalance: 2))
            defer { other.close() }
            let (_, otherPieces) = try export(other)
            #expect(otherPieces[0].payload != pieces[0].payload)
            #expect(throws: StateMachineError.self) { try first.add(otherPieces[0]) }
            try first.add(pieces[1])

            // A piece missing.
            let second = try target.beginImport(manifest)
            try second.add(pieces[0])
            #expect(throws: StateMachineError.self) { try second.finish() }

            // Accounts out of order, a piece past the end, a torn entry: refused on arrival.
            let third = try target.beginImport(manifest)
            var swapped = pieces[0]
            swapped.payload = Array(pieces[0].payload[48..<96] + pieces[0].payload[0..<48])
            #expect(throws: StateMachineError.self) { try third.add(swapped) }
            #expect(throws: StateMachineError.self) { try third.add(SnapshotPiece(index: 2, payload: [])) }
            #expect(throws: StateMachineError.self) {
                try third.add(SnapshotPiece(index: 0, payload: Array(pieces[0].payload.dropLast())))
            }
            var otherFormat = manifest
            otherFormat.format = 9
            #expect(throws: StateMachineError.self) { try target.beginImport(otherFormat) }

            #expect(try target.executedState() == nil)
            #expect(try target.snapshot(at: 0).manifest.root == before)
            #expect(
                try DemoQuery.decodeNonces(target.query(DemoQuery.nonces([Self.alice.publicKey]).encoded()), count: 1)
                    == [0])
        }
    }
}
