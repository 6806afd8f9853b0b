import Crypto
import DSMR
import DSMRNode
import DSMRTestSupport
import Foundation
import KeyValueMachine
import Testing

@Suite struct KeyValueExecutionTests {
    typealias F = KeyValueFixtures

    @Test func genesisRootIsTheDocumentedRootOfTheGenesisEntriesInAnyOrder() async throws {
        let pairs = [("b", "2"), ("a", "1"), ("ab", ""), ("B", "x")]
        let expected = F.expectedRoot(entries: ["a": "1", "b": "2", "ab": "", "B": "x"])
        try await F.withMachine(genesis: F.genesis(pairs)) { _, machine in
            let root = try machine.genesisRoot()
            #expect(root == expected)
            #expect(try machine.executedState() == nil)
            #expect(machine.value(forKey: Array("ab".utf8)) == [])
            #expect(machine.value(forKey: Array("c".utf8)) == nil)
        }
        try await F.withMachine(genesis: F.genesis(Array(pairs.reversed()))) { _, machine in
            let root = try machine.genesisRoot()
            #expect(root == expected)
        }
    }

    @Test func executionAppliesValidWritesInSequenceAndReportsTheSkippedOnes() async throws {
        try await F.withMachine { _, machine in
            let transactions = [
                F.write(1, sequence: 0, "x", "one"),
                F.write(1, sequence: 0, "x", "replayed"),  // sequence used already
                F.write(1, sequence: 2, "y", "gap"),  // not the next sequence
                F.write(2, sequence: 0, "z", "late", expiry: 999),  // expired at the block's 1 000
                [1, 2, 3],  // does not decode
                F.write(1, sequence: 1, "a", "two", expiry: 1_000),  // expires at the block's time: still valid
                F.write(2, sequence: 0, "x", "three"),
            ]
            let report = try await F.executeNext(machine, timestamp: 1_000, transactions)
            #expect(report.applied == [true, false, false, false, false, true, true])
            #expect(machine.value(forKey: Array("x".utf8)) == Array("three".utf8))
            #expect(machine.value(forKey: Array("a".utf8)) == Array("two".utf8))
            #expect(machine.value(forKey: Array("y".utf8)) == nil)
            #expect(machine.value(forKey: Array("z".utf8)) == nil)
            #expect(machine.nextSequence(of: F.writer(1)) == 2)
            #expect(machine.nextSequence(of: F.writer(2)) == 1)
            #expect(machine.nextSequence(of: F.writer(3)) == 0)
            let expected = F.expectedRoot(
                entries: ["a": "two", "x": "three"], writers: [F.writer(1): 2, F.writer(2): 1])
            #expect(report.root == expected)
            #expect(try machine.executedState() == ExecutedState(height: 1, root: expected))
        }
    }

    @Test func reExecutingTheLastHeightReturnsItsRootAndAppliesNothing() async throws {
        try await F.withMachine { _, machine in
            let first = try await F.executeNext(machine, [F.write(1, sequence: 0, "x", "1")])
            let again = try await machine.executeReporting(
                parentRoot: try machine.genesisRoot(), parent: F.parent, timestamp: 1_000, height: 1,
                transactions: [F.write(1, sequence: 1, "x", "2")])
            #expect(again == ExecutionReport(root: first.root, applied: nil))
            #expect(machine.value(forKey: Array("x".utf8)) == Array("1".utf8))
            #expect(machine.nextSequence(of: F.writer(1)) == 1)
        }
    }

