import Crypto
import DSMR
import DSMRNode
import Foundation
import LMDB

/// A sample state machine: accounts with balances and nonces, moved by
/// signed ``Transfer``s, in its own LMDB environment.
///
/// Each block's signatures are checked first, on up to
/// ``verifyingTasks`` tasks; then its transfers are applied in
/// order in one durable LMDB transaction that also records the block's height and the new state
/// root, so after a crash the state is that of some executed height, with
/// its root. Invalid transfers (undecodable, a bad signature, expired, a
/// nonce other than the account's, a balance too low, an amount that would
/// overflow the recipient) are skipped; every node skips the same ones.
///
/// The state root is a `SnapshotTree` root (from DSMRNode) whose leaves are runs of
/// ``accountsPerPiece`` accounts in key order, each account
/// `account (32) || balance (u64) || nonce (u64)`: the runs are the
/// snapshot's pieces, so a peer's piece is checked against a certified root
/// as it arrives. It is recomputed over every account per block, a cost
/// linear in the number of accounts.
public final class DemoVM: StateMachine, Sendable {
    /// The signing domain transfers are signed in.
    public let domain: SigningDomain
    /// The state's directory.
    public let path: String
    /// How many tasks check a block's signatures at most (see
    /// ``defaultVerifyingTasks``).
    public let verifyingTasks: Int
    let environment: Environment
    let accounts: Database
    let meta: Database

    static let heightKey = Array("height".utf8)
    static let rootKey = Array("root".utf8)
    static let genesisKey = Array("genesis_root".utf8)

