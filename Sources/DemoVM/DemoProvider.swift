import Crypto
import DSMR
import DSMRNode
import Foundation

/// DemoVM as a chain plugs it in: its genesis is a ``DemoGenesis`` JSON
/// file, a devnet funds accounts derived from a seed, and the load is
/// signed transfers between them (``TransferSource``).
public struct DemoProvider: StateMachineProvider {
    /// The provider.
    public init() {}

    public var name: String { "demo" }

    public func open(_ context: StateMachineContext) throws -> any StateMachine {
        let genesis: DemoGenesis
        do {
            genesis = try JSONDecoder().decode(DemoGenesis.self, from: Data(context.genesis))
        } catch {
            throw StateMachineError.badGenesis("not DemoVM genesis JSON: \(error)")
        }
        return try DemoVM(path: context.directory, domain: context.domain, genesis: try genesis.allocations())
    }

    /// Funds each of the `parties` accounts derived from `seed` with 2^40 tokens.
    public func devnetGenesis(seed: [UInt8], parties: Int) throws -> [UInt8] {
        let genesis = DemoGenesis(
            accounts: try Self.accounts(seed: seed, count: parties).map {
                .init(account: Hex.encode($0.publicKey), balance: 1 << 40)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(genesis))
    }

    public func loadSource(
        seed: [UInt8], parties: Int, domain: SigningDomain, lifetime: Int64
    ) throws
        -> any TransactionSource
    {
        TransferSource(accounts: try Self.accounts(seed: seed, count: parties), domain: domain, lifetime: lifetime)
    }

    /// The keys of `count` accounts derived from `seed`: account i's key seed
    /// is SHA-256(seed || i as u64).
    public static func accounts(seed: [UInt8], count: Int) throws -> [Ed25519Signer] {
        try (0..<count).map { index in
            var hasher = SHA256()
            hasher.update(data: seed)
            hasher.update(data: withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) })
            return try Ed25519Signer(seed: Array(hasher.finalize()))
        }
    }
}
