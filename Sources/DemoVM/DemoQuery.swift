import DSMR
import DSMRNode

/// The reads DemoVM answers through ``DemoVM/query(_:)``, and their encodings.
///
/// A request is `tag (u8) || body`. The one read today is ``nonces(_:)``:
/// `1 || count (u32) || 32-byte accounts`, answered `count (u32) || nonce (u64)...`
/// in the order asked.
public enum DemoQuery: Hashable, Sendable {
    /// The executed nonce of each account (32-byte public keys).
    case nonces([[UInt8]])

    /// The most accounts one query asks about.
    public static let maxAccounts = 10_000

    /// The request's bytes.
    public func encoded() -> [UInt8] {
        switch self {
        case .nonces(let accounts):
            var writer = CanonicalWriter(capacity: 5 + 32 * accounts.count)
            writer.write(UInt8(1))
            writer.writeCount(accounts.count)
            for account in accounts { writer.writeRaw(account) }
            return writer.bytes
        }
    }

    /// Decodes a request strictly.
    ///
    /// - Throws: `StateMachineError.badQuery` naming what is wrong.
    public init(decoding bytes: [UInt8]) throws {
        var reader = CanonicalReader(bytes, root: "demo query")
        do {
            let tag = try reader.readUInt8("query tag")
            guard tag == 1 else { throw StateMachineError.badQuery("unknown DemoVM query tag \(tag)") }
            let count = try reader.readCount(
                "accounts", limit: Self.maxAccounts, minimumElementSize: Transfer.accountByteCount)
            var accounts: [[UInt8]] = []
            accounts.reserveCapacity(count)
            for _ in 0..<count { accounts.append(try reader.readRaw(Transfer.accountByteCount, "account")) }
            try reader.finish()
            self = .nonces(accounts)
        } catch let error as StateMachineError {
            throw error
        } catch {
            throw StateMachineError.badQuery("\(error)")
        }
    }

    /// Decodes the answer to ``nonces(_:)`` asked about `count` accounts.
    ///
    /// - Throws: `StateMachineError.badQuery` when it is not `count` nonces.
    public static func decodeNonces(_ bytes: [UInt8], count expected: Int) throws -> [UInt64] {
        var reader = CanonicalReader(bytes, root: "demo nonces")
        do {
            let count = try reader.readCount("nonces", limit: maxAccounts, minimumElementSize: 8)
            guard count == expected else {
                throw StateMachineError.badQuery("asked for \(expected) nonces, answered \(count)")
            }
            var nonces: [UInt64] = []
            for _ in 0..<count { nonces.append(try reader.readUInt64("nonce")) }
            try reader.finish()
            return nonces
        } catch let error as StateMachineError {
            throw error
        } catch {
            throw StateMachineError.badQuery("\(error)")
        }
    }
}

extension DemoVM {
    /// Answers a ``DemoQuery`` from the executed state.
    public func query(_ request: [UInt8]) throws -> [UInt8] {
        switch try DemoQuery(decoding: request) {
        case .nonces(let accounts):
            let nonces = try accounts.map { try account($0).nonce }
            var writer = CanonicalWriter(capacity: 4 + 8 * nonces.count)
            writer.writeCount(nonces.count)
            for nonce in nonces { writer.write(nonce) }
            return writer.bytes
        }
    }
}