    /// Opens the state at `path` (a directory, created if missing). A new
    /// state starts with the `genesis` balances; an existing one ignores
    /// them. A block's signatures are checked on up to `verifyingTasks`
    /// tasks (at least one).
    public init(
        path: String, domain: SigningDomain, genesis: [(account: [UInt8], balance: UInt64)],
        verifyingTasks: Int = DemoVM.defaultVerifyingTasks
    ) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var options = EnvironmentOptions(path: path)
        options.databases = ["accounts", "meta"]
        options.mapSize = 1 << 20
        environment = try Environment(options)
        accounts = try environment.database("accounts")
        meta = try environment.database("meta")
        self.domain = domain
        self.path = path
        self.verifyingTasks = max(1, verifyingTasks)
        try environment.write { txn in
            guard try txn.get(Self.genesisKey, in: meta) == nil else { return }
            for (account, balance) in genesis {
                precondition(account.count == Transfer.accountByteCount, "an account is a 32-byte public key")
                try txn.put(Self.account(balance: balance, nonce: 0), forKey: account, in: accounts)
            }
            try txn.put(try Self.root(txn, accounts).bytes, forKey: Self.genesisKey, in: meta)
        }
    }

    /// Closes the environment.
    public func close() { environment.close() }

    public func genesisRoot() throws -> StateRoot {
        try environment.read { txn in try Self.storedRoot(Self.genesisKey, txn, meta) }
    }

    public func executedState() throws -> ExecutedState? {
        try environment.read { txn in
            guard let height = try txn.get(Self.heightKey, in: meta), let root = try txn.get(Self.rootKey, in: meta)
            else { return nil }
            guard height.count == 8, root.count == StateRoot.byteCount else {
                throw DemoVMError("the state's executed height or root is damaged")
            }
            return ExecutedState(height: Self.uint64(height[...]), root: try StateRoot(bytes: root))
        }
    }

    /// The balance and nonce of `account` (zero for an unknown account).
    public func account(_ account: [UInt8]) throws -> (balance: UInt64, nonce: UInt64) {
        try environment.read { txn in
            guard let value = try txn.get(account, in: accounts) else { return (0, 0) }
            guard value.count == 16 else { throw DemoVMError("account \(Hex.encode(account)) has a damaged row") }
            return (Self.uint64(value[0..<8]), Self.uint64(value[8..<16]))
        }
    }

    public func executeReporting(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> ExecutionReport {
        let checked = await Self.checkedTransfers(transactions, domain: domain, tasks: verifyingTasks)
        return try environment.write { txn -> ExecutionReport in
            let last = try txn.get(Self.heightKey, in: meta).map { Self.uint64($0[...]) }
            let current =
                try txn.contains(Self.rootKey, in: meta)
                ? Self.storedRoot(Self.rootKey, txn, meta) : Self.storedRoot(Self.genesisKey, txn, meta)
            if let last, last >= height {
                guard last == height else {
                    throw DemoVMError("asked to execute height \(height); the state is at \(last)")
                }
                return ExecutionReport(root: current, applied: nil)
            }
            if let last, height != last + 1 {
                throw DemoVMError("asked to execute height \(height); the state is at \(last)")
            }
            guard current == parentRoot else {
                throw DemoVMError("parent state root \(parentRoot) is not the state's root \(current)")
            }
            let applied = try checked.map { try apply($0, at: timestamp, txn) }
            let root = try Self.root(txn, accounts)
            try txn.put(Self.bytes(height), forKey: Self.heightKey, in: meta)
            try txn.put(root.bytes, forKey: Self.rootKey, in: meta)
            return ExecutionReport(root: root, applied: applied)
        }
    }

    /// Applies one transfer (nil: its bytes were no transfer or its
    /// signature failed), or skips it when it is invalid; returns whether it applied.
    private func apply(_ transfer: Transfer?, at timestamp: Int64, _ txn: borrowing WriteTransaction) throws -> Bool {
        guard let transfer, transfer.expiry >= timestamp else { return false }
        let sender = try state(transfer.sender, txn)
        guard sender.nonce == transfer.nonce, sender.balance >= transfer.amount, sender.nonce < .max else {
            return false
        }
        if transfer.sender == transfer.recipient {
            try txn.put(
                Self.account(balance: sender.balance, nonce: sender.nonce + 1), forKey: transfer.sender, in: accounts)
            return true
        }
        let recipient = try state(transfer.recipient, txn)
        let (credited, overflow) = recipient.balance.addingReportingOverflow(transfer.amount)
        guard !overflow else { return false }
        try txn.put(
            Self.account(balance: sender.balance - transfer.amount, nonce: sender.nonce + 1), forKey: transfer.sender,
            in: accounts)
        try txn.put(Self.account(balance: credited, nonce: recipient.nonce), forKey: transfer.recipient, in: accounts)
        return true
    }

    private func state(_ account: [UInt8], _ txn: borrowing WriteTransaction) throws -> (balance: UInt64, nonce: UInt64)
    {
        guard let value = try txn.get(account, in: accounts) else { return (0, 0) }
        guard value.count == 16 else { throw DemoVMError("account \(Hex.encode(account)) has a damaged row") }
        return (Self.uint64(value[0..<8]), Self.uint64(value[8..<16]))
    }

    static func root(
        _ txn: borrowing some LMDB.Transaction & ~Copyable, _ accounts: Database
    ) throws -> StateRoot {
        var leaves: [[UInt8]] = []
        var hasher = SnapshotTree.leafHasher()
        var inPiece = 0
        try txn.scan(accounts) { entry in
            hasher.update(bufferPointer: entry.key)
            hasher.update(bufferPointer: entry.value)
            inPiece += 1
            if inPiece == accountsPerPiece {
                leaves.append(SnapshotTree.finishLeaf(hasher))
                hasher = SnapshotTree.leafHasher()
                inPiece = 0
            }
            return .next
        }
        if inPiece > 0 || leaves.isEmpty { leaves.append(SnapshotTree.finishLeaf(hasher)) }
        return SnapshotTree.root(leaves: leaves)
    }

    /// The root stored under `key`; a missing or damaged one is an error, never a trap.
    static func storedRoot(
        _ key: [UInt8], _ txn: borrowing some LMDB.Transaction & ~Copyable, _ meta: Database
    ) throws -> StateRoot {
        guard let bytes = try txn.get(key, in: meta), bytes.count == StateRoot.byteCount else {
            throw DemoVMError("the state's \(String(decoding: key, as: UTF8.self)) is missing or damaged")
        }
        return try StateRoot(bytes: bytes)
    }

    static func account(balance: UInt64, nonce: UInt64) -> [UInt8] { bytes(balance) + bytes(nonce) }

    static func bytes(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    static func uint64(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
}
