import DSMR
import DSMRNode
import KeyValueMachine
import Testing

@Suite struct KeyValueQueryTests {
    typealias F = KeyValueFixtures

    @Test func queriesAnswerValuesAndNextSequencesInTheOrderAsked() async throws {
        try await F.withMachine(genesis: F.genesis([("a", "1"), ("empty", "")])) { _, machine in
            try await F.executeNext(machine, [F.write(1, sequence: 0, "b", "2"), F.write(1, sequence: 1, "a", "3")])
            let keys = ["b", "missing", "a", "empty"].map { Array($0.utf8) }
            let request = KeyValueQuery.values(keys).encoded()
            #expect(try KeyValueQuery(decoding: request) == .values(keys))
            let answer = try machine.query(request)
            // count || (present || length || value)...: b = "2", missing, a = "3", empty = "".
            #expect(
                answer == [0, 0, 0, 4] + [1, 0, 0, 0, 1, 0x32] + [0, 0, 0, 0, 0] + [1, 0, 0, 0, 1, 0x33] + [
                    1, 0, 0, 0, 0,
                ])
            #expect(
                try KeyValueQuery.decodeValues(answer, count: 4) == [Array("2".utf8), nil, Array("3".utf8), []])

            let writers = [F.writer(2), F.writer(1)]
            let sequences = try machine.query(KeyValueQuery.nextSequences(writers).encoded())
            #expect(try KeyValueQuery.decodeNextSequences(sequences, count: 2) == [0, 2])
            #expect(throws: StateMachineError.self) { try KeyValueQuery.decodeNextSequences(sequences, count: 3) }
        }
    }

    @Test func badRequestsAreBadQueries() async throws {
        try await F.withMachine { _, machine in
            let good = KeyValueQuery.values([Array("a".utf8)]).encoded()
            let bad: [[UInt8]] = [
                [], [3, 0, 0, 0, 0], good + [0], Array(good.dropLast()),
                [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0x61, 0x62],  // an empty key, then "ab"
                [1, 0, 0, 0, 1, 0, 0, 0, 65] + [UInt8](repeating: 1, count: 65),  // a key over 64 bytes
                [2, 0, 0, 0, 1] + [UInt8](repeating: 1, count: 31),  // a writer short of 32 bytes
            ]
            for request in bad {
                let error = #expect(throws: StateMachineError.self) { try machine.query(request) }
                guard case .badQuery = error else {
                    Issue.record("\(request): \(String(describing: error)) is not badQuery")
                    continue
                }
            }
        }
    }
}
