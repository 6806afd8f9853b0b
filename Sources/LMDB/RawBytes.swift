/// Bytes that can lend a contiguous buffer: what keys and values are made of.
///
/// `[UInt8]`, `ArraySlice<UInt8>`, `ContiguousArray<UInt8>` and
/// `UnsafeRawBufferPointer` conform; fixed-size id types can conform too and
/// avoid an allocation per key.
package protocol RawBytes {
    /// Calls `body` with the bytes; the buffer is valid only inside `body`.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: RawBytes where Element == UInt8 {}
extension ArraySlice: RawBytes where Element == UInt8 {}
extension ContiguousArray: RawBytes where Element == UInt8 {}

extension UnsafeRawBufferPointer: RawBytes {
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}

extension RawBytes {
    /// Lends the bytes as an `MDB_val`-compatible (size, pointer) pair.
    @inline(__always)
    func withValue<R>(_ body: (inout MDBValue) throws -> R) rethrows -> R {
        try withUnsafeBytes { buffer in
            var value = MDBValue(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            return try body(&value)
        }
    }
}
