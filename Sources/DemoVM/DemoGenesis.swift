import DSMR
import Foundation

/// The balances a DemoVM state starts with, as JSON:
/// `{"accounts": [{"account": "<64 hex digits>", "balance": 1000}]}`.
public struct DemoGenesis: Codable, Sendable, Hashable {
    /// One funded account.
    public struct Account: Codable, Sendable, Hashable {
        /// The account's Ed25519 public key, in hex.
        public var account: String
        /// Its starting balance.
        public var balance: UInt64

        /// An account entry.
        public init(account: String, balance: UInt64) {
            self.account = account
            self.balance = balance
        }
    }

    /// The funded accounts.
    public var accounts: [Account]

    /// A genesis funding `accounts`.
    public init(accounts: [Account]) { self.accounts = accounts }

    /// The accounts as keys and balances.
    ///
    /// - Throws: ``DemoVMError`` for an account that is not 32 bytes of hex.
    public func allocations() throws -> [(account: [UInt8], balance: UInt64)] {
        try accounts.map { entry in
            guard let key = Hex.decode(entry.account), key.count == Transfer.accountByteCount else {
                throw DemoVMError("genesis account \"\(entry.account.prefix(80))\" is not a 32-byte key in hex")
            }
            return (key, entry.balance)
        }
    }
}

/// The demo state machine was asked something it cannot do.
public struct DemoVMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { "demo VM: \(message)" }
}
