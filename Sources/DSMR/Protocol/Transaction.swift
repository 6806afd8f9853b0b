/// A transaction of the state machine DSMR replicates.
///
/// DSMR carries transactions as opaque bytes; this protocol is what the layers
/// above need to partition, deduplicate, expire and rate-limit them.
public protocol Transaction: Sendable {
    associatedtype ID: Hashable & Sendable

    /// A unique id, used to drop duplicates.
    var id: ID { get }
    /// The canonical bytes of the paying account, used to partition
    /// transactions to validators identically on every node.
    var sponsor: [UInt8] { get }
    /// When the transaction stops being valid, in milliseconds.
    var expiry: Int64 { get }
    /// The units the transaction declares; bandwidth is ignored (a chunk's
    /// bandwidth is its encoded size).
    var units: Dimensions { get }

    /// The canonical encoding carried in a chunk.
    func encoded() -> [UInt8]
    /// Decodes strictly; throws on anything but a canonical encoding.
    init(decoding bytes: [UInt8], limits: DecodingLimits) throws
}

extension Chunk {
    /// The chunk's units: bandwidth is its encoded size; every other dimension
    /// is the sum of its transactions' declared units.
    ///
    /// - Parameter transactionUnits: the declared units of one encoded transaction.
    /// - Throws: what `transactionUnits` throws, or ``DimensionsError`` on overflow.
    public func units(transactionUnits: ([UInt8]) throws -> Dimensions) throws -> Dimensions {
        var total = Dimensions(bandwidth: UInt64(encodedSize))
        for transaction in transactions {
            var declared = try transactionUnits(transaction)
            declared.bandwidth = 0
            total = try total.adding(declared)
        }
        return total
    }

    /// The chunk's units, decoding each transaction as `T`.
    public func units<T: Transaction>(of type: T.Type, limits: DecodingLimits = .default) throws -> Dimensions {
        try units { try T(decoding: $0, limits: limits).units }
    }
}
