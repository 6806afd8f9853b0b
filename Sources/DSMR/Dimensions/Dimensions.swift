/// Resource units along hypersdk's five fee dimensions (`fees.Dimensions`).
///
/// All arithmetic is overflow-checked: a sum that does not fit is an error,
/// never a wrap-around.
public struct Dimensions: Hashable, Sendable {
    /// Bytes carried; for a chunk, its encoded size.
    public var bandwidth: UInt64
    /// Execution units.
    public var compute: UInt64
    /// State reads.
    public var storageRead: UInt64
    /// New state allocated.
    public var storageAllocate: UInt64
    /// State writes.
    public var storageWrite: UInt64

    /// The names of the dimensions, in canonical order.
    public static let names = ["bandwidth", "compute", "storageRead", "storageAllocate", "storageWrite"]

    /// Zero units in every dimension.
    public static let zero = Dimensions()

    /// Creates a value; omitted dimensions are zero.
    public init(
        bandwidth: UInt64 = 0, compute: UInt64 = 0, storageRead: UInt64 = 0,
        storageAllocate: UInt64 = 0, storageWrite: UInt64 = 0
    ) {
        self.bandwidth = bandwidth
        self.compute = compute
        self.storageRead = storageRead
        self.storageAllocate = storageAllocate
        self.storageWrite = storageWrite
    }

    /// Creates a value from the five dimensions in canonical order.
    public init(_ values: [UInt64]) {
        precondition(values.count == 5, "Dimensions needs exactly 5 values")
        self.init(
            bandwidth: values[0], compute: values[1], storageRead: values[2],
            storageAllocate: values[3], storageWrite: values[4])
    }

    /// The five dimensions in canonical order.
    public var values: [UInt64] {
        [bandwidth, compute, storageRead, storageAllocate, storageWrite]
    }

    /// `self + other` in every dimension.
    ///
    /// - Throws: ``DimensionsError/Code/overflow`` naming the first dimension that overflows.
    public func adding(_ other: Dimensions) throws(DimensionsError) -> Dimensions {
        Dimensions(
            bandwidth: try Self.sum(bandwidth, other.bandwidth, "bandwidth"),
            compute: try Self.sum(compute, other.compute, "compute"),
            storageRead: try Self.sum(storageRead, other.storageRead, "storageRead"),
            storageAllocate: try Self.sum(storageAllocate, other.storageAllocate, "storageAllocate"),
            storageWrite: try Self.sum(storageWrite, other.storageWrite, "storageWrite"))
    }

    /// Whether `self + other` stays within `limit` in every dimension.
    ///
    /// An overflowing sum never fits.
    public func canAdd(_ other: Dimensions, limit: Dimensions) -> Bool {
        Self.fits(bandwidth, other.bandwidth, limit.bandwidth)
            && Self.fits(compute, other.compute, limit.compute)
            && Self.fits(storageRead, other.storageRead, limit.storageRead)
            && Self.fits(storageAllocate, other.storageAllocate, limit.storageAllocate)
            && Self.fits(storageWrite, other.storageWrite, limit.storageWrite)
    }

    /// Whether every dimension of `self` is at most the same dimension of `limit`.
    public func fits(within limit: Dimensions) -> Bool {
        canAdd(.zero, limit: limit)
    }

    /// The sum over all dimensions of `self[d] * weights[d]`.
    ///
    /// - Throws: ``DimensionsError/Code/overflow`` when a product or the sum overflows.
    public func weightedSum(_ weights: Dimensions) throws(DimensionsError) -> UInt64 {
        var total: UInt64 = 0
        for (index, (a, w)) in zip(values, weights.values).enumerated() {
            let (product, productOverflow) = a.multipliedReportingOverflow(by: w)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            if productOverflow || sumOverflow {
                throw DimensionsError(
                    code: .overflow, message: "weighted sum overflows UInt64 at \(Self.names[index])")
            }
            total = sum
        }
        return total
    }

    @inline(__always)
    private static func sum(_ a: UInt64, _ b: UInt64, _ name: StaticString) throws(DimensionsError) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow {
            throw DimensionsError(code: .overflow, message: "\(name): \(a) + \(b) overflows UInt64")
        }
        return sum
    }

    @inline(__always)
    private static func fits(_ a: UInt64, _ b: UInt64, _ limit: UInt64) -> Bool {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return !overflow && sum <= limit
    }
}

extension Dimensions: CustomStringConvertible {
    /// For example `bandwidth=1 compute=2 storageRead=3 storageAllocate=4 storageWrite=5`.
    public var description: String {
        zip(Self.names, values).map { "\($0)=\($1)" }.joined(separator: " ")
    }
}
