import Crypto
import DSMR
import DSMRNode
import Foundation

/// The key-value machine as a chain plugs it in: its genesis is a
/// ``KeyValueGenesis`` JSON file, and a devnet's load is writes by writers
/// derived from a seed (``KeyValueSource``).
public struct KeyValueProvider: StateMachineProvider {
    /// The provider.
    public init() {}

    public var name: String { "key-value" }

    /// Opens a ``KeyValueMachine`` in the context's directory.
    ///
    /// - Throws: ``StateMachineError/badGenesis(_:)`` for a genesis that is
    ///   not ``KeyValueGenesis`` JSON or is out of bounds; the machine's own
    ///   open errors.
    public func open(_ context: StateMachineContext) throws -> any StateMachine {
        let genesis: KeyValueGenesis
        do {
            genesis = try JSONDecoder().decode(KeyValueGenesis.self, from: Data(context.genesis))
        } catch {
            throw StateMachineError.badGenesis("not key-value genesis JSON: \(error)")
        }
        return try KeyValueMachine(directory: context.directory, genesis: genesis)
    }

    /// A genesis of a few entries that name the devnet: `devnet/parties`,
    /// `devnet/seed` (the hex SHA-256 of `seed`) and `greeting`. Writers
    /// need no funds.
    public func devnetGenesis(seed: [UInt8], parties: Int) throws -> [UInt8] {
        let genesis = KeyValueGenesis(entries: [
            .init(key: "devnet/parties", value: "\(parties)"),
            .init(key: "devnet/seed", value: Hex.encode(Array(SHA256.hash(data: seed)))),
            .init(key: "greeting", value: "hello"),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(genesis))
    }

    /// Writes by the `parties` writers derived from `seed` (the machine
    /// checks no signature, so `domain` plays no part).
    public func loadSource(
        seed: [UInt8], parties: Int, domain: SigningDomain, lifetime: Int64
    ) throws
        -> any TransactionSource
    {
        KeyValueSource(writers: Self.writers(seed: seed, count: parties), lifetime: lifetime)
    }

    /// The `count` writers derived from `seed`: writer i is
    /// SHA-256(seed || i as u64 big-endian).
    public static func writers(seed: [UInt8], count: Int) -> [[UInt8]] {
        (0..<count).map { index in
            var hasher = SHA256()
            hasher.update(data: seed)
            hasher.update(data: withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) })
            return Array(hasher.finalize())
        }
    }
}
