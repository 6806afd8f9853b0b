import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

@Suite struct DemoVMTests {
    static let domain = SigningDomain(networkID: 5, chainID: try! ChainID(bytes: [UInt8](repeating: 3, count: 32)))
    static let alice = TestKeys.signer(1)
    static let bob = TestKeys.signer(2)
    static let genesis = Block(parent: .zero, height: 0, timestamp: 0, certificates: [])

    func withVM(verifyingTasks: Int = 1, _ body: (String, DemoVM) async throws -> Void) async throws {
        try await withTemporaryDirectory("demovm") { path in
            let vm = try DemoVM(
                path: path, domain: Self.domain, genesis: [(Self.alice.publicKey, 100)], verifyingTasks: verifyingTasks)
            try await body(path, vm)
        }
    }

    func transfer(_ amount: UInt64, nonce: UInt64, from: Ed25519Signer = alice, expiry: Int64 = 10_000) -> [UInt8] {
        try! Transfer.sign(
            sender: from, recipient: Self.bob.publicKey, amount: amount, nonce: nonce, expiry: expiry,
            domain: Self.domain
        ).encoded()
    }

    @Test func transfersMoveTokensAndInvalidOnesAreSkipped() async throws {
        try await withVM { _, vm in
            var forged = try Transfer(decoding: transfer(5, nonce: 1))
            forged = Transfer(
                sender: forged.sender, recipient: forged.recipient, amount: 50, nonce: 1, expiry: forged.expiry,
                signature: forged.signature)
            let transactions = [
                transfer(10, nonce: 0),
                transfer(10, nonce: 0),  // replay: nonce already used
                forged.encoded(),  // bad signature
                transfer(500, nonce: 1),  // more than the balance
                transfer(1, nonce: 1, expiry: 999),  // expired at the block's 1 000
                [1, 2, 3],  // does not decode
                transfer(20, nonce: 1),
                transfer(1, nonce: 0, from: Self.bob),  // to himself: only his nonce moves
            ]
            let genesisRoot = try vm.genesisRoot()
            let root = try await vm.execute(
                parentRoot: genesisRoot, parent: Self.genesis, timestamp: 1_000, height: 1, transactions: transactions)
            #expect(root != genesisRoot)
            #expect(try vm.account(Self.alice.publicKey) == (70, 2))
            #expect(try vm.account(Self.bob.publicKey) == (30, 1))
            #expect(try vm.executedState()?.height == 1)
            #expect(try vm.executedState()?.root == root)
        }
    }

    @Test func sameTransactionsGiveTheSameRootAndReExecutingAHeightReturnsItsRoot() async throws {
        let transactions = [transfer(10, nonce: 0), transfer(3, nonce: 1)]
        var roots: [StateRoot] = []
        for _ in 0..<2 {
            try await withVM { _, vm in
                let root = try await vm.execute(
                    parentRoot: try vm.genesisRoot(), parent: Self.genesis, timestamp: 1, height: 1,
                    transactions: transactions)
                // Asked again for the height it executed: the same root, nothing applied twice.
                #expect(
                    try await vm.execute(
                        parentRoot: try vm.genesisRoot(), parent: Self.genesis, timestamp: 1, height: 1,
                        transactions: transactions) == root)
                #expect(try vm.account(Self.alice.publicKey).balance == 87)
                roots.append(root)
            }
        }
        #expect(roots[0] == roots[1])
    }

    @Test func stateSurvivesReopeningAndOutOfOrderHeightsAreRefused() async throws {
        try await withVM { path, vm in
            let root = try await vm.execute(
                parentRoot: try vm.genesisRoot(), parent: Self.genesis, timestamp: 1, height: 1,
                transactions: [transfer(10, nonce: 0)])
            await #expect(throws: DemoVMError.self) {
                _ = try await vm.execute(
                    parentRoot: root, parent: Self.genesis, timestamp: 2, height: 3, transactions: [])
            }
            await #expect(throws: DemoVMError.self) {
                _ = try await vm.execute(
                    parentRoot: try vm.genesisRoot(), parent: Self.genesis, timestamp: 2, height: 2, transactions: [])
            }
            vm.close()
            let reopened = try DemoVM(path: path, domain: Self.domain, genesis: [])
            #expect(try reopened.executedState()?.height == 1)
            #expect(try reopened.executedState()?.root == root)
            #expect(try reopened.account(Self.bob.publicKey) == (10, 0))
            reopened.close()
        }
    }

    @Test func transfersRoundTripAndRefuseNonCanonicalBytes() throws {
        let bytes = transfer(7, nonce: 3)
        let decoded = try Transfer(decoding: bytes)
        #expect(decoded.encoded() == bytes)
        #expect(decoded.verifySignature(domain: Self.domain))
        #expect(decoded.sponsor == Self.alice.publicKey)
        for length in 0..<bytes.count {
            #expect(throws: CodecError.self) { try Transfer(decoding: Array(bytes.prefix(length))) }
        }
        #expect(throws: CodecError.self) { try Transfer(decoding: bytes + [0]) }
    }

    /// A block whose signatures are checked on four tasks applies exactly
    /// what the same transfers applied on one task, block by block, do:
    /// bad signatures anywhere in it (at the edges of the tasks' shares
    /// too) skipped.
    @Test func signaturesCheckedOnSeveralTasksSkipTheSameTransfersAsOneByOne() async throws {
        let count = 600
        let bad: Set<Int> = [0, 7, 149, 150, 299, 300, 301, 451, 598, 599]
        let transactions = (0..<count).map { index -> [UInt8] in
            let seed = [UInt8(index % 256), UInt8(index / 256)] + [UInt8](repeating: 9, count: 30)
            let signed = try! Transfer.sign(
                sender: try! Ed25519Signer(seed: seed), recipient: Self.bob.publicKey, amount: 0, nonce: 0,
                expiry: 10_000, domain: Self.domain)
            guard bad.contains(index) else { return signed.encoded() }
            var signature = signed.signature
            signature[index % signature.count] ^= 0x01
            return Transfer(
                sender: signed.sender, recipient: signed.recipient, amount: 0, nonce: 0, expiry: 10_000,
                signature: signature
            ).encoded()
        }
        #expect(count / DemoVM.transactionsPerVerifyingTask >= 4, "the block is split four ways")
        var roots: [StateRoot] = []
        try await withVM(verifyingTasks: 4) { _, vm in
            let report = try await vm.executeReporting(
                parentRoot: try vm.genesisRoot(), parent: Self.genesis, timestamp: 1, height: 1,
                transactions: transactions)
            #expect(report.applied == (0..<count).map { !bad.contains($0) })
            roots.append(report.root)
        }
        try await withVM(verifyingTasks: 1) { _, vm in
            var root = try vm.genesisRoot()
            var parent = Self.genesis
            let perBlock = DemoVM.transactionsPerVerifyingTask - 1
            for (offset, start) in stride(from: 0, to: count, by: perBlock).enumerated() {
                let block = Block(
                    parent: parent.id, height: UInt64(offset + 1), timestamp: 1, certificates: [])
                let report = try await vm.executeReporting(
                    parentRoot: root, parent: parent, timestamp: 1, height: block.height,
                    transactions: Array(transactions[start..<min(start + perBlock, count)]))
                #expect(report.applied == (start..<min(start + perBlock, count)).map { !bad.contains($0) })
                (root, parent) = (report.root, block)
            }
            roots.append(root)
        }
        #expect(roots.count == 2 && roots[0] == roots[1], "the same state either way")
    }
}
