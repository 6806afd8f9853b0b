import DSMR
import LMDB

/// The store's `meta` rows: identity, schema version, watermark and tips.
///
/// Values: `version` UInt32; `network` UInt32; `chain` 32 bytes; `node` 20
/// bytes; `rules` see `RulesCodec`; `retention` accepted and evidence
/// retention, Int64 ms each; `watermark` Int64 ms; `accepted_tip` height (8) + block id (32);
/// `executed_tip` height (8). Integers are big-endian.
enum MetaKey {
    static let version: [UInt8] = Array("version".utf8)
    static let network: [UInt8] = Array("network".utf8)
    static let chain: [UInt8] = Array("chain".utf8)
    static let node: [UInt8] = Array("node".utf8)
    static let watermark: [UInt8] = Array("watermark".utf8)
    static let acceptedTip: [UInt8] = Array("accepted_tip".utf8)
    static let executedTip: [UInt8] = Array("executed_tip".utf8)
    static let rules: [UInt8] = Array("rules".utf8)
    static let retention: [UInt8] = Array("retention".utf8)

    static let all = [version, network, chain, node, rules, retention, watermark, acceptedTip, executedTip]
}

/// The last accepted block: its height and id.
public struct BlockTip: Sendable, Hashable, CustomStringConvertible {
    /// The block's height.
    public let height: UInt64
    /// The block's id.
    public let id: BlockID

    /// Creates a tip.
    public init(height: UInt64, id: BlockID) {
        self.height = height
        self.id = id
    }

    public var description: String { "\(height) (\(id))" }
}

/// Reads and writes `meta` inside a transaction.
struct MetaAccess {
    let table: Database

    func uint32(_ key: [UInt8], _ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> UInt32? {
        try txn.withValue(forKey: key, in: table) { value -> UInt32 in
            guard value.count == 4 else {
                throw ChunkStoreError(.corruptRecord, "meta \(String(decoding: key, as: UTF8.self)) has \(value.count) bytes, not 4")
            }
            return UInt32(bigEndian: value.loadUnaligned(as: UInt32.self))
        }
    }

    func uint64(_ key: [UInt8], _ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> UInt64? {
        try txn.withValue(forKey: key, in: table) { value -> UInt64 in
            guard value.count == 8 else {
                throw ChunkStoreError(.corruptRecord, "meta \(String(decoding: key, as: UTF8.self)) has \(value.count) bytes, not 8")
            }
            return Keys.uint64(value, at: 0)
        }
    }

    func watermark(_ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> Int64 {
        Int64(bitPattern: try uint64(MetaKey.watermark, txn) ?? 0)
    }

    func acceptedTip(_ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> BlockTip? {
        try txn.withValue(forKey: MetaKey.acceptedTip, in: table) { value -> BlockTip in
            guard value.count == 40 else {
                throw ChunkStoreError(.corruptRecord, "meta accepted_tip has \(value.count) bytes, not 40")
            }
            return BlockTip(height: Keys.uint64(value, at: 0), id: try BlockID(bytes: value[8..<40]))
        }
    }

    func executedTip(_ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> UInt64? {
        try uint64(MetaKey.executedTip, txn)
    }

    func put(_ value: UInt32, _ key: [UInt8], _ txn: borrowing WriteTransaction) throws {
        try txn.put(withUnsafeBytes(of: value.bigEndian) { Array($0) }, forKey: key, in: table)
    }

    func put(_ value: UInt64, _ key: [UInt8], _ txn: borrowing WriteTransaction) throws {
        var bytes: [UInt8] = []
        Keys.append(value, to: &bytes)
        try txn.put(bytes, forKey: key, in: table)
    }

    func setWatermark(_ watermark: Int64, _ txn: borrowing WriteTransaction) throws {
        try put(UInt64(bitPattern: watermark), MetaKey.watermark, txn)
    }

    func setAcceptedTip(_ tip: BlockTip, _ txn: borrowing WriteTransaction) throws {
        var bytes: [UInt8] = []
        Keys.append(tip.height, to: &bytes)
        bytes.append(contentsOf: tip.id.bytes)
        try txn.put(bytes, forKey: MetaKey.acceptedTip, in: table)
    }
}
