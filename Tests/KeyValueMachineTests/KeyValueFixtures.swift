import Crypto
import DSMR
import DSMRNode
import DSMRTestSupport
import KeyValueMachine

/// What the key-value tests share: writers, encoded writes, a machine in a
/// temporary directory, and the root computed from its documented formula.
enum KeyValueFixtures {
    static let parent = Block(parent: .zero, height: 0, timestamp: 0, certificates: [])

    /// The 32-byte writer `n` repeated.
    static func writer(_ n: UInt8) -> [UInt8] { [UInt8](repeating: n, count: 32) }

    /// The encoded write of `key` = `value` by writer `n`.
    static func write(
        _ n: UInt8, sequence: UInt64, _ key: String, _ value: String, expiry: Int64 = 10_000
    ) -> [UInt8] {
        KeyValueWrite(
            writer: writer(n), sequence: sequence, expiry: expiry, key: Array(key.utf8), value: Array(value.utf8)
        ).encoded()
    }

    /// A genesis of `pairs`.
    static func genesis(_ pairs: [(String, String)]) -> KeyValueGenesis {
        KeyValueGenesis(entries: pairs.map { .init(key: $0.0, value: $0.1) })
    }

    /// Calls `body` with a machine opened on a fresh directory from `genesis`.
    static func withMachine(
        genesis: KeyValueGenesis = genesis([("a", "1")]),
        _ body: (String, KeyValueMachine) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory("kv") { path in
            let machine = try KeyValueMachine(directory: path, genesis: genesis)
            try await body(path, machine)
        }
    }

    /// Executes `transactions` as the block after the machine's executed state.
    @discardableResult
    static func executeNext(
        _ machine: KeyValueMachine, timestamp: Int64 = 1_000, _ transactions: [[UInt8]]
    ) async throws -> ExecutionReport {
        let executed = try machine.executedState()
        return try await machine.executeReporting(
            parentRoot: try executed?.root ?? machine.genesisRoot(), parent: parent, timestamp: timestamp,
            height: (executed?.height ?? 0) + 1, transactions: transactions)
    }

    /// The root of a state as the machine documents it, computed here
    /// independently: SHA-256 of `"kv-root-v2" || u32 count || (u16 len ||
    /// key || u16 len || value)* || u32 count || (writer || u64 next)*`, both
    /// in bytewise order.
    static func expectedRoot(entries: [String: String], writers: [[UInt8]: UInt64] = [:]) -> StateRoot {
        func count(_ value: Int) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var input = Array("kv-root-v2".utf8)
        input += count(entries.count)
        let sortedEntries = entries.map { (Array($0.key.utf8), Array($0.value.utf8)) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
        for (key, value) in sortedEntries {
            input += [UInt8(key.count >> 8), UInt8(key.count & 0xff)] + key
            input += [UInt8(value.count >> 8), UInt8(value.count & 0xff)] + value
        }
        input += count(writers.count)
        for (writer, next) in writers.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            input += writer
            input += (0..<8).reversed().map { UInt8(truncatingIfNeeded: next >> (8 * UInt64($0))) }
        }
        return try! StateRoot(bytes: Array(SHA256.hash(data: input)))
    }
}