    @Test func heightsOutOfOrderAndAForeignParentRootAreRefusedLeavingTheState() async throws {
        try await F.withMachine { path, machine in
            let first = try await F.executeNext(machine, [F.write(1, sequence: 0, "x", "1")])
            let file = try Data(contentsOf: URL(fileURLWithPath: path + "/state.kv"))
            for height: UInt64 in [0, 3] {
                let error = await #expect(throws: KeyValueMachineError.self) {
                    try await machine.executeReporting(
                        parentRoot: first.root, parent: F.parent, timestamp: 2_000, height: height, transactions: [])
                }
                #expect(error?.code == .wrongHeight)
            }
            let error = await #expect(throws: KeyValueMachineError.self) {
                try await machine.executeReporting(
                    parentRoot: try machine.genesisRoot(), parent: F.parent, timestamp: 2_000, height: 2,
                    transactions: [F.write(1, sequence: 1, "x", "2")])
            }
            #expect(error?.code == .wrongParentRoot)
            #expect(try machine.executedState() == ExecutedState(height: 1, root: first.root))
            #expect(machine.value(forKey: Array("x".utf8)) == Array("1".utf8))
            #expect(try Data(contentsOf: URL(fileURLWithPath: path + "/state.kv")) == file)
        }
    }

    @Test func reopeningKeepsTheHeightRootStateAndGenesisRoot() async throws {
        try await F.withMachine { path, machine in
            let genesisRoot = try machine.genesisRoot()
            try await F.executeNext(machine, [F.write(1, sequence: 0, "x", "1")])
            let second = try await F.executeNext(machine, [F.write(1, sequence: 1, "y", "2")])
            machine.close()

            // Another genesis is ignored: the directory has a state.
            let reopened = try KeyValueMachine(directory: path, genesis: F.genesis([("other", "genesis")]))
            #expect(try reopened.executedState() == ExecutedState(height: 2, root: second.root))
            #expect(try reopened.genesisRoot() == genesisRoot)
            #expect(reopened.value(forKey: Array("y".utf8)) == Array("2".utf8))
            #expect(reopened.value(forKey: Array("other".utf8)) == nil)
            #expect(reopened.nextSequence(of: F.writer(1)) == 2)
            #expect(
                reopened.diskBytes() == UInt64(try Data(contentsOf: URL(fileURLWithPath: path + "/state.kv")).count))

            // It goes on from there.
            let third = try await F.executeNext(reopened, [F.write(1, sequence: 2, "x", "3")])
            #expect(third.applied == [true])
            #expect(
                third.root
                    == F.expectedRoot(entries: ["a": "1", "x": "3", "y": "2"], writers: [F.writer(1): 3]))
        }
    }

    @Test func everyDamagedByteOfTheStateFileIsATypedErrorOnOpenAndTheFileIsLeftAsItIs() async throws {
        try await F.withMachine { path, machine in
            try await F.executeNext(machine, [F.write(1, sequence: 0, "x", "1"), F.write(2, sequence: 0, "y", "")])
            machine.close()
            let statePath = path + "/state.kv"
            let intact = try [UInt8](Data(contentsOf: URL(fileURLWithPath: statePath)))
            var damaged: [[UInt8]] = [[], Array(intact.dropLast()), intact + [0]]
            for offset in intact.indices {
                var flipped = intact
                flipped[offset] ^= 0x01
                damaged.append(flipped)
            }
            for bytes in damaged {
                try Data(bytes).write(to: URL(fileURLWithPath: statePath))
                let error = #expect(throws: KeyValueMachineError.self) {
                    try KeyValueMachine(directory: path, genesis: F.genesis([]))
                }
                #expect(error?.code == .damagedState)
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: statePath))) == bytes)
            }
            try Data(intact).write(to: URL(fileURLWithPath: statePath))
            #expect(try KeyValueMachine(directory: path, genesis: F.genesis([])).executedState()?.height == 1)
        }
    }

    @Test func aStateFileWithAValidChecksumButAWrongRootIsDamaged() async throws {
        try await F.withMachine { path, machine in
            try await F.executeNext(machine, [F.write(1, sequence: 0, "x", "1")])
            let statePath = path + "/state.kv"
            var body = Array(try [UInt8](Data(contentsOf: URL(fileURLWithPath: statePath))).dropLast(32))
            // magic (8) || format || executed || height (8) || root (32): zero the root.
            for offset in 18..<50 { body[offset] = 0 }
            try Data(body + Array(SHA256.hash(data: body))).write(to: URL(fileURLWithPath: statePath))
            let error = #expect(throws: KeyValueMachineError.self) {
                try KeyValueMachine(directory: path, genesis: F.genesis([]))
            }
            #expect(error?.code == .damagedState)
            #expect(error?.message.contains("root") == true, "\(String(describing: error))")
        }
    }

    @Test func aGenesisThatIsNotJSONOrOutOfBoundsIsBadGenesis() async throws {
        try await withTemporaryDirectory("kv-genesis") { path in
            let provider = KeyValueProvider()
            let rules = Rules.default
            let domain = SigningDomain(networkID: 1, chainID: .zero)
            let bad: [String] = [
                "not json", #"{"accounts": []}"#, #"{"entries": [{"key": "", "value": "v"}]}"#,
                #"{"entries": [{"key": "k", "value": "v"}, {"key": "k", "value": "w"}]}"#,
                #"{"entries": [{"key": "\#(String(repeating: "k", count: 65))", "value": ""}]}"#,
            ]
            for genesis in bad {
                let context = StateMachineContext(
                    directory: path + "/state", genesis: Array(genesis.utf8), domain: domain, rules: rules)
                let error = #expect(throws: StateMachineError.self) { try provider.open(context) }
                guard case .badGenesis = error else {
                    Issue.record("\(genesis): \(String(describing: error)) is not badGenesis")
                    continue
                }
            }
            let good = StateMachineContext(
                directory: path + "/state", genesis: try provider.devnetGenesis(seed: [9], parties: 3), domain: domain,
                rules: rules)
            let machine = try provider.open(good) as! KeyValueMachine
            #expect(provider.name == "key-value")
            #expect(machine.value(forKey: Array("devnet/parties".utf8)) == Array("3".utf8))
        }
    }
}
